// Virtual keys end to end: the three official SDKs call a running gateway (backed by the simulator over
// HTTP) with a virtual key; every limit is hit and answered in the route's shape, never reaching an
// account; the usage log adds up to exactly what the simulator reported; a restart keeps both.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import { startServer } from "../../src/server/start";
import { createLogger } from "../../src/core/log";
import { NO_LIMITS } from "../../src/keys/limits-input";
import type { KeyLimits } from "../../src/state/keys";
import { startStack, type Stack } from "../helpers/stack";
import { until } from "../helpers/util";
import { runCli } from "../helpers/cli";

let stack: Stack;
let clock = Date.UTC(2026, 10, 28, 12, 0, 0);
const now = () => clock;

beforeAll(async () => {
  stack = await startStack({ accounts: 2, delays: false, now, config: { usage: { retentionDays: 30 } } });
});
afterAll(() => stack.stop());

const keys = () => stack.ctx.keys!;
let n = 0;
function key(limits: Partial<KeyLimits> = {}): { secret: string; name: string } {
  const name = `k${++n}`;
  return { secret: keys().book.create(name, { ...NO_LIMITS, ...limits }).secret, name };
}
const generateCalls = () =>
  stack.sim.requests().filter((r) => r.method === "generateContent" || r.method === "streamGenerateContent").length;
const openai = (secret: string) => new OpenAI({ apiKey: secret, baseURL: stack.url + "/v1", maxRetries: 0 });
const anthropic = (secret: string) => new Anthropic({ apiKey: secret, baseURL: stack.url, maxRetries: 0 });
const gemini = (secret: string) => new GoogleGenAI({ apiKey: secret, httpOptions: { baseUrl: stack.url } });
const chat = (secret: string, model = "gemini-2.5-flash") =>
  openai(secret).chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] });
