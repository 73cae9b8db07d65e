import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSimulator, SUPPORTED_SCHEMA_KEYS, type SimAccount, type Simulator } from "../../src/simulator";
import { accessToken, envelope, texts, userText, v1 } from "../helpers/simulator";

let sim: Simulator;
let acc: SimAccount;
let tok: string;
beforeAll(async () => {
  sim = await startSimulator({ delays: false });
  acc = sim.addAccount({ email: "gen@example.com" });
  tok = await accessToken(sim, acc);
});
afterAll(() => sim.stop());

const gen = (request: Record<string, unknown>, model?: string, extra?: Record<string, unknown>) =>
  v1(sim, tok, "generateContent", envelope(acc, request, model, extra));

describe("generateContent", () => {
  test("a wrapped, deterministic reply echoing the last user text, with usage", async () => {
    const request = {
      contents: [userText("first question"), { role: "model", parts: [{ text: "first answer" }] }, userText("tell me about otters")],
      systemInstruction: { parts: [{ text: "be brief" }] },
      generationConfig: { temperature: 0.2, maxOutputTokens: 1000 },
      sessionId: "s-1",
    };
    const r = await gen(request);
    expect(r.status).toBe(200);
    expect(r.headers.get("x-cloudaicompanion-trace-id")).toBe(r.json.traceId);
    const res = r.json.response;
    expect(res.modelVersion).toBe("gemini-2.5-flash");
    expect(res.responseId).toBeTruthy();
    const cand = res.candidates[0];
    expect(cand.content.role).toBe("model");
    expect(cand.finishReason).toBe("STOP");
    expect(texts(res)).toBe("Echo: tell me about otters");
    const u = res.usageMetadata;
    expect(u.promptTokenCount).toBe(sim.countTokens(request as any));
    expect(u.candidatesTokenCount).toBeGreaterThan(0);
    expect(u.totalTokenCount).toBe(u.promptTokenCount + u.candidatesTokenCount + u.thoughtsTokenCount);
    const again = await gen(request);
    expect(texts(again.json.response)).toBe(texts(res));
  });

  test("snake_case spellings are accepted everywhere", async () => {
    const r = await v1(sim, tok, "generateContent", {
      model: "gemini-2.5-flash",
      project: acc.project,
      user_prompt_id: "p1",
      request_id: "r1",
      enabled_credit_types: ["GOOGLE_ONE_AI"],
      request: {
        contents: [userText("hi")],
        system_instruction: { parts: [{ text: "sys" }] },
        generation_config: { max_output_tokens: 100, thinking_config: { include_thoughts: false, thinking_budget: 0 } },
        session_id: "s",
        safety_settings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_NONE" }],
      },
    });
    expect(r.status).toBe(200);
  });

  test("maxOutputTokens truncates with MAX_TOKENS; stopSequences cut the text", async () => {
    const long = await gen({ contents: [userText("a ".repeat(200))], generationConfig: { maxOutputTokens: 3 } });
    expect(long.json.response.candidates[0].finishReason).toBe("MAX_TOKENS");
    expect(texts(long.json.response).length).toBeLessThanOrEqual(12);
    const stop = await gen({ contents: [userText("one two STOP three")], generationConfig: { stopSequences: ["STOP"] } });
    expect(texts(stop.json.response)).toBe("Echo: one two ");
  });

  test("responseMimeType application/json answers valid JSON following the schema", async () => {
    const r = await gen({
      contents: [userText("give me json")],
      generationConfig: {
        responseMimeType: "application/json",
        responseSchema: { type: "OBJECT", properties: { name: { type: "STRING" }, n: { type: "INTEGER" } }, required: ["name"] },
      },
    });
    expect(JSON.parse(texts(r.json.response))).toEqual({ name: "name-value", n: 1 });
  });
});

