import { describe, expect, test } from "bun:test";
import { BUILTIN_ALIASES, mapModel, resolveAlias } from "../../src/models/mapping";
import { SIM_MODELS } from "../../src/simulator/models";

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

describe("mapModel", () => {
  test.each([
    // [requested, config aliases, upstream]
    ["gemini-2.5-flash", {}, "gemini-2.5-flash"],
    ["models/gemini-2.5-flash", {}, "gemini-2.5-flash"],
    ["models/models/gemini-2.5-flash", {}, "gemini-2.5-flash"],
    ["gemini-3-pro-preview", {}, "gemini-3-pro-high"], // built-in table
    ["gemini-3-pro-image-preview", {}, "gemini-3-pro-image"],
    ["gpt-4o", {}, "gemini-2.5-flash"],
    ["claude-3-5-sonnet-20241022", {}, "claude-sonnet-4-5"], // built-in wildcard
    ["claude-opus-4-5-20251101", {}, "claude-opus-4-5-thinking"],
    ["claude-sonnet-4-5", {}, "claude-sonnet-4-5"], // real upstream ids pass through
    ["something-unknown", {}, "something-unknown"], // upstream decides (404)
    ["gpt-4o", { "gpt-4o": "gemini-3-flash" }, "gemini-3-flash"], // config beats the built-in table
    ["gpt-4o", { "gpt-*": "claude-sonnet-4-5" }, "claude-sonnet-4-5"], // even a config wildcard does
    ["gemini-2.5-flash", { "gemini-*": "gemini-3-flash", "gemini-2.5-*": "gemini-2.5-pro" }, "gemini-2.5-pro"],
    ["fast", { fast: "models/gemini-2.5-flash" }, "gemini-2.5-flash"], // prefix on the target is stripped
    ["fast", { fast: "" }, "fast"], // an empty target is ignored
  ] as [string, Record<string, string>, string][])("%s with %j → %s", (requested, aliases, want) => {
    expect(mapModel(requested, aliases)).toBe(want);
  });

  test("every built-in target is a plain model id", () => {
    for (const target of Object.values(BUILTIN_ALIASES)) {
      expect(target).not.toContain("*");
      expect(mapModel(target)).toBe(target); // targets are not rewritten again
    }
  });
});

describe("built-in Claude family names", () => {
  test.each([
    ["claude-opus-4-5", "claude-opus-4-5-thinking"],
    ["claude-opus-4-5-20251101", "claude-opus-4-5-thinking"],
    ["claude-opus-4-1", "claude-opus-4-5-thinking"],
    ["claude-opus-4-1-20250805", "claude-opus-4-5-thinking"],
    ["claude-opus-4-20250514", "claude-opus-4-5-thinking"],
    ["claude-opus-4-0", "claude-opus-4-5-thinking"],
    ["claude-3-opus-20240229", "claude-opus-4-5-thinking"],
    ["claude-3-opus-latest", "claude-opus-4-5-thinking"],
    ["claude-opus-4-6", "claude-opus-4-6-thinking"],
    ["claude-opus-4-6-20260205", "claude-opus-4-6-thinking"],
    ["claude-sonnet-4-20250514", "claude-sonnet-4-5"],
    ["claude-sonnet-4-0", "claude-sonnet-4-5"],
    ["claude-sonnet-4-5-20250929", "claude-sonnet-4-5"],
    ["claude-sonnet-4-5-latest", "claude-sonnet-4-5"],
    ["claude-sonnet-4-thinking", "claude-sonnet-4-5-thinking"],
    ["claude-sonnet-4-6-20260217", "claude-sonnet-4-6"],
    ["claude-3-5-sonnet-20241022", "claude-sonnet-4-5"],
    ["claude-3-5-sonnet-latest", "claude-sonnet-4-5"],
    ["claude-3-7-sonnet-20250219", "claude-sonnet-4-5"],
    ["claude-3-7-sonnet-thinking", "claude-sonnet-4-5-thinking"],
    ["claude-haiku-4-5", "claude-sonnet-4-5"],
    ["claude-haiku-4-5-20251001", "claude-sonnet-4-5"],
    ["claude-3-5-haiku-latest", "claude-sonnet-4-5"],
    ["claude-3-haiku-20240307", "claude-sonnet-4-5"],
  ])("%s → %s", (name, want) => {
    expect(mapModel(name)).toBe(want);
  });

  test("every Claude id upstream serves maps to itself", () => {
    const served = SIM_MODELS.map((m) => m.id).filter((id) => id.startsWith("claude-"));
    expect(served.length).toBeGreaterThan(3);
    for (const id of served) expect(mapModel(id)).toBe(id);
  });

  test("every Claude target is served upstream", () => {
    const served = new Set(SIM_MODELS.map((m) => m.id));
    for (const target of Object.values(BUILTIN_ALIASES)) expect(served.has(target)).toBe(true);
  });
});
