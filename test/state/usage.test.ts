// The usage log in state.db (src/state/usage.ts): every record a row, and the hourly totals summed before
// they are written — the same answers from the raw rows and from the totals, whatever the batch size.
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { SqliteUsage, type UsageRecord } from "../../src/state/usage";
import { Keys } from "../../src/keys/service";
import { silentLogger } from "../../src/core/log";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 29, 10);

/** n records spread over keys, accounts, two hours and two statuses, with token counts that differ */
function records(n: number): UsageRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    at: T0 + (i % 2) * HOUR + i,
    keyId: null,
    keyName: i % 3 === 0 ? "alice" : "bob",
    account: i % 5 === 0 ? null : `acc${i % 2}@x`,
    model: "gemini-2.5-flash",
    upstreamModel: "gemini-2.5-flash",
    protocol: "gemini",
    route: "/v1beta/models/x:generateContent",
    status: i % 7 === 0 ? 429 : 200,
    errorClass: i % 7 === 0 ? "rate_limited" : null,
    input: i,
    output: 2 * i,
    thinking: i % 4,
    cached: i % 3,
    latencyMs: 1.5,
    ttfbMs: null,
    streamed: i % 2 === 0,
  }));
}

test.each([
  [1, [1]],
  [63, [63]],
  [64, [64]],
  [200, [200]],
  [200, [1, 64, 135]],
])("%i records written in batches of %j: raw rows and hourly totals agree, per key and per hour", (n, batches) => {
  const db = new Database(":memory:");
  const usage = new SqliteUsage(db);
  const all = records(n);
  let at = 0;
  for (const b of batches) {
    usage.append(all.slice(at, at + b));
    at += b;
  }
  expect(db.query<{ n: number }, []>("SELECT count(*) AS n FROM usage").get()!.n).toBe(n);
  for (const by of ["key", "hour", "account"] as const) {
    const raw = usage.query(T0, by, T0); // raw rows reach back to T0
    const hourly = usage.query(T0, by, T0 + 10 * HOUR); // they don't: the totals answer
    expect(hourly).toEqual(raw);
  }
  const byKey = usage.query(T0, "key", T0);
  const sum = (k: string, f: (r: UsageRecord) => number) => all.filter((r) => r.keyName === k).reduce((a, r) => a + f(r), 0);
  for (const row of byKey) {
    expect(row.requests).toBe(sum(row.group, () => 1));
    expect(row.errors).toBe(sum(row.group, (r) => (r.status >= 400 ? 1 : 0)));
    expect(row.input).toBe(sum(row.group, (r) => r.input));
    expect(row.output).toBe(sum(row.group, (r) => r.output));
    expect(row.thinking).toBe(sum(row.group, (r) => r.thinking));
    expect(row.cached).toBe(sum(row.group, (r) => r.cached));
  }
  // one row, every column as given
  const first = db.query<Record<string, unknown>, []>("SELECT * FROM usage ORDER BY at LIMIT 1").get()!;
  expect(first).toMatchObject({ at: T0, key_name: "alice", account: null, status: 429, error_class: "rate_limited", streamed: 1 });
});

test("a start inside an hour: that part hour from the raw rows, the whole hours after it from the totals — the same as the rows say", () => {
  const db = new Database(":memory:");
  const usage = new SqliteUsage(db);
  // three hours of records, a few minutes apart
  const all = records(180).map((r, i) => ({ ...r, at: T0 + i * 60_000 }));
  usage.append(all);
  for (const since of [T0 + 17 * 60_000 + 1, T0 + HOUR + 59 * 60_000, T0 + 2 * HOUR]) {
    const kept = all.filter((r) => r.at >= since);
    for (const by of ["key", "account", "hour"] as const) {
      const rows = usage.query(since, by, T0);
      expect(rows.reduce((a, r) => a + r.requests, 0)).toBe(kept.length);
      expect(rows.reduce((a, r) => a + r.input, 0)).toBe(kept.reduce((a, r) => a + r.input, 0));
      expect(rows.reduce((a, r) => a + r.errors, 0)).toBe(kept.filter((r) => r.status >= 400).length);
    }
    // per key, and split by hour (the dashboard's chart)
    for (const row of usage.query(since, "key", T0, "hour"))
      expect(row.requests).toBe(
        kept.filter((r) => r.keyName === row.group && new Date(r.at).toISOString().slice(0, 13) + ":00Z" === row.split).length,
      );
  }
  // before the raw rows' retention the part hour counts whole (the totals are all there is)
  const since = T0 + HOUR + 30 * 60_000;
  const whole = usage.query(since, "key", T0 + 10 * HOUR);
  expect(whole.reduce((a, r) => a + r.requests, 0)).toBe(all.filter((r) => r.at >= T0 + HOUR).length);
});

test("old rows go the oldest first, a slice at a time; the hourly totals stay", () => {
  const db = new Database(":memory:");
  const usage = new SqliteUsage(db);
  const all = records(100).map((r, i) => ({ ...r, at: T0 + i * 60_000 }));
  usage.append(all);
  const before = T0 + 50 * 60_000; // the first 50 records are older
  expect(usage.prune(before, 20)).toBe(20);
  expect(db.query<{ at: number }, []>("SELECT min(at) AS at FROM usage").get()!.at).toBe(T0 + 20 * 60_000);
  expect(usage.prune(before, 20)).toBe(20);
  expect(usage.prune(before, 20)).toBe(10);
  expect(usage.prune(before, 20)).toBe(0);
  expect(db.query<{ n: number }, []>("SELECT count(*) AS n FROM usage").get()!.n).toBe(50);
  // the totals before the retention still answer
  const rows = usage.query(T0, "key", T0 + 10 * HOUR);
  expect(rows.reduce((a, r) => a + r.requests, 0)).toBe(100);
});

test("the hourly prune deletes a backlog past the retention in slices, and keeps the rest", async () => {
  const db = new Database(":memory:");
  const DAY = 24 * HOUR;
  const now = T0 + 3 * DAY;
  const keys = new Keys({ db, log: silentLogger(), retentionDays: 1, now: () => now });
  const usage = new SqliteUsage(db);
  // 12,000 rows two days old (more than two slices), 30 from the last hour
  const old = records(12_000).map((r, i) => ({ ...r, at: now - 2 * DAY + i }));
  const recent = records(30).map((r, i) => ({ ...r, at: now - HOUR + i }));
  usage.append(old.concat(recent));
  await keys.prune();
  expect(db.query<{ n: number }, []>("SELECT count(*) AS n FROM usage").get()!.n).toBe(30);
  expect(db.query<{ n: number }, []>("SELECT sum(requests) AS n FROM usage_hourly").get()!.n).toBe(12_030);
  keys.close();
});
