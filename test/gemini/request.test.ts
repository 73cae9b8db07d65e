import { describe, expect, test } from "bun:test";
import {
  arrayFrame,
  camelizeKeys,
  conversationSession,
  countTokensRequest,
  isAction,
  normalizeRequest,
  parseModelPath,
  sseData,
} from "../../src/gemini/request";
import { pageModels, toGeminiModel } from "../../src/gemini/models";
import { check, CountTokensRequest, GenerateContentRequest } from "../../src/gemini/schemas";
import { ApiError } from "../../src/core/errors";

const thrown = (f: () => unknown): ApiError => {
  try {
    f();
  } catch (e) {
    return e as ApiError;
  }
  throw new Error("did not throw");
};

describe("parseModelPath", () => {
  test.each([
    ["gemini-2.5-flash:generateContent", "gemini-2.5-flash", "generateContent"],
    ["models/gemini-2.5-flash:streamGenerateContent", "gemini-2.5-flash", "streamGenerateContent"],
    ["gemini-2.5-flash%3AcountTokens", "gemini-2.5-flash", "countTokens"],
    ["models%2Fgemini-3-flash%3AgenerateContent", "gemini-3-flash", "generateContent"],
    ["gemini-2.5-flash", "gemini-2.5-flash", undefined],
    ["models/gemini-2.5-flash", "gemini-2.5-flash", undefined],
    ["gemini-2.5-flash:bogus", "gemini-2.5-flash", "bogus"],
    ["gemini-2.5-flash:", "gemini-2.5-flash", ""],
  ])("%s → %s %s", (tail, model, action) => {
    expect(parseModelPath(tail)).toEqual({ model, action: action as string | undefined });
  });

  test("the raw segment is decoded exactly once", () => {
    expect(parseModelPath("gemini-2.5-flash%3AgenerateContent")).toEqual({ model: "gemini-2.5-flash", action: "generateContent" });
    expect(parseModelPath("x%2500:generateContent")).toEqual({ model: "x%00", action: "generateContent" }); // text, never a NUL
    expect(parseModelPath("%252e%252e:generateContent").model).toBe("%2e%2e"); // never ".."
    expect(thrown(() => parseModelPath("x%y:generateContent")).param).toBe("model"); // not percent-encoding
  });

  test.each([[":generateContent"], ["models/:generateContent"], ["a/b:generateContent"]])("%s is a 400 naming model", (tail) => {
    const e = thrown(() => parseModelPath(tail));
    expect(e.status).toBe(400);
    expect(e.param).toBe("model");
  });

  test.each([
    ["generateContent", true],
    ["streamGenerateContent", true],
    ["countTokens", true],
    ["embedContent", false],
    ["", false],
    [undefined, false],
  ])("isAction(%s) = %s", (a, want) => expect(isAction(a)).toBe(want));
});

