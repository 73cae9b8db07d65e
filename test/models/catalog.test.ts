import { describe, expect, test } from "bun:test";
import { BUILTIN_MODELS, isInternalModel, ModelCatalog, stripModelsPrefix, type ModelInfo } from "../../src/models/catalog";

const source = (models: ModelInfo[]) => ({ reportedModels: () => models });

describe("ModelCatalog", () => {
  test("built-in defaults until an account reports its models", () => {
    const ids = new ModelCatalog(source([])).list().map((m) => m.id);
    expect(ids).toEqual(BUILTIN_MODELS.map((m) => m.id).sort());
    expect(new ModelCatalog(undefined).list().length).toBe(BUILTIN_MODELS.length);
  });

  test("reported models replace the defaults, keep built-in metadata, drop internal ids, sorted", () => {
    const cat = new ModelCatalog(
      source([
        { id: "gemini-3-flash", displayName: "Gemini 3 Flash (reported)" },
        { id: "new-model-x", displayName: "New X", inputTokenLimit: 1000 },
        { id: "chat_20706", displayName: "internal" },
        { id: "tab_flash_lite_preview", displayName: "internal" },
        { id: "gemini-3-pro-image", displayName: "img" },
      ]),
    );
    const list = cat.list();
    expect(list.map((m) => m.id)).toEqual(["gemini-3-flash", "gemini-3-pro-image", "new-model-x"]);
    const flash = cat.get("models/gemini-3-flash")!;
    expect(flash.displayName).toBe("Gemini 3 Flash (reported)");
    expect(flash.outputTokenLimit).toBe(65536); // from the built-in entry
    expect(cat.get("gemini-3-pro-image")!.image).toBe(true);
    expect(cat.get("gemini-2.5-pro")).toBeUndefined();
  });

  test("alias names: exact ones only, with their targets", () => {
    const cat = new ModelCatalog(undefined, { fast: "gemini-2.5-flash", "gpt-*": "gemini-3-flash" });
    expect(cat.aliasNames()).toEqual(["fast"]);
    expect(cat.aliasTarget("models/fast")).toBe("gemini-2.5-flash");
    expect(cat.aliasTarget("gpt-*")).toBeUndefined();
    expect(cat.aliasTarget("toString")).toBeUndefined();
  });

  test.each([
    ["chat_20706", true],
    ["tab_jump_flash_lite_preview", true],
    ["rev19-uic3-1p", true],
    ["gemini-2.5-flash-mquery", true],
    ["gemini-2.5-flash", false],
    ["revolution", false],
  ])("isInternalModel(%s) = %s", (id, want) => expect(isInternalModel(id)).toBe(want));

  test.each([
    ["gemini-2.5-flash", "gemini-2.5-flash"],
    ["models/gemini-2.5-flash", "gemini-2.5-flash"],
    ["models/models/gemini-2.5-flash", "gemini-2.5-flash"],
    ["  models/x ", "x"],
  ])("stripModelsPrefix(%s) = %s", (given, want) => expect(stripModelsPrefix(given)).toBe(want));
});
