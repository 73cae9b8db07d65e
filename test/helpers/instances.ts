// Several real gateways sharing one pool through Redis, against one simulator: each with its own data
// dir (a copy of the first one's accounts.json, so account ids match) and its own port.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../../src/config/schema";
import { deepMerge, validateConfig } from "../../src/config/load";
import { createLogger, type Level } from "../../src/core/log";
import { startServer, type RunningServer } from "../../src/server/start";
import type { SimAccount, Simulator } from "../../src/simulator/index";
import { simConfig } from "./stack";
import type { DeepPartial } from "./util";

export interface Instance {
  url: string;
  dataDir: string;
  server: RunningServer;
}

export interface Instances {
  apiKey: string;
  /** the Redis key prefix of this pool */
  prefix: string;
  list: Instance[];
  /** one more instance on the same pool */
  add(): Promise<Instance>;
  stop(): Promise<void>;
}

export function instanceConfig(simUrl: string, redisUrl: string, prefix: string, apiKey: string, extra: DeepPartial<Config> = {}): Config {
  return validateConfig(
    deepMerge(
      {
        server: { host: "127.0.0.1", port: 0, shutdownGraceSeconds: 1 },
        auth: { mode: "all_except_health", apiKeys: [apiKey] },
        log: { level: "silent" },
        state: { redisUrl, redisPrefix: prefix },
        ...simConfig(simUrl),
      },
      extra as Record<string, unknown>,
    ),
    "test instances",
  );
}

export async function startInstances(
  n: number,
  opts: { sim: Simulator; accounts: SimAccount[]; redisUrl: string; config?: DeepPartial<Config>; now?: () => number },
): Promise<Instances> {
  const apiKey = "sk-test-" + crypto.randomUUID();
  const prefix = `t${crypto.randomUUID().slice(0, 8)}:`;
  const config = instanceConfig(opts.sim.url, opts.redisUrl, prefix, apiKey, opts.config);
  const log = createLogger((process.env.SWITCHYARD_TEST_LOG as Level | undefined) ?? "silent");
  const list: Instance[] = [];
  const start = async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "switchyard-test-shared-"));
    if (list[0]) copyFileSync(join(list[0].dataDir, "accounts.json"), join(dataDir, "accounts.json"));
    const server = await startServer({ config, dataDir, log, now: opts.now });
    const inst = { url: server.url, dataDir, server };
    list.push(inst);
    return inst;
  };
  const first = (await start()).server;
  for (const a of opts.accounts) await first.pool.addByRefreshToken(a.refreshToken);
  await first.pool.sync();
  for (let i = 1; i < n; i++) await start();
  await Promise.all(list.map((x) => x.server.pool.ready));
  return {
    apiKey,
    prefix,
    list,
    async add() {
      const inst = await start();
      await inst.server.pool.ready;
      return inst;
    },
    async stop() {
      await Promise.all(list.map((x) => x.server.stop()));
      for (const x of list) rmSync(x.dataDir, { recursive: true, force: true });
    },
  };
}

/** one Gemini-native generateContent through an instance: one user text, or a conversation's turns so far */
export function generate(inst: Instance, apiKey: string, text: string | string[], model = "gemini-2.5-flash"): Promise<Response> {
  const turns = typeof text === "string" ? [text] : text;
  const contents = turns.map((t, i) => ({ role: i % 2 ? "model" : "user", parts: [{ text: t }] }));
  return fetch(`${inst.url}/v1beta/models/${model}:generateContent`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-goog-api-key": apiKey },
    body: JSON.stringify({ contents }),
  });
}
