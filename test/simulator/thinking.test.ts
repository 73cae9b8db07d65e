// Thinking limits (budget maximums, Gemini 3's default thinking eating maxOutputTokens) and Claude's
// unary answers that come without thinking.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSimulator, type SimAccount, type Simulator } from "../../src/simulator";
import { accessToken, envelope, GENERATE_MODES, generateIn, texts, userText, v1 } from "../helpers/simulator";

let sim: Simulator;
let acc: SimAccount;
let tok: string;
beforeAll(async () => {
  sim = await startSimulator({ delays: false });
  acc = sim.addAccount({ email: "thinking@example.com" });
  tok = await accessToken(sim, acc);
});
afterAll(() => sim.stop());

const body = (model: string, generationConfig: Record<string, unknown> = {}, text = "hello") =>
  envelope(acc, { contents: [userText(text)], generationConfig }, model);
const budget = (thinkingBudget: number, includeThoughts = false) => ({ thinkingConfig: { thinkingBudget, includeThoughts } });

describe("thinking budget maximum", () => {
  test("a budget above the model's maximum → 400 naming both; at the maximum it passes", async () => {
    for (const mode of GENERATE_MODES) {
      const r = await v1(sim, tok, mode, body("claude-opus-4-6-thinking", budget(31999)));
      expect(r.status).toBe(400);
      expect(r.json.error.status).toBe("INVALID_ARGUMENT");
      expect(r.json.error.message).toBe("thinking budget 31999 exceeds the maximum of 24576 for claude-opus-4-6-thinking");
      expect(r.json.error.details[0].fieldViolations[0].field).toBe("generation_config.thinking_config.thinking_budget");
    }
    expect((await v1(sim, tok, "generateContent", body("claude-opus-4-6-thinking", budget(24576)))).status).toBe(200);
    const gem = await v1(sim, tok, "generateContent", body("gemini-3.1-pro-high", budget(40000)));
    expect(gem.json.error.message).toBe("thinking budget 40000 exceeds the maximum of 32768 for gemini-3.1-pro-high");
    expect((await v1(sim, tok, "generateContent", body("gemini-2.5-flash", budget(-1)))).status).toBe(200);
  });
});

