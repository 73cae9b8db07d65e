// The signature repair retries once and only once, and only for signature errors.
import { describe, expect, test } from "bun:test";
import { withSignatureRepair } from "../../src/anthropic/repair";
import { ApiError } from "../../src/core/errors";
import type { GeminiRequest } from "../../src/upstream/types";

const SIG = "q".repeat(60);
const signed: GeminiRequest = {
  contents: [
    { role: "user", parts: [{ text: "q" }] },
    { role: "model", parts: [{ text: "t", thought: true, thoughtSignature: SIG }, { text: "a" }] },
    { role: "user", parts: [{ text: "again" }] },
  ],
};
const sigError = () => new ApiError(400, "Invalid signature in thinking block");

async function attempt(err: () => unknown, request = signed) {
  const seen: GeminiRequest[] = [];
  const repairs: string[] = [];
  let result: unknown;
  try {
    result = await withSignatureRepair(
      { request, family: "claude" },
      (e) => repairs.push(e),
      async (r) => {
        seen.push(r);
        throw err();
      },
    );
  } catch (e) {
    result = e;
  }
  return { seen, repairs, result };
}

describe("withSignatureRepair", () => {
  test("a signature error that persists: exactly two calls, the second without signatures, then the error", async () => {
    const { seen, repairs, result } = await attempt(sigError);
    expect(seen.length).toBe(2);
    expect(repairs.length).toBe(1);
    expect(JSON.stringify(seen[1])).not.toContain(SIG);
    expect(seen[1]!.contents[1]!.parts).toEqual([{ text: "a" }]);
    expect((result as ApiError).status).toBe(400);
  });

  test("recovers when the retry succeeds", async () => {
    let n = 0;
    const out = await withSignatureRepair(
      { request: signed, family: "claude" },
      () => {},
      async () => {
        if (n++ === 0) throw sigError();
        return "ok";
      },
    );
    expect(out).toBe("ok");
    expect(n).toBe(2);
  });

  const noRetry: [string, () => unknown][] = [
    ["other 400s", () => new ApiError(400, 'Unknown name "x"')],
    ["429s", () => new ApiError(429, "quota exhausted", { retryAfter: 3 })],
    ["non-ApiError failures", () => new TypeError("boom")],
  ];
  for (const [name, err] of noRetry)
    test(`no retry for ${name}`, async () => {
      const { seen, repairs } = await attempt(err);
      expect(seen.length).toBe(1);
      expect(repairs.length).toBe(0);
    });

  test("no retry when there is no signature to drop", async () => {
    const { seen } = await attempt(sigError, { contents: [{ role: "user", parts: [{ text: "q" }] }] });
    expect(seen.length).toBe(1);
  });

  test("the signature text may sit in the upstream body only", async () => {
    const { seen } = await attempt(
      () => new ApiError(400, "bad request", { upstreamBody: { error: { message: "Corrupted thought signature." } } }),
    );
    expect(seen.length).toBe(2);
  });
});
