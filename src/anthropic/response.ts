// Gemini response → Anthropic `message` (pure). Built by folding the stream translator's events, so
// a non-stream answer is exactly what a streaming client would collect.
import type { GeminiResponse } from "../upstream/types";
import { MessageTranslator, type AnthropicEvent, type TranslatorOptions } from "./stream";

export interface AnthropicMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: Record<string, unknown>[];
  stop_reason: string | null;
  stop_sequence: string | null;
  usage: Record<string, number>;
}

export function toAnthropicMessage(response: GeminiResponse, opts: TranslatorOptions): AnthropicMessage {
  const t = new MessageTranslator(opts);
  return accumulate([...t.push(response), ...t.end()]);
}

/** Folds an event sequence into the message, the way the SDK's MessageStream does. */
export function accumulate(events: AnthropicEvent[]): AnthropicMessage {
  let msg: AnthropicMessage | undefined;
  const json: string[] = [];
  for (const ev of events) {
    if (ev.type === "message_start") {
      // a copy, so the event stays as it was sent: its fields are text and numbers besides the blocks and
      // usage (structuredClone cost ~5 % of a unary /v1/messages request's samples)
      const m = ev.message as AnthropicMessage;
      msg = { ...m, content: m.content.map((b) => ({ ...b })), usage: { ...m.usage } };
      continue;
    }
    if (!msg) throw new Error(`event ${ev.type} before message_start`);
    const i = ev.index as number;
    switch (ev.type) {
      case "content_block_start":
        if (i !== msg.content.length) throw new Error(`block index ${i} out of order`);
        msg.content.push({ ...(ev.content_block as Record<string, unknown>) });
        json[i] = "";
        break;
      case "content_block_delta": {
        const b = msg.content[i];
        const d = ev.delta as Record<string, string>;
        if (!b) throw new Error(`delta for unopened block ${i}`);
        if (d.type === "text_delta" && b.type === "text") b.text += d.text!;
        else if (d.type === "thinking_delta" && b.type === "thinking") b.thinking += d.thinking!;
        else if (d.type === "signature_delta" && b.type === "thinking") b.signature = d.signature;
        else if (d.type === "input_json_delta" && b.type === "tool_use") json[i] += d.partial_json;
        else throw new Error(`${d.type} on a ${b.type} block`);
        break;
      }
      case "content_block_stop": {
        const b = msg.content[i];
        if (b?.type === "tool_use" && json[i]) b.input = JSON.parse(json[i]!);
        break;
      }
      case "message_delta": {
        const d = ev.delta as { stop_reason: string; stop_sequence: string | null };
        msg.stop_reason = d.stop_reason;
        msg.stop_sequence = d.stop_sequence;
        Object.assign(msg.usage, ev.usage);
        break;
      }
    }
  }
  if (!msg) throw new Error("no message_start");
  return msg;
}
