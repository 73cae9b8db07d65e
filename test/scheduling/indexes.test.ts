// The scheduler's indexes kept per event (no rebuild per pick): the same choices as the scans, and
// they follow binding and quota changes within one generation.
import { describe, expect, test } from "bun:test";
import { Scheduler } from "../../src/scheduling/scheduler";
import type { Account } from "../../src/accounts/types";
import { accountRecord } from "../helpers/util";

const NOW = 1_800_000_000_000;
const M = "gemini-2.5-flash";
const acc = (id: string, extra: Partial<Account> = {}) => accountRecord(`${id}@x.com`, { id, projectId: `p-${id}`, ...extra });
const q = (frac: number) => ({ [M]: { remainingFraction: frac, fetchedAt: NOW } });

describe("sticky: new sessions go to the account with the fewest bindings", () => {
  test.each([
    ["indexed", 1],
    ["scan", undefined],
  ] as const)("%s", (_name, generation) => {
    const s = new Scheduler("sticky", 60_000, 100);
    const accounts = [acc("a"), acc("b"), acc("c")];
    const serve = (key: string, now = NOW) => {
      const a = s.pick({ accounts, model: M, now, sessionKey: key, generation })!;
      s.bind(key, a.id, now);
      return a.id;
    };
    expect([serve("s1"), serve("s2"), serve("s3")].sort()).toEqual(["a", "b", "c"]);
    const b = s.sessions.get("s2", NOW)!;
    s.sessions.delete("s2"); // its binding ends: that account has the fewest again
    expect(serve("s4")).toBe(b);
    accounts.find((x) => x.id === b)!.cooldowns = [{ model: M, until: NOW + 60_000, reason: "rate_limited" }];
    const next = serve("s5");
    expect(next).not.toBe(b); // cooling accounts are skipped
    expect(s.sessions.bindings(next)).toBe(2);
  });

  test("10,000 accounts and 10,000 sessions: every account gets one before any gets two", () => {
    const accounts = Array.from({ length: 10_000 }, (_, i) => acc(`a${i}`));
    const s = new Scheduler("sticky", 0, 20_000);
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const a = s.pick({ accounts, model: M, now: NOW, sessionKey: `s${i}`, generation: 1 })!;
      s.bind(`s${i}`, a.id, NOW);
      counts.set(a.id, (counts.get(a.id) ?? 0) + 1);
    }
    expect(counts.size).toBe(10_000);
  });
});

describe("quota-first follows quota changes without a rebuild", () => {
  test("a changed account moves to its new rank; the old entry is skipped", () => {
    const s = new Scheduler("quota-first", 0, 10);
    const a = acc("a", { quota: q(0.9) });
    const b = acc("b", { quota: q(0.2) });
    const pick = () => s.pick({ accounts: [a, b], model: M, now: NOW, generation: 7 })!.id;
    expect(pick()).toBe("a");
    a.quota = q(0.1);
    s.quotaChanged(a);
    expect(pick()).toBe("b");
    expect(pick()).toBe("b");
    b.quota = q(0.05);
    s.quotaChanged(b);
    expect(pick()).toBe("a");
  });

  test("many changes in one generation: the choice is always the most quota left", () => {
    const accounts = Array.from({ length: 50 }, (_, i) => acc(`a${i}`, { quota: q(((i * 37) % 100) / 100) }));
    const s = new Scheduler("quota-first", 0, 10);
    for (let round = 0; round < 400; round++) {
      const changed = accounts[(round * 13) % accounts.length]!;
      changed.quota = q(((round * 71) % 101) / 100);
      s.quotaChanged(changed);
      const got = s.pick({ accounts, model: M, now: NOW, generation: 1 })!;
      const best = Math.max(...accounts.map((x) => Math.floor(x.quota![M]!.remainingFraction * 100 + 1e-9)));
      expect(Math.floor(got.quota![M]!.remainingFraction * 100 + 1e-9)).toBe(best);
    }
  });
});
