import { describe, expect, test } from "bun:test";
import { chatUsage, finishReason, toChatCompletion, type ResponseOptions } from "../../src/openai/response";
import { ChatStreamMapper } from "../../src/openai/stream";
import { ToolCallMemory } from "../../src/openai/tool-memory";
import { ApiError } from "../../src/core/errors";
import type { GeminiPart, GeminiResponse } from "../../src/upstream/types";

const SIG = "s".repeat(60);
let n = 0;
const base = (o: Partial<ResponseOptions> = {}): ResponseOptions => ({
  id: "chatcmpl-1",
  model: "gpt-4o",
  created: 1700000000,
  toolNames: new Map(),
  toolSchemas: new Map(),
  memory: new ToolCallMemory(),
  newCallId: () => `call_${++n}`,
  ...o,
});
const resp = (parts: GeminiPart[], finish = "STOP", extra: Partial<GeminiResponse> = {}): GeminiResponse => ({
  candidates: [{ content: { role: "model", parts }, finishReason: finish, index: 0 }],
  usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, thoughtsTokenCount: 3, cachedContentTokenCount: 4, totalTokenCount: 18 },
  ...extra,
});

describe("finish_reason", () => {
  const rows: [string | undefined, boolean, string][] = [
    ["STOP", false, "stop"],
    ["MAX_TOKENS", false, "length"],
    ["SAFETY", false, "content_filter"],
    ["RECITATION", false, "content_filter"],
    ["PROHIBITED_CONTENT", false, "content_filter"],
    ["BLOCKLIST", false, "content_filter"],
    ["IMAGE_SAFETY", false, "content_filter"],
    ["OTHER", false, "stop"],
    [undefined, false, "stop"],
    ["STOP", true, "tool_calls"],
    ["MAX_TOKENS", true, "tool_calls"],
  ];
  for (const [reason, tools, want] of rows)
    test(`${reason} tools=${tools} → ${want}`, () => expect(finishReason(reason, tools)).toBe(want as any));
});

describe("usage", () => {
  test("completion includes reasoning; cached and reasoning details", () => {
    expect(
      chatUsage({ promptTokenCount: 10, candidatesTokenCount: 5, thoughtsTokenCount: 3, cachedContentTokenCount: 4, totalTokenCount: 18 }),
    ).toEqual({
      prompt_tokens: 10,
      completion_tokens: 8,
      total_tokens: 18,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 3 },
    });
  });
  test("missing usage → zeros; total is summed when absent", () => {
    expect(chatUsage(undefined).total_tokens).toBe(0);
    expect(chatUsage({ promptTokenCount: 2, candidatesTokenCount: 3 }).total_tokens).toBe(5);
  });
});

describe("chat.completion", () => {
  test("text, reasoning, usage", () => {
    const out = toChatCompletion(resp([{ text: "hmm", thought: true }, { text: "Hello" }, { text: " world" }]), base());
    expect(out).toEqual({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1700000000,
      model: "gpt-4o",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Hello world", reasoning_content: "hmm", refusal: null },
          logprobs: null,
          finish_reason: "stop",
        },
      ],
      usage: chatUsage(resp([]).usageMetadata),
    });
  });

  test("tool calls: ids, client names, restored argument types, signature remembered", () => {
    const memory = new ToolCallMemory();
    const o = base({
      memory,
      toolNames: new Map([["fs_read", "fs/read"]]),
      toolSchemas: new Map([["fs/read", { type: "object", properties: { n: { type: "integer", enum: [1, 2] } } }]]),
    });
    const out = toChatCompletion(
      resp([
        { functionCall: { name: "fs_read", args: { n: "2" } }, thoughtSignature: SIG },
        { functionCall: { name: "other", args: {}, id: "toolu_9" } },
      ]),
      o,
    );
    const msg = out.choices[0]!.message as any;
    expect(msg.content).toBeNull();
    expect(msg.tool_calls).toEqual([
      { id: `call_${n}`, type: "function", function: { name: "fs/read", arguments: '{"n":2}' } },
      { id: "toolu_9", type: "function", function: { name: "other", arguments: "{}" } },
    ]);
    expect(out.choices[0]!.finish_reason).toBe("tool_calls");
    expect(memory.recall(`call_${n}`)?.signature).toBe(SIG);
    expect(memory.recall("toolu_9")).toBeUndefined();
  });

  test("Claude: the signed thinking is remembered under the first call", () => {
    const memory = new ToolCallMemory();
    toChatCompletion(
      resp([
        { text: "think ", thought: true },
        { text: "more", thought: true, thoughtSignature: SIG },
        { functionCall: { name: "f", args: {}, id: "toolu_1" } },
      ]),
      base({ memory, claude: true }),
    );
    expect(memory.recall("toolu_1")?.thoughts).toEqual([{ text: "think more", thought: true, thoughtSignature: SIG }]);
  });

  test("an image answer becomes markdown with a data URI", () => {
    const out = toChatCompletion(resp([{ text: "Here it is." }, { inlineData: { mimeType: "image/png", data: "QUJD" } }]), base());
    expect(out.choices[0]!.message.content).toBe("Here it is.\n\n![image](data:image/png;base64,QUJD)");
  });

  test("code execution parts render as code blocks", () => {
    const out = toChatCompletion(
      resp([{ executableCode: { language: "PYTHON", code: "print(1)" } }, { codeExecutionResult: { outcome: "OK", output: "1" } }]),
      base(),
    );
    expect(out.choices[0]!.message.content).toBe("\n```python\nprint(1)\n```\n\n```\n1\n```\n");
  });

  test("MAX_TOKENS → length; several candidates → several choices", () => {
    const r: GeminiResponse = {
      candidates: [
        { content: { parts: [{ text: "a" }] }, finishReason: "MAX_TOKENS", index: 0 },
        { content: { parts: [{ text: "b" }] }, finishReason: "STOP", index: 1 },
      ],
    };
    const out = toChatCompletion(r, base());
    expect(out.choices.map((c) => [c.index, c.message.content, c.finish_reason])).toEqual([
      [0, "a", "length"],
      [1, "b", "stop"],
    ]);
  });

  test("a blocked prompt → content_filter with a refusal", () => {
    const out = toChatCompletion({ promptFeedback: { blockReason: "SAFETY" } }, base());
    expect(out.choices[0]!.finish_reason).toBe("content_filter");
    expect(out.choices[0]!.message.refusal).toContain("SAFETY");
  });

  test("no candidates at all → 502, not an empty success", () => {
    expect(() => toChatCompletion({}, base())).toThrow(ApiError);
  });
});

