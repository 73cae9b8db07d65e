// Hostile requests over every route, generated from a fixed seed: no 5xx, every error in its
// protocol's shape, the process alive. `FUZZ_COUNT` raises the count (scripts/fuzz.ts runs a larger one).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startStack, type Stack } from "../helpers/stack";
import { fuzzRequests, shapeProblem } from "../helpers/fuzz";

const COUNT = Number(process.env.FUZZ_COUNT ?? 2500);
let s: Stack;
beforeAll(async () => {
  s = await startStack({ delays: false, accounts: 2 });
});
afterAll(() => s.stop());

test(`${COUNT} generated hostile requests: no 5xx, every error in its protocol's shape`, async () => {
  const problems: string[] = [];
  const statuses = new Map<number, number>();
  const reqs = fuzzRequests(0x5eed, COUNT, { url: s.url, apiKey: s.apiKey, adminKey: s.adminKey });
  const worker = async () => {
    for (let r = reqs.next(); !r.done; r = reqs.next()) {
      const { label, path, init } = r.value;
      let res: Response;
      try {
        res = await fetch(s.url + path, init);
      } catch (e) {
        problems.push(`${label}: no answer (${(e as Error).message})`);
        continue;
      }
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) problems.push(`${label}: ${res.status} ${text.slice(0, 200)}`);
      else if (res.status >= 400) {
        const why = shapeProblem(path, text);
        if (why) problems.push(`${label}: ${res.status} ${why}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  if (process.env.FUZZ_VERBOSE) console.error(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])));
  expect(problems.slice(0, 10)).toEqual([]);
  expect((await fetch(`${s.url}/healthz`, { headers: { authorization: `Bearer ${s.apiKey}` } })).status).toBe(200);
  // the generator reached the routes: most answers are 4xx, some 2xx
  expect([...statuses.keys()].some((k) => k >= 400 && k < 500)).toBe(true);
}, 120_000);
