// Error shapes on the OpenAI routes (docs/contract.md §7): bad input names the field, auth is a 401 the SDK
// recognises, and a pool that is cooling down everywhere answers 429 with Retry-After.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startStack, type Stack } from "../helpers/stack";

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ accounts: 2, delays: false });
  client = new OpenAI({ apiKey: stack.apiKey, baseURL: stack.url + "/v1", maxRetries: 0 });
});
afterAll(() => stack?.stop());

async function post(path: string, body: string, key = stack.apiKey): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(stack.url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body,
  });
  return { status: res.status, headers: res.headers, json: await res.json() };
}

const expectOpenAIShape = (json: any) => {
  expect(Object.keys(json)).toEqual(["error"]);
  expect(Object.keys(json.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(typeof json.error.message).toBe("string");
  expect(json.error.message).not.toMatch(/\bat .+\.ts:\d+/); // no stack traces
};

describe("bad input → 400 invalid_request_error naming the field", () => {
  const rows: [string, unknown, string][] = [
    ["missing messages", { model: "gemini-2.5-flash" }, "messages"],
    ["empty messages", { model: "gemini-2.5-flash", messages: [] }, "messages"],
    ["missing model", { messages: [{ role: "user", content: "x" }] }, "model"],
    ["unknown role", { model: "gemini-2.5-flash", messages: [{ role: "robot", content: "x" }] }, "messages[0].role"],
    ["temperature out of range", { model: "gemini-2.5-flash", messages: [{ role: "user", content: "x" }], temperature: 7 }, "temperature"],
    [
      "bad reasoning_effort",
      { model: "gemini-2.5-flash", messages: [{ role: "user", content: "x" }], reasoning_effort: "max" },
      "reasoning_effort",
    ],
    [
      "bad image data URI",
      {
        model: "gemini-2.5-flash",
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,%%%" } }] }],
      },
      "messages[0].content[0].image_url",
    ],
  ];
  for (const [name, body, param] of rows)
    test(name, async () => {
      const r = await post("/v1/chat/completions", JSON.stringify(body));
      expect(r.status).toBe(400);
      expectOpenAIShape(r.json);
      expect(r.json.error.type).toBe("invalid_request_error");
      expect(r.json.error.param).toBe(param);
    });

  // a nullable number out of range says the limit it broke, not "expected integer or null" (it is an integer)
  test.each([
    [
      "/v1/chat/completions",
      { model: "gemini-2.5-flash", messages: [{ role: "user", content: "x" }], max_tokens: -5 },
      "max_tokens",
      /greater or equal to 1/,
    ],
    [
      "/v1/chat/completions",
      { model: "gemini-2.5-flash", messages: [{ role: "user", content: "x" }], temperature: 5 },
      "temperature",
      /less or equal to 2/,
    ],
    ["/v1/images/generations", { prompt: "x", n: 11 }, "n", /less or equal to 10/],
    ["/v1/responses", { model: "gemini-2.5-flash", input: "x", max_output_tokens: -1 }, "max_output_tokens", /greater or equal/],
  ])("%s: %o → 400 naming the limit", async (path, body, param, why) => {
    const r = await post(path, JSON.stringify(body));
    expect(r.status).toBe(400);
    expect(r.json.error.param).toBe(param);
    expect(r.json.error.message).toMatch(why);
    expect(r.json.error.message).not.toContain("or null");
  });

  // the body's depth check skips strings: the JSON inside a tool call's arguments is checked on its own
  test.each([
    ["/v1/chat/completions", "messages[1].tool_calls[0].function.arguments"],
    ["/v1/responses", "input[1].arguments"],
  ])("%s: arguments nesting past server.maxJsonDepth → 400 naming them, not a 500", async (path, param) => {
    const args = '{"a":' + "[".repeat(60_000) + "]".repeat(60_000) + "}";
    const body =
      path === "/v1/responses"
        ? {
            model: "gemini-2.5-flash",
            input: [
              { role: "user", content: "x" },
              { type: "function_call", call_id: "c1", name: "f", arguments: args },
              { type: "function_call_output", call_id: "c1", output: "ok" },
            ],
          }
        : {
            model: "gemini-2.5-flash",
            messages: [
              { role: "user", content: "x" },
              { role: "assistant", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: args } }] },
              { role: "tool", tool_call_id: "c1", content: "ok" },
            ],
          };
    const r = await post(path, JSON.stringify(body));
    expect(r.status).toBe(400);
    expect(r.json.error.param).toBe(param);
    expect(r.json.error.code).toBe("json_too_deep");
  });

  test("the SDK sees a BadRequestError with the param", async () => {
    const err = await client.chat.completions.create({ model: "gemini-2.5-flash" } as any).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error.param).toBe("messages");
  });

  test("malformed JSON", async () => {
    const r = await post("/v1/chat/completions", "{not json");
    expect(r.status).toBe(400);
    expectOpenAIShape(r.json);
  });

  test("a tool schema upstream would reject is cleaned, not forwarded", async () => {
    const res = await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "hi" }],
      tools: [
        {
          type: "function",
          function: {
            name: "mcp_tool",
            parameters: {
              type: "object",
              $defs: { Mode: { enum: [1, 2] } },
              properties: {
                mode: { $ref: "#/$defs/Mode" },
                tags: { type: "array", items: { type: "string" }, uniqueItems: true },
                extra: { type: "object", propertyNames: { pattern: "^x" } },
              },
              additionalProperties: false,
              defer_loading: true,
            } as any,
          },
        },
      ],
    });
    expect(res.choices[0]!.message.content).toBe("Echo: hi");
  });
});

