// upstream.maxConcurrentRequests: a default for thousands of streams, an integer within Bun's reach,
// and an error that names the key and what it takes.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, loadConfig, validateConfig } from "../../src/config/load";
import { DEFAULT_MAX_CONCURRENT_REQUESTS, MAX_CONCURRENT_REQUESTS } from "../../src/config/schema";
import { tempDir } from "../helpers/util";

describe("upstream.maxConcurrentRequests", () => {
  test("defaults to 4096 and takes a value from config.json", () => {
    expect(DEFAULT_MAX_CONCURRENT_REQUESTS).toBe(4096);
    expect(validateConfig({}, "configuration").upstream.maxConcurrentRequests).toBe(4096);
    const t = tempDir("cfg");
    try {
      writeFileSync(join(t.dir, "config.json"), JSON.stringify({ upstream: { maxConcurrentRequests: 600 } }));
      expect(loadConfig({ dataDir: t.dir }, {}).config.upstream.maxConcurrentRequests).toBe(600);
    } finally {
      t.cleanup();
    }
  });

  test("the bounds are 1 and 65000", () => {
    expect(MAX_CONCURRENT_REQUESTS).toBe(65000);
    expect(validateConfig({ upstream: { maxConcurrentRequests: 1 } }, "c").upstream.maxConcurrentRequests).toBe(1);
    expect(validateConfig({ upstream: { maxConcurrentRequests: 65000 } }, "c").upstream.maxConcurrentRequests).toBe(65000);
  });

  const bad: [unknown, string][] = [
    [0, "config.json: upstream.maxConcurrentRequests: expected integer to be greater or equal to 1, got 0"],
    [65001, "config.json: upstream.maxConcurrentRequests: expected integer to be less or equal to 65000, got 65001"],
    [1.5, "config.json: upstream.maxConcurrentRequests: expected integer, got 1.5"],
    ["600", 'config.json: upstream.maxConcurrentRequests: expected integer, got "600"'],
  ];
  for (const [value, message] of bad)
    test(`refuses ${JSON.stringify(value)} naming the key and what it takes`, () => {
      let err: unknown;
      try {
        validateConfig({ upstream: { maxConcurrentRequests: value } }, "config.json");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(message);
    });

  test("has no environment variable: only config.json sets it", () => {
    const t = tempDir("cfg");
    try {
      const { config } = loadConfig({ dataDir: t.dir }, { SWITCHYARD_MAX_CONCURRENT_REQUESTS: "7", BUN_CONFIG_MAX_HTTP_REQUESTS: "7" });
      expect(config.upstream.maxConcurrentRequests).toBe(4096);
    } finally {
      t.cleanup();
    }
  });
});