describe("Gemini 3 default thinking", () => {
  const usage = async (model: string, gen: Record<string, unknown>, text?: string) => {
    const r = await v1(sim, tok, "generateContent", body(model, gen, text));
    expect(r.status).toBe(200);
    return r.json.response;
  };

  test("without a budget it spends min(1024, maxOutputTokens) thought tokens, shown only with includeThoughts", async () => {
    const plain = await usage("gemini-3-flash", {});
    expect(plain.usageMetadata.thoughtsTokenCount).toBe(1024);
    expect(plain.candidates[0].content.parts.some((p: any) => p.thought)).toBe(false);
    expect(texts(plain)).toBe("Echo: hello");
    const u = plain.usageMetadata;
    expect(u.totalTokenCount).toBe(u.promptTokenCount + u.candidatesTokenCount + u.thoughtsTokenCount);
    const shown = await usage("gemini-3.1-pro-low", { thinkingConfig: { includeThoughts: true } });
    expect(shown.candidates[0].content.parts[0].thought).toBe(true);
    expect(shown.usageMetadata.thoughtsTokenCount).toBe(1024);
    // other models think only when asked to show it
    expect((await usage("gemini-2.5-flash", {})).usageMetadata.thoughtsTokenCount).toBe(0);
    expect((await usage("gemini-pro-agent", {})).usageMetadata.thoughtsTokenCount).toBe(0);
  });

  test("maxOutputTokens at or below the thoughts → no answer, MAX_TOKENS, in all three shapes", async () => {
    for (const max of [500, 1024])
      for (const mode of GENERATE_MODES) {
        const r = await generateIn(mode, sim, tok, body("gemini-3-flash", { maxOutputTokens: max }));
        expect(r.status).toBe(200);
        expect(r.parts).toEqual([]);
        expect(r.finishReason).toBe("MAX_TOKENS");
        expect(r.usage.thoughtsTokenCount).toBe(Math.min(1024, max));
        expect(r.usage.candidatesTokenCount).toBe(0);
      }
    // with includeThoughts only the thought comes back
    const shown = await generateIn(
      "generateContent",
      sim,
      tok,
      body("gemini-3-flash", { maxOutputTokens: 300, thinkingConfig: { includeThoughts: true } }),
    );
    expect(shown.parts.every((p: any) => p.thought)).toBe(true);
    expect(shown.finishReason).toBe("MAX_TOKENS");
  });

  test("what the thoughts leave bounds the answer", async () => {
    const tight = await usage("gemini-3-flash", { maxOutputTokens: 1026 }, "hello there my friend");
    expect(tight.candidates[0].finishReason).toBe("MAX_TOKENS");
    expect(texts(tight)).toBe("Echo: he");
    const roomy = await usage("gemini-3-flash", { maxOutputTokens: 2000 }, "hello there my friend");
    expect(roomy.candidates[0].finishReason).toBe("STOP");
  });

  test("an explicit budget spends min(budget, 1024); 0 spends none", async () => {
    expect((await usage("gemini-3-flash", budget(200))).usageMetadata.thoughtsTokenCount).toBe(200);
    expect((await usage("gemini-3-flash", budget(8000))).usageMetadata.thoughtsTokenCount).toBe(1024);
    const none = await usage("gemini-3-flash", { ...budget(0, true), maxOutputTokens: 50 });
    expect(none.usageMetadata.thoughtsTokenCount).toBe(0);
    expect(none.candidates[0].content.parts.some((p: any) => p.thought)).toBe(false);
    expect(texts(none)).toBe("Echo: hello");
    const spent = await usage("gemini-3-flash", { ...budget(100), maxOutputTokens: 100 });
    expect(spent.candidates[0].finishReason).toBe("MAX_TOKENS");
    expect(texts(spent)).toBe("");
  });
});

describe("Claude unary answers", () => {
  const ask = (mode: (typeof GENERATE_MODES)[number], extra: Record<string, unknown> = {}) =>
    generateIn(
      mode,
      sim,
      tok,
      envelope(
        acc,
        {
          contents: [userText("think first")],
          generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 4096 } },
          ...extra,
        },
        "claude-opus-4-6-thinking",
      ),
    );

  test("generateContent answers without thought parts or signatures; streams include them", async () => {
    const unary = await ask("generateContent");
    expect(unary.status).toBe(200);
    expect(unary.parts.some((p: any) => p.thought || p.thoughtSignature)).toBe(false);
    expect(unary.text).toBe("Echo: think first");
    for (const mode of ["streamGenerateContent", "streamGenerateContent?alt=sse"] as const) {
      const r = await ask(mode);
      const thoughts = r.parts.filter((p: any) => p.thought);
      expect(thoughts.length).toBeGreaterThan(0);
      expect(thoughts.some((p: any) => p.thoughtSignature)).toBe(true);
    }
  });

  test("unary tool calls carry no signature; a streamed signature is accepted back", async () => {
    const tools = [{ functionDeclarations: [{ name: "lookup", parameters: { type: "OBJECT", properties: { q: { type: "STRING" } } } }] }];
    const unary = await generateIn(
      "generateContent",
      sim,
      tok,
      envelope(acc, { contents: [userText("call lookup")], tools }, "claude-sonnet-4-6"),
    );
    expect(unary.parts[0].functionCall.name).toBe("lookup");
    expect(unary.parts[0].thoughtSignature).toBeUndefined();

    const streamed = await ask("streamGenerateContent?alt=sse");
    const sig = streamed.parts.find((p: any) => p.thoughtSignature).thoughtSignature;
    const history = {
      contents: [
        userText("think first"),
        { role: "model", parts: [{ text: "…", thought: true, thoughtSignature: sig }, { text: streamed.text }] },
        userText("and now?"),
      ],
    };
    expect((await v1(sim, tok, "generateContent", envelope(acc, history, "claude-opus-4-6-thinking"))).status).toBe(200);
  });
});
