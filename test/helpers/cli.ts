// Runs the real CLI (`bun src/main.ts …`) as a child process.
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
export const MAIN = join(ROOT, "src", "main.ts");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), ...opts.env },
    stdin: opts.stdin !== undefined ? new TextEncoder().encode(opts.stdin) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 20000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/**
 * the environment minus SWITCHYARD_* so the developer's settings never leak into tests, and with the
 * client-version lookup off: a test never calls the public updater
 */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = { SWITCHYARD_VERSION_URL: "" };
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith("SWITCHYARD_") && k !== "STATE_DIRECTORY") env[k] = v;
  return env;
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

export async function waitForHealth(url: string, timeoutMs = 15000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
    } catch {}
    await Bun.sleep(50);
  }
  throw new Error(`no /healthz at ${url} within ${timeoutMs} ms`);
}

/** what a process wrote to `stream` until `text` appears (or it ends) */
export async function outputUntil(stream: ReadableStream<Uint8Array>, text: string): Promise<string> {
  const reader = stream.getReader();
  let out = "";
  while (!out.includes(text)) {
    const r = await reader.read();
    if (r.done) break;
    out += new TextDecoder().decode(r.value);
  }
  reader.releaseLock();
  return out;
}
