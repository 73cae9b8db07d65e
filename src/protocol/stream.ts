// Turns an async source of ready-made frames into a streaming Response: frames are written as they
// arrive, a keep-alive frame is written after `keepAliveMs` of silence, a failure after the first
// byte becomes one final error frame (never a silent cut), and a client disconnect stops the source
// (which cancels the upstream request). observeStream lets the server see when such a body ends.
import { toApiError, type ApiError } from "../core/errors";
import type { StreamResult } from "../gateway/port";
import type { GeminiResponse } from "../upstream/types";
import { servedHeaders } from "./reply";
import { IdleWatch } from "../core/idle-watch";

export interface StreamOptions {
  frames: AsyncIterable<string>;
  /** written after keepAliveMs without a frame; omit for no keep-alives */
  keepAlive?: string;
  keepAliveMs?: number;
  /** the final frame(s) for a failure after the stream started */
  onError: (err: ApiError) => string;
  /** written once before the first frame (e.g. "[" for a JSON array stream) */
  prefix?: string;
  /** written once after the last frame (e.g. "]") */
  suffix?: string;
  headers?: Record<string, string>;
  status?: number;
}

export type StreamOutcome = "completed" | "cancelled" | "failed";
type OnEnd = (outcome: StreamOutcome, failure?: ApiError) => void;

/** a body made here: how it ended (once it has), and who is told (observeStream) */
interface Made {
  failure?: ApiError;
  ended?: StreamOutcome;
  onEnd?: OnEnd;
}
const made = new WeakMap<ReadableStream, Made>();

export function streamingResponse(opts: StreamOptions): Response {
  const it = opts.frames[Symbol.asyncIterator]();
  // a keep-alive after keepAliveMs without a frame: one timer for the stream, not one per frame
  let keepAlive: IdleWatch | undefined;
  let closed = false;
  const state: Made = {};
  const end = (outcome: StreamOutcome) => {
    if (state.ended) return;
    state.ended = outcome;
    state.onEnd?.(outcome, state.failure);
  };

  // Bun's direct stream: frames are written to the socket as strings, with no queue of encoded chunks
  // and no pull per chunk in between (docs/performance.md). Its source runs once the body is read.
  let started = false;
  const source: Bun.DirectUnderlyingSource<Uint8Array> = {
    type: "direct",
    async pull(controller: ReadableStreamDirectController) {
      if (started) return;
      started = true;
      // a promise from write() means the client is not keeping up: the loop below waits for it before
      // reading upstream again (without that, a slow reader made the gateway hold upstream's whole answer)
      const write = (s: string): number | Promise<number> | undefined => {
        if (closed || !s) return;
        try {
          const wrote = controller.write(s);
          void controller.flush();
          return wrote;
        } catch {
          closed = true; // the client is gone; cancel() says so too
        }
      };
      if (opts.prefix) write(opts.prefix);
      if (opts.keepAlive && opts.keepAliveMs) keepAlive = new IdleWatch(opts.keepAliveMs, () => write(opts.keepAlive!));
      try {
        for (;;) {
          const next = await it.next();
          if (next.done) break;
          const wrote = write(next.value);
          keepAlive?.touch();
          if (typeof wrote === "object") await wrote.catch(() => {});
        }
        if (opts.suffix) write(opts.suffix);
      } catch (e) {
        if (!closed) {
          state.failure = toApiError(e);
          write(opts.onError(state.failure));
        }
      } finally {
        keepAlive?.stop();
        if (!closed) {
          closed = true;
          controller.close();
          end(state.failure ? "failed" : "completed");
        }
      }
    },
    cancel() {
      closed = true;
      keepAlive?.stop();
      end("cancelled");
      // not awaited: return() queues behind a pending next(); the request's signal cancels upstream
      void Promise.resolve(it.return?.()).catch(() => {});
    },
  };
  // the DOM library's constructor type has no direct sources
  const body = new ReadableStream(source as unknown as UnderlyingDefaultSource<Uint8Array>);

  made.set(body, state);
  return new Response(body, {
    status: opts.status ?? 200,
    headers: { "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no", ...opts.headers },
  });
}

/**
 * For an answer whose body streamingResponse made: `done` is called once as the body ends (its last
 * frame given to the server, the client gone, or a failure after the first byte), at once if it already
 * has. False for any other body: it needs no watching. The body itself is not wrapped: a second stream
 * around it cost a pull and a promise per frame.
 */
