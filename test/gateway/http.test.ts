// The pool through the real HTTP gateway (the lead's stack): rotation and X-Account-Email, the 429
// with Retry-After when everyone is cooling, Google's errors forwarded, streams, CLI edits.
import { afterAll, beforeAll, beforeEach, expect, test } from "bun:test";
import { openPool } from "../../src/pool/index";
import { silentLogger } from "../../src/core/log";
import { startStack, type Stack } from "../helpers/stack";
import { until } from "../helpers/util";
import { partsText, sseData } from "../helpers/gemini";

let st: Stack;
beforeAll(async () => {
  st = await startStack({ accounts: 2, delays: false, config: { scheduling: { mode: "round-robin" } } });
});
afterAll(() => st.stop());
// tests use different models, so one test's cooldowns do not touch the next
beforeEach(async () => {
  st.sim.reset();
  for (const a of st.pool.list()) await st.pool.setEnabled(a.id, true);
});

const [U1, U2] = ["user1@example.com", "user2@example.com"];
const body = (text = "hi") => JSON.stringify({ contents: [{ role: "user", parts: [{ text }] }] });

const gemini = (path: string, text?: string) =>
  fetch(`${st.url}/v1beta/models/${path}`, {
    method: "POST",
    headers: { "x-goog-api-key": st.apiKey, "content-type": "application/json" },
    body: body(text),
  });

test("a quota error on one account rotates; the response names the account that served it", async () => {
  st.sim.addFault({ kind: "quota_exhausted", email: U1, model: "gemini-2.5-pro", resetSeconds: 90 });
  for (let i = 0; i < 3; i++) {
    const r = await gemini("gemini-2.5-pro:generateContent");
    expect(r.status).toBe(200);
    expect(r.headers.get("x-account-email")).toBe(U2);
    expect(r.headers.get("x-mapped-model")).toBe("gemini-2.5-pro");
  }
  expect(st.sim.requests({ method: "generateContent", email: U1 }).length).toBeLessThanOrEqual(1);
  expect(st.pool.get(U1)!.cooldowns).toMatchObject([{ model: "gemini-2.5-pro", reason: "quota_exhausted" }]);
});

test("everyone cooling: 429, Retry-After = the soonest reset, in the route's error shape", async () => {
  st.sim.addFault({ kind: "quota_exhausted", email: U1, model: "gemini-3-flash", resetSeconds: 300 });
  st.sim.addFault({ kind: "quota_exhausted", email: U2, model: "gemini-3-flash", resetSeconds: 45 });
  const r = await gemini("gemini-3-flash:generateContent");
  expect(r.status).toBe(429);
  const after = Number(r.headers.get("retry-after"));
  expect(after).toBeGreaterThan(35);
  expect(after).toBeLessThanOrEqual(46);
  const b = (await r.json()) as any;
  expect(b.error.status).toBe("RESOURCE_EXHAUSTED");
  expect(b.error.message).toContain("all 2 accounts are out of quota for gemini-3-flash");
  // other models still work
  expect((await gemini("gemini-2.5-flash:generateContent")).status).toBe(200);
});

test("Google's 400 reaches a Gemini client as Google sent it, once a second account said the same", async () => {
  st.sim.addFault({ kind: "bad_request_400", model: "gemini-2.5-flash-lite" });
  const r = await gemini("gemini-2.5-flash-lite:generateContent");
  expect(r.status).toBe(400);
  expect(await r.json()).toEqual({ error: { code: 400, message: "Request contains an invalid argument.", status: "INVALID_ARGUMENT" } });
  const calls = st.sim.requests({ method: "generateContent" });
  expect(calls).toHaveLength(2); // a 400 may be one account's (its project, its region): one more account decides
  expect(new Set(calls.map((c) => c.email)).size).toBe(2);
  expect(
    st.pool
      .list()
      .flatMap((a) => a.cooldowns)
      .filter((c) => c.model === "gemini-2.5-flash-lite"),
  ).toEqual([]); // the request's fault: nobody cooled
});

