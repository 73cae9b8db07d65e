// Raw HTTP against the Gemini-native routes: framing, auth spellings, paths, error shapes, and what
// the simulator (the upstream) received.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startStack, type Stack } from "../helpers/stack";
import { userText } from "../helpers/util";
import { partsText, post, sseData, sseEvents } from "../helpers/gemini";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ accounts: 1, config: { models: { aliases: { "my-fast": "gemini-2.5-flash" } } } });
});
afterAll(() => stack?.stop());
beforeEach(() => {
  stack.sim.clearFaults();
  stack.sim.clearRequests();
});

const GEN = "/v1beta/models/gemini-2.5-flash:generateContent";
const STREAM = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";

describe("generateContent", () => {
  test("answers Google's GenerateContentResponse, unwrapped, with account and model headers", async () => {
    const res = await post(stack, GEN, userText("hello there"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(res.headers.get("x-account-email")).toBe(stack.accounts[0]!.email);
    expect(res.headers.get("x-mapped-model")).toBe("gemini-2.5-flash");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    const body = await res.json();
    expect(body.response).toBeUndefined();
    expect(body.traceId).toBeUndefined();
    expect(body.candidates[0].content.parts[0].text).toBe("Echo: hello there");
  });

  test.each([
    ["doubled models/ prefix", "/v1beta/models/models/gemini-2.5-flash:generateContent"],
    ["URL-encoded colon", "/v1beta/models/gemini-2.5-flash%3AgenerateContent"],
    ["the /v1 spelling", "/v1/models/gemini-2.5-flash:generateContent"],
    ["/v1 with the doubled prefix", "/v1/models/models/gemini-2.5-flash:generateContent"],
  ])("%s routes the same way", async (_, path) => {
    const res = await post(stack, path, userText("route me"));
    expect(res.status).toBe(200);
    expect((await res.json()).candidates[0].content.parts[0].text).toBe("Echo: route me");
    expect(stack.sim.requests({ method: "generateContent" }).at(-1)!.body.model).toBe("gemini-2.5-flash");
  });

  test("a config alias is mapped before upstream and named in X-Mapped-Model", async () => {
    const res = await post(stack, "/v1beta/models/my-fast:generateContent", userText("alias"));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-mapped-model")).toBe("gemini-2.5-flash");
    expect(stack.sim.requests({ method: "generateContent" }).at(-1)!.body.model).toBe("gemini-2.5-flash");
  });

  test("a body without a JSON content type (curl -d) is still read as JSON", async () => {
    const res = await post(stack, GEN, JSON.stringify(userText("plain curl")), { "content-type": "application/x-www-form-urlencoded" });
    expect(res.status).toBe(200);
  });
});

describe("auth spellings", () => {
  test("GET /healthz answers status ok (the first thing a user checks)", async () => {
    const res = await fetch(`${stack.url}/healthz`, { headers: { "x-goog-api-key": stack.apiKey } });
    expect(res.status).toBe(200);
    expect((await res.json()).status).toBe("ok");
  });

  test("auth on with no key configured → every request 401, whatever key is sent", async () => {
    const empty = await startStack({ accounts: 1, config: { auth: { apiKeys: [] } } });
    try {
      for (const headers of [{}, { "x-goog-api-key": stack.apiKey }, { "x-goog-api-key": "" }] as Record<string, string>[]) {
        const res = await fetch(empty.url + GEN, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify(userText("hi")),
        });
        expect(res.status).toBe(401);
        expect((await res.json()).error.status).toBe("UNAUTHENTICATED");
      }
    } finally {
      await empty.stop();
    }
  });

  test.each([
    ["x-goog-api-key", (k: string) => ({ path: GEN, headers: { "x-goog-api-key": k } })],
    ["?key=", (k: string) => ({ path: `${GEN}?key=${k}`, headers: {} })],
    ["Authorization: Bearer", (k: string) => ({ path: GEN, headers: { authorization: `Bearer ${k}` } })],
  ])("%s is accepted", async (_, how) => {
    const { path, headers } = how(stack.apiKey);
    const res = await fetch(stack.url + path, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(userText("hi")),
    });
    expect(res.status).toBe(200);
  });

  test.each([
    ["no key", {}],
    ["a wrong key", { "x-goog-api-key": "sk-wrong" }],
  ])("%s → 401 in Gemini's shape", async (_, headers) => {
    const res = await fetch(stack.url + GEN, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(userText("hi")),
    });
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body.error.code).toBe(401);
    expect(body.error.status).toBe("UNAUTHENTICATED");
    expect(stack.sim.requests({ method: "generateContent" })).toHaveLength(0);
  });
});

