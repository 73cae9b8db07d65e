// `switchyard demo`: the gateway against the built-in upstream simulator with one demo account.
import { simulatorSettings } from "../simulator/settings";
import { foreignFiles } from "../config/files";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ensureDataDir, loadConfig, validateConfig, type Flags, type Loaded } from "../config/load";
import { createLogger, printStdout } from "../core/log";
import { randomBytes } from "../core/hash";
import { parseStore } from "../accounts/store-format";
import { STORE_FILE } from "../accounts/store";
import { UsageError } from "./args";
import { untilSignal, type ServeOptions } from "./serve";
import { restartWithStartupEnv } from "./startup-env";

export const DEMO_EMAIL = "demo@switchyard.local";

/**
 * The variables the demo does not read: those that would take it to shared state (Redis, where it would
 * refresh the real pool's tokens against its fake Google, which disables them, and add its fake account)
 * or choose its data dir, and those it sets itself (its fake Google, its key).
 */
const NOT_FOR_THE_DEMO = [
  "SWITCHYARD_REDIS_URL",
  "SWITCHYARD_REDIS_PASSWORD",
  "SWITCHYARD_DATA_DIR",
  "STATE_DIRECTORY",
  "SWITCHYARD_UPSTREAM_ENDPOINTS",
  "SWITCHYARD_OAUTH_TOKEN_URL",
  "SWITCHYARD_USERINFO_URL",
  "SWITCHYARD_VERSION_URL",
  "SWITCHYARD_API_KEY",
  "SWITCHYARD_AUTH_MODE",
];

export const demoEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(env).filter(([k]) => !NOT_FOR_THE_DEMO.includes(k)));

/**
 * A --data-dir whose accounts.json holds a real pool is refused: the demo would disable its accounts. So
 * is one holding anything else (a home directory, /etc): the demo would make it 0700 and write into it.
 */
export function checkDemoDataDir(dir: string): void {
  const foreign = foreignFiles(dir);
  if (foreign.length)
    throw new UsageError(
      `demo: --data-dir ${dir} holds files that are not Switchyard's (${foreign.slice(0, 3).join(", ")}): give it a new or empty directory, or no --data-dir (a temporary one)`,
    );
  const file = join(dir, STORE_FILE);
  if (!existsSync(file)) return;
  let emails: string[];
  try {
    emails = [...parseStore(readFileSync(file, "utf8")).accounts.values()].map((a) => a.email);
  } catch (e) {
    throw new UsageError(
      `demo: --data-dir ${dir}: ${file} cannot be read (${(e as Error).message}); the demo needs a new or empty data dir`,
    );
  }
  const others = emails.filter((e) => e !== DEMO_EMAIL);
  if (others.length)
    throw new UsageError(
      `demo: --data-dir ${dir} holds ${others.length} account${others.length === 1 ? "" : "s"} (${others[0]}${others.length > 1 ? ", …" : ""}); ` +
        "the demo would refresh them against its fake Google, which disables them: give it a new or empty directory, or no --data-dir (a temporary one)",
    );
}

/** the demo's configuration: its fake Google, its key, and never Redis (from the environment or a config file) */
export function demoConfig(flags: Flags, dataDir: string, simUrl: string, key: string, env: NodeJS.ProcessEnv = process.env): Loaded {
  const loaded = loadConfig({ ...flags, dataDir }, demoEnv(env), {
    auth: { mode: "all_except_health", apiKeys: [key] },
    ...simulatorSettings(simUrl),
  });
  delete loaded.config.state.redisUrl;
  return loaded;
}

export async function demo(flags: Flags, opts: ServeOptions = {}): Promise<number> {
  // before anything is started or written
  if (flags.dataDir) checkDemoDataDir(resolve(flags.dataDir));
  if (opts.ownProcess) {
    // before the simulator and the temporary data dir exist (see restartWithStartupEnv); the demo reads a
    // config file only from --config or --data-dir
    const early = flags.config || flags.dataDir ? loadConfig(flags, demoEnv(process.env)).config : validateConfig({}, "configuration");
    restartWithStartupEnv(early.upstream.maxConcurrentRequests, createLogger(early.log.level));
  }
  // loaded only now: the process may have replaced itself above
  const [{ startServer }, { startSimulator }] = await Promise.all([import("../server/start"), import("../simulator/index")]);
  const tempDir = flags.dataDir ? undefined : mkdtempSync(join(tmpdir(), "switchyard-demo-"));
  const dataDir = flags.dataDir ? resolve(flags.dataDir) : tempDir!;
  ensureDataDir(dataDir);
  const sim = await startSimulator({ port: 0, hostname: "127.0.0.1" });
  const key = "sk-demo-" + randomBytes(12).toString("hex");
  let loaded: Loaded;
  try {
    loaded = demoConfig(flags, dataDir, sim.url, key);
  } catch (e) {
    await sim.stop();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    throw e;
  }
  const log = createLogger(loaded.config.log.level, undefined, loaded.config.log.format);
  let gw;
  try {
    gw = await startServer({ config: loaded.config, dataDir, log });
  } catch (e) {
    await sim.stop();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    throw e;
  }
  const account = sim.addAccount({ email: DEMO_EMAIL, name: "Demo Account" });
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
