// Upstream Gemini chunks → the Anthropic Messages event sequence (pure, stateful). One translator
// per response: push() each chunk as it arrives, end() once upstream is done. The non-stream
// response is built from the same events (response.ts), so both paths agree by construction.
import { ApiError } from "../core/errors";
import type { GeminiPart, GeminiResponse, GeminiUsage } from "../upstream/types";
import { UNFINISHED_ANSWER } from "../upstream/assemble";
import { blockReason, isFiltered, tokenCounts } from "../protocol/answer";
import { restoreArgTypes, restoreJsonText } from "../upstream/json-schema";
import { randomId } from "../protocol/reply";
import { markdownImage } from "../protocol/media";
import { signToolId, tagSignature, type Family } from "./signature";

export type AnthropicEvent = { type: string; [k: string]: unknown };

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export interface TranslatorOptions {
  /** message id (msg_…) */
  id: string;
  /** the model name the client asked for, echoed back as Anthropic does */
  model: string;
  /** family of the upstream model: tags the signatures handed out */
  family: Family;
  /** the client asked for thinking: only then may a thinking block carry a signature without thought text */
  thinking?: boolean;
  /** message_start was already sent (the route sends it early while upstream is slow) */
  started?: boolean;
  /** the request's stop sequences (matched here, see text()) */
  stopSequences?: string[];
  newToolId?: () => string;
  /** structured output whose values upstream sent as text: the answer is held back and sent whole, restored */
  answerSchema?: unknown;
  /** upstream function name → the client's tool name and input_schema (arguments get its types back) */
  tools?: ReadonlyMap<string, { name: string; schema: unknown }>;
  /**
   * tool_choice.disable_parallel_tool_use: at most one tool_use a turn. Google has no such switch, so
   * calls after the first are dropped here (the client answers one, and the history it sends back
   * holds one call and its result).
   */
  oneToolCall?: boolean;
}

export function mapUsage(u: GeminiUsage | undefined): Usage {
  const t = tokenCounts(u);
  return {
    // Anthropic's input excludes what was read from cache
    input_tokens: Math.max(0, t.prompt - t.cached),
    output_tokens: t.output,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: t.cached,
  };
}

/** the opening event; usage is a placeholder until upstream reports it */
export function messageStart(id: string, model: string, usage: Usage = mapUsage(undefined)): AnthropicEvent {
  return {
    type: "message_start",
    message: {
      id,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usage, output_tokens: 0 },
    },
  };
}

export class MessageTranslator {
  private started = false;
  private index = -1;
  private open: { type: string; signed: boolean } | undefined;
  /** the JSON answer held back (answerSchema) */
  private answer = "";
  /** the last character of the text sent (an image after text starts a paragraph) */
  private textEnd = "";
  private sawTool = false;
  private finish: string | undefined;
  private usage: GeminiUsage | undefined;
  private held = "";
  private stopped: string | undefined;
  private readonly newToolId: () => string;

  constructor(private opts: TranslatorOptions) {
    this.newToolId = opts.newToolId ?? (() => randomId("toolu_"));
    this.started = opts.started ?? false;
  }

  /** a stop sequence ended the answer: the caller stops reading upstream */
  get done(): boolean {
    return this.stopped !== undefined;
  }

  /** upstream said what the answer used (it does with its last chunk) */
  get hasUsage(): boolean {
    return this.usage !== undefined;
  }

  /** what the answer used, counted another way (a stream a stop sequence ended before upstream said) */
  usageIs(u: GeminiUsage | undefined): void {
    this.usage ??= u;
  }

  push(chunk: GeminiResponse): AnthropicEvent[] {
    const out: AnthropicEvent[] = [];
    if (chunk.usageMetadata) this.usage = chunk.usageMetadata;
    if (!this.started) {
      this.started = true;
      out.push(messageStart(this.opts.id, this.opts.model, mapUsage(this.usage)));
    }
    if (this.done) return out;
    // a prompt upstream refused has no candidate: a refusal (as content_filter is in the OpenAI routes)
    if (blockReason(chunk)) this.finish ??= "PROHIBITED_CONTENT";
    const cand = chunk.candidates?.[0];
    for (const part of cand?.content?.parts ?? []) if (!this.done) this.part(part, out);
    if (cand?.finishReason) this.finish = cand.finishReason;
    return out;
  }

  /**
   * Closes the message. With `requireFinish`, a stream that ended without a finish reason (cut
   * upstream) throws, so the client gets an error event rather than a silently short answer.
   */
  end(requireFinish = false): AnthropicEvent[] {
    if (requireFinish && !this.finish && !this.done) throw new ApiError(502, UNFINISHED_ANSWER, { reason: "stream_cut" });
    const out: AnthropicEvent[] = this.started ? [] : this.push({});
    if (this.answer) this.text(restoreJsonText(this.answer, this.opts.answerSchema), out);
    this.answer = "";
    this.flush(out);
    this.close(out);
    const stop = this.stopReason();
    out.push({ type: "message_delta", delta: { stop_reason: stop.reason, stop_sequence: stop.sequence }, usage: mapUsage(this.usage) });
    out.push({ type: "message_stop" });
    return out;
  }

