// Gemini stream chunks → the OpenAI Responses SSE event sequence: response.created and
// response.in_progress first, then per output item output_item.added … output_item.done (reasoning
// summaries, message text with its content part, function-call arguments), then response.completed
// (or response.incomplete) carrying the whole response and its usage; response.failed when upstream
// fails after the first byte. Every event has `type` and an increasing `sequence_number`. Stateful per
// response, free of I/O: the route writes the events as SSE frames.
import type { ApiError } from "../core/errors";
import type { GeminiResponse } from "../upstream/types";
import { clientItem, clientView, failureCode, responseObject, type OutputItem, type ResponseBase, type ResponseObject } from "./responses";
import { OutputBuilder, type OutputChange, type OutputOptions } from "./responses-output";

export type ResponsesEvent = { type: string; sequence_number: number } & Record<string, unknown>;

export class ResponsesStreamMapper {
  private seq = 0;
  private readonly out: OutputBuilder;
  /** reasoning items whose summary part was announced, messages whose text part was */
  private summaries = new Set<number>();
  private textStarted = new Set<number>();
  private final?: ResponseObject;

  constructor(
    private readonly base: ResponseBase,
    o: OutputOptions,
    /** include: reasoning.encrypted_content */
    private readonly includeEncrypted = false,
  ) {
    this.out = new OutputBuilder(o);
  }

  private event(type: string, fields: Record<string, unknown>): ResponsesEvent {
    return { type, sequence_number: this.seq++, ...fields };
  }

  private snapshot(state: Pick<ResponseObject, "status"> & Partial<ResponseObject>): ResponseObject {
    return clientView(responseObject(this.base, { output: this.out.items, usage: null, ...state }), this.includeEncrypted);
  }

  /** the first events: they need nothing from upstream, so the reply can start with them */
  start(): ResponsesEvent[] {
    const r = this.snapshot({ status: "in_progress", output: [] });
    return [this.event("response.created", { response: r }), this.event("response.in_progress", { response: r })];
  }

  push(resp: GeminiResponse): ResponsesEvent[] {
    return this.events(this.out.push(resp));
  }

  /** the closing events; throws when upstream ended without finishing (the route then calls fail) */
  finish(): ResponsesEvent[] {
    const events = this.events(this.out.finish(true));
    const outcome = this.out.outcome();
    this.final = responseObject(this.base, { ...outcome, output: this.out.items, usage: this.out.tokens });
    const type = outcome.status === "completed" ? "response.completed" : "response.incomplete";
    events.push(this.event(type, { response: clientView(this.final, this.includeEncrypted) }));
    return events;
  }

  /** the last event after a failure past the first byte */
  fail(err: ApiError): ResponsesEvent[] {
    const response = this.snapshot({
      status: "failed",
      error: { code: failureCode(err.status), message: err.message },
      usage: this.out.tokens,
    });
    return [this.event("response.failed", { response })];
  }

  /** the finished response as built (reasoning keeps encrypted_content): what the store keeps */
  get response(): ResponseObject | undefined {
    return this.final;
  }

  private item(item: OutputItem): OutputItem {
    return clientItem(item, this.includeEncrypted);
  }

  private events(changes: OutputChange[]): ResponsesEvent[] {
    const ev: ResponsesEvent[] = [];
    for (const c of changes) {
      const at = { output_index: c.index };
      const item = this.out.items[c.index]!;
      const ids = { item_id: item.id, output_index: c.index };
      switch (c.kind) {
        case "added":
          ev.push(this.event("response.output_item.added", { ...at, item: this.item(c.item) }));
          break;
        case "text":
          if (!this.textStarted.has(c.index)) {
            this.textStarted.add(c.index);
            ev.push(this.event("response.content_part.added", { ...ids, content_index: 0, part: outputText("") }));
          }
          ev.push(this.event("response.output_text.delta", { ...ids, content_index: 0, delta: c.delta, logprobs: [] }));
          break;
        case "refusal":
          ev.push(this.event("response.content_part.added", { ...ids, content_index: 0, part: { type: "refusal", refusal: "" } }));
          ev.push(this.event("response.refusal.delta", { ...ids, content_index: 0, delta: c.delta }));
          ev.push(this.event("response.refusal.done", { ...ids, content_index: 0, refusal: c.delta }));
          ev.push(this.event("response.content_part.done", { ...ids, content_index: 0, part: { type: "refusal", refusal: c.delta } }));
          break;
        case "summary":
          if (!this.summaries.has(c.index)) {
            this.summaries.add(c.index);
            ev.push(this.event("response.reasoning_summary_part.added", { ...ids, summary_index: 0, part: summaryText("") }));
          }
          ev.push(this.event("response.reasoning_summary_text.delta", { ...ids, summary_index: 0, delta: c.delta }));
          break;
        case "arguments":
          ev.push(this.event("response.function_call_arguments.delta", { ...ids, delta: c.delta }));
          break;
        case "done":
          ev.push(...this.closing(c.item, ids), this.event("response.output_item.done", { ...at, item: this.item(c.item) }));
          break;
      }
    }
    return ev;
  }

  /** the .done events an item's parts get before the item itself is done */
  private closing(item: OutputItem, ids: { item_id: string; output_index: number }): ResponsesEvent[] {
    if (item.type === "message") {
      const part = item.content[0];
      if (part?.type !== "output_text") return [];
      return [
        this.event("response.output_text.done", { ...ids, content_index: 0, text: part.text, logprobs: [] }),
        this.event("response.content_part.done", { ...ids, content_index: 0, part }),
      ];
    }
    if (item.type === "reasoning") {
      const part = item.summary[0];
      if (!part || !this.summaries.has(ids.output_index)) return [];
      return [
        this.event("response.reasoning_summary_text.done", { ...ids, summary_index: 0, text: part.text }),
        this.event("response.reasoning_summary_part.done", { ...ids, summary_index: 0, part }),
      ];
    }
    return [this.event("response.function_call_arguments.done", { ...ids, name: item.name, arguments: item.arguments })];
  }
}

const outputText = (text: string) => ({ type: "output_text", text, annotations: [], logprobs: [] });
const summaryText = (text: string) => ({ type: "summary_text", text });
