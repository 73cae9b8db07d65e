// Server-sent events as Cloud Code sends them: `data: <json>\r\n\r\n` frames, no [DONE], optionally
// paced (so clients see chunks arrive one by one) or cut after the first frame (stream_cut fault).
const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache" };
const enc = new TextEncoder();

export const frame = (obj: unknown) => `data: ${JSON.stringify(obj)}\r\n\r\n`;

/** frames as an SSE response; paced when gapMs > 0; `cut` drops the connection after the first frame */
export function sse(frames: string[], gapMs: number, cut: boolean, headers: Record<string, string>): Response {
  const all = { ...SSE_HEADERS, ...headers };
  if (!gapMs && !cut) return new Response(frames.join(""), { headers: all });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      let i = 0;
      const next = () => {
        try {
          c.enqueue(enc.encode(frames[i++]!));
          // error() without a reason drops the socket without Bun printing a stack trace
          if (cut) timer = setTimeout(() => c.error(), Math.max(gapMs, 10));
          else if (i >= frames.length) c.close();
          else timer = setTimeout(next, gapMs);
        } catch {
          // the client went away
        }
      };
      next();
    },
    cancel() {
      clearTimeout(timer);
    },
  });
  return new Response(body, { headers: all });
}
