import { describe, expect, test } from "bun:test";
import { resolveAlias } from "../../src/models/mapping";

describe("resolveAlias", () => {
  const aliases = {
    "gpt-4o": "gemini-2.5-flash",
    "gpt-*": "gemini-2.5-pro",
    "gpt-4*": "gemini-3-flash",
    "gpt-4o-*": "gemini-3-pro-high",
    "*-mini": "gemini-2.5-flash-lite",
    "claude-*-4-*": "claude-sonnet-4-5",
    "claude-opus-*-thinking": "claude-opus-4-5-thinking",
    "a*": "x-a",
    "*b": "x-b",
    "my.model": "dot-exact",
  };
  test.each([
    ["gpt-4o", "gemini-2.5-flash"], // exact beats every wildcard
    ["gpt-4o-2024-08-06", "gemini-3-pro-high"], // 7 literal chars beat 5 and 4
    ["gpt-4-turbo", "gemini-3-flash"],
    ["gpt-3.5-turbo", "gemini-2.5-pro"],
    ["gpt-4o-mini", "gemini-3-pro-high"], // "gpt-4o-*" (7) beats "*-mini" (5)
    ["o3-mini", "gemini-2.5-flash-lite"],
    ["claude-opus-4-thinking", "claude-opus-4-5-thinking"], // several stars, most literal wins
    ["claude-sonnet-4-5", "claude-sonnet-4-5"],
    ["ab", "x-b"], // tie on specificity and stars: the key order decides ("*b" < "a*"), deterministically
    ["myXmodel", undefined], // "." is literal, not a regex wildcard
    ["my.model", "dot-exact"],
    ["GPT-4o", undefined], // case-sensitive
    ["gemini-2.5-flash", undefined],
  ])("%s → %s", (name, want) => {
    expect(resolveAlias(name, aliases)).toBe(want as string | undefined);
  });

  test("a wildcard must match the whole name", () => {
    expect(resolveAlias("xgpt-4", { "gpt-*": "y" })).toBeUndefined();
    expect(resolveAlias("gpt-4x", { "*-4": "y" })).toBeUndefined();
    expect(resolveAlias("a-middle-z", { "a*z": "y" })).toBe("y");
  });

  test("inherited object keys are not aliases", () => {
    expect(resolveAlias("constructor", {})).toBeUndefined();
    expect(resolveAlias("toString", {})).toBeUndefined();
  });
});
