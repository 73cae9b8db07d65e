import { describe, expect, test } from "bun:test";
import type { ModelInfo } from "../../src/models/catalog";
import { AGENT_SDK_IDENTITY, CLAUDE_CODE_IDENTITY, fitRequest } from "../../src/models/fit";
import type { GeminiRequest } from "../../src/upstream/types";

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

const contents = [{ role: "user", parts: [{ text: "hi" }] }];
const CLAUDE: ModelInfo = {
  id: "claude-sonnet-4-6",
  displayName: "Claude",
  outputTokenLimit: 64000,
  thinking: true,
  thinkingBudget: 24576,
};
const G3: ModelInfo = { id: "gemini-3-flash", displayName: "G3", outputTokenLimit: 65536, thinking: true, thinkingBudget: 32768 };
const G25: ModelInfo = { id: "gemini-2.5-flash", displayName: "G2.5", outputTokenLimit: 65536, thinking: true, thinkingBudget: 24576 };
const ON = { rewriteAgentIdentity: true };
const OFF = { rewriteAgentIdentity: false };

const gen = (g: Record<string, unknown>): GeminiRequest => ({ contents, generationConfig: g });
const tools = (params: unknown, key = "parameters") => [{ functionDeclarations: [{ name: "f", description: "d", [key]: params }] }];
const REDUCED_OK = { type: "object", properties: { n: { type: "integer" } }, required: ["n"] };

type Case = [name: string, req: GeminiRequest, model: string, info: ModelInfo | undefined, opts: typeof ON, want: GeminiRequest | "same"];

