// The shared state while Redis is away, at the level of its stores (the gateway's side is in
// redis.test.ts): a report that needs Redis says so instead of leaving hours out, keys a gateway
// started with while Redis was down reach Redis when it comes up, and a Redis that stops answering
// without closing its socket counts as away instead of holding every caller.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { RedisClient } from "bun";
import { RedisState } from "../../src/state/redis";
import { RedisUsage } from "../../src/state/redis-usage";
import { RedisKeys } from "../../src/state/redis-keys";
import { SqliteKeys } from "../../src/state/keys";
import { NO_LIMITS } from "../../src/keys/limits-input";
import { ApiError } from "../../src/core/errors";
import { silentLogger } from "../../src/core/log";
import { redisMissing, startRedis, type RedisServer } from "../helpers/redis";
import { until, usageRecord } from "../helpers/util";

const skip = redisMissing();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let redis: RedisServer;
let up = true;
beforeAll(async () => {
  if (!skip) redis = await startRedis({ appendonly: true }); // a restart keeps what was written
});
afterAll(async () => {
  await redis?.cleanup();
});
async function stop() {
  await redis.stop();
  up = false;
}
async function start() {
  if (!up) await redis.start();
  up = true;
}

const open = () => RedisState.open({ url: redis.url, prefix: `away${crypto.randomUUID().slice(0, 8)}:`, log: silentLogger(), retryMs: 50 });

const record = (at: number) => usageRecord(at);

test.skipIf(!!skip)(
  "with Redis away, a report older than the mirror's 35 days is a 503 naming `since`, not a report missing hours",
  async () => {
    const T = Date.UTC(2026, 10, 29, 12);
    const state = await open();
    try {
      const usage = await RedisUsage.open(state, () => T);
      usage.add([record(T - 50 * DAY), record(T - DAY)]);
      expect((await usage.query(T - 60 * DAY, "key"))[0]!.requests).toBe(2);
      await stop();
      await until(() => !state.healthy, "Redis seen as away", 3000);
      // the window in memory still answers
      expect((await usage.query(T - 10 * DAY, "key"))[0]!.requests).toBe(1);
      const err = await usage.query(T - 60 * DAY, "key").catch((e) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ status: 503, param: "since", reason: "shared_state_unavailable" });
      expect(err.message).toContain("35 days");
      await start();
      await until(() => state.healthy, "Redis back", 5000);
      expect((await usage.query(T - 60 * DAY, "key"))[0]!.requests).toBe(2);
    } finally {
      state.close();
      await start();
    }
  },
);

test.skipIf(!!skip)(
  "keys in state.db when Redis was down at start are served meanwhile and reach an empty Redis when it comes up",
  async () => {
    await stop();
    const state = await open();
    try {
      expect(state.healthy).toBe(false);
      const local = new SqliteKeys(new Database(":memory:"));
      local.insert({ id: "k1", name: "ci", prefix: "sk-sy-abcd", hash: "h".repeat(64), createdAt: 1, revokedAt: null, ...NO_LIMITS });
      const keys = await RedisKeys.open(state, local);
      expect(keys.list().map((k) => k.name)).toEqual(["ci"]);
      await start();
      await until(() => state.healthy, "Redis up", 5000);
      const direct = new RedisClient(redis.url);
      try {
        await until(async () => Object.keys(await direct.hgetall(state.keyOf("keys"))).length === 1, "the key in Redis", 3000);
      } finally {
        direct.close();
      }
      expect(keys.list().map((k) => k.name)).toEqual(["ci"]);
    } finally {
      state.close();
      await start();
    }
  },
);

test.skipIf(!!skip)("a Redis that stops answering but keeps its socket open counts as away after the command timeout", async () => {
  const state = await RedisState.open({
    url: redis.url,
    prefix: `away${crypto.randomUUID().slice(0, 8)}:`,
    log: silentLogger(),
    retryMs: 50,
    commandTimeoutMs: 200,
  });
  try {
    expect(await state.lease("t", 1000)).toBe("taken");
    redis.pause();
    // the token refresh's lease, a key's admission script: an answer (unavailable / local) instead of a hang
    expect(await state.lease("t2", 1000)).toBe("unavailable"); // (it waited forever before)
    expect(state.healthy).toBe(false);
    expect(await state.lease("t3", 1000)).toBe("unavailable"); // at once now: Redis is away
    redis.resume();
    await until(() => state.healthy, "Redis answering again", 5000);
    expect(await state.lease("t4", 1000)).toBe("taken");
  } finally {
    redis.resume();
    state.close();
  }
});
