// Shared bits for the pool tests: a full Config from the schema defaults and a simulator-backed pool.
import { Value } from "@sinclair/typebox/value";
import { deepMerge } from "../../src/config/load";
import { ConfigSchema, type Config } from "../../src/config/schema";
import { openPool, type Pool, type PoolOptions } from "../../src/pool/index";
import { createLogger, silentLogger, type Logger } from "../../src/core/log";
import { startSimulator, type SimAccountSpec, type Simulator, type SimulatorOptions } from "../../src/simulator/index";
import { simConfig as simUrls } from "./stack";
import { tempDir, type DeepPartial } from "./util";

export function makeConfig(over: DeepPartial<Config> = {}): Config {
  return deepMerge(Value.Default(ConfigSchema, {}) as Config, over) as Config;
}

export function simConfig(sim: Simulator, over: DeepPartial<Config> = {}): Config {
  return makeConfig(deepMerge(deepMerge(simUrls(sim.url), { upstream: { requestTimeoutSeconds: 10 } }), over));
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
  const { dir, cleanup } = tempDir("pool");
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
      rig.config = simConfig(sim, deepMerge(over, o2));
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
