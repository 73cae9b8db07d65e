// The live log's memory is fixed: the ring keeps the last RING records, the per-minute counts one hour.
import { expect, test } from "bun:test";
import { LiveLog, liveOf, RING } from "../../src/ui/live";
import { usageRecord } from "../helpers/util";

const record = (at: number, status = 200, account: string | null = "a@example.com") =>
  usageRecord(at, {
    keyId: "k1",
    keyName: "ci",
    account,
    status,
    errorClass: status >= 400 ? "rate_limited" : null,
    input: 2,
    output: 3,
    latencyMs: 5,
  });

test("the ring is bounded and keeps the newest; watchers see each record", () => {
  let now = 1_000_000;
  const live = new LiveLog(() => now);
  const seen: number[] = [];
  const stop = live.watch((r) => {
    expect(Object.keys(r)).not.toContain("keyId");
    seen.push(r.at);
  });
  for (let i = 0; i < RING + 50; i++) live.push(record(now + i));
  expect(live.recent()).toHaveLength(RING);
  expect(live.recent()[0]!.at).toBe(now + 50);
  expect(live.recent().map((r) => r.at)).toEqual(Array.from({ length: RING }, (_, i) => now + 50 + i)); // oldest first
  expect(seen).toHaveLength(RING + 50);
  stop();
  live.push(record(now));
  expect(seen).toHaveLength(RING + 50);
  // what the page reads is reduced to what it may see
  expect(Object.keys(live.recent()[0]!)).not.toContain("keyId");
  expect(Object.keys(live.recent()[0]!)).toEqual(Object.keys(liveOf(record(now))));
});

test("requests and errors per minute over the last hour; a slot an hour old reads zero", () => {
  let now = 60_000 * 1000;
  const live = new LiveLog(() => now);
  live.push(record(now));
  live.push(record(now, 429));
  now += 60_000;
  live.push(record(now));
  let pm = live.perMinute();
  expect(pm).toHaveLength(60);
  expect(pm.at(-1)).toMatchObject({ requests: 1, errors: 0 });
  expect(pm.at(-2)).toMatchObject({ requests: 2, errors: 1 });
  now += 59 * 60_000; // the first minute's slot is reused by this one
  pm = live.perMinute();
  expect(pm.reduce((s, m) => s + m.requests, 0)).toBe(1);
  expect(pm.at(-1)).toMatchObject({ requests: 0 });
});

test("serving now: accounts that answered in the last minute, with counts", () => {
  let now = 10_000_000;
  const live = new LiveLog(() => now);
  live.push(record(now - 61_000, 200, "old@example.com"));
  live.push(record(now - 1000, 200, "a@example.com"));
  live.push(record(now, 200, "a@example.com"));
  live.push(record(now, 401, null));
  expect(live.serving()).toEqual([{ account: "a@example.com", requests: 2 }]);
});