const chatAs = (secret: string, model: string) =>
  fetch(`${stack.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });

describe("usage accounting", () => {
  test("all three SDKs with one virtual key, streamed and not: the totals equal what upstream reported", async () => {
    const k = key();
    stack.sim.reset();
    await chat(k.secret);
    for await (const _ of await openai(k.secret).chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "stream please" }],
      stream: true,
    }));
    await anthropic(k.secret).messages.create({
      model: "gemini-2.5-flash",
      max_tokens: 100,
      messages: [{ role: "user", content: "hello" }],
    });
    await anthropic(k.secret)
      .messages.stream({ model: "gemini-2.5-pro", max_tokens: 100, messages: [{ role: "user", content: "a longer hello" }] })
      .finalMessage();
    await gemini(k.secret).models.generateContent({ model: "gemini-2.5-flash", contents: "native" });
    for await (const _ of await gemini(k.secret).models.generateContentStream({ model: "gemini-2.5-flash", contents: "native stream" }));
    const sim = stack.sim.reportedUsage();
    expect(sim.answers).toBe(6);
    const [row] = (await keys().report(0, "key")).filter((r) => r.group === k.name);
    expect(row).toEqual({
      group: k.name,
      requests: 6,
      errors: 0,
      input: sim.promptTokenCount,
      output: sim.candidatesTokenCount,
      thinking: sim.thoughtsTokenCount,
      cached: sim.cachedContentTokenCount,
    });
    const byModel = await keys().report(0, "model");
    expect(byModel.find((r) => r.group === "gemini-2.5-pro")?.requests).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).text();
    expect(metrics).toMatch(new RegExp(`switchyard_tokens_total\\{direction="input",model="gemini-2.5-flash",key="${k.name}"\\} \\d+`));
    expect(metrics).toContain(`switchyard_key_requests_total{key="${k.name}",status="200"} 6`);
  });

  test("what a failed request's record keeps: a made-up model name is 'other', a made-up path is cut to 200 characters", async () => {
    const k = key();
    const seen: { model: string | null; route: string; status: number }[] = [];
    const stop = keys().onRecord((r) => seen.push(r));
    try {
      const made = `gemini-${"z".repeat(150)}-${crypto.randomUUID()}`;
      expect((await chatAs(k.secret, made)).status).toBe(404);
      expect((await chatAs(k.secret, "gemini-2.5-flash")).status).toBe(200);
      const long = await fetch(`${stack.url}/v1/${"p".repeat(8000)}`, { method: "POST", headers: { authorization: `Bearer ${k.secret}` } });
      expect(long.status).toBe(404);
      // a name that reaches a served model keeps its name when the request fails (here: the key's limit)
      const limited = key({ rpm: 1 });
      expect((await chatAs(limited.secret, "claude-sonnet-4-5-20250929")).status).toBe(200);
      expect((await chatAs(limited.secret, "claude-sonnet-4-5-20250929")).status).toBe(429);
      await until(() => seen.length === 5, "the records");
      expect(seen.map((r) => [r.model, r.status])).toEqual([
        ["other", 404],
        ["gemini-2.5-flash", 200],
        [null, 404],
        ["claude-sonnet-4-5-20250929", 200],
        ["claude-sonnet-4-5-20250929", 429],
      ]);
      expect(seen[2]!.route.length).toBe(200);
      expect((await keys().report(0, "model")).some((r) => r.group === made)).toBe(false);
    } finally {
      stop();
    }
  });

  test("a key renamed while its request is in flight: the request is recorded under the new name, and a new key under the old name starts empty", async () => {
    const k = key();
    const before = stack.sim.inFlight().generateContent ?? 0;
    stack.sim.addFault({ kind: "delay", delayMs: 300, method: "generateContent", times: 1 });
    const running = chat(k.secret);
    await until(() => (stack.sim.inFlight().generateContent ?? 0) > before, "the call upstream");
    const renamed = `${k.name}-renamed`;
    keys().book.update(k.name, { name: renamed });
    await running;
    const rows = await keys().report(0, "key");
    expect(rows.find((r) => r.group === renamed)?.requests).toBe(1);
    expect(rows.find((r) => r.group === k.name)).toBeUndefined();
    const fresh = keys().book.create(k.name, { ...NO_LIMITS, dailyTokens: 40 }).secret;
    expect((await chatAs(fresh, "gemini-2.5-flash")).status).toBe(200);
  });

  test("names swapped by the CLI while the server runs: each key keeps its own usage (the server does not rename what the CLI renamed)", async () => {
    const a = key();
    const g = key();
    for (let i = 0; i < 2; i++) expect((await chatAs(a.secret, "gemini-2.5-flash")).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await chatAs(g.secret, "gemini-2.5-flash")).status).toBe(200);
    keys().flush();
    const moved = `${a.name}-moved`;
    const cli = (...args: string[]) =>
      runCli(["keys", ...args, "--data-dir", stack.dataDir], { env: { SWITCHYARD_API_KEY: stack.apiKey } });
    expect((await cli("update", a.name, "--name", moved)).code).toBe(0);
    expect((await cli("update", g.name, "--name", a.name)).code).toBe(0);
    await until(() => keys().book.nameOf(keys().book.find(moved)?.id ?? "") === moved, "the server's reload");
    const rows = await keys().report(0, "key");
    expect(rows.find((r) => r.group === moved)?.requests).toBe(2);
    expect(rows.find((r) => r.group === a.name)?.requests).toBe(3);
  });

  test("a configured key is attributed to config; every record names protocol, route, account and models", async () => {
    await chat(stack.apiKey);
    const row = (await keys().report(0, "key")).find((r) => r.group === "config");
    expect(row!.requests).toBeGreaterThanOrEqual(1);
    expect((await keys().report(0, "account")).some((r) => r.group.endsWith("@example.com"))).toBe(true);
  });
});

describe("limits, each in the route's shape, before any account is used", () => {
  test("a model outside the allowlist: 403 naming the model and the key (Anthropic shape)", async () => {
    const k = key({ models: ["gemini-*"] });
    const before = generateCalls();
    const err = await anthropic(k.secret)
      .messages.create({ model: "claude-sonnet-4-5", max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .catch((e) => e);
    expect(err.status).toBe(403);
    expect(err.error.type).toBe("error");
    expect(err.error.error.message).toContain("claude-sonnet-4-5");
    expect(err.error.error.message).toContain(`"${k.name}"`);
    expect(generateCalls()).toBe(before);
    expect((await chat(k.secret)).choices[0]!.message.content).toBeTruthy(); // gemini-* is allowed
  });

  test("a name the allowlist matches but a family rule maps outside it: 403 naming both (no way around the list)", async () => {
    const k = key({ models: ["gemini-*flash*"] });
    const before = generateCalls();
    // `gemini-*pro*` is the family rule that wins for this name: it means the current Pro
    const err = await chat(k.secret, "gemini-flash-pro").catch((e) => e);
    expect(err.status).toBe(403);
    expect(err.message).toContain("gemini-3.1-pro-high, which gemini-flash-pro means here");
    const wrapped = await gemini(k.secret)
      .models.generateContent({ model: "gemini-flash-pro", contents: "x" })
      .catch((e) => e);
    expect(wrapped.status).toBe(403);
    expect(generateCalls()).toBe(before);
    // a served name the list allows, and a family name that stays inside it, are served
    expect((await chat(k.secret, "gemini-3-flash")).choices.length).toBe(1);
    expect((await chat(k.secret, "gemini-flash-latest")).model).toBe("gemini-flash-latest");
  });

  test("requests per minute: 429 with Retry-After, rate-limit headers, the window slides with the clock", async () => {
    const k = key({ rpm: 2 });
    const res = await openai(k.secret)
      .chat.completions.create({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "a" }] })
      .withResponse();
    expect(res.response.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(res.response.headers.get("x-ratelimit-remaining-requests")).toBe("1");
    await chat(k.secret);
    const before = generateCalls();
    const err = await chat(k.secret).catch((e) => e);
    expect(err.status).toBe(429);
    expect(err.headers.get("retry-after")).toBe("60");
    expect(err.message).toContain("2 requests per minute");
    // the refusal says which limit, as OpenAI's does
    expect(err.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(err.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(err.headers.get("x-ratelimit-reset-requests")).toBe("60s");
    expect(generateCalls()).toBe(before);
    clock += 61_000;
    expect((await chat(k.secret)).choices.length).toBe(1);
  });

  test("tokens per minute: counted from what upstream reported (Gemini shape)", async () => {
    const k = key({ tpm: 1 });
    await gemini(k.secret).models.generateContent({ model: "gemini-2.5-flash", contents: "one" });
    const err = await gemini(k.secret)
      .models.generateContent({ model: "gemini-2.5-flash", contents: "two" })
      .catch((e) => e);
    expect(err.status).toBe(429);
    expect(JSON.parse(err.message).error.status).toBe("RESOURCE_EXHAUSTED");
    expect(err.message).toContain("tokens per minute");
    clock += 61_000;
  });

  test("requests in flight: a second request while the first is in flight gets 429; after it ends, the key works again", async () => {
    const k = key({ concurrency: 1 });
    // upstream holds the first stream back until the test has made its second request
    stack.sim.reset();
    stack.sim.addFault({ kind: "delay", method: "streamGenerateContent", delayMs: 400, times: 1 });
    const first = openai(k.secret).chat.completions.create({
      model: "gemini-2.5-flash",
      stream: true,
      messages: [{ role: "user", content: "hold" }],
    });
    await until(() => (stack.sim.peaks().streamGenerateContent ?? 0) >= 1, "the first request to reach upstream");
    const err = await chat(k.secret).catch((e) => e);
    expect(err.status).toBe(429);
    expect(err.message).toContain("in flight");
    for await (const _ of await first);
    expect((await chat(k.secret)).choices.length).toBe(1);
  });

  test("daily and monthly budgets: 429 saying which budget and when it resets", async () => {
    const day = key({ dailyTokens: 1 });
    await chat(day.secret);
    const e1 = await chat(day.secret).catch((e) => e);
    expect(e1.status).toBe(429);
    expect(e1.message).toContain("daily budget of 1 tokens");
    expect(e1.message).toContain("resets at 2026-11-29T00:00:00.000Z");
    expect(Number(e1.headers.get("retry-after"))).toBeGreaterThan(0);
    const month = key({ monthlyTokens: 1 });
    await chat(month.secret);
    const e2 = await chat(month.secret).catch((e) => e);
    expect(e2.message).toContain("monthly budget of 1 tokens");
    expect(e2.message).toContain("resets at 2026-12-01T00:00:00.000Z");
  });

  test("expired and revoked keys: 401, also with authentication off", async () => {
    const expired = key({ expiresAt: clock - 1 });
    const e1 = await chat(expired.secret).catch((e) => e);
    expect(e1.status).toBe(401);
    expect(e1.message).toContain("expired");
    const revoked = key();
    keys().book.revoke(revoked.name);
    const e2 = await anthropic(revoked.secret)
      .messages.create({ model: "gemini-2.5-flash", max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .catch((e) => e);
    expect(e2.status).toBe(401);
    expect(e2.message).toContain("revoked");
  });
});

test("with authentication off, a virtual key is still attributed and held to its limits; no key is anonymous", async () => {
  const open = await startStack({ accounts: 1, delays: false, authMode: "off" });
  try {
    const k = open.ctx.keys!.book.create("open-key", { ...NO_LIMITS, rpm: 1 }).secret;
    const call = (auth?: string) =>
      fetch(`${open.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
        body: JSON.stringify({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "x" }] }),
      });
    expect((await call(k)).status).toBe(200);
    expect((await call(k)).status).toBe(429);
    expect((await call()).status).toBe(200);
    // health and docs ask no key: one a probe sends is not checked, counted or held to its limits
    open.ctx.keys!.book.revoke("open-key");
    for (const path of ["/healthz", "/readyz", "/swagger/json"])
      expect((await fetch(`${open.url}${path}`, { headers: { authorization: `Bearer ${k}` } })).status, path).toBe(200);
    const groups = (await open.ctx.keys!.report(0, "key")).map((r) => [r.group, r.requests, r.errors]);
    expect(groups).toEqual([
      ["anonymous", 1, 0],
      ["open-key", 2, 1],
    ]);
  } finally {
    await open.stop();
  }
});