describe("camelizeKeys / normalizeRequest", () => {
  test.each([
    [{ system_instruction: { parts: [{ text: "s" }] } }, { systemInstruction: { parts: [{ text: "s" }] } }],
    [
      {
        generation_config: {
          max_output_tokens: 5,
          top_p: 0.5,
          top_k: 3,
          response_mime_type: "application/json",
          thinking_config: { include_thoughts: true, thinking_budget: 100 },
        },
      },
      {
        generationConfig: {
          maxOutputTokens: 5,
          topP: 0.5,
          topK: 3,
          responseMimeType: "application/json",
          thinkingConfig: { includeThoughts: true, thinkingBudget: 100 },
        },
      },
    ],
    [
      { safety_settings: [{ category: "HARM_CATEGORY_X", threshold: "BLOCK_NONE" }] },
      { safetySettings: [{ category: "HARM_CATEGORY_X", threshold: "BLOCK_NONE" }] },
    ],
    [
      { tool_config: { function_calling_config: { mode: "ANY", allowed_function_names: ["f"] } } },
      { toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["f"] } } },
    ],
    [
      {
        contents: [
          {
            role: "user",
            parts: [{ inline_data: { mime_type: "image/png", data: "AA==" } }, { file_data: { file_uri: "gs://x", mime_type: "a/b" } }],
          },
        ],
      },
      {
        contents: [
          {
            role: "user",
            parts: [{ inlineData: { mimeType: "image/png", data: "AA==" } }, { fileData: { fileUri: "gs://x", mimeType: "a/b" } }],
          },
        ],
      },
    ],
    // user-named keys inside function call args / responses are not touched
    [
      {
        contents: [
          {
            role: "model",
            parts: [{ function_call: { name: "f", args: { user_id: 1, nested_obj: { a_b: 2 } } }, thought_signature: "sig" }],
          },
        ],
      },
      {
        contents: [
          {
            role: "model",
            parts: [{ functionCall: { name: "f", args: { user_id: 1, nested_obj: { a_b: 2 } } }, thoughtSignature: "sig" }],
          },
        ],
      },
    ],
    [
      { contents: [{ role: "user", parts: [{ function_response: { name: "f", response: { out_put: "x" } } }] }] },
      { contents: [{ role: "user", parts: [{ functionResponse: { name: "f", response: { out_put: "x" } } }] }] },
    ],
    // Schema objects: keywords converted, property names kept; raw JSON schemas kept whole
    [
      {
        tools: [
          {
            function_declarations: [
              {
                name: "f",
                parameters: {
                  type: "OBJECT",
                  properties: {
                    user_name: { type: "STRING", max_length: 3 },
                    list_x: { type: "ARRAY", items: { type: "OBJECT", properties: { a_b: { type: "STRING" } } } },
                  },
                  required: ["user_name"],
                  property_ordering: ["user_name"],
                },
              },
            ],
          },
        ],
      },
      {
        tools: [
          {
            functionDeclarations: [
              {
                name: "f",
                parameters: {
                  type: "OBJECT",
                  properties: {
                    user_name: { type: "STRING", maxLength: 3 },
                    list_x: { type: "ARRAY", items: { type: "OBJECT", properties: { a_b: { type: "STRING" } } } },
                  },
                  required: ["user_name"],
                  propertyOrdering: ["user_name"],
                },
              },
            ],
          },
        ],
      },
    ],
    [
      {
        tools: [
          {
            functionDeclarations: [
              { name: "f", parametersJsonSchema: { type: "object", properties: { snake_case: {} }, additional_properties: false } },
            ],
          },
        ],
      },
      {
        tools: [
          {
            functionDeclarations: [
              { name: "f", parametersJsonSchema: { type: "object", properties: { snake_case: {} }, additional_properties: false } },
            ],
          },
        ],
      },
    ],
    [
      { generation_config: { response_schema: { type: "OBJECT", properties: { my_field: { type: "STRING" } } } } },
      { generationConfig: { responseSchema: { type: "OBJECT", properties: { my_field: { type: "STRING" } } } } },
    ],
    [{ tools: [{ google_search: {} }, { code_execution: {} }] }, { tools: [{ googleSearch: {} }, { codeExecution: {} }] }],
    [{ labels: { team_name: "a" } }, { labels: { team_name: "a" } }],
    // both spellings: camelCase wins
    [{ generation_config: { temperature: 1 }, generationConfig: { temperature: 0 } }, { generationConfig: { temperature: 0 } }],
    [{ generationConfig: { topP: 0.1, top_p: 0.9 } }, { generationConfig: { topP: 0.1 } }],
  ])("%j", (input, want) => {
    expect(camelizeKeys(input)).toEqual(want);
  });

  test("already camelCase bodies are unchanged", () => {
    const body = {
      contents: [{ role: "user", parts: [{ text: "hi" }] }],
      generationConfig: { temperature: 0.2, thinkingConfig: { includeThoughts: true } },
    };
    expect(camelizeKeys(body)).toEqual(body);
    expect(camelizeKeys(body)).toBe(body); // nothing to rename: no copy
  });

  test("copy on write: only the path to a renamed key is new, key order kept", () => {
    const contents = [{ role: "user", parts: [{ text: "hi" }] }];
    const body = { contents, generationConfig: { temperature: 0.2, max_output_tokens: 5, topP: 1 } };
    const out = camelizeKeys(body) as typeof body & { generationConfig: Record<string, number> };
    expect(out).not.toBe(body);
    expect(out.contents).toBe(contents);
    expect(Object.keys(out.generationConfig)).toEqual(["temperature", "maxOutputTokens", "topP"]);
    expect(body.generationConfig).toEqual({ temperature: 0.2, max_output_tokens: 5, topP: 1 }); // the input is not changed
  });

  test("normalizeRequest: stable field order whatever the client's order, model dropped, string systemInstruction wrapped", () => {
    const a = normalizeRequest({
      contents: [],
      zeta: 1,
      generation_config: {},
      model: "m",
      alpha: 2,
      tools: [],
      system_instruction: "be brief",
      safetySettings: [],
      toolConfig: {},
    });
    const b = normalizeRequest({
      alpha: 2,
      toolConfig: {},
      zeta: 1,
      safety_settings: [],
      systemInstruction: "be brief",
      tools: [],
      generationConfig: {},
      contents: [],
    });
    const order = ["systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings", "contents", "alpha", "zeta"];
    expect(Object.keys(a)).toEqual(order);
    expect(Object.keys(b)).toEqual(order);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.systemInstruction).toEqual({ parts: [{ text: "be brief" }] });
  });

  test("countTokensRequest: contents, generateContentRequest (either spelling), safetySettings dropped", () => {
    const contents = [{ role: "user", parts: [{ text: "count me" }] }];
    expect(countTokensRequest({ contents })).toEqual({ contents });
    expect(
      countTokensRequest({
        generateContentRequest: { model: "models/x", contents, safetySettings: [{}], system_instruction: { parts: [{ text: "s" }] } },
      }),
    ).toEqual({
      systemInstruction: { parts: [{ text: "s" }] },
      contents,
    });
    expect(countTokensRequest({ generate_content_request: { contents } })).toEqual({ contents });
    expect(thrown(() => countTokensRequest({})).param).toBe("contents");
    expect(thrown(() => countTokensRequest({ generateContentRequest: {} })).param).toBe("generateContentRequest.contents");
  });
});

