// The pure parts of the keys room: limits as typed (CLI flags, admin fields), model patterns, and the
// limiter's windows and budgets under an injected clock.
import { describe, expect, test } from "bun:test";
import { ApiError } from "../../src/core/errors";
import { Limiter } from "../../src/keys/limiter";
import type { SharedAnswer, SharedCounts } from "../../src/state/redis-keys";
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
    [{ expires: "2027-01-31T10:30:00Z" }, { expiresAt: Date.UTC(2027, 0, 31, 10, 30) }],
    [{ models: "none" }, { models: null }],
    [{ models: "0" }, { models: null }],
    [{ models: [] }, { models: null }],
    [{ models: 0 }, { models: null }],
    [
      { rpm: "none", tpm: "00" },
      { rpm: null, tpm: null },
    ],
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
    [{ models: ",," }, "models"],
    [{ models: [" "] }, "models"],
    [{ rpm: "0x10" }, "rpm"],
    [{ dailyTokens: "1e3" }, "dailyTokens"],
    [{ rpm: " 5" }, "rpm"],
    [{ rpm: "99999999999999999999" }, "rpm"],
    [{ rpm: 2 ** 60 }, "rpm"],
    [{ expires: "99999999999d" }, "expires"],
    [{ expires: "2027-02-31" }, "expires"],
    [{ expires: "7" }, "expires"],
    [{ expires: "2027-01-31T25:00" }, "expires"],
    [{ expires: "2020-01-01" }, "expires"],
    [{ expires: "0d" }, "expires"],
  ] as const)("%j is refused naming %s", (input, field) => {
    expect(() => parseLimits(input as any, T0)).toThrow(field);
  });

  test("since: a duration back from now or a date", () => {
    expect(parseSince("24h", T0)).toBe(T0 - 86_400_000);
    expect(parseSince("2026-11-01", T0)).toBe(Date.UTC(2026, 10, 1));
    expect(() => parseSince("yesterday", T0)).toThrow("since");
    // Date.parse would take these: the year 2001, March 3rd, a date past any Date
    for (const bad of ["7", "1", "2026-02-31", "99999999999d", "2026-13-01"]) expect(() => parseSince(bad, T0)).toThrow("since");
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
  test("a clock set back does not lock a key out for the size of the step", () => {
    let now = T0;
    const l = new Limiter(() => now);
    const k = keyWith({ rpm: 2, tpm: 100 });
    l.admit(k, "m").release();
    l.admit(k, "m").release();
    expect(() => l.admit(k, "m")).toThrow("requests per minute");
    now -= 3_600_000; // NTP steps the clock back an hour
    expect(() => l.admit(k, "m")).not.toThrow();
  });

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

  test("a new day resets the daily count but not the month's; the month's budget resets on the 1st", () => {
    let now = Date.UTC(2026, 11, 15, 12);
    const l = new Limiter(() => now);
    const k = keyWith({ dailyTokens: 100, monthlyTokens: 150 });
    l.admit(k, "m").release();
    l.charge(k, 90);
    now += 86_400_000;
    l.admit(k, "m").release();
    l.charge(k, 70);
    expect(() => l.admit(k, "m")).toThrow("monthly budget of 150 tokens; it resets at 2027-01-01T00:00:00.000Z");
    now = Date.UTC(2027, 0, 1);
    expect(() => l.admit(k, "m")).not.toThrow();
  });

  test("the limit headers follow a key's new limits", () => {
    const l = new Limiter(() => T0);
    const k = keyWith({ rpm: 5, tpm: 1000 });
    const a = l.admit(k, "m");
    expect(a.headers).toEqual({
      "x-ratelimit-limit-requests": "5",
      "x-ratelimit-remaining-requests": "4",
      "x-ratelimit-limit-tokens": "1000",
      "x-ratelimit-remaining-tokens": "1000",
    });
    a.release();
    const changed = { ...k, rpm: 7, tpm: null };
    expect(l.admit(changed, "m").headers).toEqual({ "x-ratelimit-limit-requests": "7", "x-ratelimit-remaining-requests": "5" });
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
});

describe("Limiter with shared counts (requests per minute and in flight, Redis)", () => {
  /** shared counts that answer `answer` and write down what they were asked and told */
  function counts(answer: (q: any) => Promise<SharedAnswer | undefined> | undefined) {
    const log: unknown[] = [];
    const c: SharedCounts = {
      admit: (id, q) => (log.push(["admit", id, q]), answer(q)),
      held: (id, n) => void log.push(["held", id, n]),
    };
    return { c, log };
  }
  const yes = (over: Partial<SharedAnswer> = {}) =>
    Promise.resolve({ ok: true, started: 0, oldestSecond: T0 / 1000, othersHeld: 0, ...over });

  test.each([
    ["counted, 3 started before it", yes({ started: 3 }), { remaining: "6" }],
    [
      "over rpm, the oldest 20 s ago",
      yes({ ok: false, over: "rpm", started: 10, oldestSecond: T0 / 1000 - 20 }),
      { status: 429, retryAfter: 40, message: "10 requests per minute" },
    ],
    [
      "over concurrency, 2 held elsewhere",
      yes({ ok: false, over: "concurrency", othersHeld: 2 }),
      { status: 429, retryAfter: 1, message: "2 requests in flight" },
    ],
    ["unreachable (undefined)", undefined, { remaining: "9" }],
    ["failed (a promise of undefined)", Promise.resolve(undefined), { remaining: "9" }],
  ] as const)("%s", async (_name, answer, out) => {
    const l = new Limiter(() => T0);
    const { c, log } = counts(() => answer as never);
    l.share(() => {}, c);
    const k = keyWith({ rpm: 10, concurrency: 2 });
    const got = await Promise.resolve(l.admitShared(k, "m")).catch((e: ApiError) => e);
    expect(log[0]).toEqual(["admit", "id", { now: T0, rpm: 10, concurrency: 2, held: 1 }]);
    if ("status" in out) {
      expect(got).toMatchObject({ status: out.status, retryAfter: out.retryAfter });
      expect((got as ApiError).message).toContain(out.message);
    } else expect((got as any).headers["x-ratelimit-remaining-requests"]).toBe(out.remaining);
  });

  test("other limits are checked before the counts are asked (a refused request takes no place)", () => {
    const l = new Limiter(() => T0);
    const { c, log } = counts(() => yes());
    l.share(() => {}, c);
    expect(() => l.admitShared(keyWith({ rpm: 10, models: ["gemini-*"] }), "claude-sonnet-4-5")).toThrow("may not use");
    expect(log).toEqual([]);
  });

  test("this instance's count in flight: held while the counts answer, said on release and on refusal, repeated while held", async () => {
    const l = new Limiter(() => T0);
    let answer!: (v: SharedAnswer) => void;
    const { c, log } = counts(() => new Promise((r) => (answer = r)));
    l.share(() => {}, c);
    const k = keyWith({ concurrency: 1 });
    const first = l.admitShared(k, "m");
    // the place is held here already: a second request is refused without asking
    expect(() => l.admitShared(k, "m")).toThrow("1 requests in flight");
    answer({ ok: true, started: 0, oldestSecond: 0, othersHeld: 0 });
    const a = await first;
    l.repeatHeld(() => k);
    a.release();
    a.release();
    l.repeatHeld(() => k); // nothing held: nothing to say
    const refusedOne = l.admitShared(k, "m");
    answer({ ok: false, over: "concurrency", started: 0, oldestSecond: 0, othersHeld: 1 });
    await expect(Promise.resolve(refusedOne)).rejects.toThrow("1 requests in flight");
    expect(log.filter((x: any) => x[0] === "held")).toEqual([
      ["held", "id", 1], // the repeat
      ["held", "id", 0], // the release (once)
      ["held", "id", 0], // the refusal: a count said meanwhile may have included its place
    ]);
  });

  test("without shared counts, or without rpm and concurrency, admitShared is admit", () => {
    const l = new Limiter(() => T0);
    const a = l.admitShared(keyWith({ rpm: 1 }), "m");
    expect(a instanceof Promise).toBe(false);
    expect(() => l.admitShared(keyWith({ rpm: 1 }), "m")).toThrow("1 requests per minute");
    const { c, log } = counts(() => yes());
    l.share(() => {}, c);
    expect(l.admitShared(keyWith({ id: "other", tpm: 5 }), "m") instanceof Promise).toBe(false);
    expect(log).toEqual([]);
  });
});

test("a key the disk refuses (read-only, full) is a StorageError saying the change was not applied, not an internal error", async () => {
  const { Database } = await import("bun:sqlite");
  const { SqliteKeys } = await import("../../src/state/keys");
  const { KeyBook } = await import("../../src/keys/book");
  const { StorageError } = await import("../../src/core/errors");
  const db = new Database(":memory:");
  const book = new KeyBook(new SqliteKeys(db));
  const made = book.create("before", NO_LIMITS);
  db.exec("PRAGMA query_only = 1");
  expect(() => book.create("after", NO_LIMITS)).toThrow(StorageError);
  expect(() => book.create("after", NO_LIMITS)).toThrow("the change was not applied");
  expect(() => book.revoke(made.key.id)).toThrow(StorageError);
  expect(book.list().map((k) => [k.name, k.revokedAt])).toEqual([["before", null]]);
});

test("two processes on one state.db: a change the other made is the base of this one's (none undone); its rename renames what this one holds", async () => {
  const { Database } = await import("bun:sqlite");
  const { SqliteKeys } = await import("../../src/state/keys");
  const { KeyBook } = await import("../../src/keys/book");
  const { tempDir } = await import("../helpers/util");
  const path = `${tempDir("keys").dir}/state.db`;
  const renamed: [string, string][] = [];
  const server = new KeyBook(new SqliteKeys(new Database(path)), Date.now, (from, to) => renamed.push([from, to]));
  const cli = new KeyBook(new SqliteKeys(new Database(path)));
  const k = server.create("k1", NO_LIMITS).key;
  cli.reloadIfChanged();
  cli.update(k.id, { rpm: 10 });
  // the server, before its next reload, patches another field: the CLI's rpm stays
  server.update(k.id, { concurrency: 3 });
  cli.reloadIfChanged();
  expect(cli.find(k.id)).toMatchObject({ rpm: 10, concurrency: 3 });
  // a revocation the CLI made is not undone either: the server sees it at once (409 on a change)
  cli.revoke(k.id);
  expect(() => server.update(k.id, { rpm: 5 })).toThrow("revoked");
  // a rename elsewhere: the server's hook renames what it holds under the old name
  const k2 = server.create("k2", NO_LIMITS).key;
  cli.reloadIfChanged();
  cli.update(k2.id, { name: "k3" });
  expect(server.nameOf(k2.id)).toBe("k2");
  server.reloadIfChanged();
  expect(server.nameOf(k2.id)).toBe("k3");
  expect(renamed).toEqual([["k2", "k3"]]);
});
