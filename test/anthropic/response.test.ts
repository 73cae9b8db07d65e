// Table-driven tests for the unary Gemini response → Anthropic message mapper.
import { describe, expect, test } from "bun:test";
import { accumulate, toAnthropicMessage } from "../../src/anthropic/response";
import { tagSignature } from "../../src/anthropic/signature";
import type { GeminiResponse } from "../../src/upstream/types";

const SIG = "x".repeat(64);

interface Case {
  name: string;
  response: GeminiResponse;
  family?: "claude" | "gemini";
  stopSequences?: string[];
  want: Record<string, unknown>;
}

const cases: Case[] = [
  {
    name: "plain text with usage (cache reads split out, thoughts counted as output)",
    response: {
      candidates: [{ content: { role: "model", parts: [{ text: "Hello" }] }, finishReason: "STOP" }],
      usageMetadata: { promptTokenCount: 20, candidatesTokenCount: 2, thoughtsTokenCount: 5, cachedContentTokenCount: 8 },
    },
    want: {
      id: "msg_x",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5",
      content: [{ type: "text", text: "Hello" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 7, cache_read_input_tokens: 8, cache_creation_input_tokens: 0 },
    },
  },
  {
    name: "thinking (signed), text and tool_use, in upstream order",
    response: {
      candidates: [
        {
          content: {
            role: "model",
            parts: [
              { text: "reasoning", thought: true, thoughtSignature: SIG },
              { text: "I will call it" },
              { functionCall: { name: "get_weather", args: { city: "Paris" }, id: "toolu_9" } },
            ],
          },
          finishReason: "STOP",
        },
      ],
    },
    want: {
      content: [
        { type: "thinking", thinking: "reasoning", signature: tagSignature("claude", "thought", SIG) },
        { type: "text", text: "I will call it" },
        { type: "tool_use", id: "toolu_9", name: "get_weather", input: { city: "Paris" } },
      ],
      stop_reason: "tool_use",
    },
  },
  {
    name: "MAX_TOKENS",
    response: { candidates: [{ content: { role: "model", parts: [{ text: "trunc" }] }, finishReason: "MAX_TOKENS" }] },
    want: { stop_reason: "max_tokens", content: [{ type: "text", text: "trunc" }] },
  },
  {
    name: "stop sequence matched in a unary answer",
    response: { candidates: [{ content: { role: "model", parts: [{ text: "Echo: hello STOP world" }] }, finishReason: "STOP" }] },
    stopSequences: ["STOP"],
    want: { stop_reason: "stop_sequence", stop_sequence: "STOP", content: [{ type: "text", text: "Echo: hello " }] },
  },
  {
    name: "no candidates (a blocked prompt) → empty content, stop_reason refusal (as content_filter in the OpenAI routes)",
    response: { promptFeedback: { blockReason: "SAFETY" } },
    want: { content: [], stop_reason: "refusal" },
  },
];

describe("toAnthropicMessage", () => {
  for (const c of cases)
    test(c.name, () => {
      const msg = toAnthropicMessage(c.response, {
        id: "msg_x",
        model: "claude-sonnet-4-5",
        family: c.family ?? "claude",
        stopSequences: c.stopSequences,
      });
      expect(msg).toMatchObject(c.want);
    });
});

describe("accumulate rejects sequences a client could not fold", () => {
  const start = {
    type: "message_start",
    message: { id: "m", type: "message", role: "assistant", model: "x", content: [], stop_reason: null, stop_sequence: null, usage: {} },
  };
  const table: [string, Record<string, unknown>[]][] = [
    ["no message_start", [{ type: "message_stop" }]],
    ["block index skipped", [start, { type: "content_block_start", index: 1, content_block: { type: "text", text: "" } }]],
    [
      "delta type does not fit the block",
      [
        start,
        { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
        { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "x" } },
      ],
    ],
  ];
  for (const [name, events] of table) test(name, () => expect(() => accumulate(events as any)).toThrow());
});

test("accumulate leaves the events as they were sent (a stream's events are folded, never changed)", () => {
  const events = [
    {
      type: "message_start",
      message: {
        id: "m",
        type: "message",
        role: "assistant",
        model: "x",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 3, output_tokens: 0 },
      },
    },
    { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
    { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hi" } },
    { type: "content_block_stop", index: 0 },
    { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 2 } },
  ];
  const before = JSON.stringify(events);
  const msg = accumulate(events as any);
  expect(msg.content).toEqual([{ type: "text", text: "Hi" }]);
  expect(msg.usage).toEqual({ input_tokens: 3, output_tokens: 2 });
  expect(JSON.stringify(events)).toBe(before);
});