test("a stream whose first attempt fails before any chunk is served by the other account", async () => {
  st.sim.addFault({ kind: "internal_500", method: "streamGenerateContent", times: 1 });
  const r = await fetch(`${st.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, {
    method: "POST",
    headers: { "x-goog-api-key": st.apiKey, "content-type": "application/json" },
    body: body("stream please"),
  });
  expect(r.status).toBe(200);
  const text = await r.text();
  expect(text).toContain("stream");
  expect(st.sim.requests({ method: "streamGenerateContent" }).map((q) => q.status)).toEqual([500, 200]);
  expect(r.headers.get("x-account-email")).toBe(st.sim.requests({ method: "streamGenerateContent" })[1]!.email!);
});

test("an account disabled from the CLI stops serving without a restart", async () => {
  const cli = await openPool({ config: st.ctx.config, dataDir: st.dataDir, log: silentLogger(), background: false });
  await cli.setEnabled(U1, false);
  await cli.close();
  await until(() => st.pool.get(U1)!.state === "disabled", "the server to see the change");
  for (let i = 0; i < 3; i++) expect((await gemini("gemini-2.5-flash:generateContent")).headers.get("x-account-email")).toBe(U2);
});

test("the everyone-cooling 429 in the OpenAI and Anthropic shapes", async () => {
  for (const email of [U1, U2]) st.sim.addFault({ kind: "quota_exhausted", email, model: "claude-sonnet-4-6", resetSeconds: 1200 });
  const openai = await fetch(`${st.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${st.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "claude-sonnet-4-6", messages: [{ role: "user", content: "hi" }] }),
  });
  expect(openai.status).toBe(429);
  expect(Number(openai.headers.get("retry-after"))).toBeGreaterThan(100);
  // twenty minutes of quota gone: insufficient_quota, so clients that wait out a rate limit stop (Codex)
  expect(((await openai.json()) as any).error).toMatchObject({
    type: "insufficient_quota",
    code: "insufficient_quota",
    message: expect.stringContaining("out of quota for claude-sonnet-4-6"),
  });
  const anthropic = await fetch(`${st.url}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": st.apiKey, "anthropic-version": "2023-06-01", "content-type": "application/json" },
    body: JSON.stringify({ model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "hi" }] }),
  });
  expect(anthropic.status).toBe(429);
  expect(Number(anthropic.headers.get("retry-after"))).toBeGreaterThan(100);
  expect((await anthropic.json()) as any).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
});

test("a 200 that is not a Gemini answer (a captive portal's page) rotates; when every account gets it, a 502 in the route's shape", async () => {
  st.sim.addFault({ kind: "html_200", email: U1, model: "gemini-2.5-flash-thinking" });
  for (const path of ["gemini-2.5-flash-thinking:generateContent", "gemini-2.5-flash-thinking:streamGenerateContent?alt=sse"]) {
    const r = await gemini(path, "portal");
    expect(r.status).toBe(200);
    expect(r.headers.get("x-account-email")).toBe(U2);
    const text = await r.text();
    expect(path.includes("alt=sse") ? partsText(sseData(text)) : partsText([JSON.parse(text)])).toBe("Echo: portal");
  }
  st.sim.clearFaults();
  st.sim.addFault({ kind: "html_200", model: "gemini-2.5-flash-thinking" });
  const g = await gemini("gemini-2.5-flash-thinking:generateContent");
  expect(g.status).toBe(502);
  expect(((await g.json()) as any).error).toMatchObject({ code: 502 });
  const a = await fetch(`${st.url}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": st.apiKey, "content-type": "application/json" },
    body: JSON.stringify({ model: "gemini-2.5-flash-thinking", max_tokens: 20, messages: [{ role: "user", content: "x" }] }),
  });
  expect(a.status).toBe(502);
  expect(((await a.json()) as any).type).toBe("error");
});
