// The simulator's own late-2026 lineup: served ids, retired ids (200 notice or 404), what
// fetchAvailableModels reports, and per-account model lists.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RETIRED_MODELS, SIM_MODELS, startSimulator, type SimAccount, type Simulator } from "../../src/simulator";
import { accessToken, envelope, GENERATE_MODES, generateIn, texts, userText, v1 } from "../helpers/simulator";

let sim: Simulator;
let acc: SimAccount;
let tok: string;
beforeAll(async () => {
  sim = await startSimulator({ delays: false });
  acc = sim.addAccount({ email: "lineup@example.com" });
  tok = await accessToken(sim, acc);
});
afterAll(() => sim.stop());

const ask = (model: string) => envelope(acc, { contents: [userText("hello")] }, model);

describe("served models", () => {
  test("the lineup is the simulator's own, with limits and thinking maximums", () => {
    const ids = SIM_MODELS.map((m) => m.id);
    for (const id of [
      "gemini-2.5-flash",
      "gemini-2.5-pro",
      "gemini-3-flash",
      "gemini-3.1-pro-high",
      "gemini-pro-agent",
      "gemini-3.7-flash-tiered",
      "gemini-3.8-flash-low",
      "gemini-3.1-flash-image",
      "claude-opus-4-6-thinking",
      "claude-sonnet-4-6",
      "gpt-oss-120b-medium",
    ])
      expect(ids).toContain(id);
    for (const id of ["gemini-3-flash-preview", "gemini-3-pro-high", "claude-sonnet-4-5", "gemini-3-flash-agent"])
      expect(ids).not.toContain(id);
    for (const m of SIM_MODELS) {
      expect(m.inputTokenLimit).toBeGreaterThan(0);
      expect(m.outputTokenLimit).toBeGreaterThan(0);
      if (m.thinking) expect(m.thinkingBudget).toBeGreaterThan(0);
    }
    expect(SIM_MODELS.find((m) => m.id === "claude-opus-4-6-thinking")).toMatchObject({
      displayName: "Claude Opus 4.6 (Thinking)",
      thinkingBudget: 24576,
      outputTokenLimit: 64000,
      inputTokenLimit: 200000,
    });
    expect(SIM_MODELS.find((m) => m.id === "gemini-3.1-pro-low")!.displayName).toBe("Gemini 3.1 Pro (Low)");
  });

  test("every served model answers", async () => {
    for (const m of SIM_MODELS) {
      const r = await v1(sim, tok, "generateContent", ask(m.id));
      expect(`${m.id} ${r.status}`).toBe(`${m.id} 200`);
    }
  });
});

describe("retired models", () => {
  test("a retired id answers 200 with only the notice and zero usage, unary, JSON array and SSE alike", async () => {
    for (const mode of GENERATE_MODES) {
      const r = await generateIn(mode, sim, tok, ask("claude-opus-4-5-thinking"));
      expect(r.status).toBe(200);
      expect(r.text).toBe("Claude Opus 4.5 is no longer available. Please switch to Claude Opus 4.6.");
      expect(r.parts).toHaveLength(1);
      expect(r.finishReason).toBe("STOP");
      expect(r.usage).toEqual({ promptTokenCount: 0, candidatesTokenCount: 0, totalTokenCount: 0 });
    }
  });

  test("each retired id names its successor", async () => {
    const expected: Record<string, string> = {
      "claude-opus-4-5": "Claude Opus 4.5 is no longer available. Please switch to Claude Opus 4.6.",
      "claude-sonnet-4-5": "Claude Sonnet 4.5 is no longer available. Please switch to Claude Sonnet 4.6.",
      "claude-sonnet-4-5-thinking": "Claude Sonnet 4.5 is no longer available. Please switch to Claude Sonnet 4.6.",
      "claude-sonnet-4-6-thinking": "Claude Sonnet 4.6 Thinking is no longer available. Please switch to Claude Sonnet 4.6.",
      "gemini-3-pro-high": "Gemini 3 Pro is no longer available. Please switch to Gemini 3.1 Pro.",
      "gemini-3-pro-low": "Gemini 3 Pro is no longer available. Please switch to Gemini 3.1 Pro.",
      "gemini-3-pro-image": "Gemini 3 Pro Image is no longer available. Please switch to Gemini 3.1 Flash Image.",
      "gemini-3.5-flash": "Gemini 3.5 Flash is no longer available. Please switch to Gemini 3.7 Flash.",
    };
    for (const [id, notice] of Object.entries(expected)) {
      expect(RETIRED_MODELS[id]!.notice).toBe(notice);
      const r = await v1(sim, tok, "generateContent", ask(id));
      expect(r.status).toBe(200);
      expect(texts(r.json.response)).toBe(notice);
    }
    expect(RETIRED_MODELS["gemini-3.5-flash"]!.successor).toBe("Gemini 3.7 Flash");
  });

  test("gemini-3-flash-agent and unknown ids → plain 404", async () => {
    for (const id of ["gemini-3-flash-agent", "gemini-3-flash-preview", "nope"]) {
      const r = await v1(sim, tok, "streamGenerateContent?alt=sse", ask(id));
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ error: { code: 404, message: "Requested entity was not found.", status: "NOT_FOUND" } });
    }
  });

  test("countTokens on a retired id counts normally", async () => {
    const r = await v1(sim, tok, "countTokens", { request: { model: "models/claude-sonnet-4-5", contents: [userText("twelve chars")] } });
    expect(r.status).toBe(200);
    expect(r.json.totalTokens).toBe(3);
    expect(
      (await v1(sim, tok, "countTokens", { request: { model: "models/gemini-3-flash-agent", contents: [userText("x")] } })).status,
    ).toBe(404);
  });
});

