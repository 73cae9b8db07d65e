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
  /** called once reading stops: the body ended, failed or was cancelled, or the loop was left */
  onEnd?: () => void;
}

/**
 * Splits decoded text into events' data as it arrives, in linear time: each piece is searched once for
 * line ends (\n, \r\n or \r; a \r at a piece's end may be followed by the \n in the next), and only a
 * line cut between pieces is joined — one 16 MiB event arriving in small pieces is read once, not once
 * per piece. `scanned` counts the characters searched (tests bound it).
 */
export class EventSplitter {
  /** the start of a line cut by the end of a piece, in pieces (one growing string would be copied on each) */
  private partial: string[] = [];
  /** the data of the event being received (its data lines joined by \n) */
  private data: string | undefined;
  /** the last piece ended with \r: a \n opening the next one ends no second line */
  private cr = false;
  scanned = 0;

  /** the data of each complete event in `piece` (and before it); `last` flushes a final event without a blank line */
  push(piece: string, last = false): string[] {
    const out: string[] = [];
    this.scanned += piece.length;
    let at = 0;
    if (this.cr && piece.length > 0) {
      if (piece.charCodeAt(0) === 10) at = 1;
      this.cr = false;
    }
    let lf = piece.indexOf("\n", at);
    let cr = piece.indexOf("\r", at);
    while (lf !== -1 || cr !== -1) {
      const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      this.line(piece, at, end, out);
      at = end + 1;
      if (end === cr) {
        if (at === piece.length) this.cr = true;
        else if (piece.charCodeAt(at) === 10) at++;
      }
      if (lf !== -1 && lf < at) lf = piece.indexOf("\n", at);
      if (cr !== -1 && cr < at) cr = piece.indexOf("\r", at);
    }
    if (at < piece.length) this.partial.push(at === 0 ? piece : piece.slice(at));
    if (last) {
      if (this.partial.length > 0) this.line("", 0, 0, out);
      this.line("", 0, 0, out); // the blank line the body did not send
    }
    return out;
  }

  /** one line, piece[start, end) after any cut part: a blank line ends the event, a data line adds to it */
  private line(piece: string, start: number, end: number, out: string[]): void {
    if (this.partial.length > 0) {
      this.partial.push(piece.slice(start, end));
      piece = this.partial.join("");
      this.partial = [];
      start = 0;
      end = piece.length;
    }
    if (start === end) {
      if (this.data !== undefined) out.push(this.data);
      this.data = undefined;
      return;
    }
    // comments (":"), event:, id: and retry: lines are skipped; one space after the colon is not data
    if (!piece.startsWith("data:", start)) return;
    const v = piece.slice(start + (piece.charCodeAt(start + 5) === 32 ? 6 : 5), end);
    this.data = this.data === undefined ? v : this.data + "\n" + v;
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

/** Parsed JSON of each event of a whole SSE body, in order (as sseEvents reads them, without a stream). */
export function sseJson(text: string, onMalformed?: (data: string) => void): unknown[] {
  const out: unknown[] = [];
  parseData(new EventSplitter().push(text, true), out, onMalformed);
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
    try {
      if (!done) await reader.cancel().catch(() => {});
    } finally {
      opts.onEnd?.();
    }
  }
}

/** `{response: X, traceId}` → X; a bare response is returned as it is. */
export function unwrapResponse<T = unknown>(envelope: unknown): T {
  if (envelope && typeof envelope === "object" && "response" in envelope) return (envelope as { response: T }).response;
  return envelope as T;
}
