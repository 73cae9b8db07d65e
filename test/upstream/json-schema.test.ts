import { describe, expect, test } from "bun:test";
import { cleanSchema, GEMINI_SCHEMA_KEYS, restoreArgTypes, restoreJsonText, sendsValuesAsText } from "../../src/upstream/json-schema";
import { checkSchema, SUPPORTED_SCHEMA_KEYS } from "../../src/simulator/schema";
import { claudeSchema } from "../../src/models/claude-schema";

const ALLOWED = new Set<string>(GEMINI_SCHEMA_KEYS);
const DRAFT7 = "http://json-schema.org/draft-07/schema#";

/** every keyword at every schema position is one Gemini knows (property names are not keywords) */
function badKeys(s: unknown, path = "$"): string[] {
  if (typeof s !== "object" || s === null || Array.isArray(s)) return [`${path}: not a schema object`];
  const out: string[] = [];
  for (const [k, v] of Object.entries(s)) {
    if (!ALLOWED.has(k)) out.push(`${path}.${k}`);
    if (k === "properties") for (const [name, p] of Object.entries(v as object)) out.push(...badKeys(p, `${path}.properties.${name}`));
    if (k === "items") out.push(...badKeys(v, `${path}.items`));
    if (k === "anyOf") (v as unknown[]).forEach((b, i) => out.push(...badKeys(b, `${path}.anyOf[${i}]`)));
    if (k === "enum" && !(v as unknown[]).every((e) => typeof e === "string")) out.push(`${path}.enum: non-string value`);
    if (k === "type" && !["string", "number", "integer", "boolean", "object", "array"].includes(v as string)) out.push(`${path}.type=${v}`);
    if (k === "required")
      for (const r of v as string[]) if (!(r in ((s as any).properties ?? {}))) out.push(`${path}.required: ${r} missing`);
  }
  if (s && (s as any).type === "array" && !(s as any).items) out.push(`${path}: array without items`);
  return out;
}

// Schemas real MCP servers and agents send (trimmed to the interesting parts).
const MCP: Record<string, unknown> = {
  "filesystem edit_file": {
    type: "object",
    properties: {
      path: { type: "string" },
      edits: {
        type: "array",
        items: {
          type: "object",
          properties: { oldText: { type: "string", description: "Text to search for - must match exactly" }, newText: { type: "string" } },
          required: ["oldText", "newText"],
          additionalProperties: false,
        },
      },
      dryRun: { type: "boolean", default: false, description: "Preview changes using git-style diff format" },
    },
    required: ["path", "edits"],
    additionalProperties: false,
    $schema: DRAFT7,
  },
  "filesystem list_directory (no arguments beyond path)": {
    type: "object",
    properties: { path: { type: "string" } },
    required: ["path"],
    additionalProperties: false,
    $schema: DRAFT7,
  },
  "github search_issues": {
    type: "object",
    properties: {
      q: { type: "string", description: "Search query" },
      sort: { type: "string", enum: ["comments", "reactions", "created", "updated"] },
      order: { type: "string", enum: ["asc", "desc"] },
      per_page: { type: "number", minimum: 1, maximum: 100 },
      page: { type: "number", exclusiveMinimum: 0 },
      labels: { type: "array", items: { type: "string" }, uniqueItems: true },
      state: { type: ["string", "null"], enum: ["open", "closed", null] },
    },
    required: ["q"],
    additionalProperties: false,
    $schema: DRAFT7,
  },
  "playwright browser_click": {
    type: "object",
    properties: {
      element: { type: "string", description: "Human-readable element description" },
      ref: { type: "string", description: "Exact target element reference from the page snapshot" },
      doubleClick: { type: "boolean" },
      button: { type: "string", enum: ["left", "right", "middle"] },
      modifiers: { type: "array", items: { type: "string", enum: ["Alt", "Control", "ControlOrMeta", "Meta", "Shift"] } },
    },
    required: ["element", "ref"],
    additionalProperties: false,
    $schema: DRAFT7,
  },
  "pydantic FastMCP tool with $defs, recursion and Optional": {
    $defs: {
      Priority: { enum: [1, 2, 3], title: "Priority", type: "integer" },
      Task: {
        properties: {
          name: { title: "Name", type: "string" },
          priority: { $ref: "#/$defs/Priority" },
          subtasks: { items: { $ref: "#/$defs/Task" }, type: "array", default: [] },
        },
        required: ["name", "priority"],
        title: "Task",
        type: "object",
      },
    },
    properties: {
      task: { $ref: "#/$defs/Task" },
      due: { anyOf: [{ format: "date-time", type: "string" }, { type: "null" }], default: null, title: "Due" },
    },
    required: ["task"],
    title: "add_taskArguments",
    type: "object",
  },
  "agent tool with defer_loading, $comment, $id, patternProperties, propertyNames": {
    $id: "https://example.com/tools/config",
    $comment: "generated",
    defer_loading: true,
    type: "object",
    properties: {
      env: { type: "object", patternProperties: { "^[A-Z_]+$": { type: "string" } }, propertyNames: { pattern: "^[A-Z_]+$" } },
      mode: {
        type: "string",
        enum: ["fast", "safe"],
        enumDescriptions: ["Skip checks", "Run every check"],
        markdownDescription: "**mode**",
      },
      retries: { type: "integer", minimum: 0, exclusiveMaximum: 10, multipleOf: 1 },
    },
  },
};

