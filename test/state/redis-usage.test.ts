// What the shared state keeps in memory about usage, bounded in time: the hourly totals
// (src/state/redis-usage.ts) for the last 35 days — a report reaching further back reads the older hours
// from Redis, with the same totals — and each key's token totals (src/state/redis-keys.ts) for today and
// this month.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { RedisState } from "../../src/state/redis";
import { RedisUsage } from "../../src/state/redis-usage";
import { RedisKeys } from "../../src/state/redis-keys";
import { SqliteKeys } from "../../src/state/keys";
import { NO_LIMITS } from "../../src/keys/limits-input";
import { Database } from "bun:sqlite";
import { silentLogger } from "../../src/core/log";
import { redisMissing, startRedis, type RedisServer } from "../helpers/redis";
import { usageRecord } from "../helpers/util";

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

const record = (at: number, input: number) => usageRecord(at, { input });

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

test.skipIf(!!skip)("a key's shared token totals: today's and this month's, the days before dropped as the days turn", async () => {
  const state = await RedisState.open({ url: redis.url, prefix: `rk${Date.now()}:`, log: silentLogger() });
  try {
    const db = new Database(":memory:");
    const keys = await RedisKeys.open(state, new SqliteKeys(db));
    const rec = {
      id: "k1",
      name: "ci",
      prefix: "sk-sy-abcd",
      hash: "h".repeat(64),
      createdAt: 0,
      revokedAt: null,
      ...NO_LIMITS,
      dailyTokens: 1000,
    };
    keys.insert(rec);
    const dayStart = (t: number) => Math.floor(t / DAY) * DAY;
    const T = Date.UTC(2026, 10, 3, 10);
    for (let d = 0; d < 40; d++) keys.used({ id: "k1", name: "ci", kind: "tokens", n: 10, at: T + d * DAY });
    const last = T + 39 * DAY;
    expect(keys.tokensSince("ci", dayStart(last))).toBe(10);
    // December: the days of December used so far (Nov 3 + 39 days = Dec 12)
    expect(keys.tokensSince("ci", Date.UTC(2026, 11, 1))).toBe(120);
    // the days before are gone from memory (one field a day and key, for good, before)
    expect(keys.tokensSince("ci", dayStart(T))).toBeUndefined();
    // a late report of an earlier day does not wipe today's
    keys.used({ id: "k1", name: "ci", kind: "tokens", n: 5, at: last - 2 * DAY });
    expect(keys.tokensSince("ci", dayStart(last))).toBe(10);
    // a renamed key is found by its new name
    keys.update({ ...rec, name: "ci-2" });
    expect(keys.tokensSince("ci-2", dayStart(last))).toBe(10);
    expect(keys.tokensSince("ci", dayStart(last))).toBeUndefined();
  } finally {
    state.close();
  }
});
