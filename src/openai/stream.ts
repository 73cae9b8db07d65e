// Gemini stream chunks → OpenAI chat.completion.chunk objects. Stateful per response (tool-call
// indexes, finish reasons, usage) but free of I/O: the route turns the chunks into SSE frames.
import { ApiError } from "../core/errors";
import { blockReason } from "../protocol/answer";
import type { GeminiResponse, GeminiUsage } from "../upstream/types";
import { UNFINISHED_ANSWER } from "../upstream/assemble";
import { restoreJsonText } from "../upstream/json-schema";
import { chatUsage, finishReason, partText, signedThought, toolCallOf, type ResponseOptions } from "./response";

export interface ChunkOptions extends ResponseOptions {
  /** stream_options.include_usage: every chunk carries `usage: null`, a last chunk the totals */
  includeUsage?: boolean;
}

interface ChoiceState {
  toolCalls: string[];
  textEnd: string;
  reasoning: string;
  /** the answer's text held back until it is whole, to restore the client's value types (answerSchema) */
  held: string;
  thoughtSig?: string;
  finish?: string;
}

export type ChatChunk = Record<string, unknown>;

export class ChatStreamMapper {
  private choices = new Map<number, ChoiceState>();
  private usage?: GeminiUsage;
  private blocked?: string;
  private finished = false;

  constructor(private readonly o: ChunkOptions) {}

  private chunk(choices: unknown[]): ChatChunk {
    const c: ChatChunk = { id: this.o.id, object: "chat.completion.chunk", created: this.o.created, model: this.o.model, choices };
    if (this.o.includeUsage) c.usage = null;
    return c;
  }

  private delta(index: number, delta: Record<string, unknown>): ChatChunk {
    return this.chunk([{ index, delta, logprobs: null, finish_reason: null }]);
  }

  private state(index: number, out: ChatChunk[]): ChoiceState {
    let st = this.choices.get(index);
    if (!st) {
      st = { toolCalls: [], textEnd: "", reasoning: "", held: "" };
      this.choices.set(index, st);
      out.push(this.delta(index, { role: "assistant", content: "" }));
    }
    return st;
  }

  /** the first chunk, sent as soon as upstream accepted the request */
  start(): ChatChunk[] {
    const out: ChatChunk[] = [];
    this.state(0, out);
    return out;
  }

  push(resp: GeminiResponse): ChatChunk[] {
    const out: ChatChunk[] = [];
    if (resp.usageMetadata) this.usage = resp.usageMetadata;
    const block = blockReason(resp);
    if (block) this.blocked = block;
    (resp.candidates ?? []).forEach((cand, i) => {
      const index = cand.index ?? i;
      const st = this.state(index, out);
      for (const p of cand.content?.parts ?? []) {
        if (p.thought) {
          if (typeof p.text === "string" && p.text) {
            st.reasoning += p.text;
            out.push(this.delta(index, { reasoning_content: p.text }));
          }
          if (p.thoughtSignature) st.thoughtSig = p.thoughtSignature;
          continue;
        }
        const call = toolCallOf(p, this.o);
        if (call) {
          if ((this.o.oneToolCall || this.o.legacyFunctions) && st.toolCalls.length) continue;
          const delta = this.o.legacyFunctions
            ? { function_call: call.function }
            : { tool_calls: [{ index: st.toolCalls.length, ...call }] };
          out.push(this.delta(index, delta));
          st.toolCalls.push(call.id);
          continue;
        }
        let piece = partText(p);
        if (piece === undefined || piece === "") continue;
        if (p.inlineData && st.textEnd && !st.textEnd.endsWith("\n")) piece = "\n\n" + piece;
        st.textEnd = piece.slice(-2);
        if (this.o.answerSchema !== undefined) st.held += piece;
        else out.push(this.delta(index, { content: piece }));
      }
      if (cand.finishReason) st.finish = cand.finishReason;
    });
    return out;
  }

  /** the closing chunks; throws when upstream ended without finishing (the route sends an error chunk) */
  finish(): ChatChunk[] {
    if (this.finished) return [];
    this.finished = true;
    const out: ChatChunk[] = [];
    const states = [...this.choices.entries()].sort((a, b) => a[0] - b[0]);
    if (this.blocked && !states.some(([, s]) => s.finish || s.toolCalls.length)) {
      out.push(this.delta(0, { refusal: `The prompt was blocked by the upstream safety filter (${this.blocked}).` }));
      out.push(this.chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: "content_filter" }]));
    } else {
      if (!states.some(([, s]) => s.finish)) throw new ApiError(502, UNFINISHED_ANSWER, { reason: "stream_truncated" });
      for (const [index, st] of states) {
        if (this.o.claude && st.toolCalls.length && st.thoughtSig)
          this.o.memory.remember(st.toolCalls[0]!, { thoughts: signedThought(st.reasoning, st.thoughtSig) });
        if (st.held) out.push(this.delta(index, { content: restoreJsonText(st.held, this.o.answerSchema) }));
        const finish = finishReason(st.finish, st.toolCalls.length > 0, this.o.legacyFunctions);
        out.push(this.chunk([{ index, delta: {}, logprobs: null, finish_reason: finish }]));
      }
    }
    if (this.o.includeUsage) out.push({ ...this.chunk([]), usage: chatUsage(this.usage) });
    return out;
  }
}
