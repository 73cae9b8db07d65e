// Today's models and the Claude path, through all three protocols against the simulator's late-2026
// lineup: retired names reach their successors, notices never reach a client, the Agent SDK identity
// is served without cooling anyone, Claude goes up streamed and VALIDATED, budgets are clamped, and a
// model one account lacks is served by another.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";
import { AGENT_SDK_IDENTITY, CLAUDE_CODE_IDENTITY } from "../../src/models/fit";
import { startStack, type Stack } from "../helpers/stack";

const GEN = new Set(["generateContent", "streamGenerateContent"]);
const generations = (s: Stack) => s.sim.requests().filter((r) => GEN.has(r.method));
const clients = (s: Stack) => ({
  openai: new OpenAI({ apiKey: s.apiKey, baseURL: `${s.url}/v1`, maxRetries: 0 }),
  anthropic: new Anthropic({ apiKey: s.apiKey, baseURL: s.url, maxRetries: 0 }),
  google: new GoogleGenAI({ apiKey: s.apiKey, httpOptions: { baseUrl: s.url } }),
});
const cooled = (s: Stack) => s.pool.list().flatMap((a) => a.cooldowns.map((c) => `${a.email}:${c.model}:${c.reason}`));

describe("retired names are served by their successors", () => {
  let s: Stack;
  let c: ReturnType<typeof clients>;
  beforeAll(async () => {
    s = await startStack({ delays: false });
    c = clients(s);
  });
  afterAll(() => s.stop());

  test("Anthropic: a dated Claude 4.5 name goes straight to the current Sonnet (family rule), no call to a retired id", async () => {
    s.sim.clearRequests();
    const { data, response } = await c.anthropic.messages
      .create({ model: "claude-sonnet-4-5-20250929", max_tokens: 64, messages: [{ role: "user", content: "dated" }] })
      .withResponse();
    expect(data.content).toEqual([{ type: "text", text: "Echo: dated" } as any]);
    expect(data.model).toBe("claude-sonnet-4-5-20250929"); // the client's name is echoed
    expect(response.headers.get("x-mapped-model")).toBe("claude-sonnet-4-6");
    expect(generations(s).map((r) => r.body.model)).toEqual(["claude-sonnet-4-6"]);
  });

  test("OpenAI: claude-opus-4-5-thinking (not listed any more) → claude-opus-4-6-thinking", async () => {
    const { data, response } = await c.openai.chat.completions
      .create({ model: "claude-opus-4-5-thinking", messages: [{ role: "user", content: "opus" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("Echo: opus");
    expect(response.headers.get("x-mapped-model")).toBe("claude-opus-4-6-thinking");
  });

  test("Google's deprecatedModelIds forward claude-sonnet-4-5, and the lists no longer offer it", async () => {
    s.sim.clearRequests();
    const r = await c.anthropic.messages.create({
      model: "claude-sonnet-4-5",
      max_tokens: 64,
      messages: [{ role: "user", content: "forwarded" }],
    });
    expect(r.content[0]).toMatchObject({ text: "Echo: forwarded" });
    expect(generations(s).map((x) => x.body.model)).toEqual(["claude-sonnet-4-6"]);
    const ids = (await c.openai.models.list()).data.map((m) => m.id);
    expect(ids).toContain("claude-sonnet-4-6");
    expect(ids).not.toContain("claude-sonnet-4-5");
  });

  test("Gemini: a retired id Google still lists meets the notice once, is retried on the successor at once, and the rule is kept", async () => {
    s.sim.clearRequests();
    const first = await c.google.models.generateContent({ model: "gemini-3-pro-high", contents: "retired pro" });
    expect(first.text).toBe("Echo: retired pro");
    // the notice was an upstream 200, but never an answer: the successor served the client, after one
    // question of the gateway's own confirmed the notice (only then is the rule kept for everyone)
    expect(generations(s).map((r) => r.body.model)).toEqual(["gemini-3-pro-high", "gemini-3-pro-high", "gemini-3.1-pro-high"]);
    expect(generations(s)[1]!.body.request.contents[0].parts[0].text).toBe("Reply with the word OK.");
    s.sim.clearRequests();
    const res = await fetch(`${s.url}/v1beta/models/gemini-3-pro-high:generateContent`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": s.apiKey },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "again" }] }] }),
    });
    expect(res.headers.get("x-mapped-model")).toBe("gemini-3.1-pro-high");
    expect(generations(s).map((r) => r.body.model)).toEqual(["gemini-3.1-pro-high"]); // learned: no second notice
    expect((await c.openai.models.list()).data.map((m) => m.id)).not.toContain("gemini-3-pro-high");
    expect(cooled(s)).toEqual([]); // a notice never cools an account
  });

  test("an answer that only looks like a notice reaches the client and reroutes nothing (the client's words, or another model's name)", async () => {
    // the simulator echoes: the whole answer is "Echo: … is no longer available. Please switch to …"
    const text = "The Nokia 3310 is no longer available. Please switch to Gemini 3.1 Pro.";
    for (const model of ["gemini-2.5-flash", "gemini-3-flash", "claude-sonnet-4-6"]) {
      s.sim.clearRequests();
      const { data, response } = await c.openai.chat.completions
        .create({ model, messages: [{ role: "user", content: text }] })
        .withResponse();
      expect(data.choices[0]!.message.content).toBe(`Echo: ${text}`);
      expect(response.headers.get("x-mapped-model")).toBe(model);
      expect(generations(s)).toHaveLength(1);
    }
    // nothing was learned: the next request still goes to the model asked for
    const r = await c.google.models.generateContent({ model: "gemini-2.5-flash", contents: "hi" });
    expect(r.text).toBe("Echo: hi");
    expect(r.modelVersion).toBe("gemini-2.5-flash");
  });

  test("the default image model is the one Google lists", async () => {
    const { response } = await c.openai.images.generate({ prompt: "a lighthouse" }).withResponse();
    expect(response.headers.get("x-mapped-model")).toBe("gemini-3.1-flash-image");
  });
});

describe("a retirement notice is confirmed before its rule is kept", () => {
  // a stack of its own: the block above has learned gemini-3-pro-high's rule already
  let s: Stack;
  beforeAll(async () => void (s = await startStack({ delays: false })));
  afterAll(() => s.stop());
  const ask = (text: string) => clients(s).google.models.generateContent({ model: "gemini-3-pro-high", contents: text });

  test("a notice our own question does not meet teaches nothing: this request goes to the successor, the next meets the notice again", async () => {
    // the confirming question (a plain generateContent) fails once: unconfirmed
    s.sim.addFault({ kind: "internal_500", method: "generateContent", model: "gemini-3-pro-high", times: 1 });
    s.sim.clearRequests();
    const first = await ask("one");
    expect(first.text).toBe("Echo: one");
    const successor = first.modelVersion!;
    expect(successor).not.toBe("gemini-3-pro-high");
    s.sim.clearRequests();
    await ask("two");
    // not learned: the retired id is asked first again, and this time the question confirms it
    expect(generations(s).map((r) => r.body.model)).toEqual(["gemini-3-pro-high", "gemini-3-pro-high", successor]);
    s.sim.clearRequests();
    await ask("three");
    expect(generations(s).map((r) => r.body.model)).toEqual([successor]);
  });
});

describe("a notice whose successor is not served never reaches the client", () => {
  let s: Stack;
  let c: ReturnType<typeof clients>;
  beforeAll(async () => {
    // no account is entitled to Opus 4.6: the notice's successor cannot be resolved
    const models = ["gemini-2.5-flash", "gemini-3-flash", "claude-sonnet-4-6"];
    s = await startStack({
      delays: false,
      accounts: [{ email: "a@x.com", models }],
      config: { models: { aliases: { legacy: "claude-opus-4-5-thinking" } } },
    });
    c = clients(s);
  });
  afterAll(() => s.stop());

  const expectRetired = (message: string) => {
    expect(message).toContain("retired");
    expect(message).toContain("Claude Opus 4.5 is no longer available");
    expect(message).toContain("Claude Opus 4.6");
  };

  test("OpenAI (unary and stream), Anthropic and Gemini: 404 naming the model and the suggested successor", async () => {
    const unary = (await c.openai.chat.completions
      .create({ model: "legacy", messages: [{ role: "user", content: "x" }] })
      .catch((e) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(unary.status).toBe(404);
    expectRetired(unary.message);
    const streamed = (await (async () => {
      for await (const _ of await c.openai.chat.completions.create({
        model: "legacy",
        stream: true,
        messages: [{ role: "user", content: "x" }],
      }));
    })().catch((e) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(streamed.status).toBe(404);
    const anth = (await c.anthropic.messages
      .create({ model: "legacy", max_tokens: 32, messages: [{ role: "user", content: "x" }] })
      .catch((e) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(anth.status).toBe(404);
    expect((anth.error as any).error.type).toBe("not_found_error");
    expectRetired((anth.error as any).error.message);
    const g = await fetch(`${s.url}/v1beta/models/legacy:streamGenerateContent?alt=sse`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": s.apiKey },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "x" }] }] }),
    });
    expect(g.status).toBe(404);
    expectRetired(((await g.json()) as any).error.message);
    expect(cooled(s)).toEqual([]);
  });
});

describe("the Claude path", () => {
  let s: Stack;
  let c: ReturnType<typeof clients>;
  beforeAll(async () => {
    s = await startStack({ delays: false, accounts: 3 });
    c = clients(s);
  });
  afterAll(() => s.stop());

  test("the Agent SDK identity gets an answer and cools no account (the sentence goes up as Claude Code's)", async () => {
    s.sim.clearRequests();
    const r = await c.anthropic.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 64,
      system: [{ type: "text", text: `${AGENT_SDK_IDENTITY}\nHelp with the repository.` }],
      messages: [{ role: "user", content: "agent" }],
    });
    expect(r.content[0]).toMatchObject({ text: "Echo: agent" });
    const sent = generations(s);
    expect(sent).toHaveLength(1);
    const system = sent[0]!.body.request.systemInstruction.parts.map((p: any) => p.text).join("\n");
    expect(system).toContain(CLAUDE_CODE_IDENTITY);
    expect(system).not.toContain(AGENT_SDK_IDENTITY);
    expect(system).toContain("Help with the repository.");
    expect(cooled(s)).toEqual([]);
  });

  test("a non-stream Claude call streams upstream and keeps its thinking and signature", async () => {
    s.sim.clearRequests();
    const r = await c.anthropic.messages.create({
      model: "claude-opus-4-6-thinking",
      max_tokens: 4096,
      thinking: { type: "enabled", budget_tokens: 2048 },
      messages: [{ role: "user", content: "think first" }],
    });
    expect(s.sim.requests({ method: "generateContent" })).toEqual([]);
    expect(s.sim.requests({ method: "streamGenerateContent" })).toHaveLength(1);
    const thinking = r.content.find((b) => b.type === "thinking") as Anthropic.ThinkingBlock;
    expect(thinking.thinking.length).toBeGreaterThan(0);
    expect(thinking.signature.length).toBeGreaterThan(20);
    expect(r.content.at(-1)).toMatchObject({ type: "text", text: "Echo: think first" });
  });

  test("Claude tools go up VALIDATED with the schema subset; tool_choice required stays ANY", async () => {
    const tool: OpenAI.ChatCompletionTool = {
      type: "function",
      function: {
        name: "book",
        description: "Book seats",
        parameters: {
          type: "object",
          properties: {
            seats: { type: "integer", minimum: 1, maximum: 9, default: 2, description: "how many" },
            date: { type: "string", format: "date-time" },
            note: { anyOf: [{ type: "string", maxLength: 40 }, { type: "null" }] },
          },
          required: ["seats"],
        },
      },
    };
    s.sim.clearRequests();
    await c.openai.chat.completions.create({
      model: "claude-sonnet-4-6",
      tools: [tool],
      messages: [{ role: "user", content: "call book please" }],
    });
    const req = generations(s).at(-1)!.body.request;
    expect(req.toolConfig.functionCallingConfig.mode).toBe("VALIDATED");
    const params = req.tools[0].functionDeclarations[0].parameters;
    const json = JSON.stringify(params);
    for (const k of ["minimum", "maximum", "default", "format", "anyOf", "maxLength"]) expect(json).not.toContain(`"${k}"`);
    expect(params.properties.seats.description).toContain("minimum 1");
    expect(params.properties.note).toMatchObject({ type: "string", nullable: true });
    await c.openai.chat.completions.create({
      model: "claude-sonnet-4-6",
      tools: [tool],
      tool_choice: "required",
      messages: [{ role: "user", content: "x" }],
    });
    expect(generations(s).at(-1)!.body.request.toolConfig.functionCallingConfig.mode).toBe("ANY");
    // Gemini models keep Gemini's own mode and schema keywords
    await c.openai.chat.completions.create({ model: "gemini-2.5-flash", tools: [tool], messages: [{ role: "user", content: "x" }] });
    const gem = generations(s).at(-1)!.body.request;
    expect(gem.toolConfig?.functionCallingConfig?.mode).not.toBe("VALIDATED");
    expect(gem.tools[0].functionDeclarations[0].parameters.properties.seats.minimum).toBe(1);
  });

  test("an oversized thinking budget is clamped to the model's limit (the call succeeds)", async () => {
    s.sim.clearRequests();
    // (the SDK insists on streaming for a max_tokens this large)
    const r = await c.anthropic.messages
      .stream({
        model: "claude-opus-4-6-thinking",
        max_tokens: 40_000,
        thinking: { type: "enabled", budget_tokens: 31_999 },
        messages: [{ role: "user", content: "big budget" }],
      })
      .finalMessage();
    expect(r.content.at(-1)).toMatchObject({ text: "Echo: big budget" });
    const gen = generations(s).at(-1)!.body.request.generationConfig;
    expect(gen.thinkingConfig.thinkingBudget).toBe(24_576); // what fetchAvailableModels says the model takes
    expect(gen.maxOutputTokens).toBeGreaterThan(24_576);
  });

  test("a small max_tokens on a Gemini model that thinks by default still leaves room for the answer", async () => {
    s.sim.clearRequests();
    const r = await c.openai.chat.completions.create({
      model: "gemini-3-flash",
      max_tokens: 40,
      messages: [{ role: "user", content: "short" }],
    });
    expect(r.choices[0]!.message.content).toBe("Echo: short");
    const gen = generations(s).at(-1)!.body.request.generationConfig;
    expect(gen.thinkingConfig.thinkingBudget).toBeGreaterThan(0);
    expect(gen.maxOutputTokens).toBe(40 + gen.thinkingConfig.thinkingBudget);
  });

  test("without the rewrite, a detail-free 429 that follows the request to a second account is the request's: 429, nobody cooled", async () => {
    const off = await startStack({ delays: false, accounts: 3, config: { upstream: { rewriteAgentIdentity: false } } });
    try {
      const anthropic = clients(off).anthropic;
      off.sim.clearRequests();
      const err = (await anthropic.messages
        .create({ model: "claude-sonnet-4-6", max_tokens: 32, system: AGENT_SDK_IDENTITY, messages: [{ role: "user", content: "x" }] })
        .catch((e) => e)) as InstanceType<typeof Anthropic.APIError>;
      expect(err.status).toBe(429);
      expect((err.error as any).error.message).toContain("the request itself is refused");
      const calls = generations(off);
      expect(calls.map((r) => r.status)).toEqual([429, 429]); // two accounts, then stop
      expect(new Set(calls.map((r) => r.email)).size).toBe(2);
      expect(cooled(off)).toEqual([]);
      // the pool is intact for everyone else
      expect(
        (await anthropic.messages.create({ model: "claude-sonnet-4-6", max_tokens: 32, messages: [{ role: "user", content: "fine" }] }))
          .content[0],
      ).toMatchObject({ text: "Echo: fine" });
    } finally {
      await off.stop();
    }
  });
});

describe("model access per account", () => {
  test("a model one account lacks is served by another: preferred by its model list, and after a 404", async () => {
    const s = await startStack({
      delays: false,
      accounts: [{ email: "a@x.com" }, { email: "b@x.com" }],
      config: { scheduling: { mode: "round-robin" } },
    });
    try {
      const openai = clients(s).openai;
      // a@x.com loses Gemini 3.1 Pro after the gateway read its model list: its list still says it has it
      s.sim.addAccount({ email: "a@x.com", models: ["gemini-2.5-flash", "gemini-3-flash"] });
      s.sim.clearRequests();
      const served: string[] = [];
      for (let i = 0; i < 2; i++) {
        const { response } = await openai.chat.completions
          .create({ model: "gemini-3.1-pro-high", messages: [{ role: "user", content: `p${i}` }] })
          .withResponse();
        served.push(response.headers.get("x-account-email")!);
      }
      expect(served).toEqual(["b@x.com", "b@x.com"]);
      const statuses = generations(s).map((r) => `${r.email}:${r.status}`);
      expect(statuses.filter((x) => x.startsWith("a@x.com"))).toEqual(["a@x.com:404"]); // tried once, then skipped
      expect(cooled(s)).toEqual(["a@x.com:gemini-3.1-pro-high:model_not_served"]);

      // after its quota refresh the list no longer has the model: it is not even tried
      await s.pool.refresh("a@x.com");
      await s.pool.setEnabled("a@x.com", true); // clears nothing model-scoped; the list decides now
      s.sim.clearRequests();
      await openai.chat.completions.create({ model: "gemini-3.1-pro-low", messages: [{ role: "user", content: "low" }] });
      expect(generations(s).map((r) => r.email)).toEqual(["b@x.com"]);
      // a model nobody lists is a plain 404
      const err = (await openai.chat.completions
        .create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] })
        .catch((e) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(err.status).toBe(404);
    } finally {
      await s.stop();
    }
  });
});
