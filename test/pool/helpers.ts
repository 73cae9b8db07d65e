// Shared bits for the pool tests: a full Config from the schema defaults, temp data dirs, and a
// simulator-backed pool.
import { Value } from "@sinclair/typebox/value";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigSchema, type Config } from "../../src/config/schema";
import { openPool, type Pool, type PoolOptions } from "../../src/pool";
import { createLogger, silentLogger, type Logger } from "../../src/server/log";
import { startSimulator, type SimAccountSpec, type Simulator, type SimulatorOptions } from "../../src/simulator";

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

function merge(base: any, over: any): any {
  if (!over || typeof over !== "object" || Array.isArray(over)) return over ?? base;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = v && typeof v === "object" && !Array.isArray(v) ? merge(base?.[k] ?? {}, v) : v;
  return out;
}

export function makeConfig(over: DeepPartial<Config> = {}): Config {
  return merge(Value.Default(ConfigSchema, {}), over) as Config;
}

export function simConfig(sim: Simulator, over: DeepPartial<Config> = {}): Config {
  return makeConfig(
    merge(
      {
        upstream: { endpoints: [sim.url], oauthTokenUrl: sim.url + "/token", userinfoUrl: sim.url + "/oauth2/v2/userinfo", requestTimeoutSeconds: 10 },
        oauth: { authUrl: sim.url + "/o/oauth2/v2/auth" },
      },
      over,
    ),
  );
}

export function tempDir(prefix = "pool"): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `.switchyard-test-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** a logger that keeps its lines (to check what was logged, e.g. that no token leaks) */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const l = createLogger("debug", (line) => lines.push(line)) as Logger & { lines: string[] };
  l.lines = lines;
  return l;
}

export interface Rig {
  sim: Simulator;
  pool: Pool;
  dir: string;
  config: Config;
  reopen(over?: DeepPartial<Config>, opts?: Partial<PoolOptions>): Promise<Pool>;
  stop(): Promise<void>;
}

/** A simulator, a fresh data dir, accounts added through the pool (the real add flow). */
export async function startRig(
  specs: SimAccountSpec[] = [{}],
  over: DeepPartial<Config> = {},
  opts: Partial<PoolOptions> = {},
  simOpts: SimulatorOptions = {},
): Promise<Rig> {
  const sim = await startSimulator({ delays: false, ...simOpts });
  const { dir, cleanup } = tempDir();
  const config = simConfig(sim, over);
  const open = (c: Config, o: Partial<PoolOptions>) =>
    openPool({ config: c, dataDir: dir, log: silentLogger(), background: false, internal: { onboardPollMs: 5 }, ...o });
  const rig: Rig = {
    sim,
    dir,
    config,
    pool: await open(config, opts),
    async reopen(o2 = {}, opts2 = {}) {
      await rig.pool.close();
      rig.config = simConfig(sim, merge(over, o2));
      rig.pool = await open(rig.config, { ...opts, ...opts2 });
      return rig.pool;
    },
    async stop() {
      await rig.pool.close().catch(() => {});
      await sim.stop();
      cleanup();
    },
  };
  for (const spec of specs) await rig.pool.addByRefreshToken(sim.addAccount(spec).refreshToken);
  sim.reset();
  return rig;
}

/** wait until `check` holds (polling), or fail with `what` after `ms` */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

export const userText = (text: string) => ({ contents: [{ role: "user", parts: [{ text }] }] });
