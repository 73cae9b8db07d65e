// The scheduler's pure core: eligibility, the three modes, session bindings, the "why nothing" message.
import { describe, expect, test } from "bun:test";
import { benchPick, explainNoAccount, isEligible, Scheduler, SessionTable, UNKNOWN_RESET_MS } from "../../src/scheduling/scheduler";
import type { Account } from "../../src/accounts/types";
import { noAccountError } from "../../src/gateway/errors";

const NOW = 1_800_000_000_000;
const M = "gemini-2.5-flash";

function acc(id: string, extra: Partial<Account> = {}): Account {
  return {
    id,
    email: `${id}@x.com`,
    refreshToken: "r",
    projectId: `p-${id}`,
    state: "active",
    quota: null,
    cooldowns: [],
    requests: 0,
    failures: 0,
    createdAt: 0,
    ...extra,
  };
}

const q = (frac: number, resetTime?: number) => ({ [M]: { remainingFraction: frac, resetTime, fetchedAt: NOW - 1000 } });

describe("eligibility", () => {
  test.each([
    ["active with a project", acc("a"), true],
    ["disabled", acc("a", { state: "disabled" }), false],
    ["needs verification", acc("a", { state: "needs_verification" }), false],
    ["no project", acc("a", { projectId: undefined }), false],
    ["cooling for the model", acc("a", { cooldowns: [{ model: M, until: NOW + 1, reason: "rate_limited" }] }), false],
    ["cooling for another model", acc("a", { cooldowns: [{ model: "other", until: NOW + 1000, reason: "rate_limited" }] }), true],
    ["cooling account-wide", acc("a", { cooldowns: [{ model: "*", until: NOW + 1000, reason: "forbidden" }] }), false],
    ["cooldown over", acc("a", { cooldowns: [{ model: M, until: NOW, reason: "rate_limited" }] }), true],
    ["quota 0 until a future reset", acc("a", { quota: q(0, NOW + 60_000) }), false],
    ["quota 0, reset passed", acc("a", { quota: q(0, NOW - 1) }), true],
    ["quota 0, no reset time, fetched just now", acc("a", { quota: q(0) }), false],
    [
      "quota 0, no reset time, fetched long ago",
      acc("a", { quota: { [M]: { remainingFraction: 0, fetchedAt: NOW - UNKNOWN_RESET_MS - 1 } } }),
      true,
    ],
    ["quota left", acc("a", { quota: q(0.2, NOW + 60_000) }), true],
    ["quota unknown for the model", acc("a", { quota: { other: { remainingFraction: 0, fetchedAt: NOW } } }), true],
  ])("%s", (_n, a, want) => expect(isEligible(a, M, NOW)).toBe(want));
});

describe("round-robin", () => {
  test("cycles through eligible accounts and skips the others", () => {
    const s = new Scheduler("round-robin", 0, 10);
    const accounts = [acc("a"), acc("b", { state: "disabled" }), acc("c"), acc("d")];
    const picks = Array.from({ length: 6 }, () => s.pick({ accounts, model: M, now: NOW })!.id);
    expect(picks).toEqual(["a", "c", "d", "a", "c", "d"]);
  });

  test("exclude skips accounts already tried", () => {
    const s = new Scheduler("round-robin", 0, 10);
    const accounts = [acc("a"), acc("b")];
    expect(s.pick({ accounts, model: M, now: NOW, exclude: new Set(["a", "b"]) })).toBeUndefined();
    expect(s.pick({ accounts, model: M, now: NOW, exclude: new Set(["a"]) })!.id).toBe("b");
  });
});

