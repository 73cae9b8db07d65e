import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSimulator, type SimAccount, type Simulator } from "../../src/simulator";
import { accessToken, envelope, texts, userText, v1 } from "../helpers/simulator";

let sim: Simulator;
let acc: SimAccount;
let tok: string;
beforeAll(async () => {
  sim = await startSimulator({ delays: false });
  acc = sim.addAccount({ email: "tools@example.com" });
  tok = await accessToken(sim, acc);
});
afterAll(() => sim.stop());

const gen = (request: Record<string, unknown>, model = "gemini-2.5-flash") =>
  v1(sim, tok, "generateContent", envelope(acc, request, model));
const thinking = { thinkingConfig: { includeThoughts: true } };

describe("thought signatures", () => {
  test("issued signatures are accepted back; altered or foreign ones → 400 Invalid signature; the sentinel passes", async () => {
    const first = await gen({ contents: [userText("hello")], generationConfig: thinking }, "gemini-2.5-flash");
    expect(first.status).toBe(200);
    const parts = first.json.response.candidates[0].content.parts;
    expect(parts[0].thought).toBe(true);
    const sig: string = parts[0].thoughtSignature;
    expect(sig.length).toBeGreaterThanOrEqual(50);

    const history = (signature: string, key = "thoughtSignature") => ({
      contents: [
        userText("hello"),
        { role: "model", parts: [{ text: "thinking", thought: true, [key]: signature }, { text: "hi" }] },
        userText("again"),
      ],
      generationConfig: thinking,
    });
    expect((await gen(history(sig), "gemini-2.5-flash")).status).toBe(200);
    expect((await gen(history(sig, "thought_signature"), "gemini-2.5-flash")).status).toBe(200);
    expect((await gen(history("skip_thought_signature_validator"))).status).toBe(200);

    for (const bad of [sig.slice(0, -4) + "AAAA", "x".repeat(60)]) {
      const r = await gen(history(bad), "gemini-2.5-flash");
      expect(r.status).toBe(400);
      expect(r.json.error.message).toBe("Invalid signature in thinking block");
      expect(r.json.error.details[0].fieldViolations[0].field).toBe("request.contents[1].parts[0].thought_signature");
    }
  });

  test("no thoughts without includeThoughts, and none with thinkingBudget 0", async () => {
    const plain = await gen({ contents: [userText("hello")] });
    expect(plain.json.response.candidates[0].content.parts.some((p: any) => p.thought)).toBe(false);
    expect(plain.json.response.usageMetadata.thoughtsTokenCount).toBe(0);
    const zero = await gen({
      contents: [userText("hello")],
      generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 0 } },
    });
    expect(zero.json.response.candidates[0].content.parts.some((p: any) => p.thought)).toBe(false);
  });
});

const weatherTool = {
  functionDeclarations: [
    {
      name: "get_weather",
      description: "weather for a city",
      parameters: {
        type: "OBJECT",
        properties: { city: { type: "STRING" }, unit: { type: "STRING", enum: ["celsius", "fahrenheit"] }, days: { type: "INTEGER" } },
        required: ["city", "unit"],
      },
    },
    { name: "list_directory", parametersJsonSchema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] } },
  ],
};

