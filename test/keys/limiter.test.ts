// The pure parts of the keys room: limits as typed (CLI flags, admin fields), model patterns, and the
// limiter's windows and budgets under an injected clock.
import { describe, expect, test } from "bun:test";
import { ApiError } from "../../src/core/errors";
import { HELD_REPEAT_MS, HELD_TTL_MS, Limiter, type SharedRate } from "../../src/keys/limiter";
import { modelAllowed, NO_LIMITS, parseLimits, parseSince } from "../../src/keys/limits-input";
import type { KeyRecord } from "../../src/state/keys";

const T0 = Date.UTC(2026, 10, 30, 23, 59, 0);
const keyWith = (over: Partial<KeyRecord>): KeyRecord => ({
  id: "id",
  name: "k",
  prefix: "sk-sy-abcd",
  hash: "h",
  createdAt: 0,
  revokedAt: null,
  ...NO_LIMITS,
  ...over,
});

describe("parseLimits", () => {
  test.each([
    [{ rpm: "60" }, { rpm: 60 }],
    [{ rpm: 0 }, { rpm: null }],
    [{ models: "gemini-*, claude-sonnet-4-5" }, { models: ["gemini-*", "claude-sonnet-4-5"] }],
    [{ models: "" }, { models: null }],
    [{ expires: "7d" }, { expiresAt: T0 + 7 * 86_400_000 }],
    [{ expires: "2027-01-01" }, { expiresAt: Date.UTC(2027, 0, 1) }],
    [{ expires: "never" }, { expiresAt: null }],
    [
      { dailyTokens: "1000", monthlyTokens: 5 },
      { dailyTokens: 1000, monthlyTokens: 5 },
    ],
  ] as const)("%j → %j", (input, out) => {
    expect(parseLimits(input as any, T0)).toEqual(out as any);
  });

  test.each([
    [{ rpm: -1 }, "rpm"],
    [{ tpm: "lots" }, "tpm"],
    [{ concurrency: 1.5 }, "concurrency"],
    [{ expires: "soon" }, "expires"],
    [{ models: "gemini 2" }, "models"],
  ] as const)("%j is refused naming %s", (input, field) => {
    expect(() => parseLimits(input as any, T0)).toThrow(field);
  });

  test("since: a duration back from now or a date", () => {
    expect(parseSince("24h", T0)).toBe(T0 - 86_400_000);
    expect(parseSince("2026-11-01", T0)).toBe(Date.UTC(2026, 10, 1));
    expect(() => parseSince("yesterday", T0)).toThrow("since");
  });
});

test.each([
  [["gemini-*"], "gemini-2.5-flash", true],
  [["gemini-*"], "models/gemini-2.5-pro", true],
  [["gemini-*"], "claude-sonnet-4-5", false],
  [["GPT-4o"], "gpt-4o", true],
  [["*flash*"], "gemini-2.5-flash-lite", true],
  [["gemini-2.5-flash"], "gemini-2.5-flash-lite", false],
  [null, "anything", true],
] as const)("modelAllowed(%j, %s) = %s", (patterns, model, ok) => {
  expect(modelAllowed(patterns as string[] | null, model)).toBe(ok);
});

