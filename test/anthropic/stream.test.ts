// Table-driven tests for the upstream-chunks → Anthropic event translator, checked two ways: the
// sequence rules the SDK relies on, and the real SDK's SSE parser + MessageStream accumulating it.
import { describe, expect, test } from "bun:test";
import { MessageStream } from "@anthropic-ai/sdk/lib/MessageStream";
import { Stream } from "@anthropic-ai/sdk/core/streaming";
import { MessageTranslator, mapUsage, type AnthropicEvent } from "../../src/anthropic/stream";
import { accumulate } from "../../src/anthropic/response";
import { signToolId, tagSignature, type Family } from "../../src/anthropic/signature";
import { sseFrame } from "../../src/protocol/stream";
import type { GeminiPart, GeminiResponse } from "../../src/upstream/types";

const SIG = "S".repeat(64);
const chunk = (parts: GeminiPart[], finishReason?: string, usage?: GeminiResponse["usageMetadata"]): GeminiResponse => ({
  candidates: [{ content: { role: "model", parts }, ...(finishReason ? { finishReason } : {}) }],
  ...(usage ? { usageMetadata: usage } : {}),
});

/** the rules a client's accumulator relies on */
export function checkSequence(events: AnthropicEvent[]) {
  expect(events[0]?.type).toBe("message_start");
  expect(events.at(-1)?.type).toBe("message_stop");
  expect(events.at(-2)?.type).toBe("message_delta");
  let open: { index: number; type: string } | undefined;
  let next = 0;
  for (const ev of events.slice(1, -2)) {
    if (ev.type === "content_block_start") {
      expect(open).toBeUndefined();
      expect(ev.index).toBe(next++);
      open = { index: ev.index as number, type: (ev.content_block as { type: string }).type };
    } else if (ev.type === "content_block_delta") {
      expect(open?.index).toBe(ev.index as number);
      const d = (ev.delta as { type: string }).type;
      const allowed: Record<string, string[]> = {
        text: ["text_delta"],
        thinking: ["thinking_delta", "signature_delta"],
        tool_use: ["input_json_delta"],
      };
      expect(allowed[open!.type]).toContain(d);
    } else if (ev.type === "content_block_stop") {
      expect(open?.index).toBe(ev.index as number);
      open = undefined;
    } else throw new Error(`unexpected ${ev.type} inside the message`);
  }
  expect(open).toBeUndefined();
}

/** what the SDK collects from these events sent as SSE */
async function sdkFinal(events: AnthropicEvent[]) {
  const ping = sseFrame({ type: "ping" }, "ping");
  const sse = ping + events.map((e) => sseFrame(e, e.type)).join(ping);
  const raw = Stream.fromSSEResponse(new Response(sse), new AbortController());
  return MessageStream.fromReadableStream(raw.toReadableStream()).finalMessage();
}

function run(chunks: GeminiResponse[], family: Family = "claude", thinking = false) {
  let n = 0;
  const tr = new MessageTranslator({
    id: "msg_1",
    model: "claude-sonnet-4-5",
    family,
    thinking,
    newToolId: () => `toolu_gen${++n}`,
    stopSequences: ["END"],
  });
  return [...chunks.flatMap((c) => tr.push(c)), ...tr.end()];
}

interface Case {
  name: string;
  family?: Family;
  /** the request asked for thinking */
  thinking?: boolean;
  chunks: GeminiResponse[];
  content: unknown[];
  stop: string;
}

const usage = { promptTokenCount: 10, candidatesTokenCount: 5, thoughtsTokenCount: 3, cachedContentTokenCount: 4 };

