// Table-driven tests for the Anthropic → Gemini request mapper.
import { describe, expect, test } from "bun:test";
import { toGeminiRequest, urlSources, withoutSignatures, type MapOptions } from "../../src/anthropic/request";
import { signToolId, tagSignature } from "../../src/anthropic/signature";
import { SKIP_SIGNATURE, upstreamToolName } from "../../src/protocol/function-calls";
import { ApiError } from "../../src/core/errors";

const SIG = "s".repeat(60);
const claudeSig = tagSignature("claude", "thought", SIG);
const claudeCallSig = tagSignature("claude", "part", "c".repeat(60));
const geminiSig = tagSignature("gemini", "part", "g".repeat(60));
const geminiThoughtSig = tagSignature("gemini", "thought", "h".repeat(60));
const claude: MapOptions = { family: "claude", outputLimit: 64000 };
const gemini: MapOptions = { family: "gemini", outputLimit: 65536 };
const user = (content: unknown) => ({ role: "user", content });
const assistant = (content: unknown) => ({ role: "assistant", content });
const base = (extra: Record<string, unknown>) => ({ model: "claude-sonnet-4-5", max_tokens: 1000, ...extra }) as any;
const LONG = "mcp__my-very-long-server-name-for-testing__" + "a_really_long_tool_name_".repeat(3);
const toolUse = { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } };
const weatherTool = {
  name: "get_weather",
  description: "weather",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

interface Case {
  name: string;
  body: Record<string, unknown>;
  opts?: MapOptions;
  /** subset of the mapped request */
  want?: Record<string, unknown>;
  /** keys that must be absent from the mapped request (dot path) */
  absent?: string[];
  /** error message fragment and field for a 400 */
  error?: [string, string];
}

const cases: Case[] = [
  {
    name: "string content and string system",
    body: base({ system: "be brief", messages: [user("hi")] }),
    want: {
      systemInstruction: { role: "user", parts: [{ text: "be brief" }] },
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
      generationConfig: { maxOutputTokens: 1000 },
    },
  },
  {
    name: "system blocks are joined",
    body: base({
      system: [
        { type: "text", text: "a", cache_control: { type: "ephemeral" } },
        { type: "text", text: "b" },
      ],
      messages: [user("hi")],
    }),
    want: { systemInstruction: { role: "user", parts: [{ text: "a\n\nb" }] } },
  },
  {
    name: "Claude Code's billing attribution block is not sent to the model",
    body: base({
      system: [
        { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.197.123; cc_entrypoint=sdk-cli;" },
        { type: "text", text: "You are helpful." },
      ],
      messages: [user("hi")],
    }),
    want: { systemInstruction: { role: "user", parts: [{ text: "You are helpful." }] } },
  },
  {
    name: "non-text system block is a 400",
    body: base({ system: [{ type: "image" }], messages: [user("hi")] }),
    error: ["only text blocks", "system[0]"],
  },
  {
    name: "consecutive user messages merge into one turn",
    body: base({ messages: [user("a"), user([{ type: "text", text: "b" }]), assistant("c")] }),
    want: {
      contents: [
        { role: "user", parts: [{ text: "a" }, { text: "b" }] },
        { role: "model", parts: [{ text: "c" }] },
      ],
    },
  },
  {
    name: "a mid-conversation system message stays in place as marked user text",
    body: base({
      messages: [
        user("a"),
        { role: "system", content: "new rules" },
        assistant("b"),
        { role: "system", content: [{ type: "text", text: "more" }] },
        user("c"),
      ],
    }),
    want: {
      contents: [
        { role: "user", parts: [{ text: "a" }, { text: "<system>\nnew rules\n</system>" }] },
        { role: "model", parts: [{ text: "b" }] },
        { role: "user", parts: [{ text: "<system>\nmore\n</system>" }, { text: "c" }] },
      ],
    },
  },
  {
    name: "a system message with a non-text block is a 400",
    body: base({ messages: [user("a"), { role: "system", content: [{ type: "image", source: {} }] }] }),
    error: ["text blocks only", "messages[1].content[0]"],
  },
  {
    name: "base64 image and PDF document become inlineData",
    body: base({
      messages: [
        user([
          { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBOR" } },
          { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBER" } },
          { type: "document", source: { type: "text", media_type: "text/plain", data: "plain doc" } },
          { type: "text", text: "describe" },
        ]),
      ],
    }),
    want: {
      contents: [
        {
          role: "user",
          parts: [
            { inlineData: { mimeType: "image/png", data: "iVBOR" } },
            { inlineData: { mimeType: "application/pdf", data: "JVBER" } },
            { text: "plain doc" },
            { text: "describe" },
          ],
        },
      ],
    },
  },
  {
    name: "URL image without a fetched copy is a 400 naming the block",
    body: base({
      messages: [
        user([
          { type: "text", text: "x" },
          { type: "image", source: { type: "url", url: "https://e.x/a.png" } },
        ]),
      ],
    }),
    error: ["URL sources", "messages[0].content[1].source"],
  },
  {
    name: "URL image fetched by the route is inlined",
    body: base({ messages: [user([{ type: "image", source: { type: "url", url: "https://e.x/a.png" } }])] }),
    opts: { family: "gemini", remote: new Map([["https://e.x/a.png", { mimeType: "image/png", data: "AAA" }]]) },
    want: { contents: [{ role: "user", parts: [{ inlineData: { mimeType: "image/png", data: "AAA" } }] }] },
  },
  {
    name: "image without data is a 400 naming the field",
    body: base({ messages: [user([{ type: "image", source: { type: "base64", media_type: "image/png" } }])] }),
    error: ["required", "messages[0].content[0].source.data"],
  },
  {
    name: "unknown block type is a 400",
    body: base({ messages: [user([{ type: "hologram" }])] }),
    error: ["unsupported content block type", "messages[0].content[0].type"],
  },
  {
    name: "tool_use and tool_result (text, image, is_error) round trip with ids and names",
    body: base({
      tools: [weatherTool],
      messages: [
        user("weather?"),
        assistant([{ type: "text", text: "checking" }, toolUse, { ...toolUse, id: "toolu_2", input: { city: "Rome" } }]),
        user([
          {
            type: "tool_result",
            tool_use_id: "toolu_1",
            content: [
              { type: "text", text: "sunny" },
              { type: "text", text: "20C" },
              { type: "image", source: { type: "base64", media_type: "image/png", data: "QQ" } },
            ],
          },
          { type: "tool_result", tool_use_id: "toolu_2", content: "failed", is_error: true },
        ]),
      ],
    }),
    opts: claude,
    want: {
      contents: [
        { role: "user", parts: [{ text: "weather?" }] },
        {
          role: "model",
          parts: [
            { text: "checking" },
            { functionCall: { name: "get_weather", args: { city: "Paris" }, id: "toolu_1" } },
            { functionCall: { name: "get_weather", args: { city: "Rome" }, id: "toolu_2" } },
          ],
        },
        {
          role: "user",
          parts: [
            { functionResponse: { name: "get_weather", response: { output: "sunny\n20C" }, id: "toolu_1" } },
            { inlineData: { mimeType: "image/png", data: "QQ" } },
            { functionResponse: { name: "get_weather", response: { error: "failed" }, id: "toolu_2" } },
          ],
        },
      ],
      tools: [
        {
          functionDeclarations: [
            {
              name: "get_weather",
              description: "weather",
              parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
            },
          ],
        },
      ],
    },
  },
  {
    name: "tool_result for an unknown id is a 400",
    body: base({ messages: [user([{ type: "tool_result", tool_use_id: "nope", content: "x" }])] }),
    error: ['no tool_use with id "nope"', "messages[0].content[0].tool_use_id"],
  },
  {
    name: "tool_use in a user message is a 400",
    body: base({ messages: [user([toolUse])] }),
    error: ["assistant messages", "messages[0].content[0]"],
  },
  {
    name: "Claude thinking with a Claude signature is kept when thinking is on",
    body: base({
      thinking: { type: "enabled", budget_tokens: 2048 },
      messages: [
        user("q"),
        assistant([
          { type: "thinking", thinking: "hmm", signature: claudeSig },
          { type: "text", text: "a" },
        ]),
        user("more"),
      ],
    }),
    opts: claude,
    want: { contents: [{}, { role: "model", parts: [{ text: "hmm", thought: true, thoughtSignature: SIG }, { text: "a" }] }, {}] },
  },
  {
    name: "thinking blocks are dropped when thinking is off, unsigned, foreign or from Gemini",
    body: base({
      messages: [
        user("q"),
        assistant([
          { type: "thinking", thinking: "off", signature: claudeSig },
          { type: "thinking", thinking: "nosig" },
          { type: "thinking", thinking: "anthropic", signature: "EqQBCkgIARABGAIiQL" + "x".repeat(60) },
          { type: "redacted_thinking", data: "abc" },
          { type: "text", text: "a" },
        ]),
        user("more"),
      ],
    }),
    opts: claude,
    want: { contents: [{}, { role: "model", parts: [{ text: "a" }] }, {}] },
  },
  {
    name: "Claude: a signature that came on a call goes back on the call",
    body: base({
      thinking: { type: "enabled", budget_tokens: 2048 },
      messages: [
        user("q"),
        assistant([
          { type: "thinking", thinking: "plan", signature: claudeSig },
          { type: "thinking", thinking: "", signature: claudeCallSig },
          toolUse,
        ]),
        user([{ type: "tool_result", tool_use_id: "toolu_1", content: "ok" }]),
      ],
    }),
    opts: claude,
    want: {
      contents: [
        {},
        {
          role: "model",
          parts: [
            { text: "plan", thought: true, thoughtSignature: SIG },
            { functionCall: { name: "get_weather", args: { city: "Paris" }, id: "toolu_1" }, thoughtSignature: "c".repeat(60) },
          ],
        },
        {},
      ],
    },
  },
  {
    name: "Gemini: thought-part signatures are not sent back (thought parts never are)",
    body: base({
      messages: [
        user("q"),
        assistant([
          { type: "thinking", thinking: "plan", signature: geminiThoughtSig },
          { type: "text", text: "a" },
        ]),
        user("more"),
      ],
    }),
    opts: gemini,
    want: { contents: [{}, { role: "model", parts: [{ text: "a" }] }, {}] },
    absent: ["contents.1.parts.0.thoughtSignature"],
  },
  {
    name: "a Gemini signature is never sent to Claude",
    body: base({
      thinking: { type: "enabled", budget_tokens: 2048 },
      messages: [
        user("q"),
        assistant([{ type: "thinking", thinking: "", signature: geminiSig }, toolUse]),
        user([{ type: "tool_result", tool_use_id: "toolu_1", content: "ok" }]),
      ],
    }),
    opts: claude,
    want: {
      contents: [{}, { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" }, id: "toolu_1" } }] }, {}],
    },
    absent: ["contents.1.parts.0.thoughtSignature"],
  },
  {
    name: "a Gemini signature rides on the following call for Gemini; thought text is not sent back",
    body: base({
      messages: [
        user("q"),
        assistant([{ type: "thinking", thinking: "plan", signature: geminiSig }, toolUse]),
        user([{ type: "tool_result", tool_use_id: "toolu_1", content: "ok" }]),
      ],
    }),
    opts: gemini,
    want: {
      contents: [
        {},
        {
          role: "model",
          parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" }, id: "toolu_1" }, thoughtSignature: "g".repeat(60) }],
        },
        {},
      ],
    },
  },
  {
    name: "a Claude signature is never sent to Gemini; its first call gets the skip value",
    body: base({
      messages: [
        user("q"),
        assistant([{ type: "thinking", thinking: "plan", signature: claudeSig }, toolUse]),
        user([{ type: "tool_result", tool_use_id: "toolu_1", content: "ok" }]),
      ],
    }),
    opts: gemini,
    want: { contents: [{}, { role: "model", parts: [{ functionCall: { name: "get_weather" }, thoughtSignature: SKIP_SIGNATURE }] }, {}] },
  },
  {
    name: "Gemini: a signature carried in the tool id goes back on the call; upstream sees the plain id",
    body: base({
      messages: [
        user("q"),
        assistant([{ ...toolUse, id: signToolId("toolu_1", geminiSig) }]),
        user([{ type: "tool_result", tool_use_id: signToolId("toolu_1", geminiSig), content: "ok" }]),
      ],
    }),
    opts: gemini,
    want: {
      contents: [
        {},
        {
          role: "model",
          parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" }, id: "toolu_1" }, thoughtSignature: "g".repeat(60) }],
        },
        { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { output: "ok" }, id: "toolu_1" } }] },
      ],
    },
  },
  {
    name: "Claude: a Gemini signature in a tool id is not sent",
    body: base({
      messages: [
        user("q"),
        assistant([{ ...toolUse, id: signToolId("toolu_1", geminiSig) }]),
        user([{ type: "tool_result", tool_use_id: signToolId("toolu_1", geminiSig), content: "ok" }]),
      ],
    }),
    opts: claude,
    want: { contents: [{}, { role: "model", parts: [{ functionCall: { name: "get_weather", id: "toolu_1" } }] }, {}] },
    absent: ["contents.1.parts.0.thoughtSignature"],
  },
  {
    name: "base64 image whose data is not base64 is a 400 naming source.data",
    body: base({
      messages: [
        user([
          { type: "text", text: "see" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "%%%" } },
        ]),
      ],
    }),
    error: ["not valid base64", "messages[0].content[1].source.data"],
  },
  {
    name: "an image with a document's text source is a 400 naming source.type",
    body: base({ messages: [user([{ type: "image", source: { type: "text", data: "x" } }])] }),
    error: ['"text" is for documents', "messages[0].content[0].source.type"],
  },
  {
    name: "tool_choice any → ANY",
    body: base({ tools: [weatherTool], tool_choice: { type: "any" }, messages: [user("x")] }),
    want: { toolConfig: { functionCallingConfig: { mode: "ANY" } } },
  },
  {
    name: "tool_choice tool → ANY with allowedFunctionNames",
    body: base({ tools: [weatherTool], tool_choice: { type: "tool", name: "get_weather" }, messages: [user("x")] }),
    want: { toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } } },
  },
  {
    name: "tool_choice auto → AUTO",
    body: base({ tools: [weatherTool], tool_choice: { type: "auto" }, messages: [user("x")] }),
    want: { toolConfig: { functionCallingConfig: { mode: "AUTO" } } },
  },
  {
    name: "tool_choice none → NONE",
    body: base({ tools: [weatherTool], tool_choice: { type: "none" }, messages: [user("x")] }),
    want: { toolConfig: { functionCallingConfig: { mode: "NONE" } } },
  },
  {
    name: "tool names upstream would refuse get a stable alias everywhere (declaration, history, tool_choice)",
    body: base({
      tools: [{ name: LONG, input_schema: { type: "object" } }],
      tool_choice: { type: "tool", name: LONG },
      messages: [
        user("x"),
        assistant([{ type: "tool_use", id: "t1", name: LONG, input: {} }]),
        user([{ type: "tool_result", tool_use_id: "t1", content: "ok" }]),
      ],
    }),
    opts: claude,
    want: {
      tools: [{ functionDeclarations: [{ name: upstreamToolName(LONG) }] }],
      toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [upstreamToolName(LONG)] } },
      contents: [
        {},
        { parts: [{ functionCall: { name: upstreamToolName(LONG) } }] },
        { parts: [{ functionResponse: { name: upstreamToolName(LONG) } }] },
      ],
    },
  },
  {
    name: "messages that are all empty are a 400",
    body: base({ messages: [user(""), user([])] }),
    error: ["every message is empty", "messages"],
  },
  {
    name: "tool_choice naming a missing tool is a 400",
    body: base({ tools: [weatherTool], tool_choice: { type: "tool", name: "other" }, messages: [user("x")] }),
    error: ['no tool named "other"', "tool_choice.name"],
  },
  {
    name: "tool schemas are cleaned for Gemini",
    body: base({
      tools: [
        {
          name: "t",
          input_schema: {
            $schema: "http://json-schema.org/draft-07/schema#",
            type: "object",
            additionalProperties: false,
            properties: { a: { type: "string", const: "x" } },
          },
        },
      ],
      messages: [user("x")],
    }),
    absent: ["tools.0.functionDeclarations.0.parameters.$schema", "tools.0.functionDeclarations.0.parameters.additionalProperties"],
  },
  {
    name: "web_search alone → googleSearch",
    body: base({ tools: [{ type: "web_search_20250305", name: "web_search" }], messages: [user("x")] }),
    want: { tools: [{ googleSearch: {} }] },
  },
  {
    name: "web_search mixed with functions is a 400",
    body: base({ tools: [weatherTool, { type: "web_search_20250305", name: "web_search" }], messages: [user("x")] }),
    error: ["web_search cannot be combined", "tools"],
  },
  {
    name: "sampling fields; stop sequences are kept for the response translator, not sent upstream",
    body: base({ temperature: 0.3, top_p: 0.9, top_k: 20, stop_sequences: ["END"], messages: [user("x")] }),
    want: { generationConfig: { maxOutputTokens: 1000, temperature: 0.3, topP: 0.9, topK: 20 } },
    absent: ["generationConfig.stopSequences"],
  },
  {
    name: "max_tokens is capped at the model's output limit",
    body: base({ max_tokens: 200000, messages: [user("x")] }),
    opts: claude,
    want: { generationConfig: { maxOutputTokens: 64000 } },
  },
  {
    name: "thinking enabled: budget kept, maxOutputTokens raised above it",
    body: base({ max_tokens: 1000, thinking: { type: "enabled", budget_tokens: 4096 }, messages: [user("x")] }),
    opts: claude,
    want: { generationConfig: { maxOutputTokens: 4096 + 8192, thinkingConfig: { includeThoughts: true, thinkingBudget: 4096 } } },
  },
  {
    name: "thinking enabled with room: max_tokens kept",
    body: base({ max_tokens: 32000, thinking: { type: "enabled", budget_tokens: 10000 }, messages: [user("x")] }),
    opts: claude,
    want: { generationConfig: { maxOutputTokens: 32000, thinkingConfig: { includeThoughts: true, thinkingBudget: 10000 } } },
  },
  {
    name: "a budget at the model limit is lowered to leave room for the answer",
    body: base({ max_tokens: 64000, thinking: { type: "enabled", budget_tokens: 64000 }, messages: [user("x")] }),
    opts: claude,
    want: { generationConfig: { maxOutputTokens: 64000, thinkingConfig: { includeThoughts: true, thinkingBudget: 64000 - 1024 } } },
  },
  {
    name: "adaptive thinking takes its budget from effort",
    body: base({ max_tokens: 64000, thinking: { type: "adaptive" }, output_config: { effort: "low" }, messages: [user("x")] }),
    opts: claude,
    want: { generationConfig: { maxOutputTokens: 64000, thinkingConfig: { includeThoughts: true, thinkingBudget: 8192 } } },
  },
  {
    name: "adaptive thinking within a small max_tokens: the client's cap stays, the budget takes half of it",
    body: base({ max_tokens: 4000, thinking: { type: "adaptive" }, output_config: { effort: "high" }, messages: [user("x")] }),
    opts: claude,
    want: { generationConfig: { maxOutputTokens: 4000, thinkingConfig: { includeThoughts: true, thinkingBudget: 2000 } } },
  },
  {
    name: "adaptive thinking with max_tokens too small to think in: no thinking, the cap kept",
    body: base({ max_tokens: 40, thinking: { type: "adaptive" }, output_config: { effort: "high" }, messages: [user("x")] }),
    opts: claude,
    want: { generationConfig: { maxOutputTokens: 40 } },
    absent: ["generationConfig.thinkingConfig"],
  },
  {
    name: "adaptive thinking at effort xhigh: between high and max",
    body: base({ max_tokens: 64000, thinking: { type: "adaptive" }, output_config: { effort: "xhigh" }, messages: [user("x")] }),
    opts: claude,
    want: { generationConfig: { maxOutputTokens: 64000, thinkingConfig: { includeThoughts: true, thinkingBudget: 28672 } } },
  },
  {
    name: "output_format (the structured-outputs beta's field) asks upstream for JSON of the schema",
    body: base({
      output_format: { type: "json_schema", schema: { type: "object", properties: { a: { type: "string" } } } },
      messages: [user("x")],
    }),
    want: {
      generationConfig: {
        maxOutputTokens: 1000,
        responseMimeType: "application/json",
        responseSchema: { type: "object", properties: { a: { type: "string" } } },
      },
    },
  },
  {
    name: "thinking disabled: no thinkingConfig",
    body: base({ thinking: { type: "disabled" }, messages: [user("x")] }),
    absent: ["generationConfig.thinkingConfig"],
  },
];

