import { describe, expect, test } from "bun:test";
import { remoteImageSources, toGeminiRequest, type ChatMapOptions } from "../../src/openai/request";
import { parseImageModel } from "../../src/openai/images";
import type { ChatRequest } from "../../src/openai/schemas";
import { ToolCallMemory } from "../../src/openai/tool-memory";
import { SKIP_SIGNATURE, upstreamToolName } from "../../src/protocol/function-calls";
import { ApiError } from "../../src/core/errors";

const PNG = "iVBORw0KGgo=";
const opts = (o: Partial<ChatMapOptions> = {}): ChatMapOptions => ({
  upstreamModel: "gemini-2.5-flash",
  memory: new ToolCallMemory(),
  ...o,
});
const map = (body: Partial<ChatRequest>, o?: Partial<ChatMapOptions>) =>
  toGeminiRequest({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "hi" }], ...body } as ChatRequest, opts(o));
const user = (text: string) => ({ role: "user", parts: [{ text }] });

type Row = [string, Partial<ChatRequest>, Record<string, unknown>, Partial<ChatMapOptions>?];
const ROWS: Row[] = [
  ["plain user text", {}, { contents: [user("hi")] }],
  [
    "system and developer → systemInstruction, joined in order",
    {
      messages: [
        { role: "system", content: "Be brief." },
        { role: "developer", content: [{ type: "text", text: "Use English." }] },
        { role: "user", content: "hi" },
      ],
    },
    { contents: [user("hi")], systemInstruction: { role: "user", parts: [{ text: "Be brief.\n\nUse English." }] } },
  ],
  [
    "only a system message → it becomes the user turn",
    { messages: [{ role: "system", content: "Say hi" }] },
    { contents: [user("Say hi")] },
  ],
  [
    "consecutive same-role turns are merged; assistant → model",
    {
      messages: [
        { role: "user", content: "a" },
        { role: "user", content: "b" },
        { role: "assistant", content: "c" },
        { role: "assistant", content: "d" },
        { role: "user", content: "e" },
      ],
    },
    {
      contents: [
        { role: "user", parts: [{ text: "a" }, { text: "b" }] },
        { role: "model", parts: [{ text: "c" }, { text: "d" }] },
        user("e"),
      ],
    },
  ],
  [
    "empty assistant message is dropped",
    {
      messages: [
        { role: "user", content: "a" },
        { role: "assistant", content: null },
        { role: "user", content: "b" },
      ],
    },
    { contents: [{ role: "user", parts: [{ text: "a" }, { text: "b" }] }] },
  ],
  [
    "image_url data URI → inlineData, order kept",
    {
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
          ],
        },
      ],
    },
    { contents: [{ role: "user", parts: [{ text: "what is this?" }, { inlineData: { mimeType: "image/png", data: PNG } }] }] },
  ],
  [
    "image_url as a bare string (some clients)",
    { messages: [{ role: "user", content: [{ type: "image_url", image_url: `data:image/jpeg;base64,${PNG}` }] }] },
    { contents: [{ role: "user", parts: [{ inlineData: { mimeType: "image/jpeg", data: PNG } }] }] },
  ],
  [
    "input_audio and file parts → inlineData",
    {
      messages: [
        {
          role: "user",
          content: [
            { type: "input_audio", input_audio: { data: "AAAA", format: "mp3" } },
            { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } },
          ],
        },
      ],
    },
    {
      contents: [
        {
          role: "user",
          parts: [
            { inlineData: { mimeType: "audio/mp3", data: "AAAA" } },
            { inlineData: { mimeType: "application/pdf", data: "JVBERi0=" } },
          ],
        },
      ],
    },
  ],
  [
    "markdown data-URI images in earlier answers go back as images, not text",
    {
      messages: [
        { role: "user", content: "draw" },
        { role: "assistant", content: `Here:\n\n![image](data:image/png;base64,${PNG})` },
        { role: "user", content: "bigger" },
      ],
    },
    {
      contents: [
        user("draw"),
        { role: "model", parts: [{ text: "Here:\n\n" }, { inlineData: { mimeType: "image/png", data: PNG } }] },
        user("bigger"),
      ],
    },
  ],
  [
    "sampling fields",
    { temperature: 0.2, top_p: 0.9, max_tokens: 100, stop: "END", seed: 7, presence_penalty: 0.5, frequency_penalty: -0.5, n: 2 },
    {
      contents: [user("hi")],
      generationConfig: {
        temperature: 0.2,
        topP: 0.9,
        stopSequences: ["END"],
        seed: 7,
        presencePenalty: 0.5,
        frequencyPenalty: -0.5,
        candidateCount: 2,
        maxOutputTokens: 100,
      },
    },
  ],
  [
    "max_completion_tokens wins over max_tokens; stop array",
    { max_tokens: 5, max_completion_tokens: 50, stop: ["a", "b"] },
    { contents: [user("hi")], generationConfig: { stopSequences: ["a", "b"], maxOutputTokens: 50 } },
  ],
  ["n=1 sends no candidateCount", { n: 1 }, { contents: [user("hi")] }],
  [
    "json_object → responseMimeType",
    { response_format: { type: "json_object" } },
    { contents: [user("hi")], generationConfig: { responseMimeType: "application/json" } },
  ],
  [
    "json_schema → responseMimeType + cleaned responseSchema",
    {
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "x",
          strict: true,
          schema: { type: "object", properties: { n: { type: "integer" } }, required: ["n"], additionalProperties: false },
        },
      },
    },
    {
      contents: [user("hi")],
      generationConfig: {
        responseMimeType: "application/json",
        responseSchema: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] },
      },
    },
  ],
  ["response_format text → nothing", { response_format: { type: "text" } }, { contents: [user("hi")] }],
  [
    "reasoning_effort low",
    { reasoning_effort: "low" },
    { contents: [user("hi")], generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 } } },
  ],
  [
    "reasoning_effort high",
    { reasoning_effort: "high" },
    { contents: [user("hi")], generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 24576 } } },
  ],
  [
    "reasoning_effort none turns thinking off",
    { reasoning_effort: "none" },
    { contents: [user("hi")], generationConfig: { thinkingConfig: { includeThoughts: false, thinkingBudget: 0 } } },
  ],
  [
    "max_tokens under the thinking budget gets room for the answer",
    { reasoning_effort: "medium", max_tokens: 100 },
    {
      contents: [user("hi")],
      generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 8192 }, maxOutputTokens: 8292 },
    },
  ],
  [
    "a thinking model shows its thoughts by default",
    {},
    { contents: [user("hi")], generationConfig: { thinkingConfig: { includeThoughts: true } } },
    { thinkingModel: true },
  ],
  [
    "Claude thinking model: explicit budget, at least 1024",
    { model: "claude-sonnet-4-5-thinking", reasoning_effort: "minimal" },
    { contents: [user("hi")], generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 } } },
    { claude: true, thinkingModel: true, upstreamModel: "claude-sonnet-4-5-thinking" },
  ],
  [
    "tools → functionDeclarations with cleaned schemas; no-argument tool has no parameters",
    {
      tools: [
        {
          type: "function",
          function: {
            name: "read_file",
            description: "Read a file",
            parameters: {
              $schema: "http://json-schema.org/draft-07/schema#",
              type: "object",
              properties: { path: { type: "string" } },
              required: ["path"],
              additionalProperties: false,
            },
          },
        },
        { type: "function", function: { name: "now", parameters: { type: "object", properties: {} } } },
      ],
    },
    {
      contents: [user("hi")],
      tools: [
        {
          functionDeclarations: [
            {
              name: "read_file",
              description: "Read a file",
              parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] },
            },
            { name: "now" },
          ],
        },
      ],
    },
  ],
  [
    "legacy functions and function_call",
    { functions: [{ name: "f", parameters: { type: "object", properties: { a: { type: "string" } } } }], function_call: { name: "f" } },
    {
      contents: [user("hi")],
      tools: [{ functionDeclarations: [{ name: "f", parameters: { type: "object", properties: { a: { type: "string" } } } }] }],
      toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["f"] } },
    },
  ],
  [
    "names Gemini rejects are rewritten",
    {
      tools: [{ type: "function", function: { name: "1st/tool name" } }],
      tool_choice: { type: "function", function: { name: "1st/tool name" } },
    },
    {
      contents: [user("hi")],
      tools: [{ functionDeclarations: [{ name: upstreamToolName("1st/tool name") }] }],
      toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [upstreamToolName("1st/tool name")] } },
    },
  ],
  ["web_search tool → googleSearch", { tools: [{ type: "web_search" }] }, { contents: [user("hi")], tools: [{ googleSearch: {} }] }],
  [
    "search is dropped when functions are declared (upstream refuses the mix)",
    { tools: [{ type: "web_search" }, { type: "function", function: { name: "f" } }] },
    { contents: [user("hi")], tools: [{ functionDeclarations: [{ name: "f" }] }] },
  ],
  ["tool_choice auto or none without tools is ignored", { tool_choice: "auto" }, { contents: [user("hi")] }],
  [
    "image model: no tools, system folded into the prompt, imageConfig from suffix and size",
    {
      model: "gemini-3-pro-image-16x9",
      size: "1024x1024",
      quality: "hd",
      messages: [
        { role: "system", content: "Watercolour style." },
        { role: "user", content: "a fox" },
      ],
      tools: [{ type: "function", function: { name: "f" } }],
    },
    {
      contents: [{ role: "user", parts: [{ text: "Watercolour style." }, { text: "a fox" }] }],
      generationConfig: { imageConfig: { aspectRatio: "1:1", imageSize: "4K" } },
    },
    { image: parseImageModel("gemini-3-pro-image-16x9"), upstreamModel: "gemini-3-pro-image" },
  ],
];