describe("streamGenerateContent", () => {
  test("alt=sse: text/event-stream, one data line per upstream chunk, CRLF framing, no [DONE]", async () => {
    const res = await post(stack, `${STREAM}?alt=sse`, userText("stream these few words back"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    expect(res.headers.get("x-account-email")).toBe(stack.accounts[0]!.email);
    const text = await res.text();
    expect(text).not.toContain("[DONE]");
    const events = sseEvents(text);
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const e of events) expect(e).toMatch(/^data: \{.*\}$/s);
    expect(text.endsWith("\r\n\r\n")).toBe(true);
    const chunks = sseData(text);
    for (const c of chunks) expect(c.response).toBeUndefined(); // unwrapped
    expect(partsText(chunks)).toBe("Echo: stream these few words back");
    expect(chunks.at(-1).candidates[0].finishReason).toBe("STOP");
    expect(chunks.at(-1).usageMetadata.totalTokenCount).toBeGreaterThan(0);
  });

  test("without alt=sse: a JSON array written incrementally, same chunks", async () => {
    const res = await post(stack, STREAM, userText("array of words please"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    const reader = res.body!.getReader();
    const pieces: string[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pieces.push(new TextDecoder().decode(value));
    }
    expect(pieces.length).toBeGreaterThanOrEqual(2); // not one buffered write
    expect(pieces[0]!.startsWith("[")).toBe(true);
    const arr = JSON.parse(pieces.join(""));
    expect(Array.isArray(arr)).toBe(true);
    expect(arr.length).toBeGreaterThanOrEqual(2);
    expect(partsText(arr)).toBe("Echo: array of words please");
  });

  test("snake_case fields arrive upstream in camelCase, stream and unary alike", async () => {
    const body = {
      system_instruction: { parts: [{ text: "sys" }] },
      contents: [{ role: "user", parts: [{ text: "snake" }] }],
      generation_config: { max_output_tokens: 100, top_p: 0.9, top_k: 5, thinking_config: { include_thoughts: true, thinking_budget: 50 } },
      safety_settings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
    };
    expect((await post(stack, `${STREAM}?alt=sse`, body)).status).toBe(200);
    expect((await post(stack, GEN, body)).status).toBe(200);
    for (const method of ["streamGenerateContent", "generateContent"]) {
      const req = stack.sim.requests({ method }).at(-1)!.body.request;
      expect(req.systemInstruction).toEqual({ parts: [{ text: "sys" }] });
      expect(req.generationConfig).toEqual({
        maxOutputTokens: 100,
        topP: 0.9,
        topK: 5,
        thinkingConfig: { includeThoughts: true, thinkingBudget: 50 },
      });
      expect(req.safetySettings).toHaveLength(1);
      expect(req.system_instruction).toBeUndefined();
      expect(req.generation_config).toBeUndefined();
    }
  });
});

describe("countTokens", () => {
  const contents = [{ role: "user", parts: [{ text: "how many tokens is this sentence" }] }];
  test.each([
    ["contents", { contents }],
    ["generateContentRequest", { generateContentRequest: { model: "models/gemini-2.5-flash", contents } }],
    ["generate_content_request", { generate_content_request: { contents } }],
  ])("%s → the upstream's real count", async (_, body) => {
    const res = await post(stack, "/v1beta/models/gemini-2.5-flash:countTokens", body);
    expect(res.status).toBe(200);
    const expected = stack.sim.countTokens({ contents });
    expect(expected).toBeGreaterThan(0);
    expect(await res.json()).toEqual({ totalTokens: expected });
    const seen = stack.sim.requests({ method: "countTokens" }).at(-1)!;
    expect(seen.body).toEqual({ request: { model: "models/gemini-2.5-flash", contents } });
  });
});

describe("models", () => {
  test("the list: Gemini shape, ≥1 model, configured aliases included", async () => {
    const res = await fetch(`${stack.url}/v1beta/models?key=${stack.apiKey}`);
    expect(res.status).toBe(200);
    const { models, nextPageToken } = await res.json();
    expect(nextPageToken).toBeUndefined();
    expect(models.length).toBeGreaterThanOrEqual(1);
    for (const m of models) {
      expect(m.name).toBe(`models/${m.displayName}`);
      expect(m.supportedGenerationMethods).toContain("generateContent");
    }
    const names = models.map((m: any) => m.name);
    expect(names).toContain("models/gemini-2.5-flash");
    expect(names).toContain("models/my-fast");
  });

  test("paging: pageSize + pageToken walk the whole list once", async () => {
    const all = (await (await fetch(`${stack.url}/v1beta/models?key=${stack.apiKey}`)).json()).models.map((m: any) => m.name);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const q = new URLSearchParams({ key: stack.apiKey, pageSize: "4", ...(token ? { pageToken: token } : {}) });
      const page = await (await fetch(`${stack.url}/v1beta/models?${q}`)).json();
      expect(page.models.length).toBeLessThanOrEqual(4);
      seen.push(...page.models.map((m: any) => m.name));
      token = page.nextPageToken;
      pages++;
    } while (token && pages < 100);
    expect(seen).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 4));
  });

  test.each([
    ["/v1beta/models/gemini-2.5-flash", 200],
    ["/v1beta/models/models/gemini-2.5-flash", 200],
    ["/v1beta/models/no-such-model", 404],
  ])("GET %s → %d", async (path, status) => {
    const res = await fetch(`${stack.url}${path}`, { headers: { "x-goog-api-key": stack.apiKey } });
    expect(res.status).toBe(status);
    const body = await res.json();
    if (status === 200) expect(body.name).toBe("models/gemini-2.5-flash");
    else expect(body.error).toMatchObject({ code: 404, status: "NOT_FOUND" });
  });

  test("a bad pageToken is a 400 naming it", async () => {
    const res = await fetch(`${stack.url}/v1beta/models?pageSize=2&pageToken=bogus&key=${stack.apiKey}`);
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.status).toBe("INVALID_ARGUMENT");
    expect(body.error.message).toContain("pageToken");
  });
});

