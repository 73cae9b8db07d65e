// Answer: OutputBuilder groups Gemini's parts into Responses output items (reasoning, message,
// function_call) as they arrive, and says what changed; toResponse uses it for a whole answer,
// ./responses-stream.ts turns the changes into the SSE event sequence.
import { ApiError } from "../core/errors";
import { restoreJsonText } from "../upstream/json-schema";
import { blockReason, isFiltered } from "../protocol/answer";
import type { GeminiPart, GeminiResponse, GeminiUsage } from "../upstream/types";
import { UNFINISHED_ANSWER } from "../upstream/assemble";
import { partText, signedThought, toolCallOf, type ResponseOptions, type ToolCall } from "./response";
import {
  encodeThought,
  newItemId,
  responseObject,
  responsesUsage,
  type FunctionCallItem,
  type ItemStatus,
  type MessageItem,
  type OutputItem,
  type ResponseBase,
  type ResponseObject,
  type ResponsesUsage,
} from "./responses";

export interface OutputOptions extends ResponseOptions {
  namespaces: Map<string, { namespace: string; name: string }>;
}

/** what changed in the output, in order (./responses-stream.ts turns each into events) */
export type OutputChange =
  | { kind: "added"; index: number; item: OutputItem }
  | { kind: "summary"; index: number; delta: string }
  | { kind: "text"; index: number; delta: string }
  | { kind: "refusal"; index: number; delta: string }
  | { kind: "arguments"; index: number; delta: string }
  | { kind: "done"; index: number; item: OutputItem };

interface Open {
  index: number;
  kind: "reasoning" | "message";
  text: string;
  signature?: string;
}

const blockedText = (reason: string) => `The prompt was blocked by the upstream safety filter (${reason}).`;

export class OutputBuilder {
  readonly items: OutputItem[] = [];
  private open?: Open;
  /** Claude: the last signed reasoning, remembered for the first call that follows it */
  private signed?: { text: string; signature: string };
  private sawCall = false;
  private sawCandidate = false;
  private finishReason?: string;
  private blocked?: string;
  private usage?: GeminiUsage;
  private ended = false;

  constructor(private readonly o: OutputOptions) {}

  push(resp: GeminiResponse): OutputChange[] {
    const out: OutputChange[] = [];
    if (resp.usageMetadata) this.usage = resp.usageMetadata;
    const block = blockReason(resp);
    if (block) this.blocked = block;
    // Responses has one answer: the first candidate
    const cand = (resp.candidates ?? []).find((c, i) => (c.index ?? i) === 0);
    if (!cand) return out;
    this.sawCandidate = true;
    for (const p of cand.content?.parts ?? []) this.part(p, out);
    if (cand.finishReason) this.finishReason = cand.finishReason;
    return out;
  }

  private part(p: GeminiPart, out: OutputChange[]) {
    if (p.thought) {
      const text = typeof p.text === "string" ? p.text : "";
      if (!text && !p.thoughtSignature) return;
      const r = this.openAs("reasoning", out);
      if (text) {
        r.text += text;
        out.push({ kind: "summary", index: r.index, delta: text });
      }
      if (p.thoughtSignature) r.signature = p.thoughtSignature;
      return;
    }
    const call = toolCallOf(p, this.o);
    if (call) {
      if (this.o.oneToolCall && this.sawCall) return;
      this.close(out, "completed");
      this.addCall(call, out);
      return;
    }
    let piece = partText(p);
    if (piece === undefined || piece === "") return;
    const m = this.openAs("message", out);
    // an image gets its own paragraph (as in chat's appendText)
    if (p.inlineData && m.text && !m.text.endsWith("\n")) piece = "\n\n" + piece;
    m.text += piece;
    // text whose values need restoring goes out whole when the item closes
    if (this.o.answerSchema === undefined) out.push({ kind: "text", index: m.index, delta: piece });
  }

