// The pure pieces of /v1/responses: the request mapping (Responses → chat → Gemini, errors named by
// the Responses field), the answer mapping (Gemini → output items and the Response object), the SSE
// event sequence (checked with the openai SDK's own stream reader) and the bounded store.
import { describe, expect, test } from "bun:test";
import { ResponseStream } from "openai/lib/responses/ResponseStream";
import { Stream } from "openai/streaming";
import { ApiError } from "../../src/core/errors";
import { until } from "../helpers/util";
import { EFFORT_BUDGET, type ChatMapOptions } from "../../src/openai/request";
import { clientView, decodeThought, encodeThought, responseBase } from "../../src/openai/responses";
import { prepareResponses, toGeminiFromResponses } from "../../src/openai/responses-input";
import { toResponse, type OutputOptions } from "../../src/openai/responses-output";
import type { InputItem, ResponsesRequest } from "../../src/openai/responses-schemas";
import { ResponseStore } from "../../src/openai/responses-store";
import { ResponsesStreamMapper, type ResponsesEvent } from "../../src/openai/responses-stream";
import { eventFrames } from "../../src/protocol/stream";
import { ToolCallMemory } from "../../src/openai/tool-memory";
import { SKIP_SIGNATURE } from "../../src/protocol/function-calls";
import type { GeminiPart, GeminiResponse } from "../../src/upstream/types";

const PNG = "iVBORw0KGgo=";
const SIG = "s".repeat(60);
const opts = (o: Partial<ChatMapOptions> = {}): ChatMapOptions => ({
  upstreamModel: "gemini-2.5-flash",
  memory: new ToolCallMemory(),
  ...o,
});
const body = (b: Partial<ResponsesRequest>): ResponsesRequest => ({ model: "gemini-2.5-flash", input: "hi", ...b }) as ResponsesRequest;
const map = (b: Partial<ResponsesRequest>, o: Partial<ChatMapOptions> & { history?: InputItem[] } = {}) =>
  toGeminiFromResponses(body(b), { ...opts(o), history: o.history });
const user = (text: string) => ({ role: "user", parts: [{ text }] });
const weather = { type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } };

