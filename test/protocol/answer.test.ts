import { describe, expect, test } from "bun:test";
import { blockReason, isFiltered, tokenCounts } from "../../src/protocol/answer";

describe("reading a Gemini answer", () => {
  test("tokenCounts: thinking is output; total falls back to prompt + output", () => {
    expect(tokenCounts({ promptTokenCount: 10, candidatesTokenCount: 5, thoughtsTokenCount: 3, cachedContentTokenCount: 4 })).toEqual({
      prompt: 10,
      cached: 4,
      thoughts: 3,
      output: 8,
      total: 18,
    });
    expect(tokenCounts({ promptTokenCount: 1, totalTokenCount: 99 }).total).toBe(99);
    expect(tokenCounts(undefined)).toEqual({ prompt: 0, cached: 0, thoughts: 0, output: 0, total: 0 });
  });

  test("isFiltered: the content filters, image ones included; nothing else", () => {
    for (const r of [
      "SAFETY",
      "RECITATION",
      "BLOCKLIST",
      "PROHIBITED_CONTENT",
      "SPII",
      "IMAGE_SAFETY",
      "IMAGE_PROHIBITED_CONTENT",
      "IMAGE_RECITATION",
    ])
      expect(isFiltered(r)).toBe(true);
    for (const r of [undefined, "", "STOP", "MAX_TOKENS", "MALFORMED_FUNCTION_CALL", "OTHER"]) expect(isFiltered(r)).toBe(false);
  });

  test("blockReason", () => {
    expect(blockReason({ promptFeedback: { blockReason: "SAFETY" } })).toBe("SAFETY");
    expect(blockReason({ candidates: [] })).toBeUndefined();
  });
});