function at(obj: unknown, path: string): unknown {
  return path.split(".").reduce<any>((o, k) => (o == null ? undefined : o[k]), obj);
}

describe("toGeminiRequest", () => {
  for (const c of cases)
    test(c.name, () => {
      const run = () => toGeminiRequest(c.body as any, c.opts ?? gemini);
      if (c.error) {
        let err: unknown;
        try {
          run();
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(ApiError);
        expect((err as ApiError).status).toBe(400);
        expect((err as ApiError).message).toContain(c.error[0]);
        expect((err as ApiError).param).toBe(c.error[1]);
        expect((err as ApiError).message).toContain(c.error[1]);
        return;
      }
      const { request } = run();
      if (c.want) expect(request).toMatchObject(c.want);
      for (const p of c.absent ?? []) expect(at(request, p)).toBeUndefined();
    });

  test("fingerprint texts for the session key", () => {
    const m = toGeminiRequest(
      base({ system: "sys", messages: [user([{ type: "text", text: "first" }]), assistant("a"), user("second")] }),
      gemini,
    );
    expect(m.systemText).toBe("sys");
    expect(m.firstUserText).toBe("first");
    expect(m.thinking).toBe(false);
  });
});

describe("urlSources", () => {
  test("finds URL sources in messages and tool results, with paths", () => {
    const body = base({
      messages: [
        user([{ type: "image", source: { type: "url", url: "https://a/1.png" } }]),
        assistant([toolUse]),
        user([
          { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "document", source: { type: "url", url: "https://a/2.pdf" } }] },
        ]),
      ],
    });
    expect(urlSources(body)).toEqual([
      { url: "https://a/1.png", param: "messages[0].content[0].source", kind: "image" },
      { url: "https://a/2.pdf", param: "messages[2].content[0].content[0].source", kind: "document" },
    ]);
  });
});

