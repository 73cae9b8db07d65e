// @google/genai against a running gateway backed by the simulator: the SDK only changes its base URL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GoogleGenAI } from "@google/genai";
import { startStack, type Stack } from "../helpers/stack";

let stack: Stack;
let ai: GoogleGenAI;

beforeAll(async () => {
  stack = await startStack({ accounts: 1 });
  ai = new GoogleGenAI({ apiKey: stack.apiKey, httpOptions: { baseUrl: stack.url } });
});
afterAll(() => stack?.stop());

describe("@google/genai", () => {
  test("lists models (paging through nextPageToken) and gets one", async () => {
    const pager = await ai.models.list({ config: { pageSize: 3 } });
    const names: string[] = [];
    for await (const m of pager) names.push(m.name!);
    const expected = stack.ctx.catalog.list().map((m) => `models/${m.id}`);
    expect(names).toEqual(expected);
    expect(names.length).toBeGreaterThan(3); // more than one page was fetched
    const one = await ai.models.get({ model: "gemini-2.5-flash" });
    expect(one.name).toBe("models/gemini-2.5-flash");
    expect(one.displayName).toBe("gemini-2.5-flash");
    expect(one.supportedActions).toContain("generateContent");
  });

  test("with apiVersion v1 (the default of @google/genai 3.x) models are listed from /v1/models in Gemini's shape", async () => {
    const v1 = new GoogleGenAI({ apiKey: stack.apiKey, httpOptions: { baseUrl: stack.url, apiVersion: "v1" } });
    const names: string[] = [];
    for await (const m of await v1.models.list()) names.push(m.name!);
    expect(names).toEqual(stack.ctx.catalog.list().map((m) => `models/${m.id}`));
    expect((await v1.models.get({ model: "gemini-2.5-flash" })).name).toBe("models/gemini-2.5-flash");
    const r = await v1.models.generateContent({ model: "gemini-2.5-flash", contents: "via v1" });
    expect(r.text).toBe("Echo: via v1");
    // an OpenAI client on the same route still gets OpenAI's list
    const openai = await (await fetch(stack.url + "/v1/models", { headers: { authorization: `Bearer ${stack.apiKey}` } })).json();
    expect(openai.object).toBe("list");
    // and errors there come in Google's shape to a Google client: an unknown model, a bad page, a wrong key
    const missing = await v1.models.get({ model: "nope" }).catch((e) => e);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.message)).toMatchObject({ error: { code: 404, status: "NOT_FOUND" } });
    for (const [url, key, code] of [
      ["/v1/models?pageToken=%%%", stack.apiKey, 400],
      ["/v1/models/nope", "wrong-key", 401],
    ] as const) {
      const res = await fetch(stack.url + url, { headers: { "x-goog-api-key": key, "x-goog-api-client": "google-genai-sdk/1" } });
      expect(res.status).toBe(code);
      expect((await res.json()).error).toMatchObject({ code, status: expect.any(String), message: expect.any(String) });
    }
    // a key sent as x-goog-api-key alone (curl) keeps the route's OpenAI shape
    const plain = await fetch(stack.url + "/v1/models/nope", { headers: { "x-goog-api-key": "wrong-key" } });
    expect((await plain.json()).error).toMatchObject({ type: expect.any(String), message: expect.any(String) });
  });

  test("generateContent returns the unwrapped response", async () => {
    const r = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: "hello from the sdk",
      config: { systemInstruction: "be brief", temperature: 0.3 },
    });
    expect(r.text).toBe("Echo: hello from the sdk");
    expect(String(r.candidates?.[0]?.finishReason)).toBe("STOP");
    expect(r.usageMetadata?.totalTokenCount).toBeGreaterThan(0);
    expect(r.modelVersion).toBe("gemini-2.5-flash");
    expect(r.sdkHttpResponse?.headers?.["x-account-email"]).toBe(stack.accounts[0]!.email);
    expect(r.sdkHttpResponse?.headers?.["x-mapped-model"]).toBe("gemini-2.5-flash");
    const seen = stack.sim.requests({ method: "generateContent" }).at(-1)!;
    expect(seen.body.request.systemInstruction.parts[0].text).toBe("be brief");
    expect(seen.body.request.generationConfig.temperature).toBe(0.3);
  });

  test("Gemini CLI's MCP tool schemas (parametersJsonSchema) reach a Gemini model as sent, a Claude model in Claude's subset", async () => {
    // what an MCP server built with zod hands Gemini CLI, which sends it as it is
    const schema = {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: { path: { type: "string" }, depth: { type: "integer", exclusiveMinimum: 0 }, entry: { $ref: "#/$defs/entry" } },
      required: ["path"],
      $defs: { entry: { type: "object", properties: { name: { type: "string" } }, additionalProperties: false } },
      additionalProperties: false,
    };
    const tools = [{ functionDeclarations: [{ name: "list_directory", description: "list a folder", parametersJsonSchema: schema }] }];
    const gemini = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "list the folder", config: { tools } });
    expect(gemini.sdkHttpResponse?.headers?.["x-mapped-model"]).toBe("gemini-2.5-flash");
    const sent = stack.sim.requests({ method: "generateContent" }).at(-1)!.body.request;
    expect(sent.tools[0].functionDeclarations[0].parametersJsonSchema).toEqual(schema);

    const claude = await ai.models.generateContent({ model: "claude-sonnet-4-6", contents: "list the folder", config: { tools } });
    expect(claude.sdkHttpResponse?.headers?.["x-mapped-model"]).toBe("claude-sonnet-4-6");
    const up = stack.sim.requests().at(-1)!.body.request.tools[0].functionDeclarations[0].parametersJsonSchema;
    expect(up.$schema).toBeUndefined();
    expect(up.additionalProperties).toBeUndefined();
    expect(up.properties.path).toEqual({ type: "string" });
  });

  test("generateContent with thinking returns thought parts with signatures", async () => {
    const r = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: "think first",
      config: { thinkingConfig: { includeThoughts: true } },
    });
    const parts = r.candidates![0]!.content!.parts!;
    expect(parts.some((p) => p.thought && (p.thoughtSignature?.length ?? 0) >= 50)).toBe(true);
    expect(r.text).toBe("Echo: think first");
  });

  test("generateContentStream: several chunks arrive one by one, joined text correct", async () => {
    const prompt = "please stream this fairly long sentence back to me word by word";
    const stream = await ai.models.generateContentStream({ model: "gemini-2.5-flash", contents: prompt });
    const arrivals: number[] = [];
    let text = "";
    for await (const chunk of stream) {
      arrivals.push(performance.now());
      text += chunk.text ?? "";
    }
    expect(text).toBe(`Echo: ${prompt}`);
    expect(arrivals.length).toBeGreaterThanOrEqual(2);
    // The simulator paces chunks ~25 ms apart, so when they are forwarded as they arrive the first
    // and the last are at least a few gaps apart; a buffered answer would deliver them together.
    // (A lower bound only: a slow machine makes the gap larger, never smaller.)
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(25);
  });

  test("countTokens equals the simulator's own count", async () => {
    const contents = [
      { role: "user", parts: [{ text: "count these tokens, please" }] },
      { role: "model", parts: [{ text: "sure thing" }] },
      { role: "user", parts: [{ text: "and these as well" }] },
    ];
    const r = await ai.models.countTokens({ model: "gemini-2.5-flash", contents });
    const expected = stack.sim.countTokens({ contents });
    expect(expected).toBeGreaterThan(0);
    expect(r.totalTokens).toBe(expected);
  });

  test("an upstream 404 for an unknown model surfaces as the SDK's error with Google's status", async () => {
    const err = await ai.models.generateContent({ model: "no-such-model", contents: "x" }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err.message)).toContain("NOT_FOUND");
    expect(err.status).toBe(404);
  });
});
