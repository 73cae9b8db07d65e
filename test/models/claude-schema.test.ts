import { describe, expect, test } from "bun:test";
import { CLAUDE_SCHEMA_KEYS, claudeSchema } from "../../src/models/claude-schema";
import { cleanSchema } from "../../src/upstream/json-schema";

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** every key anywhere in a schema tree is a kept one */
function keysOk(s: unknown): boolean {
  if (typeof s !== "object" || s === null) return true;
  const o = s as Record<string, unknown>;
  return Object.entries(o).every(([k, v]) => {
    if (!(CLAUDE_SCHEMA_KEYS as readonly string[]).includes(k)) return false;
    if (k === "properties") return Object.values(v as object).every(keysOk);
    if (k === "items") return keysOk(v);
    return true;
  });
}

describe("claudeSchema", () => {
  test.each<[string, unknown, Record<string, unknown>]>([
    ["non-object → empty object schema", null, { type: "object", properties: {} }],
    [
      "kept keys pass through",
      { type: "string", title: "T", description: "d", nullable: true, enum: ["a", "b"] },
      { type: "string", title: "T", description: "d", nullable: true, enum: ["a", "b"] },
    ],
    [
      "numeric limits, format and default become words",
      { type: "integer", description: "How many", minimum: 1, maximum: 10, format: "int32", default: 5 },
      { type: "integer", description: "How many (minimum 1; maximum 10; format: int32; default: 5)" },
    ],
    ["words without a description", { type: "string", format: "date-time" }, { type: "string", description: "(format: date-time)" }],
    [
      "string and array limits, pattern, example",
      {
        type: "array",
        minItems: 1,
        maxItems: 3,
        items: { type: "string", minLength: 2, maxLength: 8, pattern: "^[a-z]+$", example: "abc" },
      },
      {
        type: "array",
        description: "(minItems 1; maxItems 3)",
        items: { type: "string", description: "(minLength 2; maxLength 8; pattern: ^[a-z]+$; example: abc)" },
      },
    ],
    ["format enum only restates the enum", { type: "string", format: "enum", enum: ["x"] }, { type: "string", enum: ["x"] }],
    [
      "propertyOrdering is dropped silently; required kept",
      { type: "object", properties: { a: { type: "string" } }, required: ["a"], propertyOrdering: ["a"] },
      { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
    ],
    [
      "scalars of several kinds → text, the string branch's limits kept, the others in words; parent's words first",
      {
        description: "Either",
        anyOf: [
          { type: "number", description: "a count", minimum: 0 },
          { type: "string", maxLength: 9 },
        ],
      },
      { type: "string", description: "Either (or a number) (maxLength 9)" },
    ],
    [
      "an integer or a string enum → text saying both (an enum would shut the integers out)",
      { anyOf: [{ type: "integer" }, { type: "string", enum: ["unlimited"] }] },
      { type: "string", description: "(an integer, or one of: unlimited)" },
    ],
    [
      "string enums and consts → one enum",
      {
        anyOf: [
          { type: "string", enum: ["fast"] },
          { type: "string", enum: ["slow", "fast"] },
        ],
      },
      { type: "string", enum: ["fast", "slow"] },
    ],
    [
      "object shapes → one object with every property; required: what all require",
      {
        anyOf: [
          { type: "object", properties: { path: { type: "string" }, text: { type: "string" } }, required: ["path", "text"] },
          { type: "object", properties: { path: { type: "string" }, delete: { type: "boolean" } }, required: ["path"] },
        ],
      },
      {
        type: "object",
        properties: { path: { type: "string" }, text: { type: "string" }, delete: { type: "boolean" } },
        required: ["path"],
      },
    ],
    [
      "anything else → the first branch, the others in words",
      { anyOf: [{ type: "array", items: { type: "string" } }, { type: "string" }] },
      { type: "array", items: { type: "string" }, description: "(or a string)" },
    ],
    [
      "a null branch → nullable",
      { anyOf: [{ type: "null" }, { type: "string", format: "date-time" }] },
      { type: "string", description: "(format: date-time)", nullable: true },
    ],
    [
      "a nullable branch → nullable",
      { anyOf: [{ type: "integer", nullable: true }, { type: "boolean" }] },
      { type: "string", description: "(an integer, or a boolean)", nullable: true },
    ],
    ["nested anyOf collapses too", { anyOf: [{ anyOf: [{ type: "boolean" }] }] }, { type: "boolean" }],
    [
      "parent default wins over the branch's",
      { default: "x", anyOf: [{ type: "string", default: "y" }] },
      { type: "string", description: "(default: x)" },
    ],
    [
      "long values are shortened",
      { type: "object", properties: {}, default: { k: "v".repeat(100) } },
      { type: "object", properties: {}, description: `(default: ${JSON.stringify({ k: "v".repeat(100) }).slice(0, 77)}...)` },
    ],
  ])("%s", (_, input, want) => {
    expect(claudeSchema(deepFreeze(input))).toEqual(want);
  });

  test("nested schema through cleanSchema: anyOf, nullable, format, default — input not mutated", () => {
    const raw = deepFreeze({
      type: "object",
      properties: {
        when: { type: ["string", "null"], format: "date-time", description: "Start" },
        count: { type: "integer", minimum: 1, maximum: 10, default: 5 },
        tags: { type: "array", items: { anyOf: [{ type: "string", maxLength: 20 }, { type: "integer" }] }, maxItems: 4 },
        nested: {
          type: "object",
          properties: {
            mode: { enum: ["fast", "slow"], default: "fast" },
            note: { anyOf: [{ type: "string", pattern: "^n" }, { type: "null" }] },
          },
          required: ["mode"],
        },
      },
      required: ["count"],
    });
    const cleaned = deepFreeze(cleanSchema(raw));
    const out = claudeSchema(cleaned);
    expect(out).toEqual({
      type: "object",
      properties: {
        when: { type: "string", description: "Start (format: date-time)", nullable: true },
        count: { type: "integer", description: "(minimum 1; maximum 10; default: 5)" },
        tags: { type: "array", description: "(maxItems 4)", items: { type: "string", description: "(or an integer) (maxLength 20)" } },
        nested: {
          type: "object",
          properties: {
            mode: { type: "string", enum: ["fast", "slow"], description: "(default: fast)" },
            note: { type: "string", description: "(pattern: ^n)", nullable: true },
          },
          required: ["mode"],
        },
      },
      required: ["count"],
    });
    expect(keysOk(out)).toBe(true);
  });

  test("date-time is a format Gemini keeps, so it is worded only here", () => {
    const cleaned = cleanSchema({ type: "object", properties: { at: { type: "string", format: "date-time" } } });
    expect((cleaned.properties as any).at.format).toBe("date-time");
    expect(claudeSchema(cleaned)).toEqual({ type: "object", properties: { at: { type: "string", description: "(format: date-time)" } } });
  });

  test("deep nesting does not overflow", () => {
    let s: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 200; i++) s = { type: "array", items: s };
    const out = claudeSchema(s);
    expect(keysOk(out)).toBe(true);
  });
});

test("claudeSchema: a schema that needs no reduction comes back as itself, and a reduction is made once per schema", () => {
  const simple = { type: "object", properties: { path: { type: "string" } }, required: ["path"] };
  expect(claudeSchema(simple)).toBe(simple);
  const union = { type: "object", properties: { v: { anyOf: [{ type: "string" }, { type: "null" }] } } };
  const r = claudeSchema(union);
  expect(r).not.toBe(union);
  expect(claudeSchema(union)).toBe(r);
});

test("a property named __proto__ survives the reduction (and so does its place in required)", () => {
  const cleaned = cleanSchema(
    JSON.parse('{"type":"object","properties":{"__proto__":{"type":"integer"},"a":{"type":"string"}},"required":["__proto__","a"]}'),
  );
  const out = claudeSchema(cleaned);
  expect(Object.keys(out.properties as object)).toEqual(["__proto__", "a"]);
  expect(out.required).toEqual(["__proto__", "a"]);
});
