// One contract, every protocol: the same streaming cases run against Gemini, OpenAI and Anthropic
// (a new protocol adds a row). With Google slow to open a stream, every client gets its headers and
// keep-alives before Google answered; a failure before that keeps its HTTP status and the protocol's
// error shape; a failure after the first byte ends with the protocol's error frame.
// Order, not wall-clock thresholds: the simulator logs a call once it has answered it.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startStack, type Stack } from "../helpers/stack";

/** keep-alive, answer text, error, the stream's end marker (OpenAI's [DONE]), or any other data frame */
type Frame = { kind: "keepalive" } | { kind: "text"; text: string } | { kind: "error"; body: any } | { kind: "done" } | { kind: "other" };

interface Protocol {
  name: string;
  /** a raw streaming request for `text` */
  request(s: Stack, text: string, model?: string): Promise<Response>;
  /** one SSE frame (the text between blank lines) → what it is */
  frame(raw: string): Frame;
  /** an error body (HTTP or final frame) is in the protocol's shape */
  errorShape(body: any): boolean;
}

const MODEL = "gemini-2.5-flash";
const data = (raw: string) => raw.match(/^data: ?(.*)$/m)?.[1];
const post = (s: Stack, path: string, headers: Record<string, string>, body: unknown) =>
  fetch(s.url + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
/** SSE comment frames are keep-alives; otherwise classify the JSON payload */
const classify = (raw: string, text: (d: any) => string | undefined, isError: (d: any) => boolean): Frame => {
  if (raw.startsWith(":")) return { kind: "keepalive" };
  const d = data(raw);
  if (d === "[DONE]") return { kind: "done" };
  if (!d) return { kind: "other" };
  const json = JSON.parse(d);
  if (isError(json)) return { kind: "error", body: json };
  const t = text(json);
  return t ? { kind: "text", text: t } : { kind: "other" };
};

const PROTOCOLS: Protocol[] = [
  {
    name: "Gemini",
    request: (s, text, model = MODEL) =>
      post(
        s,
        `/v1beta/models/${model}:streamGenerateContent?alt=sse`,
        { "x-goog-api-key": s.apiKey },
        { contents: [{ role: "user", parts: [{ text }] }] },
      ),
    frame: (raw) =>
      classify(
        raw,
        (d) => (d.candidates?.[0]?.content?.parts ?? []).map((p: any) => p.text ?? "").join(""),
        (d) => !!d.error,
      ),
    errorShape: (e) => typeof e?.error?.code === "number" && typeof e.error.status === "string" && typeof e.error.message === "string",
  },
  {
    name: "OpenAI",
    request: (s, text, model = MODEL) =>
      post(
        s,
        "/v1/chat/completions",
        { authorization: `Bearer ${s.apiKey}` },
        { model, stream: true, messages: [{ role: "user", content: text }] },
      ),
    frame: (raw) =>
      classify(
        raw,
        (d) => d.choices?.[0]?.delta?.content,
        (d) => !!d.error,
      ),
    errorShape: (e) => typeof e?.error?.message === "string" && typeof e.error.type === "string",
  },
  {
    name: "Anthropic",
    request: (s, text, model = MODEL) =>
      post(
        s,
        "/v1/messages",
        { "x-api-key": s.apiKey, "anthropic-version": "2023-06-01" },
        { model, max_tokens: 64, stream: true, messages: [{ role: "user", content: text }] },
      ),
    frame: (raw) =>
      raw.startsWith("event: ping\n")
        ? { kind: "keepalive" }
        : classify(
            raw,
            (d) => (d.type === "content_block_delta" && d.delta?.type === "text_delta" ? d.delta.text : undefined),
            (d) => d.type === "error",
          ),
    errorShape: (e) => e?.type === "error" && typeof e.error?.type === "string" && typeof e.error?.message === "string",
  },
];

let s: Stack;
/** the same, with keep-alives after 5 s: a failure "before the stream started" must not depend on the machine answering within 50 ms */
let patient: Stack;
beforeAll(async () => {
  s = await startStack({ accounts: 1, delays: false, config: { server: { keepAliveSeconds: 0.05 } } });
  patient = await startStack({ accounts: 1, delays: false, config: { server: { keepAliveSeconds: 5 } } });
});
afterAll(async () => {
  await s.stop();
  await patient.stop();
});
beforeEach(() => {
  for (const x of [s, patient]) {
    x.sim.clearFaults();
    x.sim.clearRequests();
  }
});

const QUOTA_MODELS = ["gemini-2.5-pro", "gemini-2.5-flash-lite", "gemini-3-flash"];
const upstreamAnswered = () => s.sim.requests({ method: "streamGenerateContent" }).length > 0;

interface Seen {
  frame: Frame;
  at: number;
  /** the simulator had answered when this frame reached the client */
  afterUpstream: boolean;
}

/** sends the request and reads the stream frame by frame, noting when each part arrived */
async function stream(p: Protocol, text: string) {
  const res = await p.request(s, text);
  const headers = { at: performance.now(), afterUpstream: upstreamAnswered() };
  const frames: Seen[] = [];
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    const parts = buf.split(/\r?\n\r?\n/);
    buf = parts.pop()!;
    for (const raw of parts.filter(Boolean)) frames.push({ frame: p.frame(raw), at: performance.now(), afterUpstream: upstreamAnswered() });
  }
  const answer = frames.map((f) => (f.frame.kind === "text" ? f.frame.text : "")).join("");
  return { res, headers, frames, answer };
}