const cases: Case[] = [
  {
    name: "text split over chunks is one text block",
    chunks: [chunk([{ text: "Hel" }]), chunk([{ text: "lo" }], "STOP", usage)],
    content: [{ type: "text", text: "Hello" }],
    stop: "end_turn",
  },
  {
    name: "Claude thinking streamed, signature at its end, then text",
    chunks: [
      chunk([{ text: "let me ", thought: true }]),
      chunk([{ text: "think", thought: true, thoughtSignature: SIG }]),
      chunk([{ text: "answer" }], "STOP"),
    ],
    content: [
      { type: "thinking", thinking: "let me think", signature: tagSignature("claude", "thought", SIG) },
      { type: "text", text: "answer" },
    ],
    stop: "end_turn",
  },
  {
    name: "a signature on an empty thought part closes the open thinking block",
    chunks: [chunk([{ text: "hmm", thought: true }]), chunk([{ text: "", thought: true, thoughtSignature: SIG }, { text: "ok" }], "STOP")],
    content: [
      { type: "thinking", thinking: "hmm", signature: tagSignature("claude", "thought", SIG) },
      { type: "text", text: "ok" },
    ],
    stop: "end_turn",
  },
  {
    name: "thinking after a signed block opens a new block (interleaved thinking)",
    chunks: [
      chunk(
        [{ text: "a", thought: true, thoughtSignature: SIG }, { text: "b", thought: true, thoughtSignature: SIG + "2" }, { text: "c" }],
        "STOP",
      ),
    ],
    content: [
      { type: "thinking", thinking: "a", signature: tagSignature("claude", "thought", SIG) },
      { type: "thinking", thinking: "b", signature: tagSignature("claude", "thought", SIG + "2") },
      { type: "text", text: "c" },
    ],
    stop: "end_turn",
  },
  {
    name: "function calls become tool_use blocks; ids kept or generated; stop_reason tool_use",
    chunks: [
      chunk([{ text: "calling" }, { functionCall: { name: "f", args: { a: 1 }, id: "call_1" } }]),
      chunk([{ functionCall: { name: "g" } }], "STOP"),
    ],
    content: [
      { type: "text", text: "calling" },
      { type: "tool_use", id: "call_1", name: "f", input: { a: 1 } },
      { type: "tool_use", id: "toolu_gen1", name: "g", input: {} },
    ],
    stop: "tool_use",
  },
  {
    name: "Gemini, thinking requested: a signature on a call travels in a thinking block right before it",
    family: "gemini",
    thinking: true,
    chunks: [chunk([{ functionCall: { name: "f", args: {}, id: "c1" }, thoughtSignature: SIG }], "STOP")],
    content: [
      { type: "thinking", thinking: "", signature: tagSignature("gemini", "part", SIG) },
      { type: "tool_use", id: "c1", name: "f", input: {} },
    ],
    stop: "tool_use",
  },
  {
    name: "Gemini: thoughts then a signed call share one thinking block",
    family: "gemini",
    chunks: [
      chunk([{ text: "plan", thought: true }]),
      chunk([{ functionCall: { name: "f", args: {}, id: "c1" }, thoughtSignature: SIG }], "STOP"),
    ],
    content: [
      { type: "thinking", thinking: "plan", signature: tagSignature("gemini", "part", SIG) },
      { type: "tool_use", id: "c1", name: "f", input: {} },
    ],
    stop: "tool_use",
  },
  {
    name: "Gemini, thinking requested: a trailing empty signed text part becomes a signed empty thinking block",
    family: "gemini",
    thinking: true,
    chunks: [chunk([{ text: "hi" }]), chunk([{ text: "", thoughtSignature: SIG }], "STOP")],
    content: [
      { type: "text", text: "hi" },
      { type: "thinking", thinking: "", signature: tagSignature("gemini", "part", SIG) },
    ],
    stop: "end_turn",
  },
  {
    name: "Gemini, no thinking requested: a call's signature rides in its tool id, no thinking block",
    family: "gemini",
    chunks: [chunk([{ functionCall: { name: "f", args: {}, id: "c1" }, thoughtSignature: SIG }], "STOP")],
    content: [{ type: "tool_use", id: signToolId("c1", tagSignature("gemini", "part", SIG)), name: "f", input: {} }],
    stop: "tool_use",
  },
  {
    name: "Gemini, no thinking requested: a signature on text is dropped (upstream checks calls only)",
    family: "gemini",
    chunks: [chunk([{ text: "hi" }]), chunk([{ text: "", thoughtSignature: SIG }], "STOP")],
    content: [{ type: "text", text: "hi" }],
    stop: "end_turn",
  },
  {
    name: "no thinking requested: a signed thought part without text makes no block",
    family: "claude",
    chunks: [chunk([{ text: "", thought: true, thoughtSignature: SIG }]), chunk([{ text: "ok" }], "STOP")],
    content: [{ type: "text", text: "ok" }],
    stop: "end_turn",
  },
  {
    name: "no thinking requested: thought text that arrives anyway is still shown, signed",
    family: "gemini",
    chunks: [chunk([{ text: "plan", thought: true, thoughtSignature: SIG }]), chunk([{ text: "ok" }], "STOP")],
    content: [
      { type: "thinking", thinking: "plan", signature: tagSignature("gemini", "thought", SIG) },
      { type: "text", text: "ok" },
    ],
    stop: "end_turn",
  },
  {
    name: "MAX_TOKENS → max_tokens",
    chunks: [chunk([{ text: "cut" }], "MAX_TOKENS")],
    content: [{ type: "text", text: "cut" }],
    stop: "max_tokens",
  },
  {
    name: "SAFETY → refusal",
    chunks: [chunk([], "SAFETY")],
    content: [],
    stop: "refusal",
  },
  {
    name: "a stop sequence inside one chunk cuts the text there",
    chunks: [chunk([{ text: "one two END three" }], "STOP")],
    content: [{ type: "text", text: "one two " }],
    stop: "stop_sequence",
  },
  {
    name: "a stop sequence split across chunks is still caught; nothing after it leaks",
    chunks: [chunk([{ text: "abc E" }]), chunk([{ text: "N" }]), chunk([{ text: "D more" }]), chunk([{ text: "ignored" }], "STOP")],
    content: [{ type: "text", text: "abc " }],
    stop: "stop_sequence",
  },
  {
    name: "a held-back near match is released when it turns out not to match",
    chunks: [chunk([{ text: "the EN" }]), chunk([{ text: "GINE" }]), chunk([{ text: " ends EN" }], "STOP")],
    content: [{ type: "text", text: "the ENGINE ends EN" }],
    stop: "end_turn",
  },
  {
    name: "held-back text is flushed before a following call",
    chunks: [chunk([{ text: "go E" }, { functionCall: { name: "f", args: {}, id: "c" } }], "STOP")],
    content: [
      { type: "text", text: "go E" },
      { type: "tool_use", id: "c", name: "f", input: {} },
    ],
    stop: "tool_use",
  },
  {
    name: "inline images become a markdown text block",
    chunks: [chunk([{ inlineData: { mimeType: "image/png", data: "QUJD" } }], "STOP")],
    content: [{ type: "text", text: "![image](data:image/png;base64,QUJD)" }],
    stop: "end_turn",
  },
  {
    name: "an empty answer still makes a whole message",
    chunks: [],
    content: [],
    stop: "end_turn",
  },
];

