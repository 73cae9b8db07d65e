// /v1/messages and /v1/messages/count_tokens with the real Anthropic SDK against a real gateway and
// the upstream simulator (test/helpers/stack.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { jsonSchemaOutputFormat } from "@anthropic-ai/sdk/helpers/json-schema";
import { startStack, type Stack } from "../helpers/stack";
import { until } from "../helpers/util";
import { readSignature, splitToolId, tagSignature } from "../../src/anthropic/signature";

let stack: Stack;
let client: Anthropic;

beforeAll(async () => {
  stack = await startStack({ delays: false });
  client = new Anthropic({ apiKey: stack.apiKey, baseURL: stack.url, maxRetries: 0 });
});
afterAll(() => stack?.stop());

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const weather: Anthropic.Tool = {
  name: "get_weather",
  description: "Current weather for a city",
  input_schema: { type: "object", properties: { city: { type: "string", description: "city name" } }, required: ["city"] },
};
/** "generate": either generation method (non-stream Claude and Gemini 3 requests go upstream as streams) */
const upstreamCalls = (method: string) =>
  method === "generate"
    ? stack.sim.requests().filter((r) => r.method === "generateContent" || r.method === "streamGenerateContent")
    : stack.sim.requests({ method });
const lastUpstream = (method: string) => upstreamCalls(method).at(-1)!.body.request;
/** everything but the ids and signature bytes (fresh per response) and the SDK's own stream-helper fields */
function withoutIds(m: Anthropic.Message) {
  const { parsed_output: _p, stop_details: _s, ...rest } = m as any;
  return {
    ...rest,
    id: "msg",
    content: m.content.map((b) => {
      const { parsed_output: _bp, ...block } = b as any;
      if (block.type === "thinking") return { ...block, signature: block.signature.replace(/^(sy1\.\w+\.[tp]\.).+$/s, "$1<sig>") };
      return block.type === "tool_use" ? { ...block, id: "toolu" } : block;
    }),
  };
}