describe("request: Responses → Gemini", () => {
  type Row = [string, Partial<ResponsesRequest>, Record<string, unknown>, (Partial<ChatMapOptions> & { history?: InputItem[] })?];
  const ROWS: Row[] = [
    ["a string input is one user message", {}, { contents: [user("hi")] }],
    [
      "instructions and developer/system messages → systemInstruction, in order",
      {
        instructions: "Be brief.",
        input: [
          { role: "developer", content: "Use English." },
          { type: "message", role: "system", content: [{ type: "input_text", text: "No emoji." }] },
          { role: "user", content: "hi" },
        ],
      },
      { contents: [user("hi")], systemInstruction: { role: "user", parts: [{ text: "Be brief.\n\nUse English.\n\nNo emoji." }] } },
    ],
    [
      "user parts and an assistant's output_text",
      {
        input: [
          {
            role: "user",
            content: [
              { type: "input_text", text: "look" },
              { type: "input_image", image_url: `data:image/png;base64,${PNG}` },
            ],
          },
          { type: "message", role: "assistant", content: [{ type: "output_text", text: "a pixel" }] },
          { role: "user", content: "thanks" },
        ],
      },
      {
        contents: [
          { role: "user", parts: [{ text: "look" }, { inlineData: { mimeType: "image/png", data: PNG } }] },
          { role: "model", parts: [{ text: "a pixel" }] },
          user("thanks"),
        ],
      },
    ],
    [
      "input_file as a data: URI",
      { input: [{ role: "user", content: [{ type: "input_file", filename: "a.pdf", file_data: `data:application/pdf;base64,${PNG}` }] }] },
      { contents: [{ role: "user", parts: [{ inlineData: { mimeType: "application/pdf", data: PNG } }] }] },
    ],
    [
      "function_call and function_call_output by call_id (a lost signature gets the sentinel)",
      {
        tools: [weather],
        input: [
          { role: "user", content: "weather?" },
          { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' },
          { type: "function_call_output", call_id: "call_1", output: "snow" },
        ],
      },
      {
        contents: [
          user("weather?"),
          {
            role: "model",
            parts: [{ functionCall: { name: "get_weather", args: { city: "Oslo" }, id: "call_1" }, thoughtSignature: SKIP_SIGNATURE }],
          },
          { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { output: "snow" }, id: "call_1" } }] },
        ],
      },
    ],
    [
      "an assistant message and the calls after it are one model turn; a remembered signature is replayed",
      {
        tools: [weather],
        input: [
          { role: "user", content: "weather?" },
          { role: "assistant", content: "checking" },
          { type: "function_call", call_id: "call_2", name: "get_weather", arguments: "{}" },
          { type: "function_call_output", call_id: "call_2", output: [{ type: "input_text", text: "rain" }] },
        ],
      },
      {
        contents: [
          user("weather?"),
          {
            role: "model",
            parts: [{ text: "checking" }, { functionCall: { name: "get_weather", args: {}, id: "call_2" }, thoughtSignature: SIG }],
          },
          { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { output: "rain" }, id: "call_2" } }] },
        ],
      },
      {
        memory: (() => {
          const m = new ToolCallMemory();
          m.remember("call_2", { signature: SIG });
          return m;
        })(),
      },
    ],
    [
      "a namespace's functions are declared as namespace.name, and called by it",
      {
        tools: [{ type: "namespace", name: "crm", description: "CRM", tools: [{ type: "function", name: "find", parameters: {} }] }],
        input: [
          { role: "user", content: "find" },
          { type: "function_call", call_id: "c", namespace: "crm", name: "find", arguments: "{}" },
          { type: "function_call_output", call_id: "c", output: "none" },
        ],
      },
      {
        tools: [{ functionDeclarations: [{ name: "crm.find" }] }],
        contents: [
          user("find"),
          { role: "model", parts: [{ functionCall: { name: "crm.find", args: {}, id: "c" }, thoughtSignature: SKIP_SIGNATURE }] },
          { role: "user", parts: [{ functionResponse: { name: "crm.find", response: { output: "none" }, id: "c" } }] },
        ],
      },
    ],
    [
      "function tools: JSON Schema cleaned; tool_choice required → ANY",
      {
        tools: [{ ...weather, strict: true, parameters: { ...weather.parameters, additionalProperties: false, $schema: "x" } }],
        tool_choice: "required",
      },
      {
        tools: [
          { functionDeclarations: [{ name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }] },
        ],
        toolConfig: { functionCallingConfig: { mode: "ANY" } },
      },
    ],
    [
      "tool_choice naming a function",
      { tools: [weather], tool_choice: { type: "function", name: "get_weather" } },
      { toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } } },
    ],
    ["tool_choice none", { tools: [weather], tool_choice: "none" }, { toolConfig: { functionCallingConfig: { mode: "NONE" } } }],
    [
      "text.format json_schema → JSON mode with the cleaned schema",
      {
        text: {
          format: {
            type: "json_schema",
            name: "person",
            strict: true,
            schema: { type: "object", properties: { name: { type: "string" } }, required: ["name"], additionalProperties: false },
          },
        },
      },
      {
        generationConfig: {
          responseMimeType: "application/json",
          responseSchema: { type: "object", properties: { name: { type: "string" } }, required: ["name"] },
        },
      },
    ],
    [
      "text.format json_object",
      { text: { format: { type: "json_object" } } },
      { generationConfig: { responseMimeType: "application/json" } },
    ],
    [
      "max_output_tokens, temperature, top_p",
      { max_output_tokens: 100, temperature: 0.2, top_p: 0.9 },
      { generationConfig: { maxOutputTokens: 100, temperature: 0.2, topP: 0.9 } },
    ],
    [
      "reasoning.effort → chat's thinking budget (room for the answer added)",
      { reasoning: { effort: "high" }, max_output_tokens: 100 },
      {
        generationConfig: {
          maxOutputTokens: EFFORT_BUDGET.high! + 100,
          thinkingConfig: { includeThoughts: true, thinkingBudget: EFFORT_BUDGET.high },
        },
      },
    ],
    [
      "reasoning.effort none turns thinking off",
      { reasoning: { effort: "none" } },
      { generationConfig: { thinkingConfig: { includeThoughts: false, thinkingBudget: 0 } } },
    ],
    [
      "Claude: a reasoning item of ours goes back as signed thinking before the call it led to",
      {
        tools: [weather],
        input: [
          { role: "user", content: "weather?" },
          {
            type: "reasoning",
            id: "rs_1",
            summary: [{ type: "summary_text", text: "thinking" }],
            encrypted_content: encodeThought("thinking", SIG),
          },
          { type: "function_call", call_id: "toolu_1", name: "get_weather", arguments: "{}" },
          { type: "function_call_output", call_id: "toolu_1", output: "ok" },
        ],
      },
      {
        contents: [
          user("weather?"),
          {
            role: "model",
            parts: [
              { text: "thinking", thought: true, thoughtSignature: SIG },
              { functionCall: { name: "get_weather", args: {}, id: "toolu_1" } },
            ],
          },
          { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { output: "ok" }, id: "toolu_1" } }] },
        ],
      },
      { upstreamModel: "claude-sonnet-4-6", claude: true },
    ],
    [
      "another provider's reasoning item (not ours) is dropped",
      {
        input: [
          { role: "user", content: "a" },
          { type: "reasoning", summary: [], encrypted_content: "gAAAAB-openai-blob" },
          { role: "assistant", content: "b" },
          { role: "user", content: "c" },
        ],
      },
      { contents: [user("a"), { role: "model", parts: [{ text: "b" }] }, user("c")] },
      { upstreamModel: "claude-sonnet-4-6", claude: true },
    ],
    [
      "previous_response_id's history comes first",
      { previous_response_id: "resp_1", input: "and now?" },
      {
        contents: [user("first"), { role: "model", parts: [{ text: "Echo: first" }] }, user("and now?")],
      },
      {
        history: [
          { type: "message", role: "user", content: "first" },
          {
            id: "msg_1",
            type: "message",
            role: "assistant",
            status: "completed",
            content: [{ type: "output_text", text: "Echo: first", annotations: [] } as never],
          },
        ],
      },
    ],
  ];
  for (const [name, b, want, o] of ROWS)
    test(name, () => {
      expect(map(b, o).request).toMatchObject(want);
    });

  test("the whole input (history, then this input) is what the store keeps", () => {
    const history: InputItem[] = [{ type: "message", role: "user", content: "first" }];
    const p = prepareResponses(body({ input: "second" }), history);
    expect(p.input).toEqual([...history, { type: "message", role: "user", content: "second" }]);
  });

  test("remote URLs to fetch are named by their Responses field", () => {
    const p = prepareResponses(
      body({
        input: [
          {
            role: "user",
            content: [
              { type: "input_text", text: "x" },
              { type: "input_image", image_url: "https://example.com/a.png" },
            ],
          },
          { role: "user", content: [{ type: "input_file", file_url: "https://example.com/b.pdf" }] },
        ],
      }),
    );
    expect(p.remote.map((s) => s.param)).toEqual(["input[0].content[1].image_url", "input[1].content[0].file_url"]);
  });

  type Bad = [string, Partial<ResponsesRequest>, string, RegExp?, (Partial<ChatMapOptions> & { history?: InputItem[] })?];
  const BAD: Bad[] = [
    ["a built-in tool", { tools: [{ type: "web_search" }] }, "tools[0].type", /web_search/],
    ["a built-in tool after a function", { tools: [weather, { type: "code_interpreter" }] }, "tools[1].type", /code_interpreter/],
    [
      "a custom tool inside a namespace",
      { tools: [{ type: "namespace", name: "ns", tools: [{ type: "custom", name: "x" }] }] },
      "tools[0].tools[0].type",
      /custom/,
    ],
    ["a function tool without a name", { tools: [{ type: "function" }] }, "tools[0].name"],
    ["an unknown item type", { input: [{ type: "item_reference", id: "x" }] }, "input[0].type", /item_reference/],
    ["an item without type or role", { input: [{ content: "x" }] }, "input[0].type"],
    ["a bad role", { input: [{ role: "robot", content: "x" }] }, "input[0].role", /robot/],
    ["a bad content part type", { input: [{ role: "user", content: [{ type: "input_video" }] }] }, "input[0].content[0].type"],
    ["an input_text without text", { input: [{ role: "user", content: [{ type: "input_text" }] }] }, "input[0].content[0].text"],
    ["a file id", { input: [{ role: "user", content: [{ type: "input_image", file_id: "file_1" }] }] }, "input[0].content[0].file_id"],
    [
      "a bad data URI (chat's check, renamed)",
      {
        input: [
          { role: "user", content: "x" },
          { role: "user", content: [{ type: "input_image", image_url: "data:image/png;base64,%%%" }] },
        ],
      },
      "input[1].content[0].image_url",
      /^input\[1\]\.content\[0\]\.image_url is not a valid data: URI/,
    ],
    [
      "a remote image while fetching is off (chat's check, renamed)",
      { input: [{ role: "user", content: [{ type: "input_image", image_url: "https://example.com/a.png" }] }] },
      "input[0].content[0].image_url",
    ],
    [
      "function_call arguments that are not JSON (chat's check, renamed)",
      {
        input: [
          { role: "user", content: "x" },
          { type: "function_call", call_id: "c", name: "f", arguments: "{oops" },
        ],
      },
      "input[1].arguments",
      /^input\[1\]\.arguments is not valid JSON$/,
    ],
    ["a function_call without call_id", { input: [{ type: "function_call", name: "f", arguments: "{}" }] }, "input[0].call_id"],
    ["a function_call_output without output", { input: [{ type: "function_call_output", call_id: "c" }] }, "input[0].output"],
    [
      "tool_choice naming an undeclared function",
      { tools: [weather], tool_choice: { type: "function", name: "nope" } },
      "tool_choice.name",
      /nope/,
    ],
    ["a hosted tool_choice", { tool_choice: { type: "file_search" } }, "tool_choice.type"],
    ["json_schema without a schema", { text: { format: { type: "json_schema", name: "x" } } }, "text.format.schema"],
    ["background", { background: true }, "background"],
    ["conversation", { conversation: "conv_1" } as Partial<ResponsesRequest>, "conversation"],
    ["no input", { input: [] }, "input"],
    ["only instructions", { instructions: "x", input: [] }, "input"],
    ["only a developer message", { input: [{ role: "developer", content: "x" }] }, "input"],
    ["an empty string (chat's check, renamed)", { input: "" }, "input", /^input holds no content to send$/],
  ];
  for (const [name, b, param, message, o] of BAD)
    test(`400: ${name} → ${param}`, () => {
      let err: unknown;
      try {
        map(b, o);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).param).toBe(param);
      if (message) expect((err as ApiError).message).toMatch(message);
    });
});

