// `*` patterns (virtual keys' model lists, configured aliases): what matches, and a hostile name that
// made the regular expression they were compiled to run for seconds (this test timed out then).
import { expect, test } from "bun:test";
import { globMatch } from "../../src/core/glob";

test.each([
  ["gemini-*", "gemini-2.5-flash", true],
  ["gemini-*", "claude-sonnet-4-5", false],
  ["*", "", true],
  ["*", "anything", true],
  ["", "", true],
  ["", "x", false],
  ["a*b*c", "abc", true],
  ["a*b*c", "axxbyyc", true],
  ["a*b*c", "axxbyy", false],
  ["*-pro", "gemini-3-pro", true],
  ["*-pro", "gemini-3-pro-high", false],
  ["claude-*-4-*", "claude-opus-4-6", true],
  ["gpt.4", "gpt-4", false], // a dot is a dot
  ["a**b", "ab", true],
  ["*a", "aaa", true],
] as const)("%j against %j: %p", (pattern, text, want) => {
  expect(globMatch(pattern, text)).toBe(want);
});

test("case matters (a caller that ignores it lowers both, as a key's model list does)", () => {
  expect(globMatch("GPT-4o", "gpt-4o")).toBe(false);
  expect(globMatch("gpt-*", "gpt-4o")).toBe(true);
});

test("a pattern of many stars against a long hostile name answers at once", () => {
  const name = "a".repeat(200);
  expect(globMatch("*a*a*a*a*a*a*c", name)).toBe(false);
  expect(globMatch("*-*-*-*-*-pro", "-".repeat(200))).toBe(false);
  expect(globMatch("*a*a*a*a*a*a*a", name)).toBe(true);
});