describe("POST /v1/messages", () => {
  test("non-stream: text, stop reason, usage, served-by headers", async () => {
    const { data, response } = await client.messages
      .create({ model: "claude-sonnet-4-6", max_tokens: 256, system: "be brief", messages: [{ role: "user", content: "hello there" }] })
      .withResponse();
    expect(data.type).toBe("message");
    expect(data.role).toBe("assistant");
    expect(data.model).toBe("claude-sonnet-4-6");
    expect(data.id).toMatch(/^msg_/);
    expect(data.content).toEqual([{ type: "text", text: "Echo: hello there" } as any]);
    expect(data.stop_reason).toBe("end_turn");
    const sent = lastUpstream("generate");
    expect(data.usage.input_tokens).toBe(stack.sim.countTokens(sent));
    expect(data.usage.output_tokens).toBeGreaterThan(0);
    expect(data.usage.cache_read_input_tokens).toBe(0);
    expect(data.usage.cache_creation_input_tokens).toBe(0);
    expect(response.headers.get("x-account-email")).toBe(stack.accounts[0]!.email);
    expect(response.headers.get("x-mapped-model")).toBe("claude-sonnet-4-6");
    expect(sent.systemInstruction).toEqual({ role: "user", parts: [{ text: "be brief" }] });
  });

  test("stream: the SDK's collected message equals the non-stream one; events in protocol order", async () => {
    for (const model of ["claude-opus-4-6-thinking", "gemini-2.5-flash"]) {
      const params: Anthropic.MessageCreateParamsNonStreaming = {
        model,
        max_tokens: 4096,
        thinking: { type: "enabled", budget_tokens: 1024 },
        messages: [{ role: "user", content: "tell me about streams" }],
      };
      const plain = await client.messages.create(params);
      const stream = client.messages.stream(params);
      const types: string[] = [];
      stream.on("streamEvent", (ev) => types.push(ev.type));
      const streamed = await stream.finalMessage();
      expect(withoutIds(streamed)).toEqual(withoutIds(plain));
      expect(plain.content.map((b) => b.type)).toEqual(["thinking", "text"]);
      expect((plain.content[0] as Anthropic.ThinkingBlock).signature).toStartWith(
        `sy1.${model.startsWith("claude") ? "claude" : "gemini"}.t.`,
      );
      expect(types[0]).toBe("message_start");
      expect(types.slice(-2)).toEqual(["message_delta", "message_stop"]);
      expect(types.filter((t) => t === "content_block_delta").length).toBeGreaterThan(2);
    }
  });

  test("stream over raw HTTP: SSE framing with event names, served-by headers", async () => {
    const res = await fetch(`${stack.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": stack.apiKey, "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "claude-sonnet-4-6", max_tokens: 100, stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    expect(res.headers.get("x-mapped-model")).toBe("claude-sonnet-4-6");
    const text = await res.text();
    const events = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => [m[1], JSON.parse(m[2]!).type]);
    for (const [name, type] of events) expect(name).toBe(type);
    expect(events[0]![0]).toBe("message_start");
    expect(events.at(-1)![0]).toBe("message_stop");
  });

  test("tool-use round trip with thinking signatures carried across turns (Claude)", async () => {
    const model = "claude-opus-4-6-thinking";
    const q: Anthropic.MessageParam = { role: "user", content: "please call get_weather for Paris" };
    const base = { model, max_tokens: 4096, thinking: { type: "enabled" as const, budget_tokens: 2048 }, tools: [weather] };
    const first = await client.messages.stream({ ...base, messages: [q] }).finalMessage();
    expect(first.stop_reason).toBe("tool_use");
    const call = first.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock;
    expect(call).toMatchObject({ name: "get_weather", input: { city: expect.any(String) } });
    const signed = first.content.filter((b) => b.type === "thinking") as Anthropic.ThinkingBlock[];
    expect(signed.length).toBeGreaterThan(0);
    const before = upstreamCalls("generate").length;

    const second = await client.messages.create({
      ...base,
      messages: [
        q,
        { role: "assistant", content: first.content as any },
        { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "18C and sunny" }] },
      ],
    });
    expect(second.stop_reason).toBe("end_turn");
    expect((second.content.find((b) => b.type === "text") as Anthropic.TextBlock).text).toContain(
      'Function get_weather returned {"output":"18C and sunny"}',
    );
    // one upstream call (no repair needed), and the history carries upstream's own signatures where they came from
    expect(
      upstreamCalls("generate")
        .slice(before)
        .map((c) => c.status),
    ).toEqual([200]);
    const sent = lastUpstream("generate");
    const model1 = sent.contents[1];
    expect(model1.role).toBe("model");
    const upstreamSig: string = model1.parts[0].thoughtSignature;
    expect(model1.parts[0]).toMatchObject({ thought: true, text: (signed[0] as Anthropic.ThinkingBlock).thinking });
    expect(signed[0]!.signature).toBe(tagSignature("claude", "thought", upstreamSig));
    expect(model1.parts.at(-1)).toMatchObject({ functionCall: { name: "get_weather", id: call.id } });
    expect(sent.contents[2].parts[0]).toEqual({
      functionResponse: { name: "get_weather", response: { output: "18C and sunny" }, id: call.id },
    });
  });

  test("tool-use round trip on Gemini 3 (its call signature must come back on the call)", async () => {
    const model = "gemini-3-flash";
    const q: Anthropic.MessageParam = { role: "user", content: "use get_weather for Rome" };
    // thinking was not requested: no thinking block; the call's signature rides in its tool id
    const first = await client.messages.stream({ model, max_tokens: 1024, tools: [weather], messages: [q] }).finalMessage();
    const call = first.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock;
    expect(first.content.map((b) => b.type)).toEqual(["tool_use"]);
    const carried = readSignature(splitToolId(call.id).tagged);
    expect(carried).toMatchObject({ family: "gemini", on: "part" });
    expect(upstreamCalls("streamGenerateContent").at(-1)!.body.request.contents).toHaveLength(1);
    const second = await client.messages.create({
      model,
      max_tokens: 1024,
      tools: [weather],
      messages: [
        q,
        { role: "assistant", content: first.content as any },
        { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "rainy" }] },
      ],
    });
    expect((second.content[0] as Anthropic.TextBlock).text).toContain("Function get_weather returned");
    const sent = lastUpstream("generate");
    // upstream gets its own signature back on the call, and the plain id on call and response
    const plainId = splitToolId(call.id).id;
    expect(sent.contents[1].parts).toEqual([
      { functionCall: { name: "get_weather", args: call.input, id: plainId }, thoughtSignature: carried!.signature },
    ]);
    expect(sent.contents[1].parts[0].thoughtSignature).not.toBe("skip_thought_signature_validator");
    expect(sent.contents[2].parts[0].functionResponse.id).toBe(plainId);
  });

  test("no thinking requested → no thinking block, stream or not (Claude and Gemini 3)", async () => {
    for (const model of ["claude-sonnet-4-6", "gemini-3-flash"]) {
      const params = { model, max_tokens: 256, messages: [{ role: "user" as const, content: "hello without thinking" }] };
      const plain = await client.messages.create(params);
      expect(plain.content).toEqual([{ type: "text", text: "Echo: hello without thinking" } as any]);
      const res = await fetch(`${stack.url}/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": stack.apiKey, "content-type": "application/json" },
        body: JSON.stringify({ ...params, stream: true }),
      });
      const text = await res.text();
      expect(text).toContain("event: message_stop");
      expect(text).not.toContain('"type":"thinking"');
      expect(text).not.toContain("signature");
    }
  });

  test("a bogus signature upstream rejects is repaired once: exactly 2 upstream calls, then success", async () => {
    stack.sim.clearRequests();
    const bogus = tagSignature("claude", "thought", "forged".repeat(12));
    const res = await client.messages.create({
      model: "claude-opus-4-6-thinking",
      max_tokens: 4096,
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: [
        { role: "user", content: "first question" },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "old thoughts", signature: bogus },
            { type: "text", text: "old answer" },
          ],
        },
        { role: "user", content: "second question" },
      ],
    });
    expect(res.content.find((b) => b.type === "text")).toMatchObject({ text: "Echo: second question" });
    const calls = upstreamCalls("generate");
    expect(calls.map((c) => c.status)).toEqual([400, 200]);
    expect(JSON.stringify(calls[1]!.body)).not.toContain("forged");
  });

  test("images: base64 is inlined; URL sources are refused when fetching is off (400 naming the block)", async () => {
    const ok = await client.messages.create({
      model: "gemini-2.5-flash",
      max_tokens: 100,
      messages: [
        {
          role: "user",
          content: [
            { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
            { type: "text", text: "what is this" },
          ],
        },
      ],
    });
    expect((ok.content[0] as Anthropic.TextBlock).text).toBe("Echo: what is this");
    expect(lastUpstream("generate").contents[0].parts[0]).toEqual({ inlineData: { mimeType: "image/png", data: PNG } });
    expect(ok.usage.input_tokens).toBeGreaterThanOrEqual(258); // the simulator's flat image charge

    const err = await client.messages
      .create({
        model: "gemini-2.5-flash",
        max_tokens: 100,
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "and this?" },
              { type: "image", source: { type: "url", url: "http://127.0.0.1:1/x.png" } },
            ],
          },
        ],
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringContaining("messages[0].content[1].source") },
    });
  });

  test("an image model's answer: the image in its own paragraph, and back upstream as an image on the next turn", async () => {
    const first = await client.messages.create({
      model: "gemini-3.1-flash-image",
      max_tokens: 256,
      messages: [{ role: "user", content: "a red kite" }],
    });
    const text = first.content.map((b) => (b.type === "text" ? b.text : "")).join("");
    expect(text).toMatch(/!\[image\]\(data:image\/png;base64,iVBORw0KGgo[^)]+\)/);
    const at = text.indexOf("![image]");
    if (at > 0) expect(text.slice(0, at)).toMatch(/\n$/);
    const streamed = await client.messages
      .stream({ model: "gemini-3.1-flash-image", max_tokens: 256, messages: [{ role: "user", content: "a red kite" }] })
      .finalMessage();
    expect(streamed.content.map((b) => (b.type === "text" ? b.text : "")).join("")).toBe(text);
    await client.messages.create({
      model: "gemini-3.1-flash-image",
      max_tokens: 256,
      messages: [
        { role: "user", content: "a red kite" },
        { role: "assistant", content: first.content.filter((b) => b.type === "text") as Anthropic.TextBlockParam[] },
        { role: "user", content: "make it blue" },
      ],
    });
    const model = lastUpstream("generate").contents[1];
    expect(model.role).toBe("model");
    const image = model.parts.find((p: any) => p.inlineData);
    expect(image.inlineData.mimeType).toBe("image/png");
    expect(JSON.stringify(model.parts.filter((p: any) => p.text))).not.toContain("base64");
  });

  test("structured outputs (output_config.format): a JSON answer of the schema, parsed by the SDK, stream or not; values sent as text come back typed", async () => {
    const format = jsonSchemaOutputFormat({
      type: "object",
      properties: { name: { type: "string" }, age: { type: "integer" }, size: { type: "number", enum: [1, 2.5] } },
      required: ["name", "age", "size"],
      additionalProperties: false,
    });
    for (const model of ["claude-sonnet-4-6", "gemini-3-flash"]) {
      const params = { model, max_tokens: 256, messages: [{ role: "user" as const, content: "a person" }], output_config: { format } };
      const parsed = await client.messages.parse(params);
      expect(typeof parsed.parsed_output!.name).toBe("string");
      expect(Number.isInteger(parsed.parsed_output!.age)).toBe(true);
      expect([1, 2.5]).toContain(parsed.parsed_output!.size);
      const sent = lastUpstream("generate").generationConfig;
      expect(sent.responseMimeType).toBe("application/json");
      expect(sent.responseSchema.properties.name).toEqual({ type: "string" });
      const streamed = await client.messages.stream(params).finalMessage();
      expect(JSON.parse((streamed.content[0] as Anthropic.TextBlock).text)).toEqual(parsed.parsed_output);
    }
    const bad = await client.messages
      .create({
        model: "gemini-3-flash",
        max_tokens: 10,
        messages: [{ role: "user", content: "x" }],
        output_config: { format: { type: "xml" } },
      } as any)
      .catch((e) => e);
    expect(bad.status).toBe(400);
    expect(bad.message).toContain("output_config.format.type");
  });

  test("a base64 image whose data is not base64 is a 400 naming source.data, and nothing is sent upstream", async () => {
    const before = upstreamCalls("generate").length;
    const err = await client.messages
      .create({
        model: "gemini-2.5-flash",
        max_tokens: 100,
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "look" },
              { type: "image", source: { type: "base64", media_type: "image/png", data: "%%%" } },
            ],
          },
        ],
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error.error.message).toContain("messages[0].content[1].source.data");
    expect(upstreamCalls("generate").length).toBe(before);
  });

  test("stop_sequences end the answer where they match (stop_reason stop_sequence)", async () => {
    const params = {
      model: "claude-sonnet-4-6",
      max_tokens: 100,
      stop_sequences: ["world"],
      messages: [{ role: "user" as const, content: "hello world again" }],
    };
    const plain = await client.messages.create(params);
    expect(plain).toMatchObject({
      stop_reason: "stop_sequence",
      stop_sequence: "world",
      content: [{ type: "text", text: "Echo: hello " }],
    });
    // streaming stops reading upstream at the match: the same answer
    const records: { input: number; output: number; status: number }[] = [];
    const stop = stack.ctx.keys!.onRecord((r) => records.push({ input: r.input, output: r.output, status: r.status }));
    const counts = upstreamCalls("countTokens").length;
    try {
      const streamed = await client.messages.stream(params).finalMessage();
      expect({ ...withoutIds(streamed), usage: null }).toEqual({ ...withoutIds(plain), usage: null });
      // upstream's usage comes with its last chunk, never read here: the prompt and the answer so far are
      // counted upstream, for the client's message_delta and for the usage log (and a key's token limits)
      expect(streamed.usage.input_tokens).toBe(plain.usage.input_tokens);
      expect(streamed.usage.output_tokens).toBeGreaterThan(0);
      await until(() => records.length > 0, "the stream's usage record", 3000);
      expect(records[0]!.input).toBe(plain.usage.input_tokens);
      expect(records[0]!.output).toBe(streamed.usage.output_tokens);
      // counted once for both: the prompt, and the answer
      expect(upstreamCalls("countTokens").length - counts).toBe(2);
    } finally {
      stop();
    }
  });

  test("tool input under anyOf / oneOf keeps the client's types (an optional object, a number-or-keyword), Claude and Gemini", async () => {
    const schema = {
      type: "object" as const,
      properties: {
        opt: {
          anyOf: [
            {
              type: "object",
              properties: { level: { type: "integer", enum: [1, 2, 3] }, on: { type: "boolean", enum: [true] } },
              required: ["level", "on"],
            },
            { type: "null" },
          ],
        },
        either: {
          anyOf: [
            { type: "integer", enum: [10, 20] },
            { type: "string", enum: ["auto"] },
          ],
        },
      },
      required: ["opt", "either"],
    };
    for (const model of ["claude-sonnet-4-6", "gemini-3-flash"]) {
      const res = await client.messages.create({
        model,
        max_tokens: 300,
        tools: [{ name: "configure", input_schema: schema }],
        tool_choice: { type: "tool", name: "configure" },
        messages: [{ role: "user", content: "go" }],
      });
      const input = (res.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock).input as any;
      expect(typeof input.opt.level).toBe("number");
      expect(input.opt.on).toBe(true);
      expect([10, 20, "auto"]).toContain(input.either);
      if (model.startsWith("claude")) {
        // Claude gets one schema for the number-or-keyword: one enum of every value, not the integers alone
        const sent = lastUpstream("generate").tools[0].functionDeclarations[0].parameters.properties.either;
        expect(sent.enum).toEqual(["10", "20", "auto"]);
      }
    }
  });

  test("tool_choice reaches upstream (tool → ANY with the name)", async () => {
    const res = await client.messages.create({
      model: "gemini-2.5-flash",
      max_tokens: 100,
      tools: [weather, { ...weather, name: "get_time" }],
      tool_choice: { type: "tool", name: "get_time" },
      messages: [{ role: "user", content: "anything" }],
    });
    expect(res.content.find((b) => b.type === "tool_use")).toMatchObject({ name: "get_time" });
    expect(lastUpstream("generate").toolConfig).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_time"] } });
  });

  test("tool_choice.disable_parallel_tool_use: one tool_use a turn, stream or not (the model asked for two)", async () => {
    const tools = [weather, { ...weather, name: "get_time" }];
    const ask = (disable: boolean) => ({
      model: "claude-sonnet-4-6",
      max_tokens: 300,
      tools,
      tool_choice: { type: "auto" as const, disable_parallel_tool_use: disable },
      messages: [{ role: "user" as const, content: "use get_weather and get_time" }],
    });
    const calls = (m: Anthropic.Message) => m.content.filter((b) => b.type === "tool_use").map((b) => (b as Anthropic.ToolUseBlock).name);
    expect(calls(await client.messages.create(ask(false)))).toEqual(["get_weather", "get_time"]);
    const one = await client.messages.create(ask(true));
    expect(calls(one)).toEqual(["get_weather"]);
    expect(one.stop_reason).toBe("tool_use");
    expect(calls(await client.messages.stream(ask(true)).finalMessage())).toEqual(["get_weather"]);
  });
});

