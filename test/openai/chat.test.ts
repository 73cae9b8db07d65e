// /v1/chat/completions and /v1/models with the real OpenAI SDK against a running gateway backed by the
// upstream simulator (test/helpers/stack.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startStack, type Stack } from "../helpers/stack";
import { SKIP_SIGNATURE } from "../../src/protocol/function-calls";

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({
    delays: false,
    config: { models: { aliases: { "my-fast": "gemini-2.5-flash", "team-*": "gemini-3-flash" } } },
  });
  client = new OpenAI({ apiKey: stack.apiKey, baseURL: stack.url + "/v1", maxRetries: 0 });
});
afterAll(() => stack?.stop());

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
/** without a method: either generation method (non-stream Claude and Gemini 3 requests go upstream as streams) */
const calls = (method?: string) =>
  method
    ? stack.sim.requests({ method })
    : stack.sim.requests().filter((r) => r.method === "generateContent" || r.method === "streamGenerateContent");
const lastSent = (method?: string) => calls(method).at(-1)!.body.request;
const weather: OpenAI.ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
      additionalProperties: false,
    },
  },
};

async function rawStream(body: Record<string, unknown>): Promise<{ res: Response; text: string }> {
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ ...body, stream: true }),
  });
  return { res, text: await res.text() };
}
const dataLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith("data: "))
    .map((l) => l.slice(6));

describe("GET /v1/models", () => {
  test("OpenAI list shape: the catalogue plus exact aliases", async () => {
    const list = await client.models.list();
    const ids = list.data.map((m) => m.id);
    expect(ids).toContain("gemini-2.5-flash");
    expect(ids).toContain("gemini-3.1-flash-image");
    expect(ids).toContain("my-fast");
    expect(ids).not.toContain("team-*");
    for (const m of list.data) {
      expect(m.object).toBe("model");
      expect(typeof m.created).toBe("number");
      expect(typeof m.owned_by).toBe("string");
    }
    expect(list.data.find((m) => m.id === "my-fast")!.owned_by).toBe("switchyard");
  });

  test("retrieve one; an unknown id is a 404 in OpenAI's shape", async () => {
    expect((await client.models.retrieve("gemini-2.5-flash")).id).toBe("gemini-2.5-flash");
    const err = await client.models.retrieve("no-such-model").catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.error.type).toBe("not_found_error");
  });
});

