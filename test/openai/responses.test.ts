// /v1/responses with the real OpenAI SDK against a running gateway backed by the upstream simulator
// (test/helpers/stack.ts): answers, streams, tool calls, previous_response_id, JSON output and errors.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startStack, type Stack } from "../helpers/stack";
import { NO_LIMITS } from "../../src/keys/limits-input";
import { SKIP_SIGNATURE } from "../../src/protocol/function-calls";

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ delays: false, config: { models: { aliases: { "my-fast": "gemini-2.5-flash" } } } });
  client = new OpenAI({ apiKey: stack.apiKey, baseURL: stack.url + "/v1", maxRetries: 0 });
});
afterAll(() => stack?.stop());
beforeEach(() => stack.sim.clearFaults());

const calls = () => stack.sim.requests().filter((r) => r.method === "generateContent" || r.method === "streamGenerateContent");
const lastSent = () => calls().at(-1)!.body.request;
const weather: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  description: "Current weather for a city",
  strict: true,
  parameters: {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  },
};

async function post(body: unknown): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const res = await fetch(`${stack.url}/v1/responses`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

/** the data of every SSE frame */
const sseEvents = (text: string) =>
  text
    .split("\n\n")
    .map((f) => f.split("\n").find((l) => l.startsWith("data: ")))
    .filter((l): l is string => !!l)
    .map((l) => JSON.parse(l.slice(6)));

describe("POST /v1/responses", () => {
  test("a text answer: the Response object, the model asked for, usage, served-by headers", async () => {
    const { data, response } = await client.responses
      .create({ model: "my-fast", input: "hello there", instructions: "You are terse." })
      .withResponse();
    expect(data.object).toBe("response");
    expect(data.id).toMatch(/^resp_/);
    expect(data.status).toBe("completed");
    expect(data.model).toBe("my-fast");
    expect(data.output_text).toBe("Echo: hello there");
    expect(data.instructions).toBe("You are terse.");
    const message = data.output.find((i) => i.type === "message")!;
    expect(message).toMatchObject({
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: "Echo: hello there" }],
    });
    const sent = lastSent();
    expect(sent.systemInstruction).toEqual({ role: "user", parts: [{ text: "You are terse." }] });
    expect(data.usage!.input_tokens).toBe(stack.sim.countTokens(sent));
    expect(data.usage!.output_tokens).toBeGreaterThan(0);
    expect(data.usage!.total_tokens).toBe(data.usage!.input_tokens + data.usage!.output_tokens);
    expect(data.usage!.input_tokens_details.cached_tokens).toBe(0);
    expect(typeof data.usage!.output_tokens_details.reasoning_tokens).toBe("number");
    expect(response.headers.get("x-account-email")).toBe(stack.accounts[0]!.email);
    expect(response.headers.get("x-mapped-model")).toBe("gemini-2.5-flash");
  });

  test("Google's thoughts become a reasoning item with a summary", async () => {
    const r = await client.responses.create({ model: "gemini-3-flash", input: "think about it", reasoning: { effort: "low" } });
    const reasoning = r.output[0] as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.type).toBe("reasoning");
    expect(reasoning.summary[0]!.text).toContain("think about it");
    expect(r.usage!.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(lastSent().generationConfig.thinkingConfig).toEqual({ includeThoughts: true, thinkingBudget: 1024 });
  });

  test("stream: the event sequence in order, numbered; finalResponse() text equals the joined deltas", async () => {
    const input = "tell me about streams please";
    const plain = await client.responses.create({ model: "gemini-3-flash", input });
    const stream = client.responses.stream({ model: "gemini-3-flash", input });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    const final = await stream.finalResponse();

    const types: string[] = events.map((e) => e.type);
    expect(types.slice(0, 2)).toEqual(["response.created", "response.in_progress"]);
    expect(types.at(-1)).toBe("response.completed");
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const msgAdded = events.findIndex((e) => e.type === "response.output_item.added" && e.item.type === "message");
    const order = [
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
    ];
    const messageTypes = types.slice(msgAdded).filter((t) => order.includes(t));
    expect([...new Set(messageTypes)]).toEqual(order);
    expect(types).toContain("response.reasoning_summary_text.delta");

    const deltas = events.filter((e): e is OpenAI.Responses.ResponseTextDeltaEvent => e.type === "response.output_text.delta");
    expect(deltas.length).toBeGreaterThan(1);
    const joined = deltas.map((d) => d.delta).join("");
    expect(final.output_text).toBe(joined);
    expect(joined).toBe(plain.output_text);
    expect(final.status).toBe("completed");
    const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(completed.response.usage!.input_tokens).toBe(plain.usage!.input_tokens);
    expect(completed.response.id).toBe(final.id);
  });

  test("stream over raw HTTP: SSE with event names, served-by headers, no [DONE]", async () => {
    const r = await post({ model: "gemini-2.5-flash", input: "raw", stream: true });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/event-stream");
    expect(r.headers.get("x-account-email")).toBeTruthy();
    expect(r.text).toContain("event: response.created\ndata: ");
    expect(r.text).not.toContain("[DONE]");
    expect(sseEvents(r.text).at(-1).type).toBe("response.completed");
  });

  test("a function call round trip on Gemini 3: call, output by call_id, the signature replayed", async () => {
    const first = await client.responses.create({ model: "gemini-3-flash", input: "call get_weather for Paris please", tools: [weather] });
    const call = first.output.find((i): i is OpenAI.Responses.ResponseFunctionToolCall => i.type === "function_call")!;
    expect(call).toMatchObject({ type: "function_call", name: "get_weather", status: "completed" });
    expect(call.id).toMatch(/^fc_/);
    expect(JSON.parse(call.arguments)).toHaveProperty("city");
    expect(calls().at(-1)!.body.request.tools[0].functionDeclarations[0].parameters).toEqual({
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    });

    // stateless, as Codex does it: the whole conversation as input
    const second = await client.responses.create({
      model: "gemini-3-flash",
      tools: [weather],
      store: false,
      input: [
        { role: "user", content: "call get_weather for Paris please" },
        ...(first.output as OpenAI.Responses.ResponseInputItem[]),
        { type: "function_call_output", call_id: call.call_id, output: '{"temp":21}' },
      ],
    });
    expect(second.output_text).toContain("get_weather");
    const sent = lastSent().contents;
    const modelTurn = sent.find((c: any) => c.role === "model");
    const callPart = modelTurn.parts.find((p: any) => p.functionCall);
    expect(callPart.functionCall).toEqual({ name: "get_weather", args: JSON.parse(call.arguments), id: call.call_id });
    expect(callPart.thoughtSignature.length).toBeGreaterThanOrEqual(50);
    expect(callPart.thoughtSignature).not.toBe(SKIP_SIGNATURE);
    expect(sent.at(-1).parts[0].functionResponse).toEqual({ name: "get_weather", response: { output: '{"temp":21}' }, id: call.call_id });
  });

  test("a function call streamed: the SDK assembles it; the round trip continues with previous_response_id", async () => {
    const stream = client.responses.stream({ model: "gemini-3-flash", input: "get_weather in Rome", tools: [weather] });
    const argDeltas: string[] = [];
    stream.on("response.function_call_arguments.delta", (e) => argDeltas.push(e.delta));
    const first = await stream.finalResponse();
    const call = first.output.find((i) => i.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call.name).toBe("get_weather");
    expect(argDeltas.join("")).toBe(call.arguments);
    expect(JSON.parse(call.arguments)).toHaveProperty("city");

    const next = await client.responses.create({
      model: "gemini-3-flash",
      tools: [weather],
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: call.call_id, output: "sunny" }],
    });
    expect(next.output_text).toContain("sunny");
    expect(next.previous_response_id).toBe(first.id);
    const sent = lastSent().contents;
    expect(sent[0].parts[0].text).toBe("get_weather in Rome");
    expect(sent[1].parts.find((p: any) => p.functionCall).thoughtSignature).not.toBe(SKIP_SIGNATURE);
  });

  test("previous_response_id: the stored input and output come first; instructions are not carried over", async () => {
    const first = await client.responses.create({ model: "gemini-2.5-flash", input: "my name is Ada", instructions: "Be kind." });
    const second = await client.responses.create({ model: "gemini-2.5-flash", input: "what is my name?", previous_response_id: first.id });
    expect(second.output_text).toBe("Echo: what is my name?");
    const sent = lastSent();
    expect(sent.contents).toEqual([
      { role: "user", parts: [{ text: "my name is Ada" }] },
      { role: "model", parts: [{ text: "Echo: my name is Ada" }] },
      { role: "user", parts: [{ text: "what is my name?" }] },
    ]);
    expect(sent.systemInstruction).toBeUndefined();

    // a chain: the third turn sees all of it
    await client.responses.create({ model: "gemini-2.5-flash", input: "and again", previous_response_id: second.id });
    expect(lastSent().contents.map((c: any) => c.parts[0].text)).toEqual([
      "my name is Ada",
      "Echo: my name is Ada",
      "what is my name?",
      "Echo: what is my name?",
      "and again",
    ]);

    // stored responses can be read back and deleted
    expect((await client.responses.retrieve(first.id)).output_text).toBe("Echo: my name is Ada");
    await client.responses.delete(first.id);
    expect(await client.responses.retrieve(first.id).catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);
  });

  test("a stored response belongs to its key: another key can neither read, continue nor delete it", async () => {
    const book = stack.ctx.keys!.book;
    const as = (name: string) => new OpenAI({ apiKey: book.create(name, NO_LIMITS).secret, baseURL: stack.url + "/v1", maxRetries: 0 });
    const alice = as("alice-responses");
    const bob = as("bob-responses");
    const mine = await alice.responses.create({ model: "gemini-2.5-flash", input: "alice's secret", instructions: "private" });
    for (const other of [bob, client]) {
      expect(await other.responses.retrieve(mine.id).catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);
      const cont = await other.responses
        .create({ model: "gemini-2.5-flash", input: "go on", previous_response_id: mine.id })
        .catch((e) => e);
      expect(cont).toBeInstanceOf(OpenAI.NotFoundError);
      expect(cont.param).toBe("previous_response_id");
      expect(await other.responses.delete(mine.id).catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    }
    expect((await alice.responses.retrieve(mine.id)).output_text).toBe("Echo: alice's secret");
    const next = await alice.responses.create({ model: "gemini-2.5-flash", input: "go on", previous_response_id: mine.id });
    expect(next.output_text).toBe("Echo: go on");
  });

  test("a response too large to keep says store: false, unary and streamed", async () => {
    // a quarter of the store's 64 MiB cap, as text the simulator answers briefly
    const big = "word ".repeat(3_500_000);
    const r = await client.responses.create({ model: "gemini-2.5-flash", input: big });
    expect((r as unknown as { store: boolean }).store).toBe(false);
    expect(await client.responses.retrieve(r.id).catch((e) => e)).toBeInstanceOf(OpenAI.NotFoundError);
    const s = client.responses.stream({ model: "gemini-2.5-flash", input: big });
    expect(((await s.finalResponse()) as unknown as { store: boolean }).store).toBe(false);
    const small = await client.responses.create({ model: "gemini-2.5-flash", input: "small" });
    expect((small as unknown as { store: boolean }).store).toBe(true);
  });

  test("a bad value deep in an input item is named where it is, not as 'input'", async () => {
    for (const [input, param] of [
      [[{ type: "function_call_output", call_id: "c", output: { not: "a string" } }], "input[0].output"],
      [[{ role: "user", content: [{ type: "input_text", text: 7 }] }], "input[0].content[0].text"],
    ] as const) {
      const err = await client.responses.create({ model: "gemini-2.5-flash", input: input as never }).catch((e) => e);
      expect(err.status).toBe(400);
      expect(err.param).toBe(param);
    }
  });

  test("an unknown previous_response_id is a 404 in OpenAI's shape naming it", async () => {
    const err = await client.responses
      .create({ model: "gemini-2.5-flash", input: "hi", previous_response_id: "resp_nope" })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.status).toBe(404);
    expect(err.error.param).toBe("previous_response_id");
    expect(err.error.message).toContain("resp_nope");
    expect(err.error.code).toBe("previous_response_not_found");

    // store: false is not kept
    const unstored = await client.responses.create({ model: "gemini-2.5-flash", input: "forget me", store: false });
    expect((unstored as unknown as { store: boolean }).store).toBe(false);
    const again = await client.responses
      .create({ model: "gemini-2.5-flash", input: "hi", previous_response_id: unstored.id })
      .catch((e) => e);
    expect(again).toBeInstanceOf(OpenAI.NotFoundError);
  });

  test("text.format json_schema → Gemini JSON mode with the schema; the answer parses", async () => {
    const schema = {
      type: "object",
      properties: { name: { type: "string" }, age: { type: "integer" } },
      required: ["name", "age"],
      additionalProperties: false,
    };
    const r = await client.responses.create({
      model: "gemini-2.5-flash",
      input: "a person please",
      text: { format: { type: "json_schema", name: "person", schema, strict: true } },
    });
    const parsed = JSON.parse(r.output_text);
    expect(typeof parsed.name).toBe("string");
    expect(Number.isInteger(parsed.age)).toBe(true);
    const gen = lastSent().generationConfig;
    expect(gen.responseMimeType).toBe("application/json");
    expect(gen.responseSchema).toEqual({
      type: "object",
      properties: { name: { type: "string" }, age: { type: "integer" } },
      required: ["name", "age"],
    });
    expect(r.text!.format).toMatchObject({ type: "json_schema", name: "person" });
  });

  test("an image as a data URL reaches Google as inline data", async () => {
    const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    await client.responses.create({
      model: "gemini-2.5-flash",
      input: [
        {
          role: "user",
          content: [
            { type: "input_text", text: "what is this?" },
            { type: "input_image", image_url: `data:image/png;base64,${PNG}`, detail: "auto" },
          ],
        },
      ],
    });
    expect(lastSent().contents[0].parts).toEqual([{ text: "what is this?" }, { inlineData: { mimeType: "image/png", data: PNG } }]);
  });

  test("a failure after the first byte ends with response.failed", async () => {
    stack.sim.addFault({ kind: "stream_cut", method: "streamGenerateContent", times: 1 });
    const r = await post({ model: "gemini-2.5-flash", input: "a longer answer, cut half way through by the network", stream: true });
    expect(r.status).toBe(200);
    const events = sseEvents(r.text);
    expect(events[0].type).toBe("response.created");
    const last = events.at(-1);
    expect(last.type).toBe("response.failed");
    expect(last.response.status).toBe("failed");
    expect(last.response.error.code).toBe("server_error");
    expect(typeof last.response.error.message).toBe("string");
    expect(events.map((e: any) => e.sequence_number)).toEqual(events.map((_: unknown, i: number) => i));
  });

  test("a failure before the first byte is a normal error response", async () => {
    stack.sim.addFault({ kind: "quota_exhausted", model: "gemini-2.5-flash-lite", times: 1, resetSeconds: 60 });
    const err = await client.responses.create({ model: "gemini-2.5-flash-lite", input: "doomed", stream: true }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.error.type).toBe("rate_limit_error");
  });
});