describe.each(PROTOCOLS)("$name", (p) => {
  test("Google slow to open the stream: headers and keep-alives come before Google answered", async () => {
    s.sim.addFault({ kind: "delay", method: "streamGenerateContent", delayMs: 600, times: 1 });
    const { res, headers, frames, answer } = await stream(p, `slow ${p.name}`);
    expect(res.status).toBe(200);
    expect(headers.afterUpstream).toBe(false);
    const firstData = frames.findIndex((f) => f.frame.kind === "text");
    expect(firstData).toBeGreaterThan(0);
    expect(headers.at).toBeLessThan(frames[firstData]!.at);
    const before = frames.slice(0, firstData);
    expect(before.some((f) => f.frame.kind === "keepalive" && !f.afterUpstream)).toBe(true);
    expect(answer).toBe(`Echo: slow ${p.name}`);
    // the account and model being tried when the reply started, which then served it
    expect(res.headers.get("x-account-email")).toBe(s.accounts[0]!.email);
    expect(res.headers.get("x-mapped-model")).toBeTruthy();
  });

  test('the streamed answer is "Echo: <prompt>"', async () => {
    const { res, frames, answer } = await stream(p, `hello ${p.name}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-account-email")).toBe(s.accounts[0]!.email);
    expect(frames.some((f) => f.frame.kind === "error")).toBe(false);
    expect(answer).toBe(`Echo: hello ${p.name}`);
  });

  test("a failure before the stream started keeps its HTTP status and the protocol's error shape", async () => {
    // a model of its own per protocol: the cooldown a 429 causes must not answer the next row's request
    const model = QUOTA_MODELS[PROTOCOLS.indexOf(p)]!;
    patient.sim.addFault({ kind: "quota_exhausted", model, times: 1, resetSeconds: 60 });
    const res = await p.request(patient, "doomed", model);
    expect(res.status).toBe(429);
    expect(patient.sim.requests({ method: "streamGenerateContent" }).map((r) => r.status)).toEqual([429]); // Google's own answer
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(p.errorShape(await res.json())).toBe(true);
  });

  test.each(["stream_cut", "stream_end"] as const)(
    "%s after the first byte ends with the protocol's error frame, not a silent cut",
    async (kind) => {
      // stream_end: upstream closes cleanly, but before any finish reason — short, not finished
      s.sim.addFault({ kind, method: "streamGenerateContent", times: 1 });
      const { res, frames } = await stream(p, "a longer answer, cut half way through by the network");
      expect(res.status).toBe(200);
      const at = frames.findIndex((f) => f.frame.kind === "error");
      expect(at).toBeGreaterThan(0); // data frames had gone out before it
      expect(frames.slice(0, at).some((f) => f.frame.kind === "text" || f.frame.kind === "other")).toBe(true);
      expect(frames.slice(at + 1).every((f) => f.frame.kind === "done")).toBe(true); // it is the last word
      expect(p.errorShape((frames[at]!.frame as { body: unknown }).body)).toBe(true);
    },
  );
});
