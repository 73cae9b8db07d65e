// Error shapes on /v1/messages (Anthropic's {"type":"error","error":{type,message}}), failures after
// the stream started (an `error` event), and ping keep-alives while upstream is quiet.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { startStack, type Stack } from "../helpers/stack";
import { ApiError, errorBody } from "../../src/core/errors";

let stack: Stack;
let client: Anthropic;

beforeAll(async () => {
  // a short keep-alive so a delayed upstream shows pings
  stack = await startStack({ delays: false, config: { server: { keepAliveSeconds: 0.05 } } });
  client = new Anthropic({ apiKey: stack.apiKey, baseURL: stack.url, maxRetries: 0 });
});
afterAll(() => stack?.stop());

const ask = (model: string, extra: Record<string, unknown> = {}) =>
  client.messages
    .create({ model, max_tokens: 50, messages: [{ role: "user", content: "hi" }], ...extra } as any)
    .catch((e: unknown) => e as InstanceType<typeof Anthropic.APIError>);

const raw = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${stack.url}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": stack.apiKey, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

describe("error shapes", () => {
  test("400 invalid_request_error naming the field (validation)", async () => {
    const err = (await client.messages
      .create({ model: "claude-sonnet-4-6", messages: [{ role: "user", content: "x" }] } as any)
      .catch((e) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringContaining("max_tokens") },
    });
  });

  test("400 naming a block field (mapper) and malformed JSON", async () => {
    const res = await raw({
      model: "claude-sonnet-4-6",
      max_tokens: 10,
      messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "nope", content: "x" }] }],
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.type).toBe("error");
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain("messages[0].content[0].tool_use_id");
    const bad = await fetch(`${stack.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": stack.apiKey, "content-type": "application/json" },
      body: "{not json",
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.type).toBe("invalid_request_error");
  });

  test("numbers must be JSON numbers: a string max_tokens or budget_tokens is a 400 naming the field", async () => {
    const table: [Record<string, unknown>, string][] = [
      [{ max_tokens: "10" }, "max_tokens"],
      [{ max_tokens: 10, thinking: { type: "enabled", budget_tokens: "1024" } }, "budget_tokens"],
      [{ max_tokens: 10, top_k: "3" }, "top_k"],
    ];
    for (const [extra, field] of table) {
      const res = await raw({ model: "claude-sonnet-4-6", messages: [{ role: "user", content: "x" }], ...extra });
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringContaining(field) } });
    }
  });

  test("JSON is read whatever the content type (curl -d sends a form type), on both routes", async () => {
    const msg = { model: "claude-sonnet-4-6", max_tokens: 20, messages: [{ role: "user", content: "typed" }] };
    for (const type of ["application/x-www-form-urlencoded", "text/plain", undefined]) {
      const headers: Record<string, string> = { "x-api-key": stack.apiKey, ...(type ? { "content-type": type } : {}) };
      const res = await fetch(`${stack.url}/v1/messages`, { method: "POST", headers, body: JSON.stringify(msg) });
      expect(res.status).toBe(200);
      expect((await res.json()).content[0].text).toBe("Echo: typed");
      const count = await fetch(`${stack.url}/v1/messages/count_tokens`, {
        method: "POST",
        headers,
        body: JSON.stringify({ model: msg.model, messages: msg.messages }),
      });
      expect(count.status).toBe(200);
      expect((await count.json()).input_tokens).toBeGreaterThan(0);
    }
    const bad = await fetch(`${stack.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": stack.apiKey, "content-type": "text/plain" },
      body: "model=x",
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.type).toBe("invalid_request_error");
  });

  test("/swagger/json offers a ready request body for both routes", async () => {
    const doc = await (await fetch(`${stack.url}/swagger/json`, { headers: { "x-api-key": stack.apiKey } })).json();
    for (const path of ["/v1/messages", "/v1/messages/count_tokens"]) {
      const schema = doc.paths[path].post.requestBody.content["application/json"].schema;
      const example = schema.examples[0];
      expect(example).toMatchObject({ model: "claude-sonnet-4-6", messages: [{ role: "user", content: "Hello" }] });
      if (path === "/v1/messages") expect(schema.properties.max_tokens).toEqual({ type: "integer", minimum: 1 });
      // the example is a body the route accepts
      const res = await fetch(`${stack.url}${path}`, {
        method: "POST",
        headers: { "x-api-key": stack.apiKey, "content-type": "application/json" },
        body: JSON.stringify(example),
      });
      expect(res.status).toBe(200);
    }
    expect(doc.paths["/v1/messages"].post.requestBody.content["application/json"].schema.examples[0].max_tokens).toBe(256);
  });

  test("401 authentication_error for a wrong key", async () => {
    const wrong = new Anthropic({ apiKey: "sk-wrong", baseURL: stack.url, maxRetries: 0 });
    const err = (await wrong.messages
      .create({ model: "claude-sonnet-4-6", max_tokens: 5, messages: [{ role: "user", content: "x" }] })
      .catch((e) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(err.error).toMatchObject({ type: "error", error: { type: "authentication_error" } });
  });

  test("404 not_found_error for an unknown model", async () => {
    const err = await ask("no-such-model-1");
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect((err as any).error.error.type).toBe("not_found_error");
  });

  test("429 rate_limit_error with retry-after when the only account's quota is gone", async () => {
    stack.sim.addFault({ kind: "quota_exhausted", model: "gemini-2.5-pro", resetSeconds: 120 });
    try {
      const err = (await ask("gemini-2.5-pro")) as InstanceType<typeof Anthropic.APIError>;
      expect(err).toBeInstanceOf(Anthropic.RateLimitError);
      expect(err.error).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
      expect(Number(err.headers?.get("retry-after"))).toBeGreaterThan(0);
    } finally {
      stack.sim.clearFaults();
    }
  });

  test("no upstream capacity on the only account: the pool answers 429 with retry-after (every account cooling, as the contract says; Claude Code retries it)", async () => {
    stack.sim.addFault({ kind: "capacity_503", model: "gemini-3.1-pro-low", resetSeconds: 30 });
    try {
      const err = (await ask("gemini-3.1-pro-low")) as InstanceType<typeof Anthropic.APIError>;
      expect(err.status).toBe(429);
      expect(err.error).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
      expect(Number(err.headers?.get("retry-after"))).toBeGreaterThan(20);
    } finally {
      stack.sim.clearFaults();
    }
  });

  test("every status gets Anthropic's error type", () => {
    const table: [number, string][] = [
      [400, "invalid_request_error"],
      [401, "authentication_error"],
      [403, "permission_error"],
      [404, "not_found_error"],
      [413, "request_too_large"],
      [429, "rate_limit_error"],
      [500, "api_error"],
      [502, "api_error"],
      [503, "overloaded_error"],
      [529, "overloaded_error"],
    ];
    for (const [status, type] of table)
      expect(errorBody("anthropic", new ApiError(status, "m"))).toEqual({ type: "error", error: { type, message: "m" } });
  });
});