describe("sticky", () => {
  test("a session stays on its account; new sessions spread; unkeyed requests rotate", () => {
    const s = new Scheduler("sticky", 60_000, 100);
    const accounts = [acc("a"), acc("b"), acc("c")];
    const serve = (key?: string) => {
      const a = s.pick({ accounts, model: M, now: NOW, sessionKey: key })!;
      s.bind(key, a.id, NOW);
      return a.id;
    };
    const first = { s1: serve("s1"), s2: serve("s2"), s3: serve("s3") };
    expect(new Set(Object.values(first)).size).toBe(3);
    for (let i = 0; i < 5; i++) for (const k of ["s1", "s2", "s3"] as const) expect(serve(k)).toBe(first[k]);
    expect(new Set([serve(), serve(), serve()]).size).toBe(3);
  });

  test("a session moves when its account is no longer eligible, and stays moved", () => {
    const s = new Scheduler("sticky", 60_000, 100);
    const a = acc("a");
    const accounts = [a, acc("b")];
    s.bind("s", "a", NOW);
    expect(s.pick({ accounts, model: M, now: NOW, sessionKey: "s" })!.id).toBe("a");
    a.cooldowns = [{ model: M, until: NOW + 5000, reason: "rate_limited" }];
    const moved = s.pick({ accounts, model: M, now: NOW, sessionKey: "s" })!;
    expect(moved.id).toBe("b");
    s.bind("s", moved.id, NOW);
    expect(s.pick({ accounts, model: M, now: NOW + 10_000, sessionKey: "s" })!.id).toBe("b");
  });

  test("a served request moves its session only from the binding it saw; a binding made meanwhile stands", () => {
    const s = new Scheduler("sticky", 60_000, 100);
    // two requests of one session saw it on "a"; the first was served by "b", the second by "c"
    expect(s.bindIfNew("s", "a", NOW)).toBe("a");
    expect(s.bindIfNew("s", "z", NOW)).toBe("a");
    s.bind("s", "b", NOW, "a");
    s.bind("s", "c", NOW, "a");
    expect(s.sessions.get("s", NOW)).toBe("b");
    // a binding another instance made first (taken while the request was under way) stands too
    s.sessions.applyRemote("t", "x", NOW);
    s.bind("t", "y", NOW, "y");
    expect(s.sessions.get("t", NOW)).toBe("x");
  });

  test("bindings expire after the idle TTL", () => {
    const t = new SessionTable(60_000, 100);
    t.bind("s", "a", NOW);
    expect(t.get("s", NOW + 59_000)).toBe("a");
    expect(t.get("s", NOW + 59_000 + 60_001)).toBeUndefined();
    expect(t.size).toBe(0);
  });

  test("the table is capped; the least recently used binding goes first", () => {
    const t = new SessionTable(0, 3);
    t.bind("s1", "a", NOW);
    t.bind("s2", "a", NOW);
    t.bind("s3", "b", NOW);
    t.bind("s1", "a", NOW + 1); // s1 used again: s2 is now the oldest
    t.bind("s4", "c", NOW + 2);
    expect(t.size).toBe(3);
    expect(t.get("s2", NOW + 3)).toBeUndefined();
    expect(t.get("s1", NOW + 3)).toBe("a");
    expect(t.bindings("a")).toBe(1);
    t.unbindAccount("a");
    expect(t.bindings("a")).toBe(0);
    expect(t.size).toBe(2);
  });

  test("prune drops idle bindings", () => {
    const t = new SessionTable(1000, 10);
    t.bind("old", "a", NOW);
    t.bind("new", "b", NOW + 5000);
    t.prune(NOW + 5500);
    expect(t.size).toBe(1);
    expect(t.bindings("a")).toBe(0);
  });
});