describe("Limiter", () => {
  test("requests per minute slide with the clock; Retry-After says when the oldest leaves", () => {
    let now = T0;
    const l = new Limiter(() => now);
    const k = keyWith({ rpm: 2 });
    l.admit(k, "m").release();
    now += 10_000;
    l.admit(k, "m").release();
    const e = (() => {
      try {
        l.admit(k, "m");
      } catch (err) {
        return err as ApiError;
      }
    })()!;
    expect(e.status).toBe(429);
    expect(e.retryAfter).toBe(50);
    now += 50_001;
    expect(l.admit(k, "m").headers["x-ratelimit-remaining-requests"]).toBe("0");
  });

  test("concurrency: held until released, released once", () => {
    const l = new Limiter(() => T0);
    const k = keyWith({ concurrency: 1 });
    const a = l.admit(k, "m");
    expect(() => l.admit(k, "m")).toThrow("in flight");
    a.release();
    a.release();
    const b = l.admit(k, "m");
    expect(() => l.admit(k, "m")).toThrow("in flight");
    b.release();
  });

  test("budgets start from what state.db says was used, and reset at the UTC day and month", () => {
    let now = T0; // 23:59 on the last day of November
    const l = new Limiter(
      () => now,
      (_name, since) => (since === Date.UTC(2026, 10, 30) ? 90 : 500),
    );
    const k = keyWith({ dailyTokens: 100, monthlyTokens: 600 });
    l.admit(k, "m").release();
    l.charge(k, 10);
    expect(() => l.admit(k, "m")).toThrow("daily budget of 100 tokens; it resets at 2026-12-01T00:00:00.000Z");
    now += 60_000; // a new day and a new month
    expect(() => l.admit(k, "m")).not.toThrow();
  });

  test("tokens per minute count what was charged in the last minute", () => {
    let now = T0;
    const l = new Limiter(() => now);
    const k = keyWith({ tpm: 100 });
    l.admit(k, "m").release();
    l.charge(k, 100);
    expect(() => l.admit(k, "m")).toThrow("100 tokens per minute");
    now += 60_001;
    expect(l.admit(k, "m").headers["x-ratelimit-remaining-tokens"]).toBe("100");
  });

  test("shared concurrency: every instance's requests in flight count, and a silent instance's stop counting after its lease", () => {
    let now = T0;
    const a = new Limiter(() => now);
    const b = new Limiter(() => now);
    const c = new Limiter(() => now);
    // a message bus: what one limiter tells reaches the others (as Redis's changes channel does)
    const all = [a, b, c];
    const hear = all.map((l) => l.share((u) => hear.forEach((fn, i) => all[i] !== l && fn(u))));
    const k = keyWith({ concurrency: 2 });
    const first = a.admit(k, "m");
    const second = b.admit(k, "m");
    for (const l of all) expect(() => l.admit(k, "m")).toThrow("2 requests in flight");
    first.release();
    const third = c.admit(k, "m");
    expect(() => a.admit(k, "m")).toThrow("2 requests in flight");
    third.release();
    // b goes silent holding one (killed): after the lease the others stop counting it
    now += HELD_REPEAT_MS;
    a.repeatHeld(() => k);
    c.repeatHeld(() => k);
    expect(() => a.admit(k, "m").release()).not.toThrow();
    a.admit(k, "m"); // a holds one, b's one still counts
    expect(() => c.admit(k, "m")).toThrow("2 requests in flight");
    now += HELD_TTL_MS + 1;
    a.repeatHeld(() => k);
    expect(() => c.admit(k, "m")).not.toThrow();
    second.release();
  });
});

describe("Limiter with a shared requests-per-minute count", () => {
  // the count Redis keeps, as a table of answers: what the shared count says, what the caller gets
  test.each([
    ["counted, 3 before it", { ok: true, count: 3, oldestSecond: T0 / 1000 }, { remaining: "6" }],
    ["over, the oldest 20 s ago", { ok: false, count: 10, oldestSecond: T0 / 1000 - 20 }, { status: 429, retryAfter: 40 }],
    ["unreachable (undefined)", undefined, { remaining: "9" }],
    ["failed (a promise of undefined)", Promise.resolve(undefined), { remaining: "9" }],
  ] as const)("%s", async (_name, answer, out) => {
    const l = new Limiter(() => T0);
    const asked: unknown[] = [];
    const rate: SharedRate = (...args) => {
      asked.push(args);
      return answer instanceof Promise || answer === undefined ? answer : Promise.resolve(answer);
    };
    l.share(() => {}, rate);
    const k = keyWith({ rpm: 10 });
    const got = await Promise.resolve(l.admitShared(k, "m")).catch((e: ApiError) => e);
    expect(asked).toEqual([["id", 10, T0]]);
    if ("status" in out) expect(got).toMatchObject({ status: out.status, retryAfter: out.retryAfter });
    else expect((got as any).headers["x-ratelimit-remaining-requests"]).toBe(out.remaining);
  });

  test("other limits are checked before the count is taken (a refused request takes no place in the minute)", () => {
    const l = new Limiter(() => T0);
    let asked = 0;
    l.share(
      () => {},
      () => (asked++, Promise.resolve({ ok: true, count: 0, oldestSecond: T0 / 1000 })),
    );
    expect(() => l.admitShared(keyWith({ rpm: 10, models: ["gemini-*"] }), "claude-sonnet-4-5")).toThrow("may not use");
    expect(asked).toBe(0);
  });

  test("a request waiting for the count already holds its place in the key's concurrency", async () => {
    const l = new Limiter(() => T0);
    let answer!: (v: { ok: boolean; count: number; oldestSecond: number }) => void;
    l.share(
      () => {},
      () => new Promise((r) => (answer = r)),
    );
    const k = keyWith({ rpm: 10, concurrency: 1 });
    const first = l.admitShared(k, "m");
    expect(() => l.admitShared(k, "m")).toThrow("1 requests in flight");
    answer({ ok: true, count: 0, oldestSecond: T0 / 1000 });
    const a = await first;
    expect(() => l.admit(k, "m")).toThrow("1 requests in flight");
    a.release();
    expect(() => l.admit(k, "m").release()).not.toThrow();
  });

  test("without a shared count admitShared is admit", () => {
    const l = new Limiter(() => T0);
    const a = l.admitShared(keyWith({ rpm: 1 }), "m");
    expect(a instanceof Promise).toBe(false);
    expect(() => l.admitShared(keyWith({ rpm: 1 }), "m")).toThrow("1 requests per minute");
  });
});