describe("streaming failures and keep-alives", () => {
  test("an upstream cut after the first byte becomes an `error` event (the SDK throws)", async () => {
    stack.sim.addFault({ kind: "stream_cut", model: "gemini-2.5-flash-lite", times: 1 });
    const res = await raw({
      model: "gemini-2.5-flash-lite",
      max_tokens: 100,
      stream: true,
      messages: [{ role: "user", content: "a longer answer please, several words" }],
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("event: message_start");
    expect(text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"\w+_error"/);
    expect(text).not.toContain("event: message_stop");

    stack.sim.addFault({ kind: "stream_cut", model: "gemini-2.5-flash-lite", times: 1 });
    const err = await client.messages
      .stream({ model: "gemini-2.5-flash-lite", max_tokens: 100, messages: [{ role: "user", content: "again please" }] })
      .finalMessage()
      .catch((e) => e);
    expect(err).toBeInstanceOf(Error);
  });

  test("ping events while upstream is slow to answer; the message still arrives whole", async () => {
    stack.sim.addFault({ kind: "delay", delayMs: 1000, times: 1 });
    const res = await raw({ model: "claude-sonnet-4-6", max_tokens: 100, stream: true, messages: [{ role: "user", content: "slow one" }] });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('event: ping\ndata: {"type":"ping"}');
    // message_start comes first, before any ping (the SDK requires it); one message id throughout
    expect(text).toStartWith("event: message_start\n");
    expect(text.match(/event: message_start/g)).toHaveLength(1);
    const answer = [...text.matchAll(/"text_delta","text":("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]!)).join("");
    expect(answer).toBe("Echo: slow one");
    expect(text).toContain("event: message_stop");
  });

  test("the SDK streams through a slow start (message_start, pings, then the answer with its usage)", async () => {
    stack.sim.addFault({ kind: "delay", delayMs: 500, times: 1 });
    const stream = client.messages.stream({ model: "gemini-3-flash", max_tokens: 100, messages: [{ role: "user", content: "patience" }] });
    const types: string[] = [];
    stream.on("streamEvent", (ev) => types.push(ev.type));
    const msg = await stream.finalMessage();
    expect(types[0]).toBe("message_start");
    expect(msg.content).toEqual([{ type: "text", text: "Echo: patience" } as any]);
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
  });
});