describe("fetchAvailableModels", () => {
  test("served models with thinking maximums, retired ids Google still lists, and the lineup metadata", async () => {
    const r = await v1(sim, tok, "fetchAvailableModels", { project: acc.project });
    const { models } = r.json;
    for (const m of SIM_MODELS) expect(models[m.id].displayName).toBe(m.displayName);
    expect(models["claude-opus-4-6-thinking"]).toMatchObject({
      thinkingBudget: 24576,
      maxOutputTokens: 64000,
      maxTokens: 200000,
      supportsThinking: true,
    });
    expect(models["gemini-3-flash"].thinkingBudget).toBe(32768);
    expect(models["gemini-3.1-flash-lite"].thinkingBudget).toBeUndefined();
    expect(models["claude-sonnet-4-5"].quotaInfo.remainingFraction).toBe(1);
    expect(models["gemini-3-pro-high"].quotaInfo.resetTime).toBeTruthy();
    expect(models["claude-opus-4-5-thinking"]).toBeUndefined();
    expect(r.json.defaultAgentModelId).toBe("gemini-3-flash");
    expect(r.json.agentModelSorts).toEqual([
      {
        displayName: "Recommended",
        groups: [
          { modelIds: ["gemini-3-flash", "gemini-3.1-pro-high", "claude-opus-4-6-thinking", "claude-sonnet-4-6", "gemini-3.8-flash-high"] },
        ],
      },
    ]);
    expect(r.json.imageGenerationModelIds).toEqual(["gemini-3.1-flash-image"]);
    expect(r.json.deprecatedModelIds).toEqual({
      "claude-sonnet-4-5": { newModelId: "claude-sonnet-4-6" },
      "claude-sonnet-4-5-thinking": { newModelId: "claude-sonnet-4-6" },
    });
  });
});

describe("per-account model lists", () => {
  test("an account limited to some models sees and may use only those", async () => {
    const small = sim.addAccount({ email: "small@example.com", models: ["gemini-3-flash", "claude-sonnet-4-6"] });
    expect(small.models).toEqual(["gemini-3-flash", "claude-sonnet-4-6"]);
    const t = await accessToken(sim, small);
    const list = await v1(sim, t, "fetchAvailableModels", {});
    expect(Object.keys(list.json.models).sort()).toEqual(["claude-sonnet-4-6", "gemini-3-flash"]);
    const body = (model: string) => envelope(small, { contents: [userText("hi")] }, model);
    expect((await v1(sim, t, "generateContent", body("gemini-3-flash"))).status).toBe(200);
    for (const mode of GENERATE_MODES) {
      const r = await v1(sim, t, mode, body("gemini-2.5-flash"));
      expect(r.status).toBe(404);
      expect(r.json.error.message).toBe("Requested entity was not found.");
    }
    const count = await v1(sim, t, "countTokens", { request: { model: "models/gemini-2.5-pro", contents: [userText("x")] } });
    expect(count.status).toBe(404);
    // other accounts keep every model; null lifts the limit
    expect((await v1(sim, tok, "generateContent", ask("gemini-2.5-flash"))).status).toBe(200);
    expect(sim.addAccount({ email: "small@example.com", models: null }).models).toBeUndefined();
    expect((await v1(sim, t, "generateContent", body("gemini-2.5-flash"))).status).toBe(200);
  });

  test("POST /_sim/accounts accepts models, GET shows them; unknown ids → 400", async () => {
    const post = (b: unknown) => fetch(`${sim.url}/_sim/accounts`, { method: "POST", body: JSON.stringify(b) });
    expect((await post({ email: "ctl-models@example.com", models: ["gemini-3.1-pro-low"] })).status).toBe(200);
    const list = (await (await fetch(`${sim.url}/_sim/accounts`)).json()) as any[];
    expect(list.find((a) => a.email === "ctl-models@example.com").models).toEqual(["gemini-3.1-pro-low"]);
    expect(list.find((a) => a.email === "lineup@example.com").models).toBeUndefined();
    const bad = await post({ email: "ctl-models@example.com", models: ["gemini-9"] });
    expect(bad.status).toBe(400);
    expect((await post({ email: "ctl-models@example.com", models: "gemini-3-flash" })).status).toBe(400);
  });
});