describe("errors in Gemini's shape", () => {
  test.each([
    ["missing contents", GEN, {}, "contents"],
    ["contents not an array", GEN, { contents: "hi" }, "contents"],
    ["a turn without parts", GEN, { contents: [{ role: "user" }] }, "contents[0].parts"],
    ["generationConfig not an object", `${STREAM}?alt=sse`, { ...userText("x"), generationConfig: 3 }, "generationConfig"],
    ["snake_case generation_config not an object", GEN, { ...userText("x"), generation_config: "hot" }, "generationConfig"],
    ["countTokens without contents", "/v1beta/models/gemini-2.5-flash:countTokens", {}, "contents"],
    ["malformed JSON", GEN, "{not json", "body"],
    ["a JSON array body", GEN, "[1,2]", "body"],
  ])("%s → 400 naming the field", async (_, path, body, field) => {
    const res = await post(stack, path, body);
    expect(res.status).toBe(400);
    const err = (await res.json()).error;
    expect(err.code).toBe(400);
    expect(err.status).toBe("INVALID_ARGUMENT");
    if (field !== "body") expect(err.message).toContain(field);
    expect(JSON.stringify(err)).not.toContain("    at "); // no stack trace
    expect(stack.sim.requests({ method: "generateContent" })).toHaveLength(0);
  });

  test.each([
    ["unknown action", "/v1beta/models/gemini-2.5-flash:embedContent"],
    ["empty action", "/v1beta/models/gemini-2.5-flash:"],
    ["no action", "/v1beta/models/gemini-2.5-flash"],
  ])("%s → 400 INVALID_ARGUMENT", async (_, path) => {
    const res = await post(stack, path, userText("x"));
    expect(res.status).toBe(400);
    const err = (await res.json()).error;
    expect(err).toMatchObject({ code: 400, status: "INVALID_ARGUMENT" });
    expect(err.message).toContain("action");
  });

  test("an unknown model → upstream's 404 NOT_FOUND, unary and stream", async () => {
    for (const path of ["/v1beta/models/no-such-model:generateContent", "/v1beta/models/no-such-model:streamGenerateContent?alt=sse"]) {
      const res = await post(stack, path, userText("x"));
      expect(res.status).toBe(404);
      const err = (await res.json()).error;
      expect(err).toMatchObject({ code: 404, status: "NOT_FOUND" });
    }
  });
});