describe("POST /v1/chat/completions", () => {
  test("non-stream with a system prompt: answer, usage, served-by headers", async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: "gemini-2.5-flash",
        messages: [
          { role: "system", content: "You are terse." },
          { role: "user", content: "hello there" },
        ],
      })
      .withResponse();
    expect(data.object).toBe("chat.completion");
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.model).toBe("gemini-2.5-flash");
    expect(data.choices[0]!.message.content).toBe("Echo: hello there");
    expect(data.choices[0]!.finish_reason).toBe("stop");
    expect((data.choices[0]!.message as any).reasoning_content).toContain("hello there");
    const sent = lastSent();
    expect(sent.systemInstruction).toEqual({ role: "user", parts: [{ text: "You are terse." }] });
    expect(data.usage!.prompt_tokens).toBe(stack.sim.countTokens(sent));
    expect(data.usage!.completion_tokens).toBeGreaterThan(data.usage!.completion_tokens_details!.reasoning_tokens!);
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
    expect(response.headers.get("x-account-email")).toBe(stack.accounts[0]!.email);
    expect(response.headers.get("x-mapped-model")).toBe("gemini-2.5-flash");
  });

  test("an alias is served by its upstream model; the client's name is echoed", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "team-blue", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(data.model).toBe("team-blue");
    expect(response.headers.get("x-mapped-model")).toBe("gemini-3-flash");
  });

  test("stream: role first, deltas, finish, usage chunk, [DONE]; same text as non-stream", async () => {
    const params = { model: "gemini-3-flash", messages: [{ role: "user" as const, content: "tell me about streams please" }] };
    const plain = await client.chat.completions.create(params);
    const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe(plain.choices[0]!.message.content!);
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(1);
    expect(chunks.some((c) => (c.choices[0]?.delta as any)?.reasoning_content)).toBe(true);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe("stop");
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.prompt_tokens).toBe(plain.usage!.prompt_tokens);

    const { res, text: raw } = await rawStream(params);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("x-account-email")).toBeTruthy();
    const lines = dataLines(raw);
    expect(lines.at(-1)).toBe("[DONE]");
    expect(lines.slice(0, -1).every((l) => JSON.parse(l).object === "chat.completion.chunk")).toBe(true);
    expect(lines.some((l) => l.includes('"usage":{'))).toBe(false);
  });

  test("tool call round trip on Gemini 3 (signature carried across turns)", async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "call get_weather for Paris please" }];
    const first = await client.chat.completions.create({ model: "gemini-3-flash", messages, tools: [weather] });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    const call = choice.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.type).toBe("function");
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments)).toHaveProperty("city");
    expect(calls().at(-1)!.body.request.tools[0].functionDeclarations[0].parameters).toEqual({
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    });

    messages.push(choice.message, { role: "tool", tool_call_id: call.id, content: '{"temp":21}' });
    const second = await client.chat.completions.create({ model: "gemini-3-flash", messages, tools: [weather] });
    expect(second.choices[0]!.message.content).toContain("get_weather");
    expect(second.choices[0]!.finish_reason).toBe("stop");
    const replayed = lastSent().contents;
    const modelTurn = replayed.find((c: any) => c.role === "model");
    expect(modelTurn.parts[0].functionCall).toEqual({ name: "get_weather", args: JSON.parse(call.function.arguments), id: call.id });
    expect(modelTurn.parts[0].thoughtSignature.length).toBeGreaterThanOrEqual(50);
    expect(modelTurn.parts[0].thoughtSignature).not.toBe(SKIP_SIGNATURE);
    const results = replayed.at(-1);
    expect(results.parts[0].functionResponse).toEqual({ name: "get_weather", response: { output: '{"temp":21}' }, id: call.id });
  });

  test("tool call via the SDK's stream helper: the accumulated call is whole", async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "get_weather in Rome" }];
    const runner = client.chat.completions.stream({
      model: "gemini-3-flash",
      messages,
      tools: [weather],
      stream_options: { include_usage: true },
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments)).toHaveProperty("city");

    messages.push({ role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: call.id, content: "sunny" });
    const next = await client.chat.completions.create({ model: "gemini-3-flash", messages, tools: [weather], stream: true });
    let text = "";
    for await (const c of next) text += c.choices[0]?.delta.content ?? "";
    expect(text).toContain("sunny");
    expect(lastSent("streamGenerateContent").contents[1].parts[0].thoughtSignature).not.toBe(SKIP_SIGNATURE);
  });

  test("a tool call id the gateway never issued (e.g. after a restart) still works", async () => {
    const res = await client.chat.completions.create({
      model: "gemini-3-flash",
      tools: [weather],
      messages: [
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_from_before", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }],
        },
        { role: "tool", tool_call_id: "call_from_before", content: "snow" },
      ],
    });
    expect(res.choices[0]!.message.content).toContain("snow");
    expect(lastSent().contents[1].parts[0].thoughtSignature).toBe(SKIP_SIGNATURE);
  });

  test("tool_choice forcing a function → ANY with that name", async () => {
    const other: OpenAI.ChatCompletionTool = {
      type: "function",
      function: { name: "get_time", parameters: { type: "object", properties: {} } },
    };
    const res = await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "anything" }],
      tools: [weather, other],
      tool_choice: { type: "function", function: { name: "get_time" } },
    });
    expect((res.choices[0]!.message.tool_calls![0] as any).function.name).toBe("get_time");
    expect(lastSent().toolConfig).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_time"] } });
    expect(lastSent().tools[0].functionDeclarations[1]).toEqual({ name: "get_time" });
  });

  test("JSON mode: json_object and json_schema", async () => {
    const a = await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "json please" }],
      response_format: { type: "json_object" },
    });
    expect(() => JSON.parse(a.choices[0]!.message.content!)).not.toThrow();
    expect(lastSent().generationConfig.responseMimeType).toBe("application/json");

    const b = await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "a person" }],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "person",
          strict: true,
          schema: {
            type: "object",
            properties: { name: { type: "string" }, age: { type: "integer", exclusiveMinimum: 0 } },
            required: ["name", "age"],
            additionalProperties: false,
          },
        },
      },
    });
    const parsed = JSON.parse(b.choices[0]!.message.content!);
    expect(typeof parsed.name).toBe("string");
    expect(typeof parsed.age).toBe("number");
    expect(lastSent().generationConfig.responseSchema).toEqual({
      type: "object",
      properties: { name: { type: "string" }, age: { type: "integer", description: "(exclusiveMinimum: 0)" } },
      required: ["name", "age"],
    });

    // a schema that is no object is refused, naming it (chat and Responses), before any upstream call
    const before = stack.sim.requests().length;
    for (const schema of ["abc", 42, [1]]) {
      const chat = await client.chat.completions
        .create({
          model: "gemini-2.5-flash",
          messages: [{ role: "user", content: "x" }],
          response_format: { type: "json_schema", json_schema: { name: "n", schema: schema as never } },
        })
        .catch((e) => e);
      expect(chat.status).toBe(400);
      expect(chat.message).toContain("response_format.json_schema.schema");
      const resp = await client.responses
        .create({ model: "gemini-2.5-flash", input: "x", text: { format: { type: "json_schema", name: "n", schema: schema as never } } })
        .catch((e) => e);
      expect(resp.status).toBe(400);
      expect(resp.message).toContain("text.format.schema");
    }
    expect(stack.sim.requests().length).toBe(before);
  });

  test("parallel_tool_calls: false gives one tool call an answer — chat, chat streamed, Responses (the model made two)", async () => {
    const time: OpenAI.ChatCompletionTool = { type: "function", function: { ...weather.function, name: "get_time" } };
    const ask = (parallel: boolean) => ({
      model: "gemini-3-flash",
      messages: [{ role: "user" as const, content: "use get_weather and get_time" }],
      tools: [weather, time],
      parallel_tool_calls: parallel,
    });
    const names = (c: OpenAI.ChatCompletion) =>
      (c.choices[0]!.message.tool_calls ?? []).map((t) => (t as { function: { name: string } }).function.name);
    expect(names(await client.chat.completions.create(ask(true)))).toEqual(["get_weather", "get_time"]);
    const one = await client.chat.completions.create(ask(false));
    expect(names(one)).toEqual(["get_weather"]);
    expect(one.choices[0]!.finish_reason).toBe("tool_calls");
    const streamed = await client.chat.completions.stream(ask(false)).finalChatCompletion();
    expect(names(streamed)).toEqual(["get_weather"]);
    const r = await client.responses.create({
      model: "gemini-3-flash",
      input: "use get_weather and get_time",
      tools: [weather, time].map((t) => ({
        type: "function" as const,
        name: t.function.name,
        parameters: t.function.parameters!,
        strict: false,
      })),
      parallel_tool_calls: false,
    });
    expect(r.output.filter((o) => o.type === "function_call").map((o) => (o as { name: string }).name)).toEqual(["get_weather"]);
  });

  test("json_schema with number enums: upstream gets text values, the client gets its own types back (chat and Responses)", async () => {
    const schema = {
      type: "object",
      properties: {
        level: { type: "integer", enum: [1, 2, 3] },
        ratio: { type: "number", enum: [0.5, 1.5] },
      },
      required: ["level", "ratio"],
      additionalProperties: false,
    };
    const chat = await client.chat.completions.create({
      model: "gemini-3-flash",
      messages: [{ role: "user", content: "rate it" }],
      response_format: { type: "json_schema", json_schema: { name: "rating", strict: true, schema } },
    });
    const sent = lastSent().generationConfig.responseSchema;
    expect(sent.properties.level).toMatchObject({ type: "string", enum: ["1", "2", "3"] });
    const a = JSON.parse(chat.choices[0]!.message.content!);
    expect(typeof a.level).toBe("number");
    expect([0.5, 1.5]).toContain(a.ratio);
    const r = await client.responses.create({
      model: "gemini-3-flash",
      input: "rate it",
      text: { format: { type: "json_schema", name: "rating", strict: true, schema } },
    });
    const b = JSON.parse(r.output_text);
    expect(typeof b.level).toBe("number");

    // streamed: the text is held back until whole, so the deltas the SDK joins parse to the client's types
    const chatStream = client.chat.completions.stream({
      model: "gemini-3-flash",
      messages: [{ role: "user", content: "rate it" }],
      response_format: { type: "json_schema", json_schema: { name: "rating", strict: true, schema } },
    });
    let joined = "";
    chatStream.on("content.delta", ({ delta }) => (joined += delta));
    const c = JSON.parse((await chatStream.finalChatCompletion()).choices[0]!.message.content!);
    expect(typeof c.level).toBe("number");
    expect(JSON.parse(joined)).toEqual(c);
    let deltas = "";
    const rs = client.responses.stream({
      model: "gemini-3-flash",
      input: "rate it",
      text: { format: { type: "json_schema", name: "rating", strict: true, schema } },
    });
    rs.on("response.output_text.delta", (e) => (deltas += e.delta));
    const d = JSON.parse((await rs.finalResponse()).output_text);
    expect(typeof d.level).toBe("number");
    expect(JSON.parse(deltas)).toEqual(d);
  });

  test("json_schema whose values all travel as they are: the chat stream's text is not held back", async () => {
    const schema = { type: "object", properties: { name: { type: "string" } }, required: ["name"] };
    const chunks: string[] = [];
    const s = client.chat.completions.stream({
      model: "gemini-3-flash",
      messages: [{ role: "user", content: "name it" }],
      response_format: { type: "json_schema", json_schema: { name: "n", schema } },
    });
    s.on("content.delta", ({ delta }) => chunks.push(delta));
    await s.finalChatCompletion();
    expect(chunks.length).toBeGreaterThan(1);
  });

  test("the functions API (before tools): the call comes back as message.function_call, finish_reason function_call, streamed or not", async () => {
    const fn = (weather as { function: OpenAI.FunctionDefinition }).function;
    const ask = {
      model: "gemini-3-flash",
      messages: [{ role: "user" as const, content: "use get_weather for Paris" }],
      functions: [fn],
      function_call: { name: "get_weather" },
    };
    const one = await client.chat.completions.create(ask);
    expect(one.choices[0]!.finish_reason).toBe("function_call");
    expect(one.choices[0]!.message.function_call?.name).toBe("get_weather");
    expect(one.choices[0]!.message.tool_calls).toBeUndefined();
    const streamed = await client.chat.completions.stream(ask).finalChatCompletion();
    expect(streamed.choices[0]!.finish_reason).toBe("function_call");
    expect(streamed.choices[0]!.message.function_call?.name).toBe("get_weather");
    // and the next turn, in the same API, goes on
    const next = await client.chat.completions.create({
      ...ask,
      function_call: "auto",
      messages: [
        ...ask.messages,
        { role: "assistant", content: null, function_call: one.choices[0]!.message.function_call! },
        { role: "function", name: "get_weather", content: '{"temp":21}' },
      ],
    });
    expect(next.choices[0]!.message.content).toBeTruthy();
  });

  test("vision: a data-URI image reaches upstream as inlineData", async () => {
    await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is in this picture?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
          ],
        },
      ],
    });
    expect(lastSent().contents[0].parts).toEqual([
      { text: "what is in this picture?" },
      { inlineData: { mimeType: "image/png", data: PNG } },
    ]);
  });

  test("a remote image URL is refused while openai.fetchRemoteImages is off", async () => {
    const err = await client.chat.completions
      .create({
        model: "gemini-2.5-flash",
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://127.0.0.1:9/cat.png" } }] }],
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error.param).toBe("messages[0].content[0].image_url");
  });

  test("an image model through chat answers with a markdown data-URI image", async () => {
    const res = await client.chat.completions.create({
      model: "gemini-3.1-flash-image-16x9",
      messages: [{ role: "user", content: "a red kite" }],
    });
    expect(res.choices[0]!.message.content).toMatch(/!\[image\]\(data:image\/png;base64,iVBORw0KGgo[^)]+\)/);
    const call = calls().at(-1)!;
    expect(call.body.requestType).toBe("image_gen");
    expect(call.body.model).toBe("gemini-3.1-flash-image");
    expect(call.body.request.generationConfig.imageConfig).toEqual({ aspectRatio: "16:9" });
    expect(call.body.request.tools).toBeUndefined();
  });

  test("sampling and reasoning fields reach upstream", async () => {
    await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "x" }],
      temperature: 0.3,
      top_p: 0.8,
      max_completion_tokens: 300,
      seed: 42,
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
      reasoning_effort: "low",
    });
    expect(lastSent().generationConfig).toEqual({
      temperature: 0.3,
      topP: 0.8,
      seed: 42,
      presencePenalty: 0.1,
      frequencyPenalty: 0.2,
      thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 },
      maxOutputTokens: 1324,
    });
  });

  test("reasoning_effort none: no reasoning in the answer", async () => {
    const res = await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "quick" }],
      reasoning_effort: "none" as any,
    });
    expect((res.choices[0]!.message as any).reasoning_content).toBeUndefined();
    expect(res.usage!.completion_tokens_details!.reasoning_tokens).toBe(0);
  });

  test("max_tokens reached → finish_reason length; stop sequences cut", async () => {
    const long = "word ".repeat(200);
    const a = await client.chat.completions.create({
      model: "claude-sonnet-4-6",
      messages: [{ role: "user", content: long }],
      max_tokens: 5,
    });
    expect(a.choices[0]!.finish_reason).toBe("length");
    const b = await client.chat.completions.create({
      model: "claude-sonnet-4-6",
      messages: [{ role: "user", content: "alpha STOPHERE beta" }],
      stop: ["STOPHERE"],
    });
    expect(b.choices[0]!.message.content).toBe("Echo: alpha ");
  });

  test("an upstream failure after the first byte ends the stream with an error chunk and [DONE]", async () => {
    stack.sim.addFault({ kind: "stream_cut", times: 1, method: "streamGenerateContent" });
    const { res, text } = await rawStream({
      model: "claude-sonnet-4-6",
      messages: [{ role: "user", content: "a fairly long answer would be nice here" }],
    });
    expect(res.status).toBe(200);
    const lines = dataLines(text);
    expect(lines.at(-1)).toBe("[DONE]");
    const err = JSON.parse(lines.at(-2)!);
    expect(typeof err.error.message).toBe("string");
    expect(typeof err.error.type).toBe("string");

    stack.sim.addFault({ kind: "stream_cut", times: 1, method: "streamGenerateContent" });
    const stream = await client.chat.completions.create({
      model: "claude-sonnet-4-6",
      messages: [{ role: "user", content: "again a fairly long answer" }],
      stream: true,
    });
    const thrown = await (async () => {
      for await (const _ of stream);
    })().catch((e) => e);
    expect(thrown).toBeInstanceOf(OpenAI.APIError);
  });
});