describe("cleanSchema: only Gemini keywords survive", () => {
  test("our keyword list is the simulator's (the project's model of upstream)", () => {
    expect(new Set(GEMINI_SCHEMA_KEYS)).toEqual(new Set(SUPPORTED_SCHEMA_KEYS));
  });
  for (const [name, schema] of Object.entries(MCP)) {
    test(name, () => {
      const out = cleanSchema(schema);
      expect(badKeys(out)).toEqual([]);
      expect(() => checkSchema(out, "parameters")).not.toThrow();
      expect(() => checkSchema(schema, "parameters")).toThrow(); // the raw schema would be a 400
      expect(out.type).toBe("object");
    });
  }
});

type Row = [string, unknown, Record<string, unknown>];
const ROWS: Row[] = [
  ["non-object input → empty object schema", undefined, { type: "object", properties: {} }],
  ["empty object schema stays valid", { type: "object" }, { type: "object", properties: {} }],
  ["{} at the root → empty object schema", {}, { type: "object", properties: {} }],
  [
    "{} (anything) as a property → the freest scalar",
    { type: "object", properties: { v: {} } },
    { type: "object", properties: { v: { type: "string" } } },
  ],
  [
    "$schema, additionalProperties:false, $id, $comment, defer_loading dropped",
    {
      $schema: DRAFT7,
      $id: "x",
      $comment: "c",
      defer_loading: true,
      type: "object",
      properties: { a: { type: "string" } },
      additionalProperties: false,
    },
    { type: "object", properties: { a: { type: "string" } } },
  ],
  [
    "required filtered to existing properties",
    { type: "object", properties: { a: { type: "string" } }, required: ["a", "ghost", "a"] },
    { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
  ],
  [
    "required naming nothing is removed",
    { type: "object", properties: { a: { type: "string" } }, required: ["ghost"] },
    { type: "object", properties: { a: { type: "string" } } },
  ],
  ["const → enum", { const: "circle" }, { type: "string", enum: ["circle"] }],
  [
    "numeric enum → strings, told to the model",
    { type: "integer", enum: [1, 2, 3], description: "Level" },
    { type: "string", description: "Level (send the value as text)", enum: ["1", "2", "3"] },
  ],
  ["boolean enum → strings", { enum: [true, false] }, { type: "string", description: "(send the value as text)", enum: ["true", "false"] }],
  ["type [x, null] → x + nullable", { type: ["string", "null"] }, { type: "string", nullable: true }],
  ["enum with null → nullable", { type: "string", enum: ["a", null] }, { type: "string", nullable: true, enum: ["a"] }],
  [
    "several types → anyOf",
    { type: ["string", "number"], description: "id" },
    { anyOf: [{ type: "string" }, { type: "number" }], description: "id" },
  ],
  [
    "oneOf → anyOf",
    { oneOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
    { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
  ],
  [
    "anyOf [X, null] → X nullable, outer words kept",
    { anyOf: [{ type: "string", format: "date-time" }, { type: "null" }], default: null, title: "Due", description: "when" },
    { type: "string", format: "date-time", title: "Due", description: "when", nullable: true, default: null },
  ],
  [
    "unsupported constraints kept as words",
    { type: "number", exclusiveMinimum: 0, multipleOf: 0.5, description: "Amount" },
    { type: "number", description: "Amount (exclusiveMinimum: 0; multipleOf: 0.5)" },
  ],
  [
    "uniqueItems noted, item limits kept",
    { type: "array", items: { type: "string" }, uniqueItems: true, minItems: 1, maxItems: 5 },
    { type: "array", description: "(uniqueItems)", items: { type: "string" }, minItems: 1, maxItems: 5 },
  ],
  [
    "exclusiveMinimum + uniqueItems example from the brief",
    { type: "array", items: { type: "integer" }, exclusiveMinimum: 0, uniqueItems: true },
    { type: "array", description: "(exclusiveMinimum: 0; uniqueItems)", items: { type: "integer" } },
  ],
  ["format uri → words; date-time kept", { type: "string", format: "uri" }, { type: "string", description: "(format: uri)" }],
  ["int format kept", { type: "integer", format: "int64", minimum: 0 }, { type: "integer", format: "int64", minimum: 0 }],
  [
    "string limits and pattern kept",
    { type: "string", minLength: 1, maxLength: 9, pattern: "^a" },
    { type: "string", minLength: 1, maxLength: 9, pattern: "^a" },
  ],
  [
    "patternProperties and propertyNames noted",
    { type: "object", patternProperties: { "^x-": { type: "string" } }, propertyNames: { pattern: "^x-" } },
    { type: "object", description: "(patternProperties: ^x-; propertyNames: ^x-)", properties: {} },
  ],
  [
    "map via additionalProperties schema noted",
    { type: "object", additionalProperties: { type: "number" } },
    { type: "object", description: "(additionalProperties: number)", properties: {} },
  ],
  [
    "enumDescriptions folded into description",
    { type: "string", enum: ["a", "b"], enumDescriptions: ["Alpha", "Beta"], description: "Pick" },
    { type: "string", description: "Pick (a: Alpha, b: Beta)", enum: ["a", "b"] },
  ],
  [
    "allOf merged (properties and required unioned)",
    {
      allOf: [
        { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
        { properties: { b: { type: "integer" } }, required: ["b"] },
      ],
    },
    { type: "object", properties: { a: { type: "string" }, b: { type: "integer" } }, required: ["a", "b"] },
  ],
  [
    "$ref into $defs with sibling description",
    {
      type: "object",
      properties: { p: { $ref: "#/$defs/P", description: "the point" } },
      $defs: { P: { type: "object", properties: { x: { type: "number" } } } },
    },
    { type: "object", properties: { p: { type: "object", description: "the point", properties: { x: { type: "number" } } } } },
  ],
  [
    "draft-07 definitions",
    {
      type: "object",
      properties: { c: { $ref: "#/definitions/Color" } },
      definitions: { Color: { type: "string", enum: ["red", "blue"] } },
    },
    { type: "object", properties: { c: { type: "string", enum: ["red", "blue"] } } },
  ],
  [
    "recursive $ref stops with a note",
    { $defs: { Node: { type: "object", properties: { kids: { type: "array", items: { $ref: "#/$defs/Node" } } } } }, $ref: "#/$defs/Node" },
    {
      type: "object",
      properties: {
        kids: {
          type: "array",
          items: { type: "string", description: "(recursive: same shape as Node; a JSON object, written as a string)" },
        },
      },
    },
  ],
  [
    "self-referencing root (#)",
    { type: "object", properties: { next: { $ref: "#" } } },
    {
      type: "object",
      properties: {
        next: { type: "string", description: "(recursive: same shape as the whole schema; a JSON object, written as a string)" },
      },
    },
  ],
  [
    "unresolved $ref → string with a note",
    { $ref: "#/$defs/Missing" },
    { type: "string", description: "(unresolved $ref: #/$defs/Missing)" },
  ],
  [
    "boolean property schemas: true → any scalar, false → dropped",
    { type: "object", properties: { a: true, b: false }, required: ["a", "b"] },
    { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
  ],
  ["array without items gets string items", { type: "array" }, { type: "array", items: { type: "string" } }],
  [
    "tuple → anyOf items",
    { type: "array", prefixItems: [{ type: "string" }, { type: "number" }] },
    { type: "array", description: "(tuple of 2 items)", items: { anyOf: [{ type: "string" }, { type: "number" }] } },
  ],
  ["shape inferred from properties", { properties: { a: { type: "string" } } }, { type: "object", properties: { a: { type: "string" } } }],
  [
    "anyOf of required-sets becomes words",
    { type: "object", properties: { a: { type: "string" }, b: { type: "string" } }, anyOf: [{ required: ["a"] }, { required: ["b"] }] },
    { type: "object", description: "(requires one of: a | b)", properties: { a: { type: "string" }, b: { type: "string" } } },
  ],
  [
    "discriminated union with const (below the root stays anyOf)",
    {
      type: "object",
      properties: {
        shape: {
          oneOf: [
            { type: "object", properties: { kind: { const: "circle" }, r: { type: "number" } }, required: ["kind", "r"] },
            { type: "object", properties: { kind: { const: "square" }, side: { type: "number" } }, required: ["kind", "side"] },
          ],
        },
      },
    },
    {
      type: "object",
      properties: {
        shape: {
          anyOf: [
            { type: "object", properties: { kind: { type: "string", enum: ["circle"] }, r: { type: "number" } }, required: ["kind", "r"] },
            {
              type: "object",
              properties: { kind: { type: "string", enum: ["square"] }, side: { type: "number" } },
              required: ["kind", "side"],
            },
          ],
        },
      },
    },
  ],
  [
    "a root union of object shapes becomes one object (function parameters must be an OBJECT)",
    {
      description: "Draw",
      oneOf: [
        { type: "object", properties: { kind: { const: "circle" }, r: { type: "number" } }, required: ["kind", "r"] },
        { type: "object", properties: { kind: { const: "square" }, side: { type: "number" } }, required: ["kind", "side"] },
      ],
    },
    {
      type: "object",
      description: "Draw (one of these shapes: kind + r | kind + side)",
      properties: { kind: { type: "string", enum: ["circle", "square"] }, r: { type: "number" }, side: { type: "number" } },
      required: ["kind"],
    },
  ],
  [
    "parent keywords reach untyped branches",
    { type: "string", anyOf: [{ format: "date-time" }, { format: "email" }] },
    {
      anyOf: [
        { type: "string", format: "date-time" },
        { type: "string", description: "(format: email)" },
      ],
    },
  ],
  [
    "property names that look like keywords are left alone",
    { type: "object", properties: { type: { type: "string" }, properties: { type: "string" }, $ref: { type: "string" } } },
    { type: "object", properties: { type: { type: "string" }, properties: { type: "string" }, $ref: { type: "string" } } },
  ],
  [
    "types are lowercased",
    { type: "OBJECT", properties: { a: { type: "STRING" } } },
    { type: "object", properties: { a: { type: "string" } } },
  ],
  [
    "untyped map inferred as object",
    { additionalProperties: { type: "string" } },
    { type: "object", description: "(additionalProperties: string)", properties: {} },
  ],
  [
    "a free-form object below the root travels as JSON text (Gemini rejects empty OBJECT properties)",
    {
      type: "object",
      properties: {
        headers: { type: "object", additionalProperties: { type: "string" }, description: "HTTP headers" },
        opts: { type: "object" },
      },
    },
    {
      type: "object",
      properties: {
        headers: { type: "string", description: "HTTP headers (additionalProperties: string; a JSON object, written as a string)" },
        opts: { type: "string", description: "(a JSON object, written as a string)" },
      },
    },
  ],
  ["examples → example", { type: "string", examples: ["x", "y"] }, { type: "string", example: "x" }],
  ["deprecated noted", { type: "string", deprecated: true, description: "old" }, { type: "string", description: "old (deprecated)" }],
];

describe("cleanSchema: table", () => {
  for (const [name, input, expected] of ROWS) {
    test(name, () => {
      const out = cleanSchema(input);
      expect(out).toEqual(expected);
      expect(badKeys(out)).toEqual([]);
    });
  }
});

describe("cleanSchema: real schemas, exact", () => {
  test("pydantic: $defs, recursion, numeric enum, Optional", () => {
    expect(cleanSchema(MCP["pydantic FastMCP tool with $defs, recursion and Optional"])).toEqual({
      type: "object",
      title: "add_taskArguments",
      properties: {
        task: {
          type: "object",
          title: "Task",
          properties: {
            name: { type: "string", title: "Name" },
            priority: { type: "string", title: "Priority", description: "(send the value as text)", enum: ["1", "2", "3"] },
            subtasks: {
              type: "array",
              default: [],
              items: { type: "string", title: "Task", description: "(recursive: same shape as Task; a JSON object, written as a string)" },
            },
          },
          required: ["name", "priority"],
        },
        due: { type: "string", format: "date-time", title: "Due", nullable: true, default: null },
      },
      required: ["task"],
    });
  });

  test("github: exclusiveMinimum, uniqueItems, nullable enum", () => {
    const out = cleanSchema(MCP["github search_issues"]) as any;
    expect(out.properties.page).toEqual({ type: "number", description: "(exclusiveMinimum: 0)" });
    expect(out.properties.labels).toEqual({ type: "array", description: "(uniqueItems)", items: { type: "string" } });
    expect(out.properties.state).toEqual({ type: "string", nullable: true, enum: ["open", "closed"] });
    expect(out.properties.per_page).toEqual({ type: "number", minimum: 1, maximum: 100 });
  });

  test("agent tool: defer_loading dropped, meaning kept", () => {
    const out = cleanSchema(MCP["agent tool with defer_loading, $comment, $id, patternProperties, propertyNames"]) as any;
    expect(out).not.toHaveProperty("defer_loading");
    expect(out.properties.env).toEqual({
      type: "string",
      description: "(patternProperties: ^[A-Z_]+$; propertyNames: ^[A-Z_]+$; a JSON object, written as a string)",
    });
    expect(out.properties.mode.description).toBe("(fast: Skip checks, safe: Run every check)");
    expect(out.properties.retries).toEqual({ type: "integer", description: "(exclusiveMaximum: 10; multipleOf: 1)", minimum: 0 });
  });

  test("does not mutate its input", () => {
    const input = structuredClone(MCP["pydantic FastMCP tool with $defs, recursion and Optional"]);
    cleanSchema(input);
    expect(input).toEqual(MCP["pydantic FastMCP tool with $defs, recursion and Optional"] as any);
  });

  test("mutual recursion and allOf cycles terminate", () => {
    const s = {
      $defs: {
        A: { type: "object", properties: { b: { $ref: "#/$defs/B" } } },
        B: { allOf: [{ $ref: "#/$defs/B" }, { type: "object", properties: { a: { $ref: "#/$defs/A" } } }] },
      },
      $ref: "#/$defs/A",
    };
    const out = cleanSchema(s);
    expect(badKeys(out)).toEqual([]);
  });

  test("very deep nesting is cut, not a stack overflow", () => {
    let s: any = { type: "string" };
    for (let i = 0; i < 500; i++) s = { type: "object", properties: { x: s } };
    expect(badKeys(cleanSchema(s))).toEqual([]);
  });
});

/** a number of an enum, or a keyword */
const EITHER = {
  type: "object",
  properties: {
    either: {
      anyOf: [
        { type: "integer", enum: [10, 20] },
        { type: "string", enum: ["auto"] },
      ],
    },
  },
};

describe("restoreArgTypes", () => {
  const schema = MCP["pydantic FastMCP tool with $defs, recursion and Optional"];
  const rows: [string, unknown, unknown, unknown][] = [
    ["numeric enum string → number via $ref", schema, { task: { name: "x", priority: "2" } }, { task: { name: "x", priority: 2 } }],
    [
      "nested through recursion",
      schema,
      { task: { name: "x", priority: "1", subtasks: [{ name: "y", priority: "3" }] } },
      { task: { name: "x", priority: 1, subtasks: [{ name: "y", priority: 3 }] } },
    ],
    ["boolean text → boolean", { type: "object", properties: { f: { type: "boolean" } } }, { f: "true" }, { f: true }],
    ["number where string declared → text", { type: "object", properties: { s: { type: "string" } } }, { s: 12 }, { s: "12" }],
    [
      "string left alone when string is allowed",
      { type: "object", properties: { s: { anyOf: [{ type: "string" }, { type: "integer" }] } } },
      { s: "5" },
      { s: "5" },
    ],
    ["anyOf integer|null", { type: "object", properties: { n: { anyOf: [{ type: "integer" }, { type: "null" }] } } }, { n: "7" }, { n: 7 }],
    ["non-numeric text kept", { type: "object", properties: { n: { type: "integer" } } }, { n: "many" }, { n: "many" }],
    [
      "an optional object (anyOf object | null): restored inside",
      {
        type: "object",
        properties: {
          opt: {
            anyOf: [
              { type: "object", properties: { level: { type: "integer", enum: [1, 2, 3] }, on: { type: "boolean", enum: [true] } } },
              { type: "null" },
            ],
          },
        },
      },
      { opt: { level: "1", on: "true" } },
      { opt: { level: 1, on: true } },
    ],
    ["a number enum or a string enum: the text of a number is the number", EITHER, { either: "10" }, { either: 10 }],
    ["… and the string the string enum holds stays", EITHER, { either: "auto" }, { either: "auto" }],
    [
      "a discriminated union picks its member by the discriminator",
      {
        type: "object",
        properties: {
          shape: {
            oneOf: [
              { type: "object", properties: { kind: { const: 1 }, r: { type: "number" } } },
              { type: "object", properties: { kind: { const: 2 }, w: { type: "number" } } },
            ],
          },
        },
      },
      { shape: { kind: "2", w: "3.5" } },
      { shape: { kind: 2, w: 3.5 } },
    ],
    [
      "an optional model behind a $ref (pydantic's Optional[Model])",
      {
        type: "object",
        $defs: { M: { type: "object", properties: { n: { type: "integer" } } } },
        properties: { m: { anyOf: [{ $ref: "#/$defs/M" }, { type: "null" }] } },
      },
      { m: { n: "4" } },
      { m: { n: 4 } },
    ],
    [
      "a const string before an object branch does not hide the object's insides",
      { type: "object", properties: { v: { anyOf: [{ const: "auto" }, { type: "object", properties: { n: { type: "integer" } } }] } } },
      { v: { n: "4" } },
      { v: { n: 4 } },
    ],
    [
      "a property named __proto__ stays a property",
      { type: "object", properties: { ["__proto__"]: { type: "integer" }, b: { type: "integer" } } },
      JSON.parse('{"__proto__": "1", "b": "2"}'),
      JSON.parse('{"__proto__": 1, "b": 2}'),
    ],
    ["unknown keys kept", { type: "object", properties: {} }, { extra: "1" }, { extra: "1" }],
    [
      "free-form object sent as JSON text → object",
      { type: "object", properties: { h: { type: "object", additionalProperties: { type: "integer" } } } },
      { h: '{"a":1}' },
      { h: { a: 1 } },
    ],
    [
      "recursive node sent as JSON text → object, restored inside",
      schema,
      { task: { name: "x", priority: "1", subtasks: ['{"name":"y","priority":"2"}'] } },
      { task: { name: "x", priority: 1, subtasks: [{ name: "y", priority: 2 }] } },
    ],
    ["text that is not JSON stays text", { type: "object", properties: { h: { type: "object" } } }, { h: "{oops" }, { h: "{oops" }],
  ];
  for (const [name, s, input, expected] of rows) test(name, () => expect(restoreArgTypes(input, s)).toEqual(expected));
});

describe("cleanSchema: a schema seen before is not cleaned again", () => {
  test("the same text gives the same object, built from its own copy of the input", () => {
    const input = { type: "object", properties: { path: { type: "string", format: "uri-reference" }, n: { type: ["integer", "null"] } } };
    const first = cleanSchema(input);
    const again = cleanSchema(JSON.parse(JSON.stringify(input)));
    expect(again).toBe(first);
    // the caller's objects are not in it: changing the input afterwards changes nothing
    input.properties.path.type = "number";
    expect(cleanSchema({ ...input, properties: { ...input.properties } })).not.toBe(first);
    expect((first.properties as Record<string, { type: string }>).path!.type).toBe("string");
    // another schema, another result
    expect(cleanSchema({ type: "object", properties: { other: { type: "string" } } })).not.toBe(first);
  });

  test("a very large schema is cleaned every time, not kept (the cache holds a few MB at most)", () => {
    const huge = { type: "object", properties: { s: { type: "string", description: "x".repeat(100_000) } } };
    const a = cleanSchema(huge);
    expect(cleanSchema(huge)).not.toBe(a);
    expect(cleanSchema(huge)).toEqual(a);
  });
});

describe("restoreJsonText (a json_schema answer, written against the cleaned schema)", () => {
  const schema = {
    type: "object",
    properties: {
      level: { type: "integer", enum: [1, 2, 3] },
      extra: { type: "object", additionalProperties: { type: "string" } },
      name: { type: "string" },
    },
  };
  test.each([
    ['{"level":"2","name":"x"}', '{"level":2,"name":"x"}'],
    ['{"extra":"{\\"a\\":\\"b\\"}"}', '{"extra":{"a":"b"}}'],
    // nothing to bring back: the model's own text, spacing and all
    ['{ "name": "x" }', '{ "name": "x" }'],
    ["not json at all", "not json at all"],
    ["", ""],
  ])("%s → %s", (text, want) => {
    expect(restoreJsonText(text, schema)).toBe(want);
  });
});

describe("sendsValuesAsText (does an answer need restoreJsonText; a stream holds its text back if so)", () => {
  test.each([
    ["strings only", { type: "object", properties: { a: { type: "string", enum: ["x", "y"] } } }, false],
    ["numbers and booleans", { type: "object", properties: { n: { type: "integer" }, b: { type: "boolean" } } }, false],
    ["a number enum", { type: "object", properties: { n: { type: "integer", enum: [1, 2] } } }, true],
    ["a boolean const", { type: "object", properties: { b: { const: true } } }, true],
    ["a free-form object below the root", { type: "object", properties: { o: { type: "object" } } }, true],
    ["deep in an array", { type: "object", properties: { l: { type: "array", items: { enum: [1, "a"] } } } }, true],
    ["behind a $ref", { type: "object", properties: { r: { $ref: "#/$defs/N" } }, $defs: { N: { enum: [3] } } }, true],
    ["a free-form root", { type: "object" }, false],
  ])("%s", (_name, schema, want) => {
    expect(sendsValuesAsText(cleanSchema(schema))).toBe(want);
    // the cached result answers the same
    expect(sendsValuesAsText(cleanSchema(structuredClone(schema)))).toBe(want);
  });
  test("anything but a cleaned schema: no", () => {
    expect(sendsValuesAsText(undefined)).toBe(false);
    expect(sendsValuesAsText({ type: "object", properties: { n: { enum: [1] } } })).toBe(false);
  });
});

test("cleanSchema keeps a property named __proto__ (and its place in required)", () => {
  const out = cleanSchema(
    JSON.parse('{"type":"object","properties":{"__proto__":{"type":"integer"},"b":{"type":"string"}},"required":["__proto__"]}'),
  );
  expect(Object.hasOwn(out.properties as object, "__proto__")).toBe(true);
  expect(JSON.stringify(out)).toContain('"__proto__":{"type":"integer"}');
  expect(out.required).toEqual(["__proto__"]);
});

test("a $ref bomb (each $def using the next eight times) is cut to a bounded schema, quickly, and marked as text", () => {
  const defs: Record<string, unknown> = {};
  for (let i = 0; i < 8; i++) {
    const props: Record<string, unknown> = {};
    for (let j = 0; j < 8; j++) props[`p${j}`] = i === 7 ? { type: "integer" } : { $ref: `#/$defs/D${i + 1}` };
    defs[`D${i}`] = { type: "object", properties: props };
  }
  const schema = { type: "object", properties: { root: { $ref: "#/$defs/D0" } }, $defs: defs };
  const out = cleanSchema(schema); // 8^8 nodes in full: this returned after 30 s and 600 MB
  expect(JSON.stringify(out).length).toBeLessThan(500_000);
  expect(JSON.stringify(out)).toContain("too large to send in full");
  expect(sendsValuesAsText(out)).toBe(true);
  // a value sent as JSON text where the schema was cut comes back as the object it is
  const cut = '{"p0":{"p0":1}}';
  const restored = restoreArgTypes({ root: { p0: { p0: { p0: { p0: { p0: { p0: cut } } } } } } }, schema) as any;
  expect(restored.root.p0.p0.p0.p0.p0.p0).toEqual({ p0: { p0: 1 } });
});

test("a recursive discriminated union restores in one pass (each member tried in full was k^depth)", () => {
  const ops = ["add", "sub", "mul", "div", "pow", "mod"];
  const schema = {
    type: "object",
    properties: { expr: { $ref: "#/$defs/node" } },
    $defs: {
      node: {
        anyOf: [
          ...ops.map((op) => ({
            type: "object",
            properties: { op: { const: op }, left: { $ref: "#/$defs/node" }, right: { $ref: "#/$defs/node" } },
          })),
          { type: "object", properties: { op: { const: "lit" }, value: { type: "number" } } },
        ],
      },
    },
  };
  const tree = (d: number, v: unknown): unknown =>
    d === 0 ? { op: "lit", value: v } : { op: "mod", left: tree(d - 1, v), right: { op: "lit", value: v } };
  // 14 levels: 7^14 member restorations before, one per node now
  expect(restoreArgTypes({ expr: tree(14, "2") }, schema)).toEqual({ expr: tree(14, 2) });
});

test("an allOf $ref diamond (each $def all of the next, twice) merges in one pass: 40 levels were 2^40 merges", () => {
  const $defs: Record<string, unknown> = {};
  for (let i = 0; i < 40; i++) $defs[`d${i}`] = { allOf: [{ $ref: `#/$defs/d${i + 1}` }, { $ref: `#/$defs/d${i + 1}` }] };
  $defs.d40 = { type: "object", properties: { x: { type: "integer", enum: [1, 2] } } };
  const schema = { type: "object", properties: { p: { $ref: "#/$defs/d0" } }, $defs };
  expect((cleanSchema(schema).properties as any).p).toMatchObject({ type: "object", properties: { x: { enum: ["1", "2"] } } });
  expect(restoreArgTypes({ p: { x: "2" } }, schema)).toEqual({ p: { x: 2 } });
});

// Each held the server's thread for seconds when every branch copied what was merged before it.
describe("cleanSchema: many branches cost their size, not its square", () => {
  const props = (n: number, prefix: string) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, { type: "string" }]));
  const names = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

  test("allOf of 5,000 branches of four properties: every property and every requirement kept", () => {
    const allOf = Array.from({ length: 5000 }, (_, i) => ({
      properties: Object.fromEntries([0, 1, 2, 3].map((j) => [`p${i}_${j}`, { type: "integer" }])),
      required: [`p${i}_0`],
    }));
    const out = cleanSchema({ type: "object", allOf }) as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(out.properties).length).toBeGreaterThan(19_000); // the node budget may stop short of all
    expect(out.required.length * 4).toBe(Object.keys(out.properties).length);
  });

  test("a property many allOf branches define is one allOf of them all, not a chain", () => {
    const allOf = Array.from({ length: 50 }, (_, i) => ({ properties: { a: { description: `d${i}` } } }));
    const out = cleanSchema({ type: "object", allOf }) as { properties: { a: Record<string, unknown> } };
    expect(JSON.stringify(out.properties.a).length).toBeLessThan(50 * 40);
  });

  test("a root anyOf of two objects with many required properties: the shared ones stay required", () => {
    const a = { type: "object", properties: props(2000, "k"), required: names(2000, "k") };
    const b = { type: "object", properties: props(2000, "k"), required: names(1000, "k").reverse() };
    const out = cleanSchema({ anyOf: [a, b] }) as { required: string[] };
    expect(out.required).toEqual(names(1000, "k"));
    // past the node budget it travels as it came (restored from text), after a linear look: it took seconds
    const big = { type: "object", properties: props(40_000, "k"), required: names(40_000, "k") };
    expect(JSON.stringify(cleanSchema({ anyOf: [big, { ...big, required: names(40_000, "k").reverse() }] }))).toContain('"k39999"');
  });

  test("Claude's reduction of a union of objects with 40,000 required properties each", () => {
    const a = { type: "object", properties: props(40_000, "k"), required: names(40_000, "k") };
    const out = claudeSchema({ type: "object", properties: { x: { anyOf: [a, { ...a, required: names(20_000, "k") }] } } }) as any;
    expect(out.properties.x.required.length).toBe(20_000);
  });
});

describe("cleanSchema: the text a $ref repeats is budgeted", () => {
  test("1,000 uses of a 30 KB description: a few times the schema's size, the rest sent as text (was 30 MB)", () => {
    const properties = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`p${i}`, { $ref: "#/$defs/D" }]));
    const schema = { type: "object", properties, $defs: { D: { type: "string", format: "odd", description: "x".repeat(30_000) } } };
    const size = JSON.stringify(schema).length;
    const out = cleanSchema(schema);
    expect(JSON.stringify(out).length).toBeLessThan(4 * size + 64 * 1024 + 40_000);
    expect(sendsValuesAsText(out)).toBe(true);
    // the first uses keep their words
    expect((out as any).properties.p0.description).toStartWith("xxxx");
  });

  test("an ordinary pydantic-style schema with shared $defs is untouched by the budget", () => {
    const defs = {
      Item: {
        type: "object",
        description: "An item in the order. ".repeat(20),
        properties: { sku: { type: "string" }, qty: { type: "integer" } },
      },
    };
    const properties = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`line${i}`, { $ref: "#/$defs/Item" }]));
    const out = cleanSchema({ type: "object", properties, $defs: defs });
    expect(sendsValuesAsText(out)).toBe(false);
    expect(Object.values((out as any).properties).every((p: any) => p.properties.qty.type === "integer")).toBe(true);
  });
});
