// Running the gateway under test: which command (the compiled binary or the source), its environment
// pointed at the simulator, an accounts.json written straight into its data dir, and a start that
// times exec → first /healthz 200 → first proxied 200.
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Target } from "./load";
import { children, freePort, rssMiB } from "./proc";
import { seedEmail, seedProject, seedRefreshToken } from "./seed";

export const ROOT = join(import.meta.dir, "..", "..");
// SWITCHYARD_OUTFILE: the same variable scripts/build.ts writes to (a private build, not the shared dist/)
const BIN = process.env.SWITCHYARD_OUTFILE ? resolve(ROOT, process.env.SWITCHYARD_OUTFILE) : join(ROOT, "dist", "switchyard");
export const MODEL = "gemini-2.5-flash";
export const CLIENT_BODY = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "benchmark me, please" }] }] });

/** the newest modification time under a folder */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** dist/switchyard (built first when missing or --rebuild), or `bun src/main.ts` with --source */
export function gatewayCommand(opts: { fromSource: boolean; rebuild: boolean }): { cmd: string[]; kind: string } {
  const source = (why = "") => ({ cmd: [process.execPath, join(ROOT, "src/main.ts")], kind: `bun src/main.ts${why}` });
  if (opts.fromSource) return source();
  if (existsSync(BIN) && !opts.rebuild && statSync(BIN).mtimeMs < newest(join(ROOT, "src")))
    console.error(`note: ${BIN} is older than src/ (npm run build, or bench --rebuild)`);
  if (opts.rebuild || !existsSync(BIN)) {
    console.error(`building ${BIN}…`);
    const r = Bun.spawnSync([process.execPath, join(ROOT, "scripts/build.ts")], {
      cwd: ROOT,
      env: { ...process.env, SWITCHYARD_OUTFILE: BIN },
      stdout: "inherit",
      stderr: "inherit",
    });
    if (r.exitCode !== 0) {
      console.error("build failed: falling back to `bun src/main.ts`");
      return source(" (build failed)");
    }
  }
  if (!existsSync(BIN)) return source();
  return { cmd: [BIN], kind: BIN.startsWith(ROOT) ? BIN.slice(ROOT.length + 1) : BIN };
}

/** the gateway's environment: its own data dir, Google replaced by the simulator */
export function gatewayEnv(o: { dataDir: string; upstream: string; sim: string; apiKey: string }): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    SWITCHYARD_DATA_DIR: o.dataDir,
    SWITCHYARD_UPSTREAM_ENDPOINTS: o.upstream,
    SWITCHYARD_OAUTH_TOKEN_URL: `${o.sim}/token`,
    SWITCHYARD_USERINFO_URL: `${o.sim}/oauth2/v2/userinfo`,
    SWITCHYARD_VERSION_URL: `${o.sim}/api/update/{target}/stable/latest`,
    SWITCHYARD_API_KEY: o.apiKey,
    SWITCHYARD_AUTH_MODE: "strict",
    SWITCHYARD_LOG_LEVEL: "info",
    NODE_ENV: "production",
  };
  // the gateway lifts Bun's fetch cap itself (or not): a value inherited from whoever ran the bench would hide that
  delete env.BUN_CONFIG_MAX_HTTP_REQUESTS;
  return env;
}

/**
 * accounts.json (version 1, which every gateway version reads) holding the first `n` seeded accounts,
 * and the model list a running gateway has once its accounts reported theirs: MODEL is then served
 * under its own name by a unary call, as the bare proxy calls it. (Before any report the gateway maps
 * it to a current model that Google answers through the stream call: more work than the floor does.)
 */
export function writeAccountsFile(dataDir: string, n: number): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const createdAt = new Date().toISOString();
  const accounts = Array.from({ length: n }, (_, i) => ({
    id: `bench-${i}`,
    email: seedEmail(i),
    refreshToken: seedRefreshToken(i),
    projectId: seedProject(i),
    state: "active",
    createdAt,
  }));
  const models = { [MODEL]: { id: MODEL, displayName: MODEL } };
  const doc = { version: 1, revision: 1, updatedAt: createdAt, accounts, models };
  writeFileSync(join(dataDir, "accounts.json"), JSON.stringify(doc) + "\n", { mode: 0o600 });
}

/** unary and SSE generateContent through a gateway */
export function gatewayTargets(url: string, apiKey: string): { unary: Target; sse: Target } {
  const headers = { "x-goog-api-key": apiKey };
  return {
    unary: { url: `${url}/v1beta/models/${MODEL}:generateContent`, headers, body: CLIENT_BODY },
    sse: { url: `${url}/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`, headers, body: CLIENT_BODY },
  };
}

export interface Startup {
  /** exec → first 200 from /healthz */
  healthzMs: number;
  /** that → first 200 of a proxied generateContent */
  firstAnswerMs: number;
  /** RSS right after the first answer */
  rssMiB: number;
}

export interface Gateway {
  proc: Bun.Subprocess;
  url: string;
  startup: Startup;
}

/** poll `ok` every 2 ms (a refused connection costs well under that) until it holds */
async function until(ok: () => Promise<boolean>, proc: Bun.Subprocess, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await ok())) {
    if (proc.exitCode !== null) throw new Error(`the gateway exited (${proc.exitCode}) before ${what}`);
    if (performance.now() > deadline) throw new Error(`no ${what} within ${timeoutMs / 1000} s`);
    await Bun.sleep(2);
  }
}

/** `serve` on a free port, timed from exec to its first health answer and its first proxied answer */
export async function launchGateway(cmd: string[], env: Record<string, string | undefined>, apiKey: string): Promise<Gateway> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const probe = gatewayTargets(url, apiKey).unary;
  const t0 = performance.now();
  // stdout (a log line per request) is dropped; warnings and errors go to stderr, shown
  const proc = Bun.spawn([...cmd, "serve", "--host", "127.0.0.1", "--port", String(port)], {
    env,
    stdin: "ignore",
    stdout: "ignore",
    stderr: "inherit",
  });
  children.push(proc);
  const answers = (r: Response, status: number) => r.arrayBuffer().then(() => r.status === status);
  await until(
    () =>
      fetch(`${url}/healthz`, { headers: probe.headers }).then(
        (r) => answers(r, 200),
        () => false,
      ),
    proc,
    "/healthz 200",
  );
  const t1 = performance.now();
  let mapped: string | null = null;
  await until(
    () =>
      fetch(probe.url, { method: "POST", headers: { "content-type": "application/json", ...probe.headers }, body: probe.body }).then(
        (r) => ((mapped = r.headers.get("x-mapped-model")), answers(r, 200)),
        () => false,
      ),
    proc,
    "proxied 200",
  );
  const t2 = performance.now();
  // the gateway must call the model the bare proxy and the direct row call, or the rows compare different work
  if (mapped && mapped !== MODEL) console.error(`note: the gateway maps ${MODEL} to ${mapped}; its rows are not like for like`);
  return {
    proc,
    url,
    startup: { healthzMs: Math.round(t1 - t0), firstAnswerMs: Math.round(t2 - t1), rssMiB: rssMiB(proc.pid) },
  };
}