describe("POST /v1/messages/count_tokens", () => {
  test("the real upstream count of the mapped request, system and tools included", async () => {
    const params = {
      model: "claude-sonnet-4-6",
      system: "you are a weather bot",
      tools: [weather],
      messages: [{ role: "user" as const, content: "weather in Oslo?" }],
    };
    const { input_tokens } = await client.messages.countTokens(params);
    const sent = lastUpstream("countTokens");
    expect(sent.systemInstruction).toBeDefined();
    expect(sent.tools).toBeDefined();
    expect(input_tokens).toBe(stack.sim.countTokens(sent));
    const bare = await client.messages.countTokens({ model: params.model, messages: params.messages });
    expect(input_tokens).toBeGreaterThan(bare.input_tokens);
    expect(bare.input_tokens).toBeGreaterThan(0);
  });
});

describe("Claude Code specifics", () => {
  const body = JSON.stringify({ model: "claude-sonnet-4-6", max_tokens: 50, messages: [{ role: "user", content: "probe" }] });
  test("HEAD / and GET / answer 200", async () => {
    const head = await fetch(stack.url + "/", { method: "HEAD", headers: { authorization: `Bearer ${stack.apiKey}` } });
    expect(head.status).toBe(200);
    const get = await fetch(stack.url + "/", { headers: { authorization: `Bearer ${stack.apiKey}` } });
    expect(get.status).toBe(200);
    expect(await get.json()).toMatchObject({ name: "switchyard" });
  });

  test("?beta=true, unknown query parameters and anthropic-* headers are accepted", async () => {
    const res = await fetch(`${stack.url}/v1/messages?beta=true&foo=bar`, {
      method: "POST",
      headers: {
        "x-api-key": stack.apiKey,
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14",
      },
      body,
    });
    expect(res.status).toBe(200);
    expect((await res.json()).content[0].text).toBe("Echo: probe");
    const beta = await client.beta.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 50,
      messages: [{ role: "user", content: "beta probe" }],
      betas: ["interleaved-thinking-2025-05-14"],
    });
    expect(beta.content[0]).toMatchObject({ type: "text", text: "Echo: beta probe" });
  });

  test("both x-api-key (SDK 0.x, ANTHROPIC_API_KEY) and Authorization: Bearer (SDK 1.x, ANTHROPIC_AUTH_TOKEN) carry the key", async () => {
    for (const headers of [{ "x-api-key": stack.apiKey }, { authorization: `Bearer ${stack.apiKey}` }] as Record<string, string>[]) {
      const res = await fetch(`${stack.url}/v1/messages`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body,
      });
      expect(res.status).toBe(200);
    }
    const viaToken = new Anthropic({ authToken: stack.apiKey, apiKey: null, baseURL: stack.url, maxRetries: 0 });
    expect(
      (await viaToken.messages.create({ model: "claude-sonnet-4-6", max_tokens: 50, messages: [{ role: "user", content: "t" }] }))
        .content[0],
    ).toMatchObject({ text: "Echo: t" });
  });

  test("a mid-conversation system message (Claude Code's mid-conversation-system beta) is accepted", async () => {
    const res = await client.messages.create({
      model: "gemini-3-flash",
      max_tokens: 50,
      messages: [{ role: "user", content: "question" }, { role: "system", content: "extra instructions" } as any],
    });
    expect(res.content.at(-1)).toMatchObject({ type: "text", text: expect.stringContaining("extra instructions") });
    expect(lastUpstream("generate").contents).toEqual([
      { role: "user", parts: [{ text: "question" }, { text: "<system>\nextra instructions\n</system>" }] },
    ]);
  });

  test("metadata.user_id makes a stable session (same upstream sessionId for the same user)", async () => {
    const send = (text: string) =>
      client.messages.create({
        model: "claude-sonnet-4-6",
        max_tokens: 50,
        metadata: { user_id: "user_abc_session_1" },
        messages: [{ role: "user", content: text }],
      });
    await send("one");
    const a = lastUpstream("generate").sessionId;
    await send("two, a different conversation start");
    expect(lastUpstream("generate").sessionId).toBe(a);
    // an X-Session-Id header comes first, as for every protocol
    await client.messages.create(
      {
        model: "claude-sonnet-4-6",
        max_tokens: 50,
        metadata: { user_id: "user_abc_session_1" },
        messages: [{ role: "user", content: "three" }],
      },
      { headers: { "x-session-id": "pinned-elsewhere" } },
    );
    expect(lastUpstream("generate").sessionId).not.toBe(a);
  });
});