// ---------------------------------------------------------------------------------------------------

let n = 0;
const out = (o: Partial<OutputOptions> = {}): OutputOptions => ({
  id: "resp_1",
  model: "my-model",
  created: 1700000000,
  toolNames: new Map(),
  toolSchemas: new Map(),
  memory: new ToolCallMemory(),
  newCallId: () => `call_${++n}`,
  namespaces: new Map(),
  ...o,
});
const USAGE = { promptTokenCount: 10, candidatesTokenCount: 5, thoughtsTokenCount: 3, cachedContentTokenCount: 4, totalTokenCount: 18 };
const resp = (parts: GeminiPart[], finish: string | null = "STOP", extra: Partial<GeminiResponse> = {}): GeminiResponse => ({
  candidates: [{ content: { role: "model", parts }, ...(finish ? { finishReason: finish } : {}), index: 0 }],
  usageMetadata: USAGE,
  ...extra,
});
const base = (b: Partial<ResponsesRequest> = {}) => responseBase(body({ model: "my-model", ...b }), "resp_1", 1700000000);
/** item shapes without their random ids */
const shapes = (items: { id?: string }[]) => items.map(({ id, ...rest }) => rest);

describe("answer: Gemini → Response object", () => {
  type Row = [string, GeminiResponse, Partial<OutputOptions>, { status: string; reason?: string; output: unknown[] }];
  const ROWS: Row[] = [
    [
      "text",
      resp([{ text: "Hello " }, { text: "world" }]),
      {},
      {
        status: "completed",
        output: [
          {
            type: "message",
            role: "assistant",
            status: "completed",
            content: [{ type: "output_text", text: "Hello world", annotations: [], logprobs: [] }],
          },
        ],
      },
    ],
    [
      "thoughts, then text: a reasoning item with a summary, then the message",
      resp([{ text: "hmm", thought: true }, { text: "", thought: true, thoughtSignature: SIG }, { text: "answer" }]),
      {},
      {
        status: "completed",
        output: [
          { type: "reasoning", summary: [{ type: "summary_text", text: "hmm" }], encrypted_content: null },
          {
            type: "message",
            role: "assistant",
            status: "completed",
            content: [{ type: "output_text", text: "answer", annotations: [], logprobs: [] }],
          },
        ],
      },
    ],
    [
      "a function call: call id, client name, arguments with the schema's types restored",
      resp([{ functionCall: { name: "get_weather", args: { days: "3" } } }]),
      { toolSchemas: new Map([["get_weather", { type: "object", properties: { days: { type: "integer" } } }]]) },
      {
        status: "completed",
        output: [
          {
            type: "function_call",
            status: "completed",
            call_id: expect.stringMatching(/^call_/),
            name: "get_weather",
            arguments: '{"days":3}',
          },
        ],
      },
    ],
    [
      "a namespaced call carries its namespace",
      resp([{ functionCall: { name: "crm.find", args: {}, id: "c1" } }]),
      { toolNames: new Map([["crm.find", "crm.find"]]), namespaces: new Map([["crm.find", { namespace: "crm", name: "find" }]]) },
      {
        status: "completed",
        output: [{ type: "function_call", status: "completed", call_id: "c1", name: "find", namespace: "crm", arguments: "{}" }],
      },
    ],
    [
      "text, a call, more text: three items in order",
      resp([{ text: "a" }, { functionCall: { name: "f", args: {}, id: "c" } }, { text: "b" }]),
      {},
      {
        status: "completed",
        output: [
          { type: "message", content: [{ type: "output_text", text: "a" }] },
          { type: "function_call", call_id: "c" },
          { type: "message", content: [{ type: "output_text", text: "b" }] },
        ],
      },
    ],
    [
      "MAX_TOKENS: incomplete (max_output_tokens), the message too",
      resp([{ text: "cut" }], "MAX_TOKENS"),
      {},
      { status: "incomplete", reason: "max_output_tokens", output: [{ type: "message", status: "incomplete" }] },
    ],
    [
      "SAFETY: incomplete (content_filter)",
      resp([{ text: "x" }], "SAFETY"),
      {},
      { status: "incomplete", reason: "content_filter", output: [{ type: "message" }] },
    ],
    [
      "a blocked prompt: a refusal, incomplete (content_filter)",
      { promptFeedback: { blockReason: "SAFETY" }, usageMetadata: USAGE },
      {},
      {
        status: "incomplete",
        reason: "content_filter",
        output: [{ type: "message", status: "incomplete", content: [{ type: "refusal", refusal: expect.stringContaining("SAFETY") }] }],
      },
    ],
    [
      "an image: markdown with a data: URI, in its own paragraph",
      resp([{ text: "Here:" }, { inlineData: { mimeType: "image/png", data: PNG } }]),
      {},
      {
        status: "completed",
        output: [{ type: "message", content: [{ type: "output_text", text: `Here:\n\n![image](data:image/png;base64,${PNG})` }] }],
      },
    ],
  ];
  for (const [name, r, o, want] of ROWS)
    test(name, () => {
      const got = toResponse(r, base(), out(o));
      expect(got.status).toBe(want.status as never);
      expect(got.incomplete_details).toEqual(want.reason ? { reason: want.reason as never } : null);
      expect(shapes(got.output)).toMatchObject(want.output as object[]);
      for (const item of got.output) expect(item.id).toMatch(/^(rs|msg|fc)_[0-9a-f]{32}$/);
    });

  test("the Response object: id, model asked for, echoed request fields, usage", () => {
    const got = toResponse(
      resp([{ text: "ok" }]),
      base({
        instructions: "be nice",
        metadata: { a: "b" },
        temperature: 0.5,
        max_output_tokens: 9,
        previous_response_id: "resp_0",
        store: false,
      }),
      out(),
    );
    expect(got).toMatchObject({
      id: "resp_1",
      object: "response",
      created_at: 1700000000,
      status: "completed",
      model: "my-model",
      error: null,
      instructions: "be nice",
      metadata: { a: "b" },
      temperature: 0.5,
      top_p: 1,
      max_output_tokens: 9,
      previous_response_id: "resp_0",
      store: false,
      parallel_tool_calls: true,
      tool_choice: "auto",
      tools: [],
      text: { format: { type: "text" } },
      usage: {
        input_tokens: 10,
        input_tokens_details: { cached_tokens: 4 },
        output_tokens: 8,
        output_tokens_details: { reasoning_tokens: 3 },
        total_tokens: 18,
      },
    });
    expect(typeof got.completed_at).toBe("number");
  });

  test("no candidates and no block reason is upstream's fault (502)", () => {
    expect(() => toResponse({ usageMetadata: USAGE }, base(), out())).toThrow(ApiError);
  });

  test("Claude: signed thinking → encrypted_content (ours, decodable), remembered for the call; hidden unless included", () => {
    const memory = new ToolCallMemory();
    const got = toResponse(
      resp([{ text: "plan", thought: true, thoughtSignature: SIG }, { functionCall: { name: "f", args: {}, id: "toolu_1" } }]),
      base(),
      out({ claude: true, memory }),
    );
    const reasoning = got.output[0]!;
    expect(reasoning.type).toBe("reasoning");
    const enc = (reasoning as { encrypted_content: string }).encrypted_content;
    expect(decodeThought(enc)).toEqual({ text: "plan", signature: SIG });
    expect(memory.recall("toolu_1")?.thoughts).toEqual([{ text: "plan", thought: true, thoughtSignature: SIG }]);
    expect((clientView(got, false).output[0] as { encrypted_content: unknown }).encrypted_content).toBeNull();
    expect((clientView(got, true).output[0] as { encrypted_content: unknown }).encrypted_content).toBe(enc);
    expect(decodeThought("gAAAA")).toBeUndefined();
    expect(decodeThought("swy1.not-base64-json")).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------

/** the events as SSE frames, parsed by the openai SDK's SSE reader, then accumulated by its stream helper */
async function throughSdk(events: ResponsesEvent[]) {
  const parsed: unknown[] = [];
  for await (const e of Stream.fromSSEResponse(new Response(eventFrames(events)), new AbortController())) parsed.push(e);
  const lines = new TextEncoder().encode(parsed.map((e) => JSON.stringify(e)).join("\n"));
  const stream = ResponseStream.fromReadableStream(new Blob([lines]).stream());
  const seen: string[] = [];
  stream.on("event", (e) => seen.push(e.type));
  return { final: await stream.finalResponse(), seen };
}

const chunk = (parts: GeminiPart[], finish?: string) => resp(parts, finish ?? null, { usageMetadata: finish ? USAGE : undefined });

describe("stream: Gemini chunks → Responses events", () => {
  test("thoughts, text in pieces, a call: the official sequence, numbered, readable by the SDK", async () => {
    const m = new ResponsesStreamMapper(base(), out());
    const events = [
      ...m.start(),
      ...m.push(chunk([{ text: "Let me ", thought: true }])),
      ...m.push(chunk([{ text: "think.", thought: true, thoughtSignature: SIG }])),
      ...m.push(chunk([{ text: "Hello" }])),
      ...m.push(chunk([{ text: ", world" }])),
      ...m.push(chunk([{ functionCall: { name: "f", args: { a: 1 }, id: "c1" } }], "STOP")),
      ...m.finish(),
    ];
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.reasoning_summary_part.added",
      "response.reasoning_summary_text.delta",
      "response.reasoning_summary_text.delta",
      "response.reasoning_summary_text.done",
      "response.reasoning_summary_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const done = events.at(-1)!.response as { output: unknown[]; usage: unknown; status: string };
    expect(done.status).toBe("completed");
    expect(done.usage).toMatchObject({ input_tokens: 10, output_tokens: 8 });

    const { final, seen } = await throughSdk(events);
    expect(seen).toEqual(events.map((e) => e.type));
    expect(final.output_text).toBe("Hello, world");
    expect(final.status).toBe("completed");
    expect(shapes(final.output as never)).toMatchObject(shapes(done.output as never));
    expect(m.response!.output).toEqual(done.output as never);
  });

  test("MAX_TOKENS ends with response.incomplete", async () => {
    const m = new ResponsesStreamMapper(base(), out());
    const events = [...m.start(), ...m.push(chunk([{ text: "cut" }], "MAX_TOKENS")), ...m.finish()];
    expect(events.at(-1)!.type).toBe("response.incomplete");
    const { final } = await throughSdk(events);
    expect(final.status).toBe("incomplete");
    expect(final.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(final.output_text).toBe("cut");
  });

  test("a blocked prompt streams a refusal", async () => {
    const m = new ResponsesStreamMapper(base(), out());
    const events = [...m.start(), ...m.push({ promptFeedback: { blockReason: "SAFETY" } }), ...m.finish()];
    expect(events.map((e) => e.type)).toContain("response.refusal.delta");
    const { final } = await throughSdk(events);
    expect(final.status).toBe("incomplete");
    expect((final.output[0] as { content: { refusal: string }[] }).content[0]!.refusal).toContain("SAFETY");
  });

  test("a stream that ends unfinished throws; fail() is the last event, response.failed with the error", async () => {
    const m = new ResponsesStreamMapper(base(), out());
    const events = [...m.start(), ...m.push(chunk([{ text: "half" }]))];
    expect(() => m.finish()).toThrow(/before the answer was finished/);
    const failed = m.fail(new ApiError(502, "upstream stream ended before the answer was finished"));
    expect(failed).toHaveLength(1);
    expect(failed[0]!.sequence_number).toBe(events.length);
    expect(failed[0]).toMatchObject({
      type: "response.failed",
      response: { status: "failed", error: { code: "server_error", message: expect.stringContaining("ended") } },
    });
    const { final } = await throughSdk([...events, ...failed]);
    expect(final.status).toBe("failed");
    expect(final.error?.code).toBe("server_error");
    expect(m.fail(new ApiError(429, "slow down"))[0]).toMatchObject({ response: { error: { code: "rate_limit_exceeded" } } });
  });

  test("Claude: encrypted_content only when included; the stored response keeps it", () => {
    for (const include of [false, true]) {
      const m = new ResponsesStreamMapper(base(), out({ claude: true }), include);
      const events = [
        ...m.start(),
        ...m.push(chunk([{ text: "plan", thought: true, thoughtSignature: SIG }])),
        ...m.push(chunk([{ functionCall: { name: "f", args: {}, id: "toolu_9" } }], "STOP")),
        ...m.finish(),
      ];
      const itemDone = events.find((e) => e.type === "response.output_item.done")!.item as { encrypted_content: string | null };
      expect(itemDone.encrypted_content === null).toBe(!include);
      expect(decodeThought((m.response!.output[0] as { encrypted_content: string }).encrypted_content)).toEqual({
        text: "plan",
        signature: SIG,
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------------

describe("store", () => {
  const stored = (id: string, text = "x") => ({
    response: { ...toResponse(resp([{ text }]), base(), out()), id },
    input: [{ type: "message", role: "user", content: text }] as InputItem[],
  });
  const me = { owner: "key:me" };

  test("history is the stored input, then its output", () => {
    const s = new ResponseStore();
    const r = stored("resp_a", "hello");
    expect(s.put(r, me)).toBe(true);
    expect(s.history("resp_a", me.owner)).toEqual([...r.input, ...(r.response.output as never[])]);
  });

  test("a stored item keeps the fields the mapper reads, nothing a client padded it with", () => {
    const s = new ResponseStore();
    const padded = {
      type: "message",
      role: "user",
      pad: Array.from({ length: 1000 }, () => ({})),
      content: [{ type: "input_text", text: "hi", pad: [[], []] }],
    } as unknown as InputItem;
    const r = { ...stored("resp_p"), input: [padded] };
    expect(s.put(r, me)).toBe(true);
    expect(s.history("resp_p", me.owner)[0]).toEqual({
      type: "message",
      role: "user",
      content: [{ type: "input_text", text: "hi" }],
    } as never);
  });

  test("what expired goes while nobody asks", async () => {
    const s = new ResponseStore({ ttlMs: 20 });
    s.put(stored("resp_q"), me);
    expect(s.size).toBe(1);
    await until(() => s.size === 0, "the sweep");
    expect(s.weight).toBe(0);
  });

  test("an unknown id is a 404 naming the field", () => {
    const s = new ResponseStore();
    let err: ApiError | undefined;
    try {
      s.history("resp_nope", me.owner);
    } catch (e) {
      err = e as ApiError;
    }
    expect(err?.status).toBe(404);
    expect(err?.param).toBe("previous_response_id");
    expect(err?.message).toContain("resp_nope");
    expect(err?.reason).toBe("previous_response_not_found");
  });

  test("another owner can neither read, continue nor delete it", () => {
    const s = new ResponseStore();
    s.put(stored("a"), me);
    expect(s.get("a", "key:other")).toBeUndefined();
    expect(() => s.history("a", "anonymous")).toThrow("not found");
    expect(s.delete("a", "config")).toBe(false);
    expect(s.get("a", me.owner)).toBeDefined();
  });

  test("bounded by count, least recently used first", () => {
    const s = new ResponseStore({ maxEntries: 2 });
    s.put(stored("a"), me);
    s.put(stored("b"), me);
    s.get("a", me.owner); // a is now the most recent
    s.put(stored("c"), me);
    expect([s.get("a", me.owner), s.get("b", me.owner), s.get("c", me.owner)].map((x) => x?.response.id)).toEqual(["a", undefined, "c"]);
    expect(s.size).toBe(2);
  });

  test("expires after its time", () => {
    let now = 0;
    const s = new ResponseStore({ ttlMs: 1000, now: () => now });
    s.put(stored("a"), me);
    now = 999;
    expect(s.get("a", me.owner)).toBeDefined();
    now = 1000;
    expect(s.get("a", me.owner)).toBeUndefined();
    expect(s.size).toBe(0);
  });

  test("bounded by characters; one entry larger than a quarter of the cap is not kept (put says so)", () => {
    const s = new ResponseStore({ maxChars: 4000 });
    expect(s.put(stored("big", "y".repeat(2000)), me)).toBe(false);
    expect(s.get("big", me.owner)).toBeUndefined();
    for (const id of ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]) s.put(stored(id, "z".repeat(300)), me);
    expect(s.size).toBeLessThan(10);
    expect(s.get("j", me.owner)).toBeDefined();
  });

  test("a weight the caller knows counts instead of the input written out; a history's weight carries on", () => {
    const s = new ResponseStore({ maxChars: 4000 });
    expect(s.put(stored("told-big", "z"), { ...me, inputChars: 1500 })).toBe(false); // over a quarter of the cap
    s.put(stored("a", "z"), { ...me, inputChars: 200 });
    const a = s.weightOf("a");
    expect(a).toBeGreaterThanOrEqual(200);
    expect(s.weightOf("unknown")).toBe(0);
    s.put(stored("b", "z"), { ...me, inputChars: 100 + a, prev: "a" }); // b's input is a's history plus its own body
    expect(s.weightOf("b")).toBeGreaterThan(a + 100);
  });

  test("a conversation counts once, as its last turn: a long chain does not push out other callers' entries", () => {
    const s = new ResponseStore({ maxChars: 100_000 });
    s.put(stored("other"), { owner: "key:other" });
    let prev: string | undefined;
    for (let turn = 0; turn < 10; turn++) {
      const id = `t${turn}`;
      // each turn adds 2,000 characters to the history it continues
      expect(s.put(stored(id), { ...me, inputChars: 2000 + (prev ? s.weightOf(prev) : 0), prev })).toBe(true);
      prev = id;
    }
    // counted per turn, the chain would weigh 2,000 × (1 + … + 10) = 110,000: over the cap
    expect(s.weight).toBe(s.weightOf("t9") + s.weightOf("other"));
    expect(s.weight).toBeLessThan(30_000);
    expect(s.get("other", "key:other")).toBeDefined();
    // the last turn gone, the one before it holds the conversation again
    s.delete("t9", me.owner);
    expect(s.weight).toBe(s.weightOf("t8") + s.weightOf("other"));
  });

  test("delete", () => {
    const s = new ResponseStore();
    s.put(stored("a"), me);
    expect(s.delete("a", me.owner)).toBe(true);
    expect(s.delete("a", me.owner)).toBe(false);
    expect(s.get("a", me.owner)).toBeUndefined();
  });
});