describe("function calling", () => {
  test("round trip: the named function is called, then the functionResponse is answered", async () => {
    const ask = userText("What does get_weather say for Paris?");
    const r1 = await gen({ contents: [ask], tools: [weatherTool] }, "gemini-3-flash");
    expect(r1.status).toBe(200);
    const cand = r1.json.response.candidates[0];
    expect(cand.finishReason).toBe("STOP");
    const callPart = cand.content.parts.find((p: any) => p.functionCall);
    expect(callPart.functionCall).toEqual({ name: "get_weather", args: { city: "city-value", unit: "celsius" } });
    expect(callPart.thoughtSignature.length).toBeGreaterThanOrEqual(50);

    const response = { temperature: 21, sky: "clear" };
    const r2 = await gen(
      {
        contents: [
          ask,
          { role: "model", parts: [callPart] },
          { role: "user", parts: [{ functionResponse: { name: "get_weather", response } }] },
        ],
        tools: [weatherTool],
      },
      "gemini-3-flash",
    );
    expect(r2.status).toBe(200);
    const text = texts(r2.json.response);
    expect(text).toContain("get_weather");
    expect(text).toContain(JSON.stringify(response));
  });

  test("Gemini 3 rejects a functionCall in history without a thoughtSignature (unless the sentinel)", async () => {
    const history = (extra: Record<string, unknown>) => ({
      contents: [
        userText("call get_weather"),
        { role: "model", parts: [{ functionCall: { name: "get_weather", args: {} }, ...extra }] },
        { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { ok: true } } }] },
      ],
      tools: [weatherTool],
    });
    const r = await gen(history({}), "gemini-3-flash");
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain("thought_signature");
    expect((await gen(history({ thoughtSignature: "skip_thought_signature_validator" }), "gemini-3-flash")).status).toBe(200);
    expect((await gen(history({}), "gemini-2.5-flash")).status).toBe(200);
  });

  test("claude models get a call id; parallel calls when several functions are named", async () => {
    const r = await gen({ contents: [userText("use get_weather and list_directory")], tools: [weatherTool] }, "claude-sonnet-4-6");
    const calls = r.json.response.candidates[0].content.parts.filter((p: any) => p.functionCall);
    expect(calls.map((c: any) => c.functionCall.name)).toEqual(["get_weather", "list_directory"]);
    expect(calls[0].functionCall.id).toBeTruthy();
    expect(calls[1].functionCall.args).toEqual({ path: "path-value" });
    const g = await gen({ contents: [userText("use get_weather")], tools: [weatherTool] });
    expect(g.json.response.candidates[0].content.parts[0].functionCall.id).toBeUndefined();
  });

  test("no call when no function is named or mode is NONE; mode ANY always calls", async () => {
    const none = await gen({ contents: [userText("just chat")], tools: [weatherTool] });
    expect(texts(none.json.response)).toBe("Echo: just chat");
    const off = await gen({
      contents: [userText("get_weather")],
      tools: [weatherTool],
      toolConfig: { functionCallingConfig: { mode: "NONE" } },
    });
    expect(off.json.response.candidates[0].content.parts.some((p: any) => p.functionCall)).toBe(false);
    const any = await gen({
      contents: [userText("anything")],
      tools: [weatherTool],
      toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["list_directory"] } },
    });
    expect(any.json.response.candidates[0].content.parts[0].functionCall.name).toBe("list_directory");
  });

  test("functionCallingConfig.mode must be AUTO, ANY, NONE or VALIDATED (VALIDATED calls like AUTO)", async () => {
    const withMode = (mode: unknown, text = "get_weather please") => ({
      contents: [userText(text)],
      tools: [weatherTool],
      toolConfig: { functionCallingConfig: { mode } },
    });
    const v = await gen(withMode("VALIDATED"), "claude-sonnet-4-6");
    expect(v.status).toBe(200);
    expect(v.json.response.candidates[0].content.parts[0].functionCall.name).toBe("get_weather");
    expect(texts((await gen(withMode("VALIDATED", "just chat"))).json.response)).toBe("Echo: just chat");
    for (const mode of ["AUTO", "ANY", "NONE"]) expect((await gen(withMode(mode))).status).toBe(200);
    for (const bad of ["REQUIRED", "auto", "MODE_X", 7]) {
      const r = await gen(withMode(bad));
      expect(r.status).toBe(400);
      expect(r.json.error.status).toBe("INVALID_ARGUMENT");
      expect(r.json.error.message).toContain("request.tool_config.function_calling_config.mode");
      expect(r.json.error.details[0].fieldViolations[0].field).toBe("request.tool_config.function_calling_config.mode");
    }
    const snake = await v1(
      sim,
      tok,
      "generateContent",
      envelope(acc, { contents: [userText("x")], tool_config: { function_calling_config: { mode: "bogus" } } }),
    );
    expect(snake.status).toBe(400);
  });
});
