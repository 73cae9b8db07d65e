// A real simulator and a real gateway, each on its own loopback port, in a fresh data dir.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../../src/config/schema";
import { deepMerge, validateConfig } from "../../src/config/load";
import { createLogger, type Level } from "../../src/core/log";
import { startServer, type RunningServer } from "../../src/server/start";
import { simulatorSettings, startSimulator, type Simulator, type SimAccount, type SimAccountSpec } from "../../src/simulator/index";
import type { AppContext } from "../../src/protocol/context";
import type { Pool } from "../../src/pool/index";
import type { DeepPartial } from "./util";

export interface StackOptions {
  accounts?: number | SimAccountSpec[];
  config?: DeepPartial<Config>;
  authMode?: Config["auth"]["mode"];
  /** simulator stream pacing (default true) */
  delays?: boolean;
  /** the gateway's clock where it keeps time itself (client-version rechecks) */
  now?: () => number;
}

export interface Stack {
  url: string;
  apiKey: string;
  adminKey: string;
  sim: Simulator;
  dataDir: string;
  accounts: SimAccount[];
  ctx: AppContext;
  pool: Pool;
  gateway: RunningServer;
  stop(): Promise<void>;
}

const rand = () => Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("hex");

/** settings that point a gateway at the simulator (the demo's own) */
export const simConfig = simulatorSettings;

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const sim = await startSimulator({ port: 0, hostname: "127.0.0.1", delays: opts.delays });
  const specs: SimAccountSpec[] =
    typeof opts.accounts === "number" || opts.accounts === undefined
      ? Array.from({ length: (opts.accounts as number | undefined) ?? 1 }, (_, i) => ({
          email: `user${i + 1}@example.com`,
          name: `User ${i + 1}`,
        }))
      : opts.accounts;
  const accounts = specs.map((s) => sim.addAccount(s));
  const dataDir = mkdtempSync(join(tmpdir(), "switchyard-test-"));
  const apiKey = "sk-test-" + rand();
  const adminKey = "sk-admin-" + rand();
  const config = validateConfig(
    deepMerge(
      {
        server: { host: "127.0.0.1", port: 0, shutdownGraceSeconds: 2 },
        auth: { mode: opts.authMode ?? "strict", apiKeys: [apiKey], adminKey },
        log: { level: "silent" },
        ...simConfig(sim.url),
      },
      (opts.config ?? {}) as Record<string, unknown>,
    ),
    "test stack",
  );
  const log = createLogger((process.env.SWITCHYARD_TEST_LOG as Level | undefined) ?? "silent");
  const gateway = await startServer({ config, dataDir, log, now: opts.now });
  for (const a of accounts) {
    try {
      await gateway.pool.addByRefreshToken(a.refreshToken);
    } catch (e) {
      // accounts the test made ineligible on purpose (validation required …) may be refused
      if (process.env.SWITCHYARD_TEST_LOG) console.error("stack: account not added", a.email, (e as Error).message);
    }
  }
  return {
    url: gateway.url,
    apiKey,
    adminKey,
    sim,
    dataDir,
    accounts,
    ctx: gateway.ctx,
    pool: gateway.pool,
    gateway,
    async stop() {
      await gateway.stop();
      await sim.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