test("a restart keeps the keys and the usage; a renamed key keeps its budget, and its old name starts empty", async () => {
  const k = key({ rpm: 100 });
  await chat(k.secret);
  const before = (await keys().report(0, "key")).find((r) => r.group === k.name)!;
  // a daily budget spent, then the key renamed and a new key given the old name
  const spent = keys().book.create("spender", { ...NO_LIMITS, dailyTokens: 1 }).secret;
  await chat(spent);
  expect((await chat(spent).catch((e) => e)).status).toBe(429);
  keys().book.update("spender", { name: "spender-renamed" });
  const fresh = keys().book.create("spender", { ...NO_LIMITS, dailyTokens: 100_000 }).secret;
  await stack.gateway.stop();
  const again = await startServer({ config: stack.ctx.config, dataDir: stack.dataDir, log: createLogger("silent"), now });
  try {
    const at = (secret: string) => new OpenAI({ apiKey: secret, baseURL: again.url + "/v1", maxRetries: 0 });
    const ask = (secret: string) =>
      at(secret).chat.completions.create({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "x" }] });
    expect((await ask(spent).catch((e) => e)).status).toBe(429);
    expect((await ask(fresh)).choices.length).toBe(1);
    const after = (await again.ctx.keys!.report(0, "key")).find((r) => r.group === k.name)!;
    expect(after).toEqual(before);
    const client = new OpenAI({ apiKey: k.secret, baseURL: again.url + "/v1", maxRetries: 0 });
    await client.chat.completions.create({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "again" }] });
    expect((await again.ctx.keys!.report(0, "key")).find((r) => r.group === k.name)!.requests).toBe(before.requests + 1);
  } finally {
    await again.stop();
  }
});
