// Server-sent events from Google's streamGenerateContent: one JSON envelope per event. Tolerant of
// `data:` with or without a space, \n\n and \r\n\r\n framing, multi-line data, junk events and `[DONE]`.

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

async function readWithDeadline(reader: ReadableStreamDefaultReader<Uint8Array>, ms: number | undefined) {
  if (!ms) return reader.read();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StreamIdleTimeout(ms)), ms);
  });
  try {
    return await Promise.race([reader.read(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Parsed JSON of each event, in order. Stopping the loop (or the signal) cancels the body. */
export async function* sseEvents(body: ReadableStream<Uint8Array>, opts: SseOptions = {}): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const onAbort = () => void reader.cancel().catch(() => {});
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  let buf = "";
  let done = false;
  try {
    while (!done) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new DOMException("aborted", "AbortError");
      const r = await readWithDeadline(reader, opts.idleTimeoutMs);
      if (opts.signal?.aborted) throw opts.signal.reason ?? new DOMException("aborted", "AbortError");
      if (r.done) {
        done = true;
        buf += decoder.decode();
        buf += "\n\n"; // flush a last event that had no blank line after it
      } else {
        buf += decoder.decode(r.value, { stream: true });
      }
      // hold back a trailing \r: its \n may be in the next chunk
      const keepCr = !done && buf.endsWith("\r");
      let text = keepCr ? buf.slice(0, -1) : buf;
      text = text.replace(/\r\n?/g, "\n");
      let start = 0;
      for (let end = text.indexOf("\n\n"); end !== -1; end = text.indexOf("\n\n", start)) {
        const data = eventData(text.slice(start, end));
        start = end + 2;
        if (data === undefined || data.trim() === "") continue;
        if (data.trim() === "[DONE]") return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          opts.onMalformed?.(data);
          continue;
        }
        yield parsed;
      }
      buf = text.slice(start) + (keepCr ? "\r" : "");
    }
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** `{response: X, traceId}` → X; a bare response is returned as it is. */
export function unwrapResponse<T = unknown>(envelope: unknown): T {
  if (envelope && typeof envelope === "object" && "response" in envelope) return (envelope as { response: T }).response;
  return envelope as T;
}
