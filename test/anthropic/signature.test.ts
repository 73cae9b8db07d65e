import { describe, expect, test } from "bun:test";
import { isSignatureError, readSignature, signToolId, splitToolId, tagSignature } from "../../src/anthropic/signature";

describe("signature tags", () => {
  test("round trip keeps family, place and the exact upstream bytes", () => {
    const raw = "EqQBCkgIARABGAIiQL+/=.x\nmore";
    expect(readSignature(tagSignature("claude", "thought", raw))).toEqual({ family: "claude", on: "thought", signature: raw });
    expect(readSignature(tagSignature("gemini", "part", raw))).toEqual({ family: "gemini", on: "part", signature: raw });
  });
  const foreign: [string, unknown][] = [
    ["a real Anthropic signature", "EqQBCkgIARABGAIiQL" + "x".repeat(80)],
    ["an unknown family", "sy1.gpt.t." + "x".repeat(60)],
    ["an unknown place", "sy1.claude.q." + "x".repeat(60)],
    ["an empty signature", "sy1.claude.t."],
    ["not a string", 42],
    ["missing", undefined],
  ];
  for (const [name, v] of foreign) test(`not ours: ${name}`, () => expect(readSignature(v)).toBeUndefined());
});

describe("isSignatureError", () => {
  const table: [number, string, boolean][] = [
    [400, "Invalid signature in thinking block", true],
    [400, "messages.1.content.0.thinking.signature: Field required", true],
    [400, "Corrupted thought signature.", true],
    [400, "Function call is missing a thought_signature in functionCall parts.", true],
    [400, 'Unknown name "foo"', false],
    [429, "Invalid signature in thinking block", false],
  ];
  for (const [status, msg, want] of table) test(`${status} ${msg}`, () => expect(isSignatureError(status, msg)).toBe(want));
});

describe("signatures carried in tool ids", () => {
  const tagged = tagSignature("gemini", "part", "EqQBCkgIARABGAIiQL+/=.x\nmore");
  const table: [string, string, { id: string; tagged?: string }][] = [
    ["a plain id stays as it is", "toolu_abc", { id: "toolu_abc" }],
    ["a signed id splits back into id and signature", signToolId("toolu_abc", tagged), { id: "toolu_abc", tagged }],
    ["an upstream id with underscores", signToolId("call__1", tagged), { id: "call__1", tagged }],
  ];
  for (const [name, id, want] of table) test(name, () => expect(splitToolId(id)).toEqual(want));
  test("a signed id keeps Anthropic's id alphabet", () => expect(signToolId("toolu_abc", tagged)).toMatch(/^[A-Za-z0-9_-]+$/));
});
