// Failures around the Gemini routes with the real simulator: rotation before the first byte,
// keep-alives while upstream is silent, a stream cut after the first byte.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { startStack, type Stack } from "../helpers/stack";
import { userText } from "../helpers/util";
import { partsText, post, sseData, sseEvents } from "../helpers/gemini";

let stack: Stack;
let slow: Stack;

beforeAll(async () => {
  stack = await startStack({ accounts: 4 });
  // a short keep-alive interval so the simulator's `delay` fault makes upstream "silent" for a while
  slow = await startStack({ accounts: 1, config: { server: { keepAliveSeconds: 0.1 } } });
});
afterAll(async () => {
  await stack?.stop();
  await slow?.stop();
});
beforeEach(() => {
  for (const s of [stack, slow]) {
    s.sim.clearFaults();
    s.sim.clearRequests();
  }
});

describe("rotation before the first byte", () => {
  // each test uses its own model: the 429 cools the first account down for that model only
  test.each([
    ["generateContent", "gemini-2.5-flash-lite", ":generateContent"],
    ["streamGenerateContent", "gemini-2.5-pro", ":streamGenerateContent?alt=sse"],
  ])("%s: a 429 on one account is retried on the other", async (method, model, action) => {
    stack.sim.addFault({ kind: "quota_exhausted", model, method, times: 1, resetSeconds: 60 });
    const res = await post(stack, `/v1beta/models/${model}${action}`, userText("rotate me"));
    expect(res.status).toBe(200);
    const text = await res.text();
    const answer = method === "generateContent" ? partsText([JSON.parse(text)]) : partsText(sseData(text));
    expect(answer).toBe("Echo: rotate me");
    const calls = stack.sim.requests({ method }).filter((r) => r.body?.model === model);
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    expect(calls[0]!.email).not.toBe(calls[1]!.email);
    expect(res.headers.get("x-account-email")).toBe(calls[1]!.email!);
  });

  test.each([
    [2, 200, [429, 429, 200]],
    [3, 429, [429, 429, 429]], // at most 3 attempts (scheduling.maxAttempts), though a 4th account is free
  ])("%d failing attempts → %d", async (times, status, statuses) => {
    const model = `gemini-3.1-pro-${times === 2 ? "high" : "low"}`;
    stack.sim.addFault({ kind: "quota_exhausted", model, times, resetSeconds: 60 });
    const res = await post(stack, `/v1beta/models/${model}:generateContent`, userText("attempts"));
    expect(res.status).toBe(status);
    // a Gemini 3 request goes upstream as a stream even when the client asked for one answer
    const calls = stack.sim.requests({ method: "streamGenerateContent" }).filter((r) => r.body?.model === model);
    expect(calls.map((c) => c.status)).toEqual(statuses);
    expect(new Set(calls.map((c) => c.email)).size).toBe(calls.length); // a different account each time
    if (status === 429) expect((await res.json()).error.status).toBe("RESOURCE_EXHAUSTED");
  });

  test("sticky: one conversation stays on one account", async () => {
    const sys = { parts: [{ text: "stay with me" }] };
    const emails = new Set<string>();
    const history: any[] = [];
    for (const text of ["first", "second", "third"]) {
      history.push({ role: "user", parts: [{ text }] });
      const res = await post(stack, "/v1beta/models/gemini-2.5-flash:generateContent", { systemInstruction: sys, contents: history });
      expect(res.status).toBe(200);
      emails.add(res.headers.get("x-account-email")!);
      history.push((await res.json()).candidates[0].content);
    }
    expect(emails.size).toBe(1);
  });

  test("the attempts ran out on quota 429s while an account is still free: a short wait, not Google's final QUOTA_EXHAUSTED", async () => {
    stack.sim.addFault({ kind: "quota_exhausted", model: "gemini-2.5-flash-thinking", resetSeconds: 3600, times: 3 });
    const res = await post(stack, "/v1beta/models/gemini-2.5-flash-thinking:generateContent", userText("x"));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    const { details } = (await res.json()).error;
    expect(details.map((d: { reason?: string; retryDelay?: string }) => d.reason ?? d.retryDelay)).toEqual(["RATE_LIMIT_EXCEEDED", "1s"]);
    // and it was right: the next request is served
    expect((await post(stack, "/v1beta/models/gemini-2.5-flash-thinking:generateContent", userText("x"))).status).toBe(200);
  });

  test("when every account is exhausted: 429 RESOURCE_EXHAUSTED with Retry-After, in Gemini's shape", async () => {
    stack.sim.addFault({ kind: "quota_exhausted", model: "gemini-3.8-flash-low", resetSeconds: 1200 });
    const res = await post(stack, "/v1beta/models/gemini-3.8-flash-low:streamGenerateContent?alt=sse", userText("x"));
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    const err = (await res.json()).error;
    expect(err.code).toBe(429);
    expect(err.status).toBe("RESOURCE_EXHAUSTED");
    // and once the pool knows (no upstream call): Google's details still say it is quota, and for how long
    // (Gemini CLI stops on a quota and waits out a rate limit only by them)
    const again = await post(stack, "/v1beta/models/gemini-3.8-flash-low:generateContent", userText("x"));
    expect(again.status).toBe(429);
    const { details } = (await again.json()).error;
    expect(details).toEqual([
      { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "QUOTA_EXHAUSTED", domain: "cloudcode-pa.googleapis.com" },
      { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${again.headers.get("retry-after")}s` },
    ]);
  });
});

describe("keep-alives", () => {
  test("SSE: comment keep-alives while upstream is silent, then the answer", async () => {
    slow.sim.addFault({ kind: "delay", method: "streamGenerateContent", delayMs: 600, times: 1 });
    const res = await post(slow, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", userText("slow thinker"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    const text = await res.text();
    const events = sseEvents(text);
    const firstData = events.findIndex((e) => e.startsWith("data:"));
    expect(firstData).toBeGreaterThan(0);
    for (const e of events.slice(0, firstData)) expect(e).toBe(": keep-alive");
    expect(partsText(sseData(text))).toBe("Echo: slow thinker");
  });

  test("JSON-array stream: whitespace keep-alives keep the array valid", async () => {
    slow.sim.addFault({ kind: "delay", method: "streamGenerateContent", delayMs: 600, times: 1 });
    const res = await post(slow, "/v1beta/models/gemini-2.5-flash:streamGenerateContent", userText("slow array"));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^\[\s+\{/); // "[", keep-alive whitespace, then the first chunk
    expect(partsText(JSON.parse(text))).toBe("Echo: slow array");
  });

  test("a failure after keep-alives started becomes a final error event", async () => {
    slow.sim.addFault({ kind: "delay", method: "streamGenerateContent", delayMs: 600, times: 1 });
    const res = await post(slow, "/v1beta/models/no-such-model:streamGenerateContent?alt=sse", userText("x"));
    expect(res.status).toBe(200); // the response had to start for the keep-alives
    const events = sseEvents(await res.text());
    expect(events[0]).toBe(": keep-alive");
    const last = JSON.parse(events.at(-1)!.slice(5));
    expect(last.error).toMatchObject({ code: 404, status: "NOT_FOUND" });
  });
});

describe("a stream cut after the first byte", () => {
  test("SSE ends with an error event in Gemini's shape, not a silent cut", async () => {
    stack.sim.addFault({ kind: "stream_cut", method: "streamGenerateContent", times: 1 });
    const res = await post(
      stack,
      "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
      userText("this answer will be cut short"),
    );
    expect(res.status).toBe(200);
    const data = sseData(await res.text());
    expect(data.length).toBeGreaterThanOrEqual(2);
    expect(data[0].candidates[0].content.parts[0].text).toBeString();
    const last = data.at(-1);
    expect(last.candidates).toBeUndefined();
    expect(last.error.code).toBeGreaterThanOrEqual(500);
    expect(last.error.status).toBeString();
    expect(last.error.message).toBeString();
  });

  test("a conversation's next turn goes to another account: the one that broke is booked as failing (its early count is no 'served')", async () => {
    const ask = () =>
      post(stack, "/v1beta/models/gemini-2.5-flash-lite:streamGenerateContent?alt=sse", userText("a long story, please"), {
        "x-session-id": "cut-conversation",
      });
    const first = await ask();
    await first.text();
    const broken = first.headers.get("x-account-email")!;
    stack.sim.addFault({ kind: "stream_cut", method: "streamGenerateContent", email: broken, times: 5 });
    const cut = await ask();
    expect(cut.headers.get("x-account-email")).toBe(broken);
    expect(sseData(await cut.text()).at(-1).error).toBeDefined();
    // the count of the cut answer runs on after the client got its error: the next turn waits for none of it
    const next = await ask();
    expect(next.headers.get("x-account-email")).not.toBe(broken);
    expect(sseData(await next.text()).at(-1).error).toBeUndefined();
    const pool = stack.pool.poolView().accounts.find((a) => a.email === broken)!;
    expect(pool.failures).toBeGreaterThan(0);
  });

  test("the JSON array still closes, its last element the error", async () => {
    stack.sim.addFault({ kind: "stream_cut", method: "streamGenerateContent", times: 1 });
    const res = await post(stack, "/v1beta/models/gemini-2.5-flash:streamGenerateContent", userText("this answer will be cut short"));
    const arr = JSON.parse(await res.text());
    expect(arr[0].candidates).toBeDefined();
    expect(arr.at(-1).error.code).toBeGreaterThanOrEqual(500);
  });
});
