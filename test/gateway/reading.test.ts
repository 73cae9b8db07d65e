// Whole answers read before the client got anything: which ones fail (and may go to another account).
import { describe, expect, test } from "bun:test";
import { brokenAnswer } from "../../src/gateway/reading";
import type { GeminiResponse } from "../../src/upstream/types";

const answer = (finishReason: string, parts: object[] = [], finishMessage?: string): GeminiResponse => ({
  candidates: [{ content: { role: "model", parts: parts as never }, finishReason, ...(finishMessage ? { finishMessage } : {}) }],
});

describe("brokenAnswer: a model's slip, not an answer", () => {
  test.each([
    [
      "MALFORMED_FUNCTION_CALL, nothing said",
      answer("MALFORMED_FUNCTION_CALL", [], "Malformed function call: print(x"),
      "upstream ended the answer with MALFORMED_FUNCTION_CALL: Malformed function call: print(x",
    ],
    ["UNEXPECTED_TOOL_CALL", answer("UNEXPECTED_TOOL_CALL"), "upstream ended the answer with UNEXPECTED_TOOL_CALL"],
    ["OTHER with only a thought", answer("OTHER", [{ text: "hmm", thought: true }]), "upstream ended the answer with OTHER"],
    ["STOP with nothing is an answer (an empty one)", answer("STOP"), undefined],
    ["MAX_TOKENS is an answer", answer("MAX_TOKENS"), undefined],
    ["SAFETY is a filtered answer, not a slip", answer("SAFETY"), undefined],
    ["MALFORMED_FUNCTION_CALL after some text: the text goes on", answer("MALFORMED_FUNCTION_CALL", [{ text: "partly" }]), undefined],
    ["a blocked prompt", { promptFeedback: { blockReason: "SAFETY" } } as GeminiResponse, undefined],
  ])("%s", (_name, resp, message) => {
    const f = brokenAnswer(resp);
    expect(f?.message).toBe(message as never);
    if (f) expect(f.class).toBe("server_error");
  });
});
