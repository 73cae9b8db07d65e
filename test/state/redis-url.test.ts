// The Redis URL: the separate password goes in only when the URL has none, and logs see it redacted.
import { expect, test } from "bun:test";
import { redactRedisUrl, redisUrlWith } from "../../src/state/redis-url";
import { loadConfig } from "../../src/config/load";
import { tempDir } from "../helpers/util";

test("SWITCHYARD_REDIS_PASSWORD goes into a URL without one; a password in the URL wins", () => {
  expect(redisUrlWith("redis://127.0.0.1:6379/0", "s3cret")).toBe("redis://:s3cret@127.0.0.1:6379/0");
  expect(redisUrlWith("rediss://user:inurl@redis.example:6380/2", "other")).toBe("rediss://user:inurl@redis.example:6380/2");
  expect(redisUrlWith("redis://127.0.0.1:6379", undefined)).toBe("redis://127.0.0.1:6379");
});

test("logs and messages never show the password", () => {
  expect(redactRedisUrl("redis://:s3cret@127.0.0.1:6379/0")).toBe("redis://:***@127.0.0.1:6379/0");
  expect(redactRedisUrl("rediss://user:pw@h:1/0")).not.toContain("pw");
  expect(redactRedisUrl("not a url")).not.toContain("not a url");
});

test("SWITCHYARD_REDIS_URL sets state.redisUrl; the prefix defaults to switchyard:; other schemes are refused", () => {
  const d = tempDir("redis-config");
  try {
    const env = { SWITCHYARD_DATA_DIR: d.dir, SWITCHYARD_REDIS_URL: "redis://127.0.0.1:6379/0" };
    const { config } = loadConfig({}, env);
    expect(config.state).toEqual({ redisUrl: "redis://127.0.0.1:6379/0", redisPrefix: "switchyard:" });
    expect(loadConfig({}, { SWITCHYARD_DATA_DIR: d.dir }).config.state.redisUrl).toBeUndefined();
    expect(() => loadConfig({}, { ...env, SWITCHYARD_REDIS_URL: "http://127.0.0.1:6379" })).toThrow(/state\.redisUrl/);
  } finally {
    d.cleanup();
  }
});