  private addCall(call: ToolCall, out: OutputChange[]) {
    this.sawCall = true;
    if (this.o.claude && this.signed) {
      this.o.memory.remember(call.id, { thoughts: signedThought(this.signed.text, this.signed.signature) });
      this.signed = undefined;
    }
    const ns = this.o.namespaces.get(call.function.name);
    const item: FunctionCallItem = {
      id: newItemId("fc_"),
      type: "function_call",
      status: "in_progress",
      call_id: call.id,
      name: ns?.name ?? call.function.name,
      arguments: "",
      ...(ns ? { namespace: ns.namespace } : {}),
    };
    const index = this.items.push(item) - 1;
    out.push({ kind: "added", index, item: { ...item } });
    item.arguments = call.function.arguments;
    item.status = "completed";
    out.push({ kind: "arguments", index, delta: item.arguments });
    out.push({ kind: "done", index, item });
  }

  private openAs(kind: Open["kind"], out: OutputChange[]): Open {
    if (this.open?.kind === kind) return this.open;
    this.close(out, "completed");
    const item: OutputItem =
      kind === "reasoning"
        ? { id: newItemId("rs_"), type: "reasoning", summary: [], encrypted_content: null }
        : { id: newItemId("msg_"), type: "message", role: "assistant", status: "in_progress", content: [] };
    const index = this.items.push(item) - 1;
    out.push({ kind: "added", index, item: structuredClone(item) });
    this.open = { index, kind, text: "" };
    return this.open;
  }

  private close(out: OutputChange[], status: ItemStatus) {
    const o = this.open;
    if (!o) return;
    this.open = undefined;
    const item = this.items[o.index]!;
    if (item.type === "reasoning") {
      if (o.text) item.summary = [{ type: "summary_text", text: o.text }];
      if (this.o.claude && o.signature) {
        item.encrypted_content = encodeThought(o.text, o.signature);
        this.signed = { text: o.text, signature: o.signature };
      }
    } else if (item.type === "message") {
      item.status = status;
      // the whole text is known here: the item (and response.output_text.done) carry the client's value types
      let text = o.text;
      if (this.o.answerSchema !== undefined && text) {
        text = restoreJsonText(text, this.o.answerSchema);
        out.push({ kind: "text", index: o.index, delta: text });
      }
      item.content = [{ type: "output_text", text, annotations: [], logprobs: [] }];
    }
    out.push({ kind: "done", index: o.index, item });
  }

  /**
   * Closes the open item. A stream that ended without a finish reason throws (the route sends
   * response.failed); a whole answer without any candidate is upstream's fault too.
   */
  finish(stream: boolean): OutputChange[] {
    if (this.ended) return [];
    this.ended = true;
    const out: OutputChange[] = [];
    if (this.blocked && !this.finishReason && !this.sawCall) {
      this.close(out, "completed");
      const text = blockedText(this.blocked);
      const item: MessageItem = { id: newItemId("msg_"), type: "message", role: "assistant", status: "in_progress", content: [] };
      const index = this.items.push(item) - 1;
      out.push({ kind: "added", index, item: structuredClone(item) });
      out.push({ kind: "refusal", index, delta: text });
      item.status = "incomplete";
      item.content = [{ type: "refusal", refusal: text }];
      out.push({ kind: "done", index, item });
      return out;
    }
    if (!this.sawCandidate && !stream) throw new ApiError(502, "upstream returned no candidates", { reason: "empty_response" });
    if (stream && !this.finishReason) throw new ApiError(502, UNFINISHED_ANSWER, { reason: "stream_truncated" });
    this.close(out, this.outcome().status === "incomplete" ? "incomplete" : "completed");
    return out;
  }

  outcome(): Pick<ResponseObject, "status" | "incomplete_details"> {
    if (this.sawCall) return { status: "completed", incomplete_details: null };
    if (this.blocked && !this.finishReason) return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
    if (this.finishReason === "MAX_TOKENS") return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
    if (isFiltered(this.finishReason)) return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
    return { status: "completed", incomplete_details: null };
  }

  get tokens(): ResponsesUsage {
    return responsesUsage(this.usage);
  }
}

/** a whole Gemini answer → the Responses object (reasoning items keep encrypted_content: see clientView) */
export function toResponse(resp: GeminiResponse, base: ResponseBase, o: OutputOptions): ResponseObject {
  const b = new OutputBuilder(o);
  b.push(resp);
  b.finish(false);
  return responseObject(base, { ...b.outcome(), output: b.items, usage: b.tokens });
}