describe("MessageTranslator", () => {
  for (const c of cases)
    test(c.name, async () => {
      const events = run(c.chunks, c.family, c.thinking);
      checkSequence(events);
      const mine = accumulate(events);
      expect(mine.content).toEqual(c.content as any);
      expect(mine.stop_reason).toBe(c.stop);
      const sdk = await sdkFinal(events);
      expect(sdk.content).toEqual(c.content as any);
      expect(sdk.stop_reason).toBe(c.stop as any);
    });

  test("usage: message_start carries it; the final message_delta has the totals", async () => {
    const events = run([chunk([{ text: "a" }], undefined, { promptTokenCount: 10 }), chunk([{ text: "b" }], "STOP", usage)]);
    expect((events[0]!.message as any).usage).toEqual({
      input_tokens: 10,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
    const delta = events.find((e) => e.type === "message_delta")!;
    expect(delta.usage).toEqual({ input_tokens: 6, output_tokens: 8, cache_creation_input_tokens: 0, cache_read_input_tokens: 4 });
    const sdk = await sdkFinal(events);
    expect(sdk.usage).toMatchObject({ input_tokens: 6, output_tokens: 8, cache_read_input_tokens: 4, cache_creation_input_tokens: 0 });
  });

  test("deltas are emitted as chunks arrive, not held to the end", () => {
    const tr = new MessageTranslator({ id: "m", model: "x", family: "claude" });
    const first = tr.push(chunk([{ text: "Hel" }]));
    expect(first.map((e) => e.type)).toEqual(["message_start", "content_block_start", "content_block_delta"]);
    expect(tr.push(chunk([{ text: "lo" }])).map((e) => e.type)).toEqual(["content_block_delta"]);
  });

  test("stop_sequence names the sequence that matched", () => {
    const tr = new MessageTranslator({ id: "m", model: "x", family: "claude", stopSequences: ["zz", "END"] });
    const events = [...tr.push(chunk([{ text: "a END b zz" }])), ...tr.end(true)];
    expect(tr.done).toBe(true);
    expect(events.find((e) => e.type === "message_delta")!.delta).toEqual({ stop_reason: "stop_sequence", stop_sequence: "END" });
  });

  test("a stream that ends without a finish reason is an error when the caller requires one", () => {
    const tr = new MessageTranslator({ id: "m", model: "x", family: "claude" });
    tr.push(chunk([{ text: "half" }]));
    expect(() => tr.end(true)).toThrow("ended before the answer was finished");
  });

  test("a stream whose prompt upstream blocked ends as a refusal, not as a cut stream", () => {
    const tr = new MessageTranslator({ id: "m", model: "x", family: "gemini", started: true });
    tr.push({ promptFeedback: { blockReason: "PROHIBITED_CONTENT" } } as GeminiResponse);
    const last = tr.end(true);
    expect(last.find((e) => e.type === "message_delta")).toMatchObject({ delta: { stop_reason: "refusal" } });
  });

  test("tool arguments get the client's declared types back", () => {
    const tr = new MessageTranslator({
      id: "m",
      model: "x",
      family: "gemini",
      tools: new Map([["f", { name: "f", schema: { type: "object", properties: { n: { type: "integer" }, level: { enum: [1, 2] } } } }]]),
    });
    const msg = accumulate([
      ...tr.push(chunk([{ functionCall: { name: "f", args: { n: "3", level: "2" }, id: "c" } }], "STOP")),
      ...tr.end(),
    ]);
    expect(msg.content[0]).toEqual({ type: "tool_use", id: "c", name: "f", input: { n: 3, level: 2 } });
  });

  test("aliased (too long) tool names are mapped back to the client's name", () => {
    const tr = new MessageTranslator({
      id: "m",
      model: "x",
      family: "claude",
      tools: new Map([["short_1234", { name: "mcp__" + "x".repeat(80), schema: {} }]]),
    });
    const msg = accumulate([...tr.push(chunk([{ functionCall: { name: "short_1234", args: {}, id: "c" } }], "STOP")), ...tr.end()]);
    expect(msg.content[0]).toMatchObject({ type: "tool_use", name: "mcp__" + "x".repeat(80) });
  });

  test("mapUsage", () => {
    expect(mapUsage(undefined)).toEqual({ input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });
});