describe("quota-first", () => {
  for (const indexed of [false, true]) {
    const gen = indexed ? 1 : undefined;
    test(`most remaining quota first; unknown below known (${indexed ? "indexed" : "scan"})`, () => {
      const s = new Scheduler("quota-first", 0, 10);
      const accounts = [
        acc("unknown"),
        acc("low", { quota: q(0.1) }),
        acc("high", { quota: q(0.9) }),
        acc("empty", { quota: q(0, NOW + 1000) }),
      ];
      expect(s.pick({ accounts, model: M, now: NOW, generation: gen })!.id).toBe("high");
      expect(s.pick({ accounts, model: M, now: NOW, exclude: new Set(["high"]), generation: gen })!.id).toBe("low");
      expect(s.pick({ accounts, model: M, now: NOW, exclude: new Set(["high", "low"]), generation: gen })!.id).toBe("unknown");
      expect(s.pick({ accounts, model: M, now: NOW, exclude: new Set(["high", "low", "unknown"]), generation: gen })).toBeUndefined();
    });

    test(`ties go to the least recently used (${indexed ? "indexed" : "scan"})`, () => {
      const s = new Scheduler("quota-first", 0, 10);
      const accounts = [
        acc("a", { quota: q(0.5), lastUsedAt: NOW - 10 }),
        acc("b", { quota: q(0.5), lastUsedAt: NOW - 30 }),
        acc("c", { quota: q(0.5), lastUsedAt: NOW - 20 }),
      ];
      const order: string[] = [];
      for (let i = 0; i < 6; i++) {
        const a = s.pick({ accounts, model: M, now: NOW + i, generation: gen })!;
        a.lastUsedAt = NOW + i;
        order.push(a.id);
      }
      expect(order).toEqual(["b", "c", "a", "b", "c", "a"]);
    });
  }

  test("the index is rebuilt when the generation changes", () => {
    const s = new Scheduler("quota-first", 0, 10);
    const a = acc("a", { quota: q(0.9) });
    const b = acc("b", { quota: q(0.2) });
    expect(s.pick({ accounts: [a, b], model: M, now: NOW, generation: 1 })!.id).toBe("a");
    a.quota = q(0.1);
    b.quota = q(0.8);
    expect(s.pick({ accounts: [a, b], model: M, now: NOW, generation: 2 })!.id).toBe("b");
  });

  test("indexes are kept for the models in use, not one per name ever asked for", () => {
    const s = new Scheduler("quota-first", 0, 10);
    const accounts = [acc("a"), acc("b")];
    for (let i = 0; i < 10_000; i++) s.pick({ accounts, model: `made-up-${i}`, now: NOW, generation: 1 });
    s.pick({ accounts, model: M, now: NOW, generation: 1 });
    const kept = (s as unknown as { quotaIndex: Map<string, unknown> }).quotaIndex;
    expect(kept.size).toBeLessThanOrEqual(64);
    expect(kept.has(M)).toBe(true);
  });
});

describe("explainNoAccount", () => {
  test("everyone cooling for quota: the soonest reset (the client's 429)", () => {
    const accounts = [
      acc("a", { cooldowns: [{ model: M, until: NOW + 42_000, reason: "quota_exhausted" }] }),
      acc("b", { cooldowns: [{ model: M, until: NOW + 90_000, reason: "quota_exhausted" }] }),
      acc("c", { quota: q(0, NOW + 120_000) }),
    ];
    const r = explainNoAccount(accounts, M, NOW);
    expect(noAccountError(r, {}).status).toBe(429);
    expect(r.retryAfter).toBe(42);
    expect(r.message).toBe(`all 3 accounts are out of quota for ${M} (quota exhausted); soonest reset in 42 s`);
  });

  test("mixed reasons are listed", () => {
    const accounts = [
      acc("a", { cooldowns: [{ model: "*", until: NOW + 5_000, reason: "rate_limited" }] }),
      acc("b", { state: "disabled" }),
    ];
    const r = explainNoAccount(accounts, M, NOW);
    expect(noAccountError(r, {}).status).toBe(429);
    expect(r.retryAfter).toBe(5);
    expect(r.message).toContain("1 rate limited");
    expect(r.message).toContain("1 disabled");
  });

  test("nobody will come back: 503", () => {
    expect(explainNoAccount([], M, NOW)).toMatchObject({ reason: "no_accounts" });
    expect(noAccountError(explainNoAccount([], M, NOW), {}).status).toBe(503);
    const r = explainNoAccount([acc("a", { state: "disabled" }), acc("b", { state: "needs_verification" })], M, NOW);
    expect(noAccountError(r, {}).status).toBe(503);
    expect(r.retryAfter).toBeUndefined();
    expect(r.message).toContain("1 disabled, 1 need verification");
  });
});

test("benchPick measures every mode", () => {
  const rows = benchPick(100, 50);
  expect(rows.map((r) => r.mode)).toEqual(["sticky", "round-robin", "quota-first", "quota-first (scan)"]);
  for (const r of rows) expect(r.nsPerPick).toBeGreaterThan(0);
});
