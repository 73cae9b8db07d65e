// `switchyard demo`: the gateway against the built-in upstream simulator with one demo account.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureDataDir, loadConfig, validateConfig, type Flags } from "../config/load";
import { createLogger, printStdout } from "../core/log";
import { randomBytes } from "../core/hash";
import { untilSignal, type ServeOptions } from "./serve";
import { restartWithStartupEnv } from "./startup-env";

export async function demo(flags: Flags, opts: ServeOptions = {}): Promise<number> {
  if (opts.ownProcess) {
    // before the simulator and the temporary data dir exist (see restartWithStartupEnv); the demo reads a
    // config file only from --config or --data-dir
    const early = flags.config || flags.dataDir ? loadConfig(flags).config : validateConfig({}, "configuration");
    restartWithStartupEnv(early.upstream.maxConcurrentRequests, createLogger(early.log.level));
  }
  // loaded only now: the process may have replaced itself above
  const [{ startServer }, { startSimulator }] = await Promise.all([import("../server/start"), import("../simulator/index")]);
  const tempDir = flags.dataDir ? undefined : mkdtempSync(join(tmpdir(), "switchyard-demo-"));
  const dataDir = flags.dataDir ?? tempDir!;
  ensureDataDir(dataDir);
  const sim = await startSimulator({ port: 0, hostname: "127.0.0.1" });
  const key = "sk-demo-" + randomBytes(12).toString("hex");
  const loaded = loadConfig({ ...flags, dataDir, config: flags.config }, process.env, {
    auth: { mode: "all_except_health", apiKeys: [key] },
    upstream: {
      endpoints: [sim.url],
      oauthTokenUrl: `${sim.url}/token`,
      userinfoUrl: `${sim.url}/oauth2/v2/userinfo`,
      // the simulator's copy of Antigravity's updater
      versionUrl: `${sim.url}/api/update/{target}/stable/latest`,
    },
    oauth: { authUrl: `${sim.url}/o/oauth2/v2/auth` },
  });
  const log = createLogger(loaded.config.log.level, undefined, loaded.config.log.format);
  let gw;
  try {
    gw = await startServer({ config: loaded.config, dataDir, log });
  } catch (e) {
    await sim.stop();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    throw e;
  }
  const account = sim.addAccount({ email: "demo@switchyard.local", name: "Demo Account" });
  await gw.pool.addByRefreshToken(account.refreshToken);
  printStdout(demoBanner(gw.url, key, sim.url, dataDir));
  return untilSignal(gw, log, async () => {
    await sim.stop();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  });
}

export function demoBanner(url: string, key: string, simUrl: string, dataDir: string): string {
  const json = "-H 'content-type: application/json'";
  return `
Switchyard demo is running against the built-in upstream simulator (no Google account needed).

  base URL   ${url}
  API key    ${key}
  docs       ${url}/swagger
  simulator  ${simUrl}   (fake Google; control API under /_sim/)
  data dir   ${dataDir}${dataDir.includes("switchyard-demo-") ? "   (temporary: removed on exit)" : ""}

Gemini native:
  curl -s ${url}/v1beta/models/gemini-3-flash:generateContent -H 'x-goog-api-key: ${key}' ${json} \\
    -d '{"contents":[{"role":"user","parts":[{"text":"Hello"}]}]}'
OpenAI chat:
  curl -s ${url}/v1/chat/completions -H 'Authorization: Bearer ${key}' ${json} \\
    -d '{"model":"gemini-3-flash","messages":[{"role":"user","content":"Hello"}]}'
OpenAI images:
  curl -s ${url}/v1/images/generations -H 'Authorization: Bearer ${key}' ${json} \\
    -d '{"prompt":"a lighthouse at dawn","size":"1920x1080","quality":"hd"}'
Anthropic messages:
  curl -s ${url}/v1/messages -H 'x-api-key: ${key}' -H 'anthropic-version: 2023-06-01' ${json} \\
    -d '{"model":"claude-sonnet-4-6","max_tokens":256,"messages":[{"role":"user","content":"Hello"}]}'

Press Ctrl-C to stop.
`;
}