describe("stream chunks", () => {
  const deltas = (chunks: Record<string, any>[]) => chunks.flatMap((c) => c.choices.map((x: any) => x.delta));

  test("role first, then deltas as they arrive, finish, usage (include_usage)", () => {
    const m = new ChatStreamMapper({ ...base(), includeUsage: true });
    const out: any[] = [
      ...m.start(),
      ...m.push({ candidates: [{ content: { parts: [{ text: "why", thought: true }] } }] }),
      ...m.push({ candidates: [{ content: { parts: [{ text: "Hel" }] } }] }),
      ...m.push(resp([{ text: "lo" }])),
      ...m.finish(),
    ];
    expect(deltas(out)).toEqual([
      { role: "assistant", content: "" },
      { reasoning_content: "why" },
      { content: "Hel" },
      { content: "lo" },
      {},
    ]);
    expect(out.every((c) => c.object === "chat.completion.chunk" && c.id === "chatcmpl-1" && c.model === "gpt-4o")).toBe(true);
    expect(out.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(out.at(-2)!.choices[0].finish_reason).toBe("stop");
    expect(out.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 8, total_tokens: 18 } });
  });

  test("without include_usage: no usage field and no usage chunk", () => {
    const m = new ChatStreamMapper(base());
    const out: any[] = [...m.start(), ...m.push(resp([{ text: "x" }])), ...m.finish()];
    expect(out.some((c) => "usage" in c)).toBe(false);
    expect(out.at(-1)!.choices[0].finish_reason).toBe("stop");
  });

  test("tool calls: one delta per call with index, id, name and whole arguments", () => {
    const memory = new ToolCallMemory();
    const m = new ChatStreamMapper(base({ memory }));
    const out: any[] = [
      ...m.start(),
      ...m.push({
        candidates: [{ content: { parts: [{ functionCall: { name: "a", args: { x: 1 }, id: "c1" }, thoughtSignature: SIG }] } }],
      }),
      ...m.push(resp([{ functionCall: { name: "b", args: {}, id: "c2" } }])),
      ...m.finish(),
    ];
    expect(deltas(out).slice(1, 3)).toEqual([
      { tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "a", arguments: '{"x":1}' } }] },
      { tool_calls: [{ index: 1, id: "c2", type: "function", function: { name: "b", arguments: "{}" } }] },
    ]);
    expect(out.at(-1)!.choices[0].finish_reason).toBe("tool_calls");
    expect(memory.recall("c1")?.signature).toBe(SIG);
  });

  test("an image chunk becomes its own markdown paragraph", () => {
    const m = new ChatStreamMapper(base());
    const out: any[] = [
      ...m.start(),
      ...m.push({ candidates: [{ content: { parts: [{ text: "Here" }] } }] }),
      ...m.push(resp([{ inlineData: { mimeType: "image/png", data: "QUJD" } }])),
    ];
    expect(deltas(out).at(-1)).toEqual({ content: "\n\n![image](data:image/png;base64,QUJD)" });
  });

  test("a stream that ends without a finish reason is an error, not a silent cut", () => {
    const m = new ChatStreamMapper(base());
    m.start();
    m.push({ candidates: [{ content: { parts: [{ text: "half" }] } }] });
    expect(() => m.finish()).toThrow(ApiError);
  });

  test("a blocked prompt ends with a refusal and content_filter", () => {
    const m = new ChatStreamMapper(base());
    const out: any[] = [...m.start(), ...m.push({ promptFeedback: { blockReason: "SAFETY" } }), ...m.finish()];
    expect(out.at(-1)!.choices[0].finish_reason).toBe("content_filter");
    expect(deltas(out).some((d) => typeof d.refusal === "string")).toBe(true);
  });

  test("several candidates keep their own choice index and role chunk", () => {
    const m = new ChatStreamMapper(base());
    const out: any[] = [
      ...m.start(),
      ...m.push({
        candidates: [
          { content: { parts: [{ text: "a" }] }, index: 0, finishReason: "STOP" },
          { content: { parts: [{ text: "b" }] }, index: 1, finishReason: "STOP" },
        ],
      }),
      ...m.finish(),
    ];
    const second = out.filter((c) => c.choices[0]?.index === 1).map((c) => c.choices[0]);
    expect(second.map((c: any) => c.delta)).toEqual([{ role: "assistant", content: "" }, { content: "b" }, {}]);
    expect(second.at(-1).finish_reason).toBe("stop");
  });
});
