// Server-sent events from Google's streamGenerateContent: one JSON envelope per event. Tolerant of
// `data:` with or without a space, \n\n and \r\n\r\n framing, multi-line data, junk events and `[DONE]`.
import { IdleWatch } from "../core/idle-watch";

export class StreamIdleTimeout extends Error {
  constructor(ms: number) {
    super(`upstream sent nothing for ${Math.round(ms / 1000)} s`);
    this.name = "TimeoutError";
  }
}

export interface SseOptions {
  /** the gap allowed between two reads; 0/undefined = none */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  /** called for a data payload that is not JSON (skipped) */
  onMalformed?: (data: string) => void;
}

/** Parse one event's lines; returns the joined data or undefined when the event has none. */
function eventData(block: string): string | undefined {
  let data: string[] | undefined;
  for (const line of block.split("\n")) {
    if (!line.startsWith("data:")) continue; // comments (":"), event:, id:, retry:
    const v = line.slice(5);
    (data ??= []).push(v.startsWith(" ") ? v.slice(1) : v);
  }
  return data?.join("\n");
}

/**
 * Splits decoded text into events, in linear time: CRs are normalised in each new piece only (a CR at a
 * piece's end waits for the next), and the search for the blank line resumes where the last one stopped —
 * one 16 MiB event arriving in small chunks is read once, not once per chunk. `scanned` counts the
 * characters searched (tests bound it).
 */
export class EventSplitter {
  /** the text of the event being received, in pieces (one growing string would be copied on every search) */
  private parts: string[] = [];
  /** whether that text ends with \n (a blank line may be split over two pieces) */
  private endsNl = false;
  private cr = false;
  scanned = 0;

  /** the data of each complete event in `piece` (and before it); `last` flushes a final event without a blank line */
  push(piece: string, last = false): string[] {
    if (this.cr) piece = "\r" + piece;
    this.cr = !last && piece.endsWith("\r");
    if (this.cr) piece = piece.slice(0, -1);
    piece = piece.replace(/\r\n?/g, "\n") + (last ? "\n\n" : "");
    const off = this.endsNl ? 1 : 0;
    const probe = off ? "\n" + piece : piece;
    this.scanned += probe.length;
    const out: string[] = [];
    let start = 0;
    for (let i = probe.indexOf("\n\n"); i !== -1; i = probe.indexOf("\n\n", start + off)) {
      const end = i - off; // where the blank line starts in `piece` (-1: with the buffered text's last \n)
      const text = end < 0 ? this.parts.join("").slice(0, -1) : this.parts.join("") + piece.slice(start, end);
      this.parts = [];
      const data = eventData(text);
      if (data !== undefined) out.push(data);
      start = end + 2;
    }
    const rest = piece.slice(start);
    if (rest) this.parts.push(rest);
    this.endsNl = rest ? rest.endsWith("\n") : this.parts.length > 0 && this.endsNl;
    return out;
  }
}

/** appends the JSON of each event's data to `out`, skipping blank and malformed ones; true at `[DONE]` (the rest is ignored) */
function parseData(datas: string[], out: unknown[], onMalformed?: (data: string) => void): boolean {
  for (const data of datas) {
    const t = data.trim();
    if (t === "") continue;
    if (t === "[DONE]") return true;
    try {
      out.push(JSON.parse(data));
    } catch {
      onMalformed?.(data);
    }
  }
  return false;
}

/** a carriage return not followed by a line feed: an old-Mac line end (SSE allows it; Google sends \r\n) */
const LONE_CR = /\r(?!\n)/;

/** Parsed JSON of each event of a whole SSE body, in order (as sseEvents reads them, without a stream). */
export function sseJson(text: string, onMalformed?: (data: string) => void): unknown[] {
  // all of it is here: one pass over its lines, found with indexOf, taking only the data (no copy of the
  // body with its line ends changed, no array of its blocks; EventSplitter is for text arriving in pieces)
  const src = text.includes("\r") && LONE_CR.test(text) ? text.replace(/\r\n?/g, "\n") : text;
  const datas: string[] = [];
  let data: string[] | undefined;
  for (let at = 0; at <= src.length;) {
    let end = src.indexOf("\n", at);
    if (end < 0) end = src.length;
    const lineEnd = end > at && src.charCodeAt(end - 1) === 13 ? end - 1 : end;
    if (lineEnd === at) {
      // a blank line ends the event
      if (data) datas.push(data.join("\n"));
      data = undefined;
    } else if (src.startsWith("data:", at)) {
      // comments (":"), event:, id: and retry: lines are skipped; one space after the colon is not data
      (data ??= []).push(src.slice(at + (src.charCodeAt(at + 5) === 32 ? 6 : 5), lineEnd));
    }
    at = end + 1;
  }
  if (data) datas.push(data.join("\n"));
  const out: unknown[] = [];
  parseData(datas, out, onMalformed);
  return out;
}

/** Parsed JSON of each event, in order. Stopping the loop (or the signal) cancels the body. */
export async function* sseEvents(body: ReadableStream<Uint8Array>, opts: SseOptions = {}): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const onAbort = () => void reader.cancel().catch(() => {});
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const events = new EventSplitter();
  let done = false;
  // a read that waits longer than the idle timeout cancels the body, which ends the read
  const idleMs = opts.idleTimeoutMs;
  let idle = false;
  const watch = idleMs
    ? new IdleWatch(idleMs, () => {
        idle = true;
        void reader.cancel(new StreamIdleTimeout(idleMs)).catch(() => {});
      })
    : undefined;
  try {
    while (!done) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new DOMException("aborted", "AbortError");
      if (watch) {
        watch.touch();
        watch.paused = false;
      }
      const r = await reader.read();
      if (watch) watch.paused = true;
      if (idle) {
        done = true; // cancelled already
        throw new StreamIdleTimeout(idleMs!);
      }
      if (opts.signal?.aborted) throw opts.signal.reason ?? new DOMException("aborted", "AbortError");
      if (r.done) done = true;
      const values: unknown[] = [];
      const ended = parseData(
        events.push(r.done ? decoder.decode() : decoder.decode(r.value, { stream: true }), r.done),
        values,
        opts.onMalformed,
      );
      yield* values;
      if (ended) return;
    }
  } finally {
    watch?.stop();
    opts.signal?.removeEventListener("abort", onAbort);
    // no releaseLock(): nobody reads the body after us, and releasing makes an error (the reader's
    // `closed` is rejected) for every stream
    if (!done) await reader.cancel().catch(() => {});
  }
}

/** `{response: X, traceId}` → X; a bare response is returned as it is. */
export function unwrapResponse<T = unknown>(envelope: unknown): T {
  if (envelope && typeof envelope === "object" && "response" in envelope) return (envelope as { response: T }).response;
  return envelope as T;
}
