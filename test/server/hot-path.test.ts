// What the hot-path and memory work relies on: when the quiet gateway collects (src/server/idle-gc.ts),
// that paging out is harmless (page-out.ts), and that the cached key digests follow the configured list.
import { expect, test } from "bun:test";
import { noteRequest, startIdleGc } from "../../src/server/idle-gc";
import { pageOutFileMappings } from "../../src/server/page-out";
import { keyMatches } from "../../src/server/auth";

test("collects once after start-up, not after a trickle, and after a burst once it is quiet", async () => {
  let collections = 0;
  const stop = startIdleGc({ firstMs: 5, periodMs: 20, collect: () => collections++ });
  try {
    await Bun.sleep(15);
    expect(collections).toBe(1); // start-up
    noteRequest();
    await Bun.sleep(50);
    expect(collections).toBe(1); // one request is no reason for a full collection
    for (let i = 0; i < 250; i++) noteRequest();
    await Bun.sleep(80);
    expect(collections).toBe(2);
  } finally {
    stop();
  }
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
