// Every duration in the configuration has a ceiling: a timer above 2^31-1 ms fires after 1 ms (every
// request a 504, every body a 408, a flush spinning every millisecond), and a token refreshed as far
// ahead as it lives is refreshed on every request.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, validateConfig } from "../../src/config/load";
import { ConfigSchema } from "../../src/config/schema";
import { runCli } from "../helpers/cli";
import { tempDir } from "../helpers/util";

const TIMER_MAX_MS = 2 ** 31 - 1;
/** key path → how many milliseconds one unit of it is */
const DURATIONS: Record<string, number> = {
  "server.shutdownGraceSeconds": 1000,
  "server.keepAliveSeconds": 1000,
  "server.bodyTimeoutSeconds": 1000,
  "upstream.requestTimeoutSeconds": 1000,
  "pool.quotaRefreshMinutes": 60_000,
  "pool.tokenRefreshAheadSeconds": 1000,
  "pool.flushIntervalSeconds": 1000,
  "scheduling.sessionTtlMinutes": 60_000,
  "usage.retentionDays": 86_400_000,
  "openai.remoteImageTimeoutMs": 1,
};

const at = (key: string, value: unknown) => {
  const [section, name] = key.split(".") as [string, string];
  return { [section]: { [name]: value } };
};
const maxOf = (key: string) => {
  const [section, name] = key.split(".") as [string, string];
  return (ConfigSchema.properties as any)[section].properties[name].maximum as number | undefined;
};

test("every duration setting is listed here (a new one needs a ceiling too)", () => {
  const named = Object.entries(ConfigSchema.properties).flatMap(([section, s]) =>
    Object.keys((s as any).properties)
      .filter((k) => /(Seconds|Minutes|Days|Ms)$/.test(k))
      .map((k) => `${section}.${k}`),
  );
  expect(named.sort()).toEqual(Object.keys(DURATIONS).sort());
});

test.each(Object.keys(DURATIONS))("%s has a ceiling a timer can take; above it is an error naming the key", (key) => {
  const max = maxOf(key);
  expect(max).toBeDefined();
  // retentionDays is never a timer (rows older than it are deleted hourly): it only has to stay a number
  if (key !== "usage.retentionDays") expect(max! * DURATIONS[key]!).toBeLessThanOrEqual(TIMER_MAX_MS);
  expect(() => validateConfig(at(key, max), "config.json")).not.toThrow();
  expect(() => validateConfig(at(key, max! + 1), "config.json")).toThrow(ConfigError);
  expect(() => validateConfig(at(key, max! + 1), "config.json")).toThrow(
    new RegExp(`^config\\.json: ${key.replace(".", "\\.")}: expected (number|integer) to be less or equal to ${max}, got `),
  );
});

test("the ceilings the README gives", () => {
  expect(maxOf("upstream.requestTimeoutSeconds")).toBe(86400);
  expect(maxOf("server.keepAliveSeconds")).toBe(3600);
  expect(maxOf("server.bodyTimeoutSeconds")).toBe(3600);
  expect(maxOf("pool.flushIntervalSeconds")).toBe(3600);
  expect(maxOf("pool.quotaRefreshMinutes")).toBe(10080);
  // tokens live 3600 s and the background sweep adds up to half of this by jitter: a token refreshed
  // this far ahead is still used for 15 minutes before the next refresh
  expect(maxOf("pool.tokenRefreshAheadSeconds")).toBe(1800);
  expect(3600 - 1.5 * maxOf("pool.tokenRefreshAheadSeconds")!).toBe(900);
});

test("a config file with a duration too long for a timer exits 2 naming the key (it made every request a 504 at once)", async () => {
  const d = tempDir("durations");
  try {
    const file = join(d.dir, "config.json");
    writeFileSync(file, JSON.stringify({ upstream: { requestTimeoutSeconds: 3_000_000 } }));
    const r = await runCli(["config", "validate", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("upstream.requestTimeoutSeconds: expected number to be less or equal to 86400, got 3000000");
    writeFileSync(file, JSON.stringify({ pool: { tokenRefreshAheadSeconds: 3600 } }));
    const ahead = await runCli(["config", "validate", file]);
    expect(ahead.code).toBe(2);
    expect(ahead.stderr).toContain("pool.tokenRefreshAheadSeconds");
  } finally {
    d.cleanup();
  }
});