describe("bad input → 400 in OpenAI's shape naming the field", () => {
  test("a built-in tool is refused by name", async () => {
    const err = await client.responses
      .create({ model: "gemini-2.5-flash", input: "search", tools: [weather, { type: "web_search" }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error.type).toBe("invalid_request_error");
    expect(err.error.param).toBe("tools[1].type");
    expect(err.error.message).toContain("web_search");
    expect(calls().some((c) => JSON.stringify(c.body).includes("search"))).toBe(false);
  });

  const rows: [string, unknown, string][] = [
    ["missing model", { input: "x" }, "model"],
    ["temperature out of range", { model: "gemini-2.5-flash", input: "x", temperature: 7 }, "temperature"],
    ["a bad reasoning effort", { model: "gemini-2.5-flash", input: "x", reasoning: { effort: "max" } }, "reasoning.effort"],
    ["input of the wrong type", { model: "gemini-2.5-flash", input: 42 }, "input"],
    ["an unknown role", { model: "gemini-2.5-flash", input: [{ role: "robot", content: "x" }] }, "input[0].role"],
    ["no input", { model: "gemini-2.5-flash" }, "input"],
    [
      "a bad image data URL",
      { model: "gemini-2.5-flash", input: [{ role: "user", content: [{ type: "input_image", image_url: "data:image/png;base64,%%%" }] }] },
      "input[0].content[0].image_url",
    ],
    [
      "function_call arguments that are not JSON",
      {
        model: "gemini-2.5-flash",
        input: [
          { role: "user", content: "x" },
          { type: "function_call", call_id: "c", name: "f", arguments: "{" },
        ],
      },
      "input[1].arguments",
    ],
    ["a bad text.format type", { model: "gemini-2.5-flash", input: "x", text: { format: { type: "yaml" } } }, "text.format.type"],
  ];
  for (const [name, body, param] of rows)
    test(name, async () => {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(Object.keys(r.json)).toEqual(["error"]);
      expect(r.json.error.type).toBe("invalid_request_error");
      expect(r.json.error.param).toBe(param);
    });

  test("the SDK sees a BadRequestError with the param", async () => {
    const err = await client.responses.create({ model: "gemini-2.5-flash", input: "x", max_output_tokens: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error.param).toBe("max_output_tokens");
  });
});

describe("Google slow to open the stream", () => {
  test("headers, response.created and keep-alives go out before Google answered", async () => {
    const slow = await startStack({ delays: false, config: { server: { keepAliveSeconds: 0.05 } } });
    try {
      slow.sim.addFault({ kind: "delay", method: "streamGenerateContent", delayMs: 600, times: 1 });
      const res = await fetch(`${slow.url}/v1/responses`, {
        method: "POST",
        headers: { authorization: `Bearer ${slow.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "gemini-2.5-flash", input: "slow", stream: true }),
      });
      expect(res.status).toBe(200);
      const text = await res.text();
      const created = text.indexOf("event: response.created");
      const keepAlive = text.indexOf(": keep-alive");
      const firstDelta = text.indexOf("event: response.output_text.delta");
      expect(created).toBeGreaterThanOrEqual(0);
      expect(keepAlive).toBeGreaterThan(created);
      expect(firstDelta).toBeGreaterThan(keepAlive);
      const done = sseEvents(text).at(-1);
      expect(done.type).toBe("response.completed");
      expect(done.response.output.find((i: any) => i.type === "message").content[0].text).toBe("Echo: slow");
    } finally {
      await slow.stop();
    }
  });
});

test("Codex-shaped conversations (the same environment message first, their own prompt_cache_key) spread over the accounts", async () => {
  const pool = await startStack({ accounts: 3, delays: false });
  try {
    const c = new OpenAI({ apiKey: pool.apiKey, baseURL: `${pool.url}/v1`, maxRetries: 0 });
    const env = "<environment_context>\n  <cwd>/workspace</cwd>\n  <current_date>2026-11-30</current_date>\n</environment_context>";
    const served = new Set<string | null>();
    for (let i = 0; i < 3; i++) {
      const { response } = await c.responses
        .create({
          model: "gemini-2.5-flash",
          instructions: "You are Codex.",
          input: [
            { role: "user", content: [{ type: "input_text", text: env }] },
            { role: "user", content: [{ type: "input_text", text: `task ${i}` }] },
          ],
          store: false,
          prompt_cache_key: crypto.randomUUID(),
        } as never)
        .withResponse();
      served.add(response.headers.get("x-account-email"));
    }
    expect(served.size).toBe(3);
  } finally {
    await pool.stop();
  }
});
