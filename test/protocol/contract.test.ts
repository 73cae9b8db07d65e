// One contract, every protocol: the same streaming cases run against Gemini, OpenAI and Anthropic
// (a new protocol adds a row). With Google slow to open a stream, every client gets its headers and a
// first byte before Google answered; a failure before that keeps its HTTP status and the protocol's
// error shape; a failure after the first byte ends with the protocol's error frame.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startStack, type Stack } from "../helpers/stack";

interface Protocol {
  name: string;
  /** a raw streaming request for `text` */
  request(s: Stack, text: string, model?: string): Promise<Response>;
  /** the answer's text out of the whole streamed body */
  text(body: string): string;
  /** the error frame at the end of a failed stream, or undefined */
  errorFrame(body: string): unknown;
  /** the error body of a failure before the stream started is in the protocol's shape */
  errorShape(body: any): boolean;
}

const MODEL = "gemini-2.5-flash";
const dataLines = (body: string) =>
  body
    .split(/\r?\n/)
    .filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(5).trim())
    .filter((d) => d && d !== "[DONE]")
    .map((d) => JSON.parse(d));
const post = (s: Stack, path: string, headers: Record<string, string>, body: unknown) =>
  fetch(s.url + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

const PROTOCOLS: Protocol[] = [
  {
    name: "Gemini",
    request: (s, text, model = MODEL) => post(s, `/v1beta/models/${model}:streamGenerateContent?alt=sse`, { "x-goog-api-key": s.apiKey }, { contents: [{ role: "user", parts: [{ text }] }] }),
    text: (b) => dataLines(b).map((d) => (d.candidates?.[0]?.content?.parts ?? []).map((p: any) => p.text ?? "").join("")).join(""),
    errorFrame: (b) => dataLines(b).find((d) => d.error),
    errorShape: (e) => typeof e?.error?.code === "number" && typeof e.error.status === "string",
  },
  {
    name: "OpenAI",
    request: (s, text, model = MODEL) => post(s, "/v1/chat/completions", { authorization: `Bearer ${s.apiKey}` }, { model, stream: true, messages: [{ role: "user", content: text }] }),
    text: (b) => dataLines(b).map((d) => d.choices?.[0]?.delta?.content ?? "").join(""),
    errorFrame: (b) => dataLines(b).find((d) => d.error),
    errorShape: (e) => typeof e?.error?.message === "string" && typeof e.error.type === "string",
  },
  {
    name: "Anthropic",
    request: (s, text, model = MODEL) =>
      post(s, "/v1/messages", { "x-api-key": s.apiKey, "anthropic-version": "2023-06-01" }, { model, max_tokens: 64, stream: true, messages: [{ role: "user", content: text }] }),
    text: (b) => dataLines(b).map((d) => (d.type === "content_block_delta" && d.delta?.type === "text_delta" ? d.delta.text : "")).join(""),
    errorFrame: (b) => dataLines(b).find((d) => d.type === "error"),
    errorShape: (e) => e?.type === "error" && typeof e.error?.type === "string" && typeof e.error?.message === "string",
  },
];

let s: Stack;
beforeAll(async () => {
  s = await startStack({ accounts: 1, delays: false, config: { server: { keepAliveSeconds: 0.05 } } });
});
afterAll(() => s.stop());

/** reads a streamed body, noting when the headers came and whether bytes arrived before upstream answered */
async function timeline(res: Response, upstreamAnswered: () => boolean) {
  const reader = res.body!.getReader();
  let body = "";
  let bytesBeforeUpstream = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!upstreamAnswered() && value.byteLength) bytesBeforeUpstream = true;
    body += new TextDecoder().decode(value);
  }
  return { body, bytesBeforeUpstream };
}

describe.each(PROTOCOLS)("$name", (p) => {
  test("Google slow to open the stream: headers and first bytes arrive before it answers; then the answer", async () => {
    s.sim.clearRequests();
    s.sim.addFault({ kind: "delay", method: "streamGenerateContent", delayMs: 600, times: 1 });
    // the simulator logs a call when it has answered it
    const upstreamAnswered = () => s.sim.requests({ method: "streamGenerateContent" }).length > 0;
    const res = await p.request(s, `slow ${p.name}`);
    expect(upstreamAnswered()).toBe(false); // the headers came first
    expect(res.status).toBe(200);
    const { body, bytesBeforeUpstream } = await timeline(res, upstreamAnswered);
    expect(bytesBeforeUpstream).toBe(true);
    expect(p.text(body)).toBe(`Echo: slow ${p.name}`);
  });

  test("a failure before the stream started keeps its HTTP status and the protocol's error shape", async () => {
    // its own model: the cooldown this causes must not touch the other cases
    s.sim.addFault({ kind: "quota_exhausted", model: "gemini-2.5-pro", times: 1, resetSeconds: 60 });
    const res = await p.request(s, "doomed", "gemini-2.5-pro");
    expect(res.status).toBe(429);
    expect(p.errorShape(await res.json())).toBe(true);
  });

  test("a failure after the first byte ends with the protocol's error frame, not a silent cut", async () => {
    s.sim.addFault({ kind: "stream_cut", method: "streamGenerateContent", times: 1 });
    const res = await p.request(s, "a longer answer, cut half way through by the network");
    expect(res.status).toBe(200);
    expect(p.errorFrame(await res.text())).toBeDefined();
  });
});
