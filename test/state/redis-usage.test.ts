// The usage totals shared through Redis (src/state/redis-usage.ts): memory holds the last 35 days, so it
// no longer grows for good; a report reaching further back reads the older hours from Redis, and the
// totals are the same either way.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { RedisState } from "../../src/state/redis";
import { RedisUsage } from "../../src/state/redis-usage";
import type { UsageRecord } from "../../src/state/usage";
import { silentLogger } from "../../src/core/log";
import { redisMissing, startRedis, type RedisServer } from "../helpers/redis";

const skip = redisMissing();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let redis: RedisServer;
beforeAll(async () => {
  if (!skip) redis = await startRedis();
});
afterAll(async () => {
  await redis?.cleanup();
});

const record = (at: number, input: number): UsageRecord => ({
  at,
  keyId: null,
  keyName: "config",
  account: "a@x.com",
  model: "gemini-2.5-flash",
  upstreamModel: "gemini-2.5-flash",
  protocol: "gemini",
  route: "/v1beta/models/gemini-2.5-flash:generateContent",
  status: 200,
  errorClass: null,
  input,
  output: 1,
  thinking: 0,
  cached: 0,
  latencyMs: 1,
  ttfbMs: null,
  streamed: false,
});

test.skipIf(!!skip)("hours older than 35 days leave memory; a report that reaches them reads Redis and adds up the same", async () => {
  const T = Date.UTC(2026, 10, 29, 12);
  let now = T - 100 * DAY;
  const state = await RedisState.open({ url: redis.url, prefix: `ru${Date.now()}:`, log: silentLogger() });
  try {
    const writer = await RedisUsage.open(state, () => now);
    // one record a day for 100 days, the clock moving with them
    for (let d = 0; d < 100; d++) {
      now = T - (100 - d) * DAY;
      writer.add([record(now, d + 1)]);
    }
    now = T;
    writer.add([record(now, 1000)]);
    // a reader opened now: only the last 35 days in memory
    const reader = await RedisUsage.open(state, () => now);
    expect(reader.mirroredHours).toBeLessThanOrEqual(36);
    expect(writer.mirroredHours).toBeLessThanOrEqual(36);
    const sum = (rows: { requests: number; input: number }[]) => rows.reduce((a, r) => [a[0]! + r.requests, a[1]! + r.input], [0, 0]);
    // everything: the older hours come from Redis
    const all = sum(await reader.query(T - 200 * DAY, "key"));
    expect(all).toEqual([101, (100 * 101) / 2 + 1000]);
    // the last 10 days: memory alone
    const recent = sum(await reader.query(T - 10 * DAY, "key"));
    expect(recent).toEqual([11, 91 + 92 + 93 + 94 + 95 + 96 + 97 + 98 + 99 + 100 + 1000]);
    // by day, across the window's edge: one row a day, as many as there are
    const days = await reader.query(T - 60 * DAY, "day");
    expect(days).toHaveLength(61);
    expect(days.at(-1)).toMatchObject({ group: "2026-11-29", requests: 1, input: 1000 });
  } finally {
    state.close();
  }
});
