// The usage log in state.db (src/state/usage.ts): every record a row, and the hourly totals summed before
// they are written — the same answers from the raw rows and from the totals, whatever the batch size.
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { SqliteUsage, type UsageRecord } from "../../src/state/usage";

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