describe("auth", () => {
  test("a wrong key → 401 authentication_error (the SDK's AuthenticationError)", async () => {
    const bad = new OpenAI({ apiKey: "sk-wrong", baseURL: stack.url + "/v1", maxRetries: 0 });
    const err = await bad.chat.completions
      .create({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "x" }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err.error.type).toBe("authentication_error");
    const r = await post("/v1/images/generations", JSON.stringify({ prompt: "x" }), "sk-wrong");
    expect(r.status).toBe(401);
    expectOpenAIShape(r.json);
    const models = await fetch(stack.url + "/v1/models");
    expect(models.status).toBe(401);
    expectOpenAIShape(await models.json());
  });
});

describe("every account cooling down", () => {
  test("429 with Retry-After, for chat (unary and stream) and images; a quota gone for long is insufficient_quota (clients stop), a short limit rate_limit_error", async () => {
    stack.sim.addFault({ kind: "rate_limited", resetSeconds: 2, times: 2 });
    const limited = await post(
      "/v1/chat/completions",
      JSON.stringify({ model: "gemini-2.5-flash-lite", messages: [{ role: "user", content: "x" }] }),
    );
    expect(limited.status).toBe(429);
    expect(limited.json.error.type).toBe("rate_limit_error");
    stack.sim.addFault({ kind: "quota_exhausted", resetSeconds: 600 });
    const chat = await post(
      "/v1/chat/completions",
      JSON.stringify({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "x" }] }),
    );
    expect(chat.status).toBe(429);
    expectOpenAIShape(chat.json);
    expect(chat.json.error).toMatchObject({ type: "insufficient_quota", code: "insufficient_quota" });
    expect(Number(chat.headers.get("retry-after"))).toBeGreaterThan(0);

    const stream = await post(
      "/v1/chat/completions",
      JSON.stringify({ model: "gemini-2.5-flash", stream: true, messages: [{ role: "user", content: "x" }] }),
    );
    expect(stream.status).toBe(429);
    expect(Number(stream.headers.get("retry-after"))).toBeGreaterThan(0);

    const err = await client.chat.completions
      .create({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "x" }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);

    const images = await post("/v1/images/generations", JSON.stringify({ prompt: "x", n: 2 }));
    expect(images.status).toBe(429);
    expectOpenAIShape(images.json);
    expect(Number(images.headers.get("retry-after"))).toBeGreaterThan(0);
    stack.sim.clearFaults();
  });
});