describe("envelope validation", () => {
  test("unknown top-level, request and generationConfig fields → 400 Unknown name with a BadRequest detail", async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [envelope(acc, { contents: [userText("x")] }, undefined, { bogus: 1 }), "bogus", ""],
      [envelope(acc, { contents: [userText("x")], thinking: { type: "enabled" } }), "thinking", "request"],
      [envelope(acc, { contents: [userText("x")], generationConfig: { max_tokens: 5 } }), "max_tokens", "request.generation_config"],
      [
        envelope(acc, { contents: [{ role: "user", parts: [{ text: "x", cache_control: {} }] }] }),
        "cache_control",
        "request.contents[0].parts[0]",
      ],
    ];
    for (const [body, name, at] of cases) {
      const r = await v1(sim, tok, "generateContent", body);
      expect(r.status).toBe(400);
      expect(r.json.error.status).toBe("INVALID_ARGUMENT");
      const where = at ? ` at '${at}'` : "";
      expect(r.json.error.message).toBe(`Invalid JSON payload received. Unknown name "${name}"${where}: Cannot find field.`);
      expect(r.json.error.details[0]["@type"]).toBe("type.googleapis.com/google.rpc.BadRequest");
      expect(r.json.error.details[0].fieldViolations[0].field).toBe(at || name);
    }
  });

  test("wrong scalar types, empty contents, bad roles → 400", async () => {
    let r = await gen({ contents: [userText("x")], generationConfig: { temperature: "hot" } });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain("request.generation_config.temperature");
    r = await gen({ contents: [] });
    expect(r.json.error.message).toContain("contents is not specified");
    r = await gen({ contents: [{ role: "assistant", parts: [{ text: "x" }] }] });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain("valid role");
    r = await gen({ contents: [{ role: "user", parts: [] }] });
    expect(r.status).toBe(400);
    r = await v1(sim, tok, "generateContent", "{not json");
    expect(r.status).toBe(400);
    expect(r.json.error.message).toStartWith("Invalid JSON payload received.");
  });

  test("tool schemas may only use Gemini's keywords, recursively; the path is named", async () => {
    const tool = (parameters: unknown, key = "parameters") => ({
      contents: [userText("x")],
      tools: [{ functionDeclarations: [{ name: "f", [key]: parameters }] }],
    });
    const ok = {
      type: "object",
      title: "T",
      description: "d",
      properties: {
        a: {
          type: "string",
          enum: ["x"],
          format: "enum",
          nullable: true,
          minLength: 1,
          maxLength: 5,
          pattern: "x",
          default: "x",
          example: "x",
        },
        b: { type: "array", items: { type: "integer", minimum: 0, maximum: 9 }, minItems: 0, maxItems: 3 },
        c: { anyOf: [{ type: "string" }, { type: "number" }] },
      },
      required: ["a"],
      propertyOrdering: ["a", "b", "c"],
    };
    expect(SUPPORTED_SCHEMA_KEYS).toContain("anyOf");
    expect((await gen(tool(ok))).status).toBe(200);
    expect((await gen(tool(ok, "parametersJsonSchema"))).status).toBe(200);

    const cases: [unknown, string, string, string?][] = [
      [
        { $schema: "http://json-schema.org/draft-07/schema#", type: "object" },
        "$schema",
        "request.tools[0].function_declarations[0].parameters",
      ],
      [{ type: "object", additionalProperties: false }, "additionalProperties", "request.tools[0].function_declarations[0].parameters"],
      [{ type: "object", properties: { a: { const: "x" } } }, "const", "request.tools[0].function_declarations[0].parameters.properties.a"],
      [
        { type: "object", properties: { a: { type: "array", items: { $ref: "#/x" } } } },
        "$ref",
        "request.tools[0].function_declarations[0].parameters.properties.a.items",
      ],
    ];
    for (const [schema, name, at, key] of cases) {
      const r = await gen(tool(schema, key));
      expect(r.status).toBe(400);
      expect(r.json.error.message).toBe(`Invalid JSON payload received. Unknown name "${name}" at '${at}': Cannot find field.`);
    }
    const badType = await gen(tool({ type: ["string", "null"] }));
    expect(badType.status).toBe(400);
  });

  test("parametersJsonSchema is JSON Schema: any keyword passes (as Gemini CLI sends MCP schemas), a $ref must resolve", async () => {
    const tool = (schema: unknown, key = "parameters") => ({
      contents: [userText("x")],
      tools: [{ functionDeclarations: [{ name: "f", [key]: schema }] }],
    });
    const mcp = {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: {
        n: { type: "integer", exclusiveMinimum: 0 },
        mode: { const: "fast" },
        item: { $ref: "#/$defs/item" },
        list: { type: "array", items: { $ref: "#/$defs/item" } },
      },
      $defs: { item: { type: "object", properties: { id: { type: "string" } }, additionalProperties: false } },
      additionalProperties: false,
    };
    expect((await gen(tool(mcp, "parametersJsonSchema"))).status).toBe(200);
    expect((await gen(tool(true, "parametersJsonSchema"))).status).toBe(200);
    // the same schema as `parameters` (Google's Schema message) is refused at its first unknown keyword
    expect((await gen(tool(mcp))).json.error.message).toContain('Unknown name "$schema"');

    const dangling = await gen(tool({ type: "object", properties: { language: { $ref: "#/$defs/language" } } }, "parametersJsonSchema"));
    expect(dangling.status).toBe(400);
    expect(dangling.json.error.status).toBe("INVALID_ARGUMENT");
    expect(dangling.json.error.message).toBe("reference to undefined schema at properties.language");
    expect(dangling.json.error.details[0].fieldViolations[0].field).toBe(
      "request.tools[0].function_declarations[0].parameters_json_schema",
    );
    expect((await gen(tool([{ type: "string" }], "parametersJsonSchema"))).status).toBe(400);
    expect((await gen(tool({ properties: { a: { $ref: "#/%zz" } } }, "parametersJsonSchema"))).status).toBe(400);
  });

  test("googleSearch mixed with functionDeclarations → 400; invalid function names → 400", async () => {
    const mixed = await gen({ contents: [userText("x")], tools: [{ googleSearch: {} }, { functionDeclarations: [{ name: "f" }] }] });
    expect(mixed.status).toBe(400);
    expect(mixed.json.error.message).toContain("search tools");
    expect((await gen({ contents: [userText("x")], tools: [{ googleSearch: {} }] })).status).toBe(200);
    const badName = await gen({ contents: [userText("x")], tools: [{ functionDeclarations: [{ name: "has space" }] }] });
    expect(badName.status).toBe(400);
    expect(badName.json.error.message).toContain("Invalid function name");
  });

  test("another project → 403 IAM_PERMISSION_DENIED; no project → 400", async () => {
    const r = await gen({ contents: [userText("x")] }, undefined, { project: "rising-fact-p41fc" });
    expect(r.status).toBe(403);
    expect(r.json.error.status).toBe("PERMISSION_DENIED");
    expect(r.json.error.details[0]).toMatchObject({ reason: "IAM_PERMISSION_DENIED", domain: "cloudaicompanion.googleapis.com" });
    const none = await v1(sim, tok, "generateContent", { model: "gemini-2.5-flash", request: { contents: [userText("x")] } });
    expect(none.status).toBe(400);
  });

  test("unknown model → 404 Requested entity was not found.", async () => {
    const r = await gen({ contents: [userText("x")] }, "gemini-9-ultra");
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ error: { code: 404, message: "Requested entity was not found.", status: "NOT_FOUND" } });
  });
});