describe("chat request mapper", () => {
  for (const [name, body, want, o] of ROWS) test(name, () => expect(map(body, o).request).toEqual(want as any));
});

const CHOICES: [ChatRequest["tool_choice"], unknown][] = [
  ["none", { functionCallingConfig: { mode: "NONE" } }],
  ["auto", { functionCallingConfig: { mode: "AUTO" } }],
  ["required", { functionCallingConfig: { mode: "ANY" } }],
  [{ type: "function", function: { name: "g" } }, { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["g"] } }],
  [undefined, undefined],
];

describe("tool_choice → toolConfig", () => {
  for (const [choice, want] of CHOICES)
    test(JSON.stringify(choice) ?? "absent", () => {
      const tools = [
        { type: "function", function: { name: "f" } },
        { type: "function", function: { name: "g" } },
      ];
      expect(map({ tools, tool_choice: choice }).request.toolConfig).toEqual(want as any);
    });
});

describe("tool call round trip", () => {
  const history = (memory: ToolCallMemory, o: Partial<ChatMapOptions> = {}) =>
    map(
      {
        messages: [
          { role: "user", content: "weather in Paris and Rome?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
              { id: "call_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
            ],
          },
          { role: "tool", tool_call_id: "call_1", content: "sunny" },
          { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "rain" }] },
        ],
      },
      { memory, ...o },
    ).request.contents;

  test("calls and results carry ids and names; results merge into one user turn", () => {
    const memory = new ToolCallMemory();
    memory.remember("call_1", { signature: "sig-".padEnd(60, "x") });
    expect(history(memory)).toEqual([
      user("weather in Paris and Rome?"),
      {
        role: "model",
        parts: [
          { functionCall: { name: "get_weather", args: { city: "Paris" }, id: "call_1" }, thoughtSignature: "sig-".padEnd(60, "x") },
          { functionCall: { name: "get_weather", args: { city: "Rome" }, id: "call_2" } },
        ],
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "get_weather", response: { output: "sunny" }, id: "call_1" } },
          { functionResponse: { name: "get_weather", response: { output: "rain" }, id: "call_2" } },
        ],
      },
    ]);
  });

  test("a forgotten signature becomes the skip sentinel on the first call (Gemini)", () => {
    const parts = history(new ToolCallMemory())[1]!.parts;
    expect(parts[0]!.thoughtSignature).toBe(SKIP_SIGNATURE);
    expect(parts[1]!.thoughtSignature).toBeUndefined();
  });

  test("Claude: remembered signed thinking is replayed before the calls, no sentinel", () => {
    const memory = new ToolCallMemory();
    const thought = { text: "let me check", thought: true, thoughtSignature: "c".repeat(60) };
    memory.remember("call_1", { thoughts: [thought] });
    const parts = history(memory, { claude: true, upstreamModel: "claude-sonnet-4-5-thinking" })[1]!.parts;
    expect(parts[0]).toEqual(thought);
    expect(parts[1]!.thoughtSignature).toBeUndefined();
  });

  test("a tool result whose call is unknown and unnamed becomes text", () => {
    const c = map({
      messages: [
        { role: "user", content: "x" },
        { role: "tool", tool_call_id: "call_zz", content: "42" },
      ],
    }).request.contents;
    expect(c).toEqual([{ role: "user", parts: [{ text: "x" }, { text: "Result of tool call call_zz:\n42" }] }]);
  });

  test("renamed tools keep their Gemini name in history", () => {
    const c = map({
      tools: [{ type: "function", function: { name: "fs/read" } }],
      messages: [
        { role: "user", content: "x" },
        { role: "assistant", tool_calls: [{ id: "c1", type: "function", function: { name: "fs/read", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "c1", content: "ok" },
      ],
    });
    const alias = upstreamToolName("fs/read");
    expect(alias).toMatch(/^fs_read_[0-9a-f]{8}$/);
    expect(c.request.contents[1]!.parts[0]!.functionCall!.name).toBe(alias);
    expect(c.request.contents[2]!.parts[0]!.functionResponse!.name).toBe(alias);
    expect(c.toolNames.get(alias)).toBe("fs/read");
  });
});

describe("session fingerprint inputs", () => {
  test("system text and the first user text", () => {
    const m = map({
      messages: [
        { role: "system", content: "S" },
        { role: "user", content: "first" },
        { role: "assistant", content: "a" },
        { role: "user", content: "second" },
      ],
    });
    expect(m.system).toBe("S");
    expect(m.firstUserText).toBe("first");
  });
});

describe("bad input → 400 naming the field", () => {
  const rows: [string, Partial<ChatRequest>, string][] = [
    [
      "invalid data URI",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,@@@" } }] }] },
      "messages[0].content[0].image_url",
    ],
    [
      "local path",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "/etc/passwd" } }] }] },
      "messages[0].content[0].image_url",
    ],
    [
      "file URL",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }] }] },
      "messages[0].content[0].image_url",
    ],
    [
      "remote URL not fetched",
      { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }] }] },
      "messages[0].content[0].image_url",
    ],
    ["unknown part type", { messages: [{ role: "user", content: [{ type: "video", text: "x" }] }] }, "messages[0].content[0].type"],
    [
      "input_audio that is not base64",
      { messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "@@@not-base64", format: "wav" } }] }] },
      "messages[0].content[0].input_audio.data",
    ],
    [
      "input_audio in a format OpenAI does not take",
      { messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "AAAA", format: "exe" } }] }] },
      "messages[0].content[0].input_audio.format",
    ],
    [
      "input_audio without data",
      { messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "", format: "wav" } }] }] },
      "messages[0].content[0].input_audio",
    ],
    [
      "tool call arguments not JSON",
      {
        messages: [
          { role: "user", content: "x" },
          { role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{oops" } }] },
        ],
      },
      "messages[1].tool_calls[0].function.arguments",
    ],
    ["unsupported tool type", { tools: [{ type: "code_interpreter" }] }, "tools[0].type"],
    [
      "tool_choice names an undeclared tool",
      { tools: [{ type: "function", function: { name: "f" } }], tool_choice: { type: "function", function: { name: "g" } } },
      "tool_choice.function.name",
    ],
    ["nothing to send", { messages: [{ role: "user", content: "" }] }, "messages"],
    ["a named tool_choice with no function tools", { tool_choice: { type: "function", function: { name: "zzz" } } }, "tool_choice"],
    ["tool_choice required with only a search tool", { tools: [{ type: "web_search" }], tool_choice: "required" }, "tool_choice"],
  ];
  for (const [name, body, param] of rows)
    test(name, () => {
      let err: unknown;
      try {
        map(body);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).param).toBe(param);
    });
});

describe("remote sources the route fetches (when openai.fetchRemoteImages is on)", () => {
  test("http(s) image_url and file.file_data URLs, never data: URIs or paths", () => {
    const body = {
      model: "gemini-2.5-flash",
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: "https://example.test/a.png" } },
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
            { type: "file", file: { file_data: "http://example.test/b.pdf" } },
            { type: "file", file: { file_data: "/etc/passwd" } },
          ],
        },
      ],
    } as unknown as ChatRequest;
    expect(remoteImageSources(body).map((s) => [s.url, s.param])).toEqual([
      ["https://example.test/a.png", "messages[0].content[0].image_url"],
      ["http://example.test/b.pdf", "messages[0].content[2].file.file_data"],
    ]);
  });
});
