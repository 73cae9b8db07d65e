// Error shapes by route family (docs/contract.md §7) for every failure the shell produces.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startStack, type Stack } from "../helpers/stack";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ config: { server: { maxBodyBytes: 4096 } } });
});
afterAll(() => stack.stop());

const auth = () => ({ authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" });
const post = (path: string, body: string, headers: Record<string, string> = auth()) =>
  fetch(stack.url + path, { method: "POST", headers, body });

const isGemini = (b: any, code: number) =>
  b.error?.code === code && typeof b.error.message === "string" && typeof b.error.status === "string";
const isOpenAI = (b: any) =>
  typeof b.error?.message === "string" && typeof b.error.type === "string" && "param" in b.error && "code" in b.error;
const isAnthropic = (b: any) => b.type === "error" && typeof b.error?.type === "string" && typeof b.error.message === "string";
const isPlain = (b: any) =>
  typeof b.error?.message === "string" && typeof b.error.code === "string" && !("type" in b.error) && !("status" in b.error);

describe("malformed JSON → 400 in the family's shape", () => {
  test("gemini", async () => {
    const r = await post("/v1beta/models/gemini-2.5-flash:generateContent", "{oops");
    expect(r.status).toBe(400);
    const b = await r.json();
    expect(isGemini(b, 400)).toBe(true);
    expect(b.error.status).toBe("INVALID_ARGUMENT");
  });
  test("openai", async () => {
    const r = await post("/v1/chat/completions", "{oops");
    expect(r.status).toBe(400);
    const b = await r.json();
    expect(isOpenAI(b)).toBe(true);
    expect(b.error.type).toBe("invalid_request_error");
  });
  test("anthropic", async () => {
    const r = await post("/v1/messages", "{oops");
    expect(r.status).toBe(400);
    const b = await r.json();
    expect(isAnthropic(b)).toBe(true);
    expect(b.error.type).toBe("invalid_request_error");
  });
});

describe("validation names the field", () => {
  test("openai: messages missing", async () => {
    const r = await post("/v1/chat/completions", JSON.stringify({ model: "gemini-2.5-flash" }));
    expect(r.status).toBe(400);
    const b = await r.json();
    expect(b.error.param).toBe("messages");
    expect(b.error.message).toContain("messages");
  });
  test.each([
    ["/v1/chat/completions", { model: "gemini-2.5-flash", max_tokens: "10", messages: [{ role: "user", content: "hi" }] }, "max_tokens"],
    ["/v1/chat/completions", { model: "gemini-2.5-flash", n: "2", messages: [{ role: "user", content: "hi" }] }, "n"],
    ["/v1/responses", { model: "gemini-2.5-flash", max_output_tokens: "10", input: "hi" }, "max_output_tokens"],
  ])("openai: a number sent as text is the wrong type, as OpenAI says (%s %p)", async (path, body, field) => {
    const r = await post(path, JSON.stringify(body));
    expect(r.status).toBe(400);
    const b = await r.json();
    expect(isOpenAI(b)).toBe(true);
    expect(b.error.message).toContain(field);
  });
  test("anthropic: max_tokens of the wrong type", async () => {
    const r = await post(
      "/v1/messages",
      JSON.stringify({ model: "claude-sonnet-4-6", max_tokens: "lots", messages: [{ role: "user", content: "hi" }] }),
    );
    expect(r.status).toBe(400);
    const b = await r.json();
    expect(isAnthropic(b)).toBe(true);
    expect(b.error.message).toContain("max_tokens");
  });
  test("gemini: contents of the wrong type", async () => {
    const r = await post("/v1beta/models/gemini-2.5-flash:generateContent", JSON.stringify({ contents: "hello" }));
    expect(r.status).toBe(400);
    const b = await r.json();
    expect(isGemini(b, 400)).toBe(true);
    expect(b.error.message).toContain("contents");
  });
});

describe("wrong-typed optional fields are a 400, never silently rewritten", () => {
  const cases: [string, object, string][] = [
    [
      "/v1/messages",
      { model: "claude-sonnet-4-6", max_tokens: 20, output_config: 3, messages: [{ role: "user", content: "hi" }] },
      "output_config",
    ],
    [
      "/v1/messages",
      { model: "claude-sonnet-4-6", max_tokens: 20, metadata: "x", messages: [{ role: "user", content: "hi" }] },
      "metadata",
    ],
    [
      "/v1/chat/completions",
      { model: "gemini-2.5-flash", stream_options: 5, messages: [{ role: "user", content: "hi" }] },
      "stream_options",
    ],
  ];
  for (const [path, body, field] of cases)
    test(`${path} ${field}`, async () => {
      const r = await post(path, JSON.stringify(body));
      expect(r.status).toBe(400);
      expect(JSON.stringify(await r.json())).toContain(field);
    });
});

describe("404, 405, 413", () => {
  test("unknown routes get 404 in each shape", async () => {
    const h = { authorization: `Bearer ${stack.apiKey}` };
    const g = await fetch(stack.url + "/v1beta/nothing/here", { headers: h });
    expect(g.status).toBe(404);
    expect(isGemini(await g.json(), 404)).toBe(true);
    const o = await fetch(stack.url + "/v1/nothing", { headers: h });
    expect(o.status).toBe(404);
    expect(isOpenAI(await o.json())).toBe(true);
    const a = await fetch(stack.url + "/v1/messages/nothing", { headers: h });
    expect(a.status).toBe(404);
    expect(isAnthropic(await a.json())).toBe(true);
    const p = await fetch(stack.url + "/nothing", { headers: h });
    expect(p.status).toBe(404);
    expect(isPlain(await p.json())).toBe(true);
  });

  test("a known path with the wrong method gets 405 with Allow", async () => {
    const r = await fetch(stack.url + "/v1/chat/completions", { headers: { authorization: `Bearer ${stack.apiKey}` } });
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toContain("POST");
    expect(isOpenAI(await r.json())).toBe(true);
  });

  test("a body over server.maxBodyBytes gets a JSON 413", async () => {
    const r = await post("/v1/messages", JSON.stringify({ pad: "x".repeat(8000) }));
    expect(r.status).toBe(413);
    const b = await r.json();
    expect(isAnthropic(b)).toBe(true);
    expect(b.error.message).toContain("maxBodyBytes");
  });
});

describe("413 for every oversize body", () => {
  test("a chunked body (no Content-Length) is cut off at the limit with a JSON 413", async () => {
    const chunk = new TextEncoder().encode("x".repeat(1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 16) c.enqueue(chunk);
        else c.close();
      },
    });
    const r = await fetch(stack.url + "/v1/chat/completions", { method: "POST", headers: auth(), body, duplex: "half" } as RequestInit);
    expect(r.status).toBe(413);
    expect(isOpenAI(await r.json())).toBe(true);
  });

  test("a chunked body under the limit still works", async () => {
    const payload = JSON.stringify({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "hi" }] });
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(payload));
        c.close();
      },
    });
    const r = await fetch(stack.url + "/v1/chat/completions", { method: "POST", headers: auth(), body, duplex: "half" } as RequestInit);
    expect(r.status).toBe(200);
  });

  test("a huge declared Content-Length gets a JSON 413 with a request id, before any body is sent", async () => {
    const { port, hostname } = new URL(stack.url);
    let raw = "";
    const done = Promise.withResolvers<void>();
    const sock = await Bun.connect({
      hostname,
      port: Number(port),
      socket: {
        data(_s, d) {
          raw += new TextDecoder().decode(d);
          if (raw.includes("\r\n\r\n") && raw.includes("}")) done.resolve();
        },
        close() {
          done.resolve();
        },
      },
    });
    sock.write(
      `POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${stack.apiKey}\r\nContent-Type: application/json\r\nContent-Length: 9999999999\r\n\r\n`,
    );
    await done.promise;
    sock.end();
    expect(raw).toMatch(/^HTTP\/1\.1 413/);
    expect(raw.toLowerCase()).toContain("x-request-id:");
    const json = JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4));
    expect(isAnthropic(json)).toBe(true);
  });
});

describe("every response", () => {
  test("carries X-Request-Id, and keeps a sane client-given one", async () => {
    const r1 = await fetch(stack.url + "/healthz", { headers: { authorization: `Bearer ${stack.apiKey}` } });
    expect(r1.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const r2 = await fetch(stack.url + "/nothing", { headers: { "x-request-id": "abc-123" } });
    expect(r2.headers.get("x-request-id")).toBe("abc-123");
  });

  test("error bodies never carry a stack trace", async () => {
    const r = await post("/v1/chat/completions", JSON.stringify({ model: 5, messages: "x" }));
    const text = await r.text();
    expect(r.status).toBe(400);
    expect(text).not.toMatch(/at .+\.ts:\d+/);
  });
});