describe("countTokens", () => {
  test("counts deterministically, including systemInstruction and tools", async () => {
    const request = { model: "models/gemini-2.5-flash", contents: [userText("hello there, how are you today?")] };
    const r = await v1(sim, tok, "countTokens", { request });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ totalTokens: sim.countTokens(request as any) });
    expect(r.json.totalTokens).toBe(Math.ceil("hello there, how are you today?".length / 4));
    const more = await v1(sim, tok, "countTokens", {
      request: { ...request, systemInstruction: { parts: [{ text: "system text" }] }, tools: [{ functionDeclarations: [{ name: "f" }] }] },
    });
    expect(more.json.totalTokens).toBeGreaterThan(r.json.totalTokens);
    expect(sim.countTokens({ contents: [{ role: "user", parts: [{ text: "a" }, { text: "b" }] }] })).toBe(2);
  });

  test("top-level model/project or safetySettings → 400 Unknown name; unknown model → 404", async () => {
    const contents = [userText("x")];
    let r = await v1(sim, tok, "countTokens", { model: "gemini-2.5-flash", request: { model: "models/gemini-2.5-flash", contents } });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain('Unknown name "model"');
    r = await v1(sim, tok, "countTokens", { project: acc.project, request: { model: "models/gemini-2.5-flash", contents } });
    expect(r.json.error.message).toContain('Unknown name "project"');
    r = await v1(sim, tok, "countTokens", { request: { model: "models/gemini-2.5-flash", contents, safetySettings: [] } });
    expect(r.json.error.message).toContain('Unknown name "safetySettings"');
    r = await v1(sim, tok, "countTokens", { request: { model: "models/nope", contents } });
    expect(r.status).toBe(404);
  });
});
