// What a client sees when the gateway gives up on upstream: the served-by headers on failures, a
// model 404 that says what to do, and transport failures in plain words (no runtime internals).
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startStack, type Stack } from "../helpers/stack";
import { until } from "../helpers/util";

const U1 = "user1@example.com";
let st: Stack;
beforeAll(async () => {
  st = await startStack({ accounts: 1, delays: false, config: { upstream: { requestTimeoutSeconds: 1 }, scheduling: { maxAttempts: 1 } } });
});
afterAll(() => st.stop());
beforeEach(async () => {
  st.sim.reset();
  for (const a of st.pool.list()) await st.pool.setEnabled(a.id, true);
});

const chat = (model: string, stream = false) =>
  fetch(`${st.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${st.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ model, stream, messages: [{ role: "user", content: "hi" }] }),
  });
const gemini = (model: string) =>
  fetch(`${st.url}/v1beta/models/${model}:generateContent`, {
    method: "POST",
    headers: { "x-goog-api-key": st.apiKey, "content-type": "application/json" },
    body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
  });

const RUNTIME_TEXT = /TypeError|TimeoutError|DOMException|verbose|fetch\(\)|ECONN/;

describe("a model upstream does not serve", () => {
  test("OpenAI: 404 naming the model and the model list, with the served-by headers", async () => {
    const r = await chat("no-such-model-x");
    expect(r.status).toBe(404);
    const body = (await r.json()) as { error: { message: string } };
    expect(body.error.message).toBe('model "no-such-model-x" is not served upstream (mapped to "no-such-model-x"); see GET /v1/models');
    expect(r.headers.get("x-mapped-model")).toBe("no-such-model-x");
    expect(r.headers.get("x-account-email")).toBe(U1);
  });

  test("a current Claude family name is served (built-in alias), not a 404", async () => {
    const r = await fetch(`${st.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${st.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-opus-4-1", messages: [{ role: "user", content: "hi" }] }),
    });
    // claude-opus-4-1 is now a built-in alias: served, not 404
    expect(r.status).toBe(200);
    expect(r.headers.get("x-mapped-model")).toBe("claude-opus-4-6-thinking");
  });

  test("Gemini: Google's shape, naming the model; the headers are set", async () => {
    const r = await gemini("no-such-model-y");
    expect(r.status).toBe(404);
    const body = (await r.json()) as { error: { code: number; status: string; message: string } };
    expect(body.error).toMatchObject({ code: 404, status: "NOT_FOUND" });
    expect(body.error.message).toContain('model "no-such-model-y" is not served upstream');
    expect(r.headers.get("x-mapped-model")).toBe("no-such-model-y");
    expect(r.headers.get("x-account-email")).toBe(U1);
  });
});

describe("served-by headers on failures", () => {
  test("429 from upstream carries the account and the mapped model", async () => {
    st.sim.addFault({ kind: "quota_exhausted", model: "gemini-2.5-pro", resetSeconds: 60 });
    const r = await chat("gemini-2.5-pro");
    expect(r.status).toBe(429);
    expect(r.headers.get("x-mapped-model")).toBe("gemini-2.5-pro");
    expect(r.headers.get("x-account-email")).toBe(U1);
  });

  test("400 from upstream carries them too", async () => {
    st.sim.addFault({ kind: "bad_request_400", model: "gemini-3-flash", times: 1 });
    const r = await chat("gpt-4o");
    expect(r.status).toBe(400);
    expect(r.headers.get("x-mapped-model")).toBe("gemini-3-flash"); // Google's recommended Gemini model
    expect(r.headers.get("x-account-email")).toBe(U1);
  });

  test("no account at all: only the mapped model", async () => {
    for (const a of st.pool.list()) await st.pool.setEnabled(a.id, false);
    const r = await chat("gpt-4o");
    expect([429, 503]).toContain(r.status);
    expect(r.headers.get("x-mapped-model")).toBe("gemini-3-flash"); // Google's recommended Gemini model
    expect(r.headers.get("x-account-email")).toBeNull();
  });
});

describe("transport failures in plain words", () => {
  test("a slow upstream: 504 'did not answer within N s', reason timeout", async () => {
    st.sim.addFault({ kind: "delay", model: "gemini-3-flash", delayMs: 2500, times: 1 });
    const r = await chat("gemini-3-flash");
    expect(r.status).toBe(504);
    const body = (await r.json()) as { error: { message: string; code: string } };
    expect(body.error.message).toBe("upstream did not answer within 1 s");
    expect(body.error.code).toBe("timeout");
    expect(r.headers.get("x-mapped-model")).toBe("gemini-3-flash");
  });

  test("a stream cut mid-way: 'connection reset by upstream', no runtime text", async () => {
    st.sim.addFault({ kind: "stream_cut", model: "gemini-2.5-flash-lite", times: 1 });
    const r = await chat("gemini-2.5-flash-lite", true);
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text).toContain("upstream stream interrupted: connection reset by upstream");
    expect(text).not.toMatch(RUNTIME_TEXT);
  });
});

describe("cooldowns", () => {
  test("a shorter cooldown from an answer already in flight does not cut a longer one", async () => {
    // the first call waits upstream, then says "rate limited for 1 s"; meanwhile the second learns the
    // quota is gone for an hour
    st.sim.addFault({ kind: "delay", delayMs: 500, times: 1 });
    st.sim.addFault({ kind: "rate_limited", resetSeconds: 1, times: 1 });
    st.sim.addFault({ kind: "quota_exhausted", resetSeconds: 3600, times: 1 });
    const first = gemini("gemini-2.5-flash-lite");
    await until(() => (st.sim.inFlight().generateContent ?? 0) > 0, "the first call upstream");
    expect((await gemini("gemini-2.5-flash-lite")).status).toBe(429);
    expect((await first).status).toBe(429);
    const cd = st.pool.get(U1)!.cooldowns.find((c) => c.model === "gemini-2.5-flash-lite")!;
    expect(cd.reason).toBe("quota_exhausted");
    expect(Date.parse(cd.until) - Date.now()).toBeGreaterThan(3000_000);
  });
});

test("failures by model name are remembered for a bounded number of names (made-up names, each a 404, added one apiece)", async () => {
  for (let i = 0; i < 100; i++) expect((await gemini(`gemini-made-up-${i}`)).status).toBe(404);
  const strikes = (st.pool as unknown as { ledger: { strikes: Map<string, Map<string, unknown>> } }).ledger.strikes;
  const mine = strikes.get(st.pool.get(U1)!.id)!;
  expect(mine.size).toBeLessThanOrEqual(64);
  expect([...mine.keys()].at(-1)).toStartWith("gemini-made-up-99|");
});