const cases: Case[] = [
  // a. identity
  [
    "identity: only the sentence is replaced",
    { contents, systemInstruction: { parts: [{ text: `${AGENT_SDK_IDENTITY} Be brief.` }, { text: "other" }] } },
    "claude-sonnet-4-6",
    CLAUDE,
    ON,
    { contents, systemInstruction: { parts: [{ text: `${CLAUDE_CODE_IDENTITY} Be brief.` }, { text: "other" }] } },
  ],
  [
    "identity: on any model",
    { contents, systemInstruction: { role: "user", parts: [{ text: AGENT_SDK_IDENTITY }] } },
    "gemini-2.5-flash",
    undefined,
    ON,
    { contents, systemInstruction: { role: "user", parts: [{ text: CLAUDE_CODE_IDENTITY }] } },
  ],
  [
    "identity: option off",
    { contents, systemInstruction: { parts: [{ text: AGENT_SDK_IDENTITY }] } },
    "claude-sonnet-4-6",
    CLAUDE,
    OFF,
    "same",
  ],
  [
    "identity: a similar sentence is left alone",
    { contents, systemInstruction: { parts: [{ text: "You are a Claude agent." }] } },
    "claude-sonnet-4-6",
    CLAUDE,
    ON,
    "same",
  ],

  // b. Claude with tools
  [
    "claude tools: mode unset → VALIDATED, schema reduced",
    {
      contents,
      tools: tools({ type: "object", properties: { n: { type: "integer", minimum: 1, format: "int32" } }, propertyOrdering: ["n"] }),
    },
    "claude-sonnet-4-6",
    CLAUDE,
    ON,
    {
      contents,
      tools: tools({ type: "object", properties: { n: { type: "integer", description: "(minimum 1; format: int32)" } } }),
      toolConfig: { functionCallingConfig: { mode: "VALIDATED" } },
    },
  ],
  [
    "claude tools: AUTO → VALIDATED, allowedFunctionNames and other toolConfig kept",
    {
      contents,
      tools: tools(REDUCED_OK),
      toolConfig: { functionCallingConfig: { mode: "AUTO", allowedFunctionNames: ["f"] }, retrievalConfig: {} },
    },
    "models/claude-opus-4-6-thinking",
    undefined,
    ON,
    {
      contents,
      tools: tools(REDUCED_OK),
      toolConfig: { functionCallingConfig: { mode: "VALIDATED", allowedFunctionNames: ["f"] }, retrievalConfig: {} },
    },
  ],
  [
    "claude tools: ANY kept (tool_choice required/named)",
    { contents, tools: tools(REDUCED_OK), toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["f"] } } },
    "claude-sonnet-4-6",
    CLAUDE,
    ON,
    "same",
  ],
  [
    "claude tools: NONE kept",
    { contents, tools: tools(REDUCED_OK), toolConfig: { functionCallingConfig: { mode: "NONE" } } },
    "claude-sonnet-4-6",
    CLAUDE,
    ON,
    "same",
  ],
  [
    "claude tools: ANY kept, schema still reduced",
    { contents, tools: tools({ type: "string", default: "x" }), toolConfig: { functionCallingConfig: { mode: "ANY" } } },
    "claude-sonnet-4-6",
    CLAUDE,
    ON,
    { contents, tools: tools({ type: "string", description: "(default: x)" }), toolConfig: { functionCallingConfig: { mode: "ANY" } } },
  ],
  [
    "claude tools: parametersJsonSchema is cleaned and reduced under its own key",
    {
      contents,
      tools: tools(
        { type: "object", properties: { at: { type: ["string", "null"], format: "date-time" } }, additionalProperties: false },
        "parametersJsonSchema",
      ),
      toolConfig: { functionCallingConfig: { mode: "ANY" } },
    },
    "claude-sonnet-4-6",
    CLAUDE,
    ON,
    {
      contents,
      tools: tools(
        { type: "object", properties: { at: { type: "string", description: "(format: date-time)", nullable: true } } },
        "parametersJsonSchema",
      ),
      toolConfig: { functionCallingConfig: { mode: "ANY" } },
    },
  ],
  ["gemini tools: untouched", { contents, tools: tools({ type: "string", default: "x" }) }, "gemini-3-flash", G3, ON, "same"],
  ["claude without function declarations: untouched", { contents, tools: [{ googleSearch: {} }] }, "claude-sonnet-4-6", CLAUDE, ON, "same"],

  // c. thinking budget and output clamps
  [
    "budget above the model's largest is clamped",
    gen({ maxOutputTokens: 60000, thinkingConfig: { includeThoughts: true, thinkingBudget: 40000 } }),
    "claude-sonnet-4-6",
    CLAUDE,
    ON,
    gen({ maxOutputTokens: 60000, thinkingConfig: { includeThoughts: true, thinkingBudget: 24576 } }),
  ],
  [
    "maxOutputTokens above the limit is clamped",
    gen({ maxOutputTokens: 100000 }),
    "gemini-2.5-flash",
    G25,
    ON,
    gen({ maxOutputTokens: 65536 }),
  ],
  [
    "no limit known: maxOutputTokens kept",
    gen({ maxOutputTokens: 100000 }),
    "gemini-2.5-flash",
    { ...G25, outputTokenLimit: undefined },
    ON,
    "same",
  ],
  [
    "claude max ≤ budget: the client's max becomes the answer's room",
    gen({ maxOutputTokens: 4000, thinkingConfig: { thinkingBudget: 10000 } }),
    "claude-sonnet-4-6",
    CLAUDE,
    ON,
    gen({ maxOutputTokens: 14000, thinkingConfig: { thinkingBudget: 10000 } }),
  ],
  [
    "claude max ≤ clamped budget, without outputTokenLimit",
    gen({ maxOutputTokens: 20000, thinkingConfig: { thinkingBudget: 50000 } }),
    "claude-sonnet-4-6",
    { ...CLAUDE, outputTokenLimit: undefined },
    ON,
    gen({ maxOutputTokens: 44576, thinkingConfig: { thinkingBudget: 24576 } }),
  ],
  [
    "claude max clamped to the limit: room kept by lowering the budget",
    gen({ maxOutputTokens: 80000, thinkingConfig: { thinkingBudget: 64000 } }),
    "claude-sonnet-4-6",
    { ...CLAUDE, thinkingBudget: undefined },
    ON,
    gen({ maxOutputTokens: 64000, thinkingConfig: { thinkingBudget: 48000 } }),
  ],
  [
    "claude: room larger than the limit allows → budget lowered, never below 1024",
    gen({ maxOutputTokens: 60000, thinkingConfig: { thinkingBudget: 60000 } }),
    "claude-sonnet-4-6",
    { ...CLAUDE, thinkingBudget: undefined },
    ON,
    gen({ maxOutputTokens: 64000, thinkingConfig: { thinkingBudget: 4000 } }),
  ],
  [
    "claude unknown model: raised without a cap",
    gen({ maxOutputTokens: 2000, thinkingConfig: { thinkingBudget: 2000 } }),
    "claude-new",
    undefined,
    ON,
    gen({ maxOutputTokens: 4000, thinkingConfig: { thinkingBudget: 2000 } }),
  ],
  [
    "claude max > budget: fine as is",
    gen({ maxOutputTokens: 20000, thinkingConfig: { thinkingBudget: 10000 } }),
    "claude-sonnet-4-6",
    CLAUDE,
    ON,
    "same",
  ],
  [
    "claude budget 0 (off): no room needed",
    gen({ maxOutputTokens: 100, thinkingConfig: { thinkingBudget: 0 } }),
    "claude-sonnet-4-6",
    CLAUDE,
    ON,
    "same",
  ],
  [
    "gemini max ≤ budget: not a Claude rule",
    gen({ maxOutputTokens: 1000, thinkingConfig: { thinkingBudget: 2000 } }),
    "gemini-2.5-flash",
    G25,
    ON,
    "same",
  ],

  // d. Gemini models that think by default
  [
    "gemini-3: allowance = the client's max when small",
    gen({ maxOutputTokens: 4000 }),
    "gemini-3-flash",
    G3,
    ON,
    gen({ maxOutputTokens: 8000, thinkingConfig: { thinkingBudget: 4000 } }),
  ],
  [
    "gemini-3: allowance at least 1024",
    gen({ maxOutputTokens: 500 }),
    "gemini-3-flash",
    G3,
    ON,
    gen({ maxOutputTokens: 1524, thinkingConfig: { thinkingBudget: 1024 } }),
  ],
  [
    "gemini-3: allowance at most 8192, includeThoughts kept",
    gen({ maxOutputTokens: 20000, thinkingConfig: { includeThoughts: true } }),
    "gemini-3.1-pro-high",
    G3,
    ON,
    gen({ maxOutputTokens: 28192, thinkingConfig: { includeThoughts: true, thinkingBudget: 8192 } }),
  ],
  [
    "gemini-3: model's smaller budget caps the allowance",
    gen({ maxOutputTokens: 20000 }),
    "gemini-3-flash",
    { ...G3, thinkingBudget: 2048 },
    ON,
    gen({ maxOutputTokens: 22048, thinkingConfig: { thinkingBudget: 2048 } }),
  ],
  [
    "gemini-3: the output limit shrinks the allowance",
    gen({ maxOutputTokens: 60000 }),
    "gemini-3-flash",
    G3,
    ON,
    gen({ maxOutputTokens: 65536, thinkingConfig: { thinkingBudget: 5536 } }),
  ],
  [
    "gemini-3: no limit known → no cap",
    gen({ maxOutputTokens: 60000 }),
    "gemini-3-flash",
    { ...G3, outputTokenLimit: undefined },
    ON,
    gen({ maxOutputTokens: 68192, thinkingConfig: { thinkingBudget: 8192 } }),
  ],
  ["gemini-3: client already asks for the whole limit", gen({ maxOutputTokens: 65536 }), "gemini-3-flash", G3, ON, "same"],
  ["gemini-3: above the limit → only clamped", gen({ maxOutputTokens: 90000 }), "gemini-3-flash", G3, ON, gen({ maxOutputTokens: 65536 })],
  [
    "gemini-pro-agent too",
    gen({ maxOutputTokens: 2000 }),
    "gemini-pro-agent",
    { ...G3, id: "gemini-pro-agent" },
    ON,
    gen({ maxOutputTokens: 4000, thinkingConfig: { thinkingBudget: 2000 } }),
  ],
  [
    "gemini-3: budget set by the client → kept",
    gen({ maxOutputTokens: 2000, thinkingConfig: { thinkingBudget: 500 } }),
    "gemini-3-flash",
    G3,
    ON,
    "same",
  ],
  [
    "gemini-3: thinkingLevel set → kept",
    gen({ maxOutputTokens: 2000, thinkingConfig: { thinkingLevel: "low" } }),
    "gemini-3-flash",
    G3,
    ON,
    "same",
  ],
  ["gemini-3: no maxOutputTokens → nothing", gen({ temperature: 1 }), "gemini-3-flash", G3, ON, "same"],
  [
    "gemini-3 without thinking → nothing",
    gen({ maxOutputTokens: 2000 }),
    "gemini-3.1-flash-lite",
    { id: "gemini-3.1-flash-lite", displayName: "Lite", outputTokenLimit: 65536 },
    ON,
    "same",
  ],
  ["gemini-3 unknown info → nothing", gen({ maxOutputTokens: 2000 }), "gemini-3-flash", undefined, ON, "same"],
  ["gemini-2.5 does not get an allowance", gen({ maxOutputTokens: 2000 }), "gemini-2.5-flash", G25, ON, "same"],

  // e. nothing to do
  ["plain request", { contents }, "gemini-2.5-flash", G25, ON, "same"],
];

