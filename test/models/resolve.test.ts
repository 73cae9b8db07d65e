// How client model names resolve against what Google serves today (table-driven, pure).
import { describe, expect, test } from "bun:test";
import { BUILTIN_LINEUP, BUILTIN_MODELS, ModelCatalog, type Lineup, type ModelInfo } from "../../src/models/catalog";
import { BUILTIN_ALIASES } from "../../src/models/mapping";
import { familyPick, modelByDisplayName, resolveModel, versionOf } from "../../src/models/resolve";

const m = (id: string, displayName = id, extra: Partial<ModelInfo> = {}): ModelInfo => ({ id, displayName, ...extra });

/** what one account reported in late 2026 */
const SERVED: ModelInfo[] = [
  m("gemini-3-flash", "Gemini 3 Flash"),
  m("gemini-3.1-pro-high", "Gemini 3.1 Pro (High)"),
  m("gemini-3.1-pro-low", "Gemini 3.1 Pro (Low)"),
  m("gemini-pro-agent", "Gemini Pro Agent"),
  m("gemini-3.7-flash-tiered", "Gemini 3.7 Flash"),
  m("gemini-3.8-flash-high", "Gemini 3.8 Flash (High)"),
  m("gemini-3.8-flash-low", "Gemini 3.8 Flash (Low)"),
  m("gemini-3.1-flash-lite", "Gemini 3.1 Flash Lite"),
  m("gemini-3.1-flash-image", "Gemini 3.1 Flash Image", { image: true }),
  m("claude-opus-4-6-thinking", "Claude Opus 4.6 (Thinking)"),
  m("claude-sonnet-4-6", "Claude Sonnet 4.6"),
  m("gpt-oss-120b-medium", "GPT-OSS 120B (Medium)"),
];
const LINEUP: Lineup = {
  recommended: ["gemini-3-flash", "gemini-3.1-pro-high", "claude-opus-4-6-thinking", "claude-sonnet-4-6"],
  defaultModel: "gemini-3-flash",
  forwards: { "claude-sonnet-4-5": "claude-sonnet-4-6", "gemini-3.5-flash": "gemini-3.7-flash-tiered" },
  imageModels: ["gemini-3.1-flash-image"],
};
const input = (aliases: Record<string, string> = {}) => ({ aliases, served: SERVED, lineup: LINEUP });