describe("what the upstream received", () => {
  test("the v1internal envelope: model, project, requestId, requestType, userAgent, request.sessionId", async () => {
    await post(stack, GEN, userText("envelope check"));
    const seen = stack.sim.requests({ method: "generateContent" });
    expect(seen).toHaveLength(1);
    const { body, email } = seen[0]!;
    expect(email).toBe(stack.accounts[0]!.email);
    expect(body.model).toBe("gemini-2.5-flash");
    expect(body.project).toBe(stack.accounts[0]!.project!);
    expect(body.requestId).toBeString();
    expect(body.requestId.length).toBeGreaterThan(8);
    expect(body.requestType).toBe("agent");
    expect(body.userAgent).toBeString();
    expect(body.request.sessionId).toBeString();
    expect(body.request.contents).toEqual(userText("envelope check").contents);
    expect(seen[0]!.headers.authorization).toStartWith("Bearer ");
  });

  test("an image model is sent as requestType image_gen", async () => {
    const res = await post(stack, "/v1beta/models/gemini-3.1-flash-image:generateContent", userText("a red square"));
    expect(res.status).toBe(200);
    const part = (await res.json()).candidates[0].content.parts.find((p: any) => p.inlineData);
    expect(part.inlineData.mimeType).toBe("image/png");
    expect(stack.sim.requests({ method: "generateContent" }).at(-1)!.body.requestType).toBe("image_gen");
  });

  test("stable field order whatever the client's order; same conversation → same sessionId, new requestId", async () => {
    const sys = { parts: [{ text: "you are terse" }] };
    const cfg = { temperature: 0.1 };
    const turn = [{ role: "user", parts: [{ text: "order please" }] }];
    await post(stack, GEN, { contents: turn, generationConfig: cfg, systemInstruction: sys, tools: [] });
    await post(stack, GEN, { tools: [], systemInstruction: sys, generationConfig: cfg, contents: turn });
    await post(stack, GEN, {
      system_instruction: sys,
      contents: [...turn, { role: "model", parts: [{ text: "ok" }] }, { role: "user", parts: [{ text: "more" }] }],
      generation_config: cfg,
      tools: [],
    });
    await post(stack, GEN, { systemInstruction: sys, contents: [{ role: "user", parts: [{ text: "another conversation" }] }] });
    const [a, b, c, d] = stack.sim.requests({ method: "generateContent" }).map((r) => r.body);
    expect(Object.keys(a)).toEqual(Object.keys(b));
    expect(Object.keys(a.request)).toEqual(Object.keys(b.request));
    expect(JSON.stringify(a.request)).toBe(JSON.stringify(b.request)); // byte-identical → cacheable
    expect(Object.keys(a.request).indexOf("systemInstruction")).toBeLessThan(Object.keys(a.request).indexOf("contents"));
    expect(a.requestId).not.toBe(b.requestId);
    expect(c.request.sessionId).toBe(a.request.sessionId); // same system + first user turn
    expect(d.request.sessionId).not.toBe(a.request.sessionId);
  });

  test("X-Session-Id names the session explicitly", async () => {
    await post(stack, GEN, userText("one"), { "x-session-id": "my-session" });
    await post(stack, GEN, userText("two"), { "x-session-id": "my-session" });
    await post(stack, GEN, userText("one"));
    const [a, b, c] = stack.sim.requests({ method: "generateContent" }).map((r) => r.body.request.sessionId);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });
});

describe("/swagger/json", () => {
  test("the documented body has the types the server accepts, and its example works", async () => {
    const doc = await (await fetch(`${stack.url}/swagger/json`, { headers: { "x-goog-api-key": stack.apiKey } })).json();
    const schema = doc.paths["/v1beta/models/{model}"].post.requestBody.content["application/json"].schema;
    const p = schema.properties;
    expect([p.tools.type, p.safetySettings.type, p.contents.type]).toEqual(["array", "array", "array"]);
    expect([p.toolConfig.type, p.generationConfig.type]).toEqual(["object", "object"]);
    expect(p.systemInstruction.anyOf.map((s: { type: string }) => s.type)).toEqual(["object", "string"]);
    expect(schema.examples).toEqual([{ contents: [{ role: "user", parts: [{ text: "Hello" }] }] }]);
    const res = await post(stack, GEN, schema.examples[0]);
    expect(res.status).toBe(200);
    expect(partsText([await res.json()])).toBe("Echo: Hello");
    expect(doc.paths["/v1/models/{model}"].post.requestBody.content["application/json"].schema.examples).toEqual(schema.examples);
  });

  test("a body with the documented types passes; the wrong type is a 400 naming the field (not rewritten)", async () => {
    const ok = {
      ...userText("x"),
      tools: [],
      toolConfig: {},
      generationConfig: {},
      safetySettings: [],
      systemInstruction: { parts: [{ text: "be brief" }] },
    };
    expect((await post(stack, GEN, ok)).status).toBe(200);
    for (const [field, value] of [
      ["tools", {}],
      ["safetySettings", {}],
      ["toolConfig", 3],
      ["systemInstruction", 3],
    ] as const) {
      const res = await post(stack, GEN, { ...userText("x"), [field]: value });
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toContain(field);
    }
  });
});
