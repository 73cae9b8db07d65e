// Keep-alive comments while upstream is quiet (long thinking), and the client's disconnect signal
// handed to the upstream call. The upstream here is a hand-driven Gateway: the test decides when each chunk arrives,
// so nothing depends on timing.
import { expect, test } from "bun:test";
import { openaiRoutes } from "../../src/openai/routes";
import type { GeminiResponse } from "../../src/upstream/types";
import type { Gateway } from "../../src/gateway/port";
import { scriptedContext } from "../helpers/context";

/** an upstream stream the test feeds by hand */
function handDriven() {
  const queue: ((v: IteratorResult<GeminiResponse>) => void)[] = [];
  const pending: IteratorResult<GeminiResponse>[] = [];
  const chunks: AsyncIterable<GeminiResponse> = {
    [Symbol.asyncIterator]: () => ({
      next: () =>
        new Promise<IteratorResult<GeminiResponse>>((resolve) => (pending.length ? resolve(pending.shift()!) : queue.push(resolve))),
    }),
  };
  const feed = (r: IteratorResult<GeminiResponse>) => (queue.length ? queue.shift()!(r) : pending.push(r));
  return { chunks, feed };
}

function app(upstream: ReturnType<typeof handDriven>, onSignal?: (s: AbortSignal | undefined) => void) {
  const gateway: Gateway = {
    generate: () => Promise.reject(new Error("not used")),
    countTokens: () => Promise.reject(new Error("not used")),
    stream: async (args) => (
      onSignal?.(args.signal),
      { chunks: upstream.chunks, accountEmail: "a@example.com", accountId: "a", mappedModel: "gemini-2.5-flash" }
    ),
  };
  return openaiRoutes(scriptedContext(gateway, { server: { keepAliveSeconds: 0.05 } }));
}

const request = () =>
  new Request("http://localhost/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gemini-2.5-flash", stream: true, messages: [{ role: "user", content: "think hard" }] }),
  });

/** read until `marker` shows up; returns everything read so far */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, seen: { text: string }, marker: string) {
  const dec = new TextDecoder();
  while (!seen.text.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before ${JSON.stringify(marker)}; got ${seen.text}`);
    seen.text += dec.decode(value);
  }
}

test("a quiet upstream gets SSE keep-alive comments; the stream then finishes normally", async () => {
  const upstream = handDriven();
  const res = await app(upstream).handle(request());
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  expect(res.headers.get("x-account-email")).toBe("a@example.com");
  const reader = res.body!.getReader();
  const seen = { text: "" };
  await readUntil(reader, seen, '"role":"assistant"');
  await readUntil(reader, seen, ": keep-alive\n\n");
  upstream.feed({ done: false, value: { candidates: [{ content: { parts: [{ text: "done thinking" }] }, finishReason: "STOP" }] } });
  upstream.feed({ done: true, value: undefined });
  await readUntil(reader, seen, "data: [DONE]\n\n");
  expect(seen.text).toContain('"content":"done thinking"');
  expect(seen.text.indexOf(": keep-alive")).toBeLessThan(seen.text.indexOf("done thinking"));
});

test("the client's disconnect signal reaches the upstream call", async () => {
  const upstream = handDriven();
  let seenSignal: AbortSignal | undefined;
  const routes = app(upstream, (signal) => (seenSignal = signal));
  const abort = new AbortController();
  const req = new Request(request(), { signal: abort.signal });
  const res = await routes.handle(req);
  const reader = res.body!.getReader();
  await readUntil(reader, { text: "" }, '"role":"assistant"');
  expect(seenSignal?.aborted).toBe(false);
  abort.abort(); // what Bun does when the client goes away
  expect(seenSignal?.aborted).toBe(true);
});