export function observeStream(res: Response, done: OnEnd): boolean {
  // every body made here goes out with this header: any other answer's body is never touched (reading
  // `body` of a plain answer would wrap its bytes in a stream for nothing)
  if (res.headers.get("x-accel-buffering") !== "no") return false;
  const body = res.body;
  const state = body && made.get(body);
  if (!state) return false;
  if (state.ended) done(state.ended, state.failure);
  else state.onEnd = done;
  return true;
}

/**
 * Waits up to `ms` for upstream to answer: its value, or undefined once the time is up (the caller
 * then starts the response so keep-alives flow, and awaits the promise again — a later rejection
 * stays handled). A rejection within the time rejects, so early errors keep their HTTP status.
 */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

/** one SSE frame: optional event name, JSON data */
export function sseFrame(data: unknown, event?: string): string {
  const payload = typeof data === "string" ? data : JSON.stringify(data);
  return (event ? `event: ${event}\n` : "") + `data: ${payload}\n\n`;
}

/** events that carry their name in `type` (Anthropic's, the Responses API's) as SSE frames */
export const eventFrames = (events: readonly { type: string }[]) => events.map((e) => sseFrame(e, e.type)).join("");

export const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8" };

export interface ReplyOptions {
  /** the gateway's stream, not yet answered */
  pending: Promise<StreamResult>;
  keepAliveMs: number;
  keepAlive: string;
  /** how the protocol turns the answer's chunks into its frames, once upstream answered */
  mapper: (res: StreamResult) => FrameMapper;
  /** frames the protocol sends before upstream answers (Anthropic's message_start, OpenAI's role chunk) */
  head?: string;
  onError: (err: ApiError) => string;
  /** written first; `latePrefix` instead when the reply starts before upstream answered */
  prefix?: string;
  latePrefix?: string;
  suffix?: string;
  headers: Record<string, string>;
  /** the served-by headers of the attempt in flight, for a reply that starts before upstream answered */
  inFlight?: () => Record<string, string>;
}

/**
 * How every protocol starts a streamed reply. Upstream gets one keep-alive interval to answer, so a
 * failure before that keeps its real HTTP status and body; after that the reply starts anyway (headers,
 * then keep-alives), and a later failure becomes the protocol's final error frame. The served-by
 * headers go out when upstream answered in time.
 */
export async function startReply(o: ReplyOptions): Promise<Response> {
  const early = await within(o.pending, o.keepAliveMs);
  // the head is written with the prefix, before any frame; no generator is made per stream to wrap
  // the protocol's (JavaScriptCore kept recompiling one: docs/performance.md, "Seventh pass")
  return streamingResponse({
    frames: early ? mappedFrames(early, o.mapper(early)) : later(o.pending, o.mapper),
    keepAlive: o.keepAlive,
    keepAliveMs: o.keepAliveMs,
    onError: o.onError,
    prefix: (early ? (o.prefix ?? "") : (o.latePrefix ?? o.prefix ?? "")) + (o.head ?? ""),
    suffix: o.suffix,
    headers: { ...o.headers, ...(early ? servedHeaders(early) : o.inFlight?.()) },
  });
}

/** the protocol's frames once upstream answers, for a reply that started before it did */
async function* later(pending: Promise<StreamResult>, mapper: (res: StreamResult) => FrameMapper) {
  const res = await pending;
  yield* mappedFrames(res, mapper(res));
}

/** How a protocol turns the answer's chunks into its frames: text ready to write ("" for none). */
export interface FrameMapper {
  push(chunk: GeminiResponse): string;
  /** the last frames, once the chunks ended (or the mapper is done; it may then wait for a count) */
  finish(): string | Promise<string>;
  /** the answer is complete before upstream's end (a stop sequence matched) */
  readonly done?: boolean;
}

/**
 * The answer's chunks through `m`, then its last frames: the one generator every protocol's reply
 * runs. A module function, not a generator made per request: JavaScriptCore kept recompiling generators
 * made anew for each stream (docs/performance.md, "Seventh pass").
 */
async function* mappedFrames(res: StreamResult, m: FrameMapper): AsyncGenerator<string> {
  for await (const chunk of res.chunks) {
    const frame = m.push(chunk);
    if (frame) yield frame;
    // leaving the loop cancels upstream (usage is what upstream reported so far)
    if (m.done) break;
  }
  const last = await m.finish();
  if (last) yield last;
}
