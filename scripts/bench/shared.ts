// Shared state on Redis against embedded state: one gateway on state.db, one on Redis, and two on the
// same Redis taking half the connections each — throughput and latency at 32 connections in all.
// Needs redis-server (Debian's package); without it the row says so.
import { join } from "node:path";
import { gatewayEnv, gatewayTargets, launchGateway, writeAccountsFile } from "./gateway";
import { load, type Cell } from "./load";
import { freePort, round2, spawnChild, stopChild } from "./proc";
import type { Setup } from "./scenarios";

export interface SharedRow {
  label: string;
  instances: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
}

async function startRedis(dir: string): Promise<{ url: string; proc: Bun.Subprocess }> {
  const bin = Bun.which("redis-server");
  if (!bin) throw new Error("redis-server not installed (apt-get install redis-server)");
  const port = freePort();
  const proc = spawnChild([bin, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir]);
  for (let i = 0; i < 200; i++) {
    try {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.end();
      return { url: `redis://127.0.0.1:${port}/0`, proc };
    } catch {
      await Bun.sleep(25);
    }
  }
  throw new Error("redis-server did not start");
}

const rowOf = (label: string, instances: number, cells: Cell[]): SharedRow => ({
  label,
  instances,
  reqPerSec: cells.reduce((n, c) => n + c.reqPerSec, 0),
  p50Ms: round2(cells.reduce((n, c) => n + c.p50Ms, 0) / cells.length),
  p99Ms: Math.max(...cells.map((c) => c.p99Ms)),
  failures: cells.reduce((n, c) => n + c.failures, 0),
});

export async function sharedState(s: Setup, accounts: number): Promise<{ rows: SharedRow[] }> {
  const redis = await startRedis(s.tempDir);
  const rows: SharedRow[] = [];
  const launch = async (name: string, redisUrl?: string) => {
    const dataDir = join(s.tempDir, `shared-${name}`);
    writeAccountsFile(dataDir, accounts);
    const env: Record<string, string | undefined> = {
      ...gatewayEnv({ dataDir, upstream: s.simUrl, sim: s.simUrl, apiKey: s.apiKey }),
      SWITCHYARD_LOG_LEVEL: "warn",
    };
    if (redisUrl) env.SWITCHYARD_REDIS_URL = redisUrl;
    return launchGateway(s.cmd, env, s.apiKey);
  };
  const measure = async (label: string, gws: Awaited<ReturnType<typeof launch>>[]) => {
    const targets = gws.map((g) => gatewayTargets(g.url, s.apiKey).unary);
    await Promise.all(targets.map((t) => load(t, 4, 1))); // warm-up
    const cells = await Promise.all(targets.map((t) => load(t, 32 / targets.length, s.durationSeconds)));
    rows.push(rowOf(label, gws.length, cells));
  };
  try {
    const embedded = await launch("embedded");
    await measure("1 instance, state.db", [embedded]);
    await stopChild(embedded.proc);
    const one = await launch("redis-1", redis.url);
    await measure("1 instance, Redis", [one]);
    const two = await launch("redis-2", redis.url);
    await measure("2 instances, one Redis", [one, two]);
    await stopChild(one.proc);
    await stopChild(two.proc);
  } finally {
    await stopChild(redis.proc);
  }
  return { rows };
}
