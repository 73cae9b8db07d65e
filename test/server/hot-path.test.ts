// What the hot-path and memory work relies on: when the quiet gateway collects (src/server/idle-gc.ts),
// that paging out is harmless (page-out.ts), and that the cached key digests follow the configured list.
import { expect, test } from "bun:test";
import { IdlePlan } from "../../src/server/idle-gc";
import { pageOutFileMappings } from "../../src/server/page-out";
import { keyMatches } from "../../src/server/auth";

test.each([
  // [requests before each check, the steps expected]
  ["start-up: deep once, whatever came", [0, 0, 0], ["deep", "-", "-"]],
  ["a trickle: nothing", [0, 1, 1, 0, 0, 0, 0, 0, 0], ["deep", "-", "-", "-", "-", "-", "-", "-", "-"]],
  [
    "a burst, then quiet: light, then deep after 5 quiet periods, once",
    [0, 250, 0, 0, 0, 0, 0, 0, 0],
    ["deep", "-", "light", "-", "-", "-", "deep", "-", "-"],
  ],
  ["steady traffic: nothing", [0, 300, 300, 300, 300], ["deep", "-", "-", "-", "-"]],
  [
    "bursts with short pauses: light each time, never deep",
    [0, 250, 0, 250, 0, 250, 0],
    ["deep", "-", "light", "-", "light", "-", "light"],
  ],
] as const)("the quiet gateway's collection plan: %s", (_name, incoming, expected) => {
  let total = 0;
  const plan = new IdlePlan(0);
  const steps = incoming.map((n) => plan.check((total += n)) ?? "-");
  expect(steps).toEqual([...expected]);
});

test("paging the executable out leaves the process working", async () => {
  const n = await pageOutFileMappings();
  if (process.platform === "linux") expect(n).toBeGreaterThan(0);
  else expect(n).toBe(0);
  expect(JSON.parse(JSON.stringify({ still: "here" }))).toEqual({ still: "here" });
});

test("the configured keys' digests follow an in-place edit of the list", () => {
  const keys = ["sk-one"];
  expect(keyMatches("sk-one", keys)).toBe(true);
  keys[0] = "sk-two";
  expect(keyMatches("sk-one", keys)).toBe(false);
  expect(keyMatches("sk-two", keys)).toBe(true);
});