describe("resolveModel", () => {
  test.each([
    // [requested, aliases, model, rule]
    ["gemini-3-flash", {}, "gemini-3-flash", "served"],
    ["models/claude-sonnet-4-6", {}, "claude-sonnet-4-6", "served"],
    ["claude-sonnet-4-5", {}, "claude-sonnet-4-6", "forward"],
    ["gemini-3.5-flash", {}, "gemini-3.7-flash-tiered", "forward"],
    // Claude families pick the current served model of the family, or the nearest
    ["claude-opus-4-5-thinking", {}, "claude-opus-4-6-thinking", "family"],
    ["claude-opus-4-5-20251101", {}, "claude-opus-4-6-thinking", "family"],
    ["claude-3-opus-latest", {}, "claude-opus-4-6-thinking", "family"],
    ["claude-sonnet-4-5-20250929", {}, "claude-sonnet-4-6", "family"],
    ["claude-sonnet-4-6-thinking", {}, "claude-sonnet-4-6", "family"],
    ["claude-3-7-sonnet-20250219", {}, "claude-sonnet-4-6", "family"],
    ["claude-haiku-4-5-20251001", {}, "claude-sonnet-4-6", "family"],
    ["claude-3-5-haiku-latest", {}, "claude-sonnet-4-6", "family"],
    // OpenAI names → Google's recommended Gemini
    ["gpt-4o", {}, "gemini-3-flash", "family"],
    ["gpt-5.1-codex", {}, "gemini-3-flash", "family"],
    ["o3-mini", {}, "gemini-3-flash", "family"],
    // Gemini families → the current one
    ["gemini-3-pro-high", {}, "gemini-3.1-pro-high", "family"],
    ["gemini-3-pro-low", {}, "gemini-3.1-pro-low", "family"],
    ["gemini-2.5-pro", {}, "gemini-3.1-pro-high", "family"],
    ["gemini-3-pro-preview", {}, "gemini-3.1-pro-high", "family"],
    ["gemini-3-flash-preview", {}, "gemini-3-flash", "family"],
    ["gemini-2.5-flash", {}, "gemini-3.8-flash-high", "family"],
    ["gemini-2.5-flash-lite", {}, "gemini-3.1-flash-lite", "family"],
    ["gemini-3-pro-image-preview", {}, "gemini-3.1-flash-image", "family"],
    // the user's aliases come first, and a retired alias target is forwarded
    ["gpt-4o", { "gpt-*": "claude-sonnet-4-6" }, "claude-sonnet-4-6", "alias"],
    ["fast", { fast: "models/claude-sonnet-4-5" }, "claude-sonnet-4-6", "alias"],
    ["fast", { fast: "" }, "fast", "passthrough"],
    ["something-unknown", {}, "something-unknown", "passthrough"],
  ] as [string, Record<string, string>, string, string][])("%s with %j → %s (%s)", (requested, aliases, model, rule) => {
    expect(resolveModel(requested, input(aliases))).toEqual({ model, rule } as any);
  });

  test("forwarding rules never loop", () => {
    const lineup = { ...LINEUP, forwards: { a: "b", b: "a" } };
    expect(["a", "b"]).toContain(resolveModel("a", { aliases: {}, served: SERVED, lineup }).model);
  });

  test("before any account reported: the built-in lineup resolves every family to a current model", () => {
    const builtin = { aliases: {}, served: BUILTIN_MODELS, lineup: BUILTIN_LINEUP };
    const ids = new Set(BUILTIN_MODELS.map((x) => x.id));
    for (const name of [
      "claude-opus-4-5",
      "claude-sonnet-4-5",
      "claude-haiku-4-5",
      "gpt-4o",
      "gemini-3-pro-high",
      "gemini-2.5-flash",
      "gemini-3-pro-image",
    ])
      expect(ids.has(resolveModel(name, builtin).model)).toBe(true);
    for (const target of Object.values(BUILTIN_ALIASES)) expect(target).not.toContain("*");
  });
});

describe("helpers", () => {
  test.each([
    ["claude-opus-4-6-thinking", [4, 6]],
    ["gemini-3.1-pro-high", [3, 1]],
    ["claude-sonnet-4-6-20260217", [4, 6]],
    ["gemini-pro-agent", []],
  ])("versionOf(%s) = %j", (id, v) => expect(versionOf(id)).toEqual(v));

  test.each([
    ["Claude Opus 4.6", "claude-opus-4-6-thinking"],
    ["Claude Sonnet 4.6", "claude-sonnet-4-6"],
    ["Gemini 3.1 Pro", "gemini-3.1-pro-high"],
    ["Gemini 3.7 Flash", "gemini-3.7-flash-tiered"],
    ["Gemini 3.1 Flash Image", "gemini-3.1-flash-image"],
    ["Claude Opus 9", undefined],
  ])("the notice's successor %p is %p", (name, id) => expect(modelByDisplayName(name, SERVED, LINEUP)).toBe(id as any));

  test("image requests without a served image model find none", () => {
    expect(
      familyPick(
        "gemini-3-pro-image",
        SERVED.filter((x) => !x.image),
        { ...LINEUP, imageModels: [] },
      ),
    ).toBeUndefined();
  });
});

describe("ModelCatalog over a live source", () => {
  test("retired ids Google still lists are not offered; learned rules apply at once", () => {
    let rev = 1;
    const learned: Record<string, string> = {};
    const cat = new ModelCatalog({
      reportedModels: () => [...SERVED, m("claude-sonnet-4-5", "Claude Sonnet 4.5")],
      lineup: () => ({ ...LINEUP, forwards: { ...LINEUP.forwards, ...learned } }),
      modelsRevision: () => rev,
      learnForward: (a, b) => {
        learned[a] = b;
        rev++;
      },
    });
    expect(cat.list().map((x) => x.id)).not.toContain("claude-sonnet-4-5");
    expect(cat.resolve("gemini-3-pro-high").model).toBe("gemini-3.1-pro-high");
    cat.learnForward("gemini-3-pro-high", "gemini-pro-agent");
    expect(cat.resolve("gemini-3-pro-high")).toEqual({ model: "gemini-pro-agent", rule: "forward" });
    expect(cat.defaultImageModel()).toBe("gemini-3.1-flash-image");
  });
});