describe("body checks name the field", () => {
  test.each([
    [{}, "contents"],
    [{ contents: "hi" }, "contents"],
    [{ contents: [] }, "contents"],
    [{ contents: [{ role: "user" }] }, "contents[0].parts"],
    [
      {
        contents: [
          { role: "user", parts: [{ text: "a" }] },
          { role: 5, parts: [] },
        ],
      },
      "contents[1].role",
    ],
    [{ contents: [{ parts: [] }], generationConfig: "hot" }, "generationConfig"],
    [{ contents: [{ parts: [] }], tools: {} }, "tools"],
    [{ contents: [{ parts: [] }], safetySettings: [1] }, "safetySettings[0]"],
  ])("%j → %s", (body, field) => {
    const e = thrown(() => check(GenerateContentRequest, body));
    expect(e.status).toBe(400);
    expect(e.param).toBe(field);
    expect(e.message).toContain(field);
  });

  test("real SDK-shaped bodies pass", () => {
    check(
      GenerateContentRequest,
      normalizeRequest({
        contents: [{ role: "user", parts: [{ text: "a" }] }],
        system_instruction: "x",
        generation_config: { temperature: 1 },
        extra_field: 1,
      }),
    );
    check(GenerateContentRequest, { contents: [{ parts: [{ text: "a" }] }], systemInstruction: { parts: [{ text: "s" }] } });
    check(CountTokensRequest, { generateContentRequest: { model: "models/x", contents: [{ parts: [{ text: "a" }] }] } });
    expect(thrown(() => check(CountTokensRequest, { contents: [{ role: "user" }] })).param).toBe("contents[0].parts");
  });
});