describe("fitRequest", () => {
  test.each(cases)("%s", (_, req, model, info, opts, want) => {
    const input = deepFreeze(structuredClone(req));
    const { request, changes } = fitRequest(input, model, info, opts);
    if (want === "same") {
      expect(request).toBe(input);
      expect(changes).toEqual([]);
    } else {
      expect(request).toEqual(want);
      expect(request).not.toBe(input);
      expect(changes.length).toBeGreaterThan(0);
      for (const c of changes) expect(typeof c).toBe("string");
    }
  });

  test("untouched subtrees are shared, not copied", () => {
    const req = deepFreeze<GeminiRequest>({
      contents,
      systemInstruction: { parts: [{ text: AGENT_SDK_IDENTITY }, { text: "x" }] },
      generationConfig: { temperature: 1 },
    });
    const { request } = fitRequest(req, "claude-sonnet-4-6", CLAUDE, ON);
    expect(request.contents).toBe(req.contents);
    expect(request.generationConfig).toBe(req.generationConfig);
    expect(request.systemInstruction!.parts[1]).toBe(req.systemInstruction!.parts[1]!);
  });

  test("all rules at once are each noted", () => {
    const req = deepFreeze<GeminiRequest>({
      contents,
      systemInstruction: { parts: [{ text: AGENT_SDK_IDENTITY }] },
      tools: tools({ type: "object", properties: { a: { type: "string", format: "uri" } } }),
      generationConfig: { maxOutputTokens: 100000, thinkingConfig: { includeThoughts: true, thinkingBudget: 30000 } },
    });
    const { request, changes } = fitRequest(req, "claude-sonnet-4-6", CLAUDE, ON);
    expect(changes).toHaveLength(5);
    expect(request.generationConfig).toEqual({ maxOutputTokens: 64000, thinkingConfig: { includeThoughts: true, thinkingBudget: 24576 } });
    expect(request.toolConfig).toEqual({ functionCallingConfig: { mode: "VALIDATED" } });
  });
});