  private stopReason(): { reason: string; sequence: string | null } {
    if (this.stopped !== undefined) return { reason: "stop_sequence", sequence: this.stopped };
    if (this.sawTool) return { reason: "tool_use", sequence: null };
    const f = this.finish ?? "STOP";
    if (f === "MAX_TOKENS") return { reason: "max_tokens", sequence: null };
    if (isFiltered(f)) return { reason: "refusal", sequence: null };
    return { reason: "end_turn", sequence: null };
  }

  private part(p: GeminiPart, out: AnthropicEvent[]) {
    const sig = typeof p.thoughtSignature === "string" && p.thoughtSignature ? p.thoughtSignature : undefined;
    if (p.thought || p.functionCall || p.inlineData || sig) this.flush(out);
    const openThinking = this.open?.type === "thinking" && !this.open.signed;
    if (p.thought) {
      // no thought text and nothing to sign that the client asked for: no (empty) thinking block
      if (!p.text && !openThinking && !(sig && this.opts.thinking)) return;
      if (!openThinking) this.start(out, { type: "thinking", thinking: "", signature: "" });
      if (p.text) out.push(this.delta({ type: "thinking_delta", thinking: p.text }));
      if (sig) this.sign(tagSignature(this.opts.family, "thought", sig), out);
      return;
    }
    // a signature on a non-thought part (Gemini: on a call or the final text) travels as a thinking
    // block just before it, so the client echoes it back in the right place. Without thinking
    // requested a call keeps it in its tool id; one on text is dropped (upstream checks calls only).
    let callSig: string | undefined;
    if (sig && (this.opts.thinking || openThinking)) {
      if (!openThinking) this.start(out, { type: "thinking", thinking: "", signature: "" });
      this.sign(tagSignature(this.opts.family, "part", sig), out);
    } else if (sig) callSig = tagSignature(this.opts.family, "part", sig);
    if (p.functionCall) {
      if (this.opts.oneToolCall && this.sawTool) return;
      this.sawTool = true;
      const fc = p.functionCall;
      const tool = this.opts.tools?.get(fc.name);
      const id = fc.id || this.newToolId();
      this.start(out, { type: "tool_use", id: callSig ? signToolId(id, callSig) : id, name: tool?.name ?? fc.name, input: {} });
      const args = restoreArgTypes(fc.args ?? {}, tool?.schema);
      out.push(this.delta({ type: "input_json_delta", partial_json: JSON.stringify(args) }));
      this.close(out);
      return;
    }
    if (p.inlineData?.data) {
      // text held back for a stop sequence goes first; the image gets its own paragraph
      this.flush(out);
      const md = markdownImage(p.inlineData.mimeType, p.inlineData.data);
      return this.emitText(this.open?.type === "text" && !this.textEnd.endsWith("\n") ? `\n\n${md}` : md, out);
    }
    if (typeof p.text === "string" && p.text) {
      if (this.opts.answerSchema !== undefined) this.answer += p.text;
      else this.text(p.text, out);
    }
  }

  /**
   * Stop sequences are matched here rather than upstream: Google reports a stop sequence as a plain
   * STOP, so only a local match can tell the client which one ended the answer. Text that could be
   * the start of a stop sequence is held back until the next chunk decides.
   */
  private text(s: string, out: AnthropicEvent[]) {
    const seqs = this.opts.stopSequences?.filter(Boolean) ?? [];
    let buf = this.held + s;
    this.held = "";
    if (seqs.length) {
      let cut = -1;
      let which: string | undefined;
      for (const q of seqs) {
        const i = buf.indexOf(q);
        if (i >= 0 && (cut < 0 || i < cut)) [cut, which] = [i, q];
      }
      if (which !== undefined) {
        this.emitText(buf.slice(0, cut), out);
        this.stopped = which;
        return;
      }
      const keep = partialMatch(buf, seqs);
      this.held = buf.slice(buf.length - keep);
      buf = buf.slice(0, buf.length - keep);
    }
    this.emitText(buf, out);
  }

  private flush(out: AnthropicEvent[]) {
    const h = this.held;
    this.held = "";
    this.emitText(h, out);
  }

  private emitText(text: string, out: AnthropicEvent[]) {
    if (!text) return;
    if (this.open?.type !== "text") this.start(out, { type: "text", text: "" });
    this.textEnd = text.slice(-1);
    out.push(this.delta({ type: "text_delta", text }));
  }

  private start(out: AnthropicEvent[], block: Record<string, unknown>) {
    this.close(out);
    this.index++;
    out.push({ type: "content_block_start", index: this.index, content_block: block });
    this.open = { type: block.type as string, signed: false };
  }

  private sign(tagged: string, out: AnthropicEvent[]) {
    out.push(this.delta({ type: "signature_delta", signature: tagged }));
    this.open!.signed = true;
    this.close(out);
  }

  private delta(delta: Record<string, unknown>): AnthropicEvent {
    return { type: "content_block_delta", index: this.index, delta };
  }

  private close(out: AnthropicEvent[]) {
    if (!this.open) return;
    out.push({ type: "content_block_stop", index: this.index });
    this.open = undefined;
  }
}

/** length of the longest tail of `text` that is a proper prefix of some stop sequence */
function partialMatch(text: string, seqs: string[]): number {
  let best = 0;
  for (const q of seqs)
    for (let k = Math.min(q.length - 1, text.length); k > best; k--)
      if (text.endsWith(q.slice(0, k))) {
        best = k;
        break;
      }
  return best;
}