describe("sessions", () => {
  const req = (system: string | undefined, ...turns: [string, string][]) =>
    normalizeRequest({
      ...(system ? { systemInstruction: { parts: [{ text: system }] } } : {}),
      contents: turns.map(([role, text]) => ({ role, parts: [{ text }] })),
    });
  test("same system + first user turn → same key, whatever follows", () => {
    const a = conversationSession(req("sys", ["user", "hello"]));
    const b = conversationSession(req("sys", ["user", "hello"], ["model", "hi"], ["user", "more"]));
    expect(a).toBeString();
    expect(a).toBe(b!);
    expect(conversationSession(req("other", ["user", "hello"]))).not.toBe(a!);
    expect(conversationSession(req("sys", ["user", "bye"]))).not.toBe(a!);
  });
  test("no text → no key", () => {
    expect(
      conversationSession(
        normalizeRequest({ contents: [{ role: "user", parts: [{ inlineData: { mimeType: "image/png", data: "AA" } }] }] }),
      ),
    ).toBeUndefined();
  });
});

describe("model list", () => {
  const items = Array.from({ length: 7 }, (_, i) => i);
  test.each([
    // [pageSize, expected pages]
    [undefined, [[0, 1, 2, 3, 4, 5, 6]]],
    ["3", [[0, 1, 2], [3, 4, 5], [6]]],
    ["7", [[0, 1, 2, 3, 4, 5, 6]]],
    ["100", [[0, 1, 2, 3, 4, 5, 6]]],
    ["0", [[0, 1, 2, 3, 4, 5, 6]]], // 0 → the server default (50)
  ])("pageSize %s", (size, pages) => {
    const got: number[][] = [];
    let token: string | undefined;
    do {
      const r = pageModels(items, size, token);
      got.push(r.page);
      token = r.nextPageToken;
    } while (token);
    expect(got).toEqual(pages);
  });

  test.each([
    ["-1", undefined, "pageSize"],
    ["abc", undefined, "pageSize"],
    ["2", "garbage!", "pageToken"],
  ])("bad paging (%s, %s) → 400 naming %s", (size, token, field) => {
    const e = thrown(() => pageModels(items, size, token));
    expect(e.status).toBe(400);
    expect(e.param).toBe(field);
  });

  test("Gemini shape: models/ name, bare id as displayName, methods", () => {
    expect(
      toGeminiModel({ id: "gemini-2.5-flash", displayName: "Gemini 2.5 Flash", inputTokenLimit: 10, outputTokenLimit: 5, thinking: true }),
    ).toEqual({
      name: "models/gemini-2.5-flash",
      version: "001",
      displayName: "gemini-2.5-flash",
      description: "Gemini 2.5 Flash",
      inputTokenLimit: 10,
      outputTokenLimit: 5,
      supportedGenerationMethods: ["generateContent", "streamGenerateContent", "countTokens"],
      thinking: true,
    });
    const bare = toGeminiModel({ id: "x", displayName: "x" });
    expect(bare.description).toBe("");
    expect("inputTokenLimit" in bare).toBe(false);
    expect("thinking" in bare).toBe(false);
  });
});

describe("frames", () => {
  test("SSE data frames use Google's CRLF delimiter and parse back", () => {
    const f = sseData({ candidates: [{ content: { parts: [{ text: "a\nb" }] } }] });
    expect(f.startsWith("data: {")).toBe(true);
    expect(f.endsWith("\r\n\r\n")).toBe(true);
    expect(f.slice(0, -4).split("\n").length).toBe(1); // one data line
    expect(JSON.parse(f.slice(6))).toEqual({ candidates: [{ content: { parts: [{ text: "a\nb" }] } }] });
  });
  test("JSON array frames join into a valid array", () => {
    const s = "[" + arrayFrame({ a: 1 }, true) + arrayFrame({ b: 2 }, false) + "\n" + arrayFrame({ c: 3 }, false) + "]";
    expect(JSON.parse(s)).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });
});