describe("withoutSignatures (the one signature repair)", () => {
  const request = {
    contents: [
      { role: "user", parts: [{ text: "q" }] },
      {
        role: "model",
        parts: [
          { text: "t", thought: true, thoughtSignature: SIG },
          { functionCall: { name: "f", args: {}, id: "1" }, thoughtSignature: SIG },
        ],
      },
      { role: "user", parts: [{ functionResponse: { name: "f", response: {}, id: "1" } }] },
    ],
  };
  test("claude: drops thought parts and signatures", () => {
    expect(withoutSignatures(request, "claude")!.contents[1]).toEqual({
      role: "model",
      parts: [{ functionCall: { name: "f", args: {}, id: "1" } }],
    });
  });
  test("gemini: the first call gets the skip value", () => {
    expect(withoutSignatures(request, "gemini")!.contents[1]!.parts).toEqual([
      { functionCall: { name: "f", args: {}, id: "1" }, thoughtSignature: SKIP_SIGNATURE },
    ]);
  });
  test("claude: thinking goes off when a tool-calling turn lost its signed thinking", () => {
    const noThoughts = {
      ...request,
      contents: [
        request.contents[0]!,
        { role: "model", parts: [{ functionCall: { name: "f", args: {}, id: "1" } }] },
        request.contents[2]!,
      ],
    };
    const withThinking = {
      ...noThoughts,
      generationConfig: { maxOutputTokens: 9000, thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 } },
    };
    expect(withoutSignatures(withThinking, "claude")!.generationConfig).toEqual({ maxOutputTokens: 9000 });
    expect(withoutSignatures({ ...request, generationConfig: withThinking.generationConfig }, "claude")!.generationConfig).toEqual({
      maxOutputTokens: 9000,
    });
    expect(withoutSignatures(noThoughts, "claude")).toBeUndefined();
  });

  test("nothing to drop → undefined (no pointless retry)", () => {
    expect(withoutSignatures({ contents: [{ role: "user", parts: [{ text: "q" }] }] }, "claude")).toBeUndefined();
    expect(withoutSignatures(withoutSignatures(request, "gemini")!, "gemini")).toBeUndefined();
  });
});
