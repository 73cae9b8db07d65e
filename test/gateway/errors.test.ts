// Each upstream error class against the real simulator over HTTP: which account serves, what
// cooldown or state the failing account gets, whether the request rotated or went back to the client.
import { afterEach, describe, expect, test } from "bun:test";
import { ApiError } from "../../src/core/errors";
import { createMetrics } from "../../src/core/metrics";
import type { FaultSpec } from "../../src/simulator/index";
import { userText } from "../helpers/util";
import { memoryLogger, startRig, type Rig } from "../helpers/pool";

const M = "gemini-2.5-flash";
const A = "a@x.com";
const B = "b@x.com";

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

async function twoAccounts(over = {}) {
  rig = await startRig([{ email: A }, { email: B }], over);
  return rig;
}

const generate = (r: Rig, model = M, text = "hello") => r.pool.gateway.generate({ model, request: userText(text) });
const calls = (r: Rig, email: string, method = "generateContent") => r.sim.requests({ method, email }).length;
const cooldowns = (r: Rig, email: string) => r.pool.get(email)!.cooldowns;
const secondsLeft = (until: string) => (Date.parse(until) - Date.now()) / 1000;

async function failingA(r: Rig, fault: Omit<FaultSpec, "email">) {
  r.sim.addFault({ ...fault, email: A });
  return generate(r);
}

describe("error classes (account a fails, b is healthy)", () => {
  test("quota exhausted: a cools for that model until the reset, the request rotates, a's quota is re-read", async () => {
    const r = await twoAccounts();
    const res = await failingA(r, { kind: "quota_exhausted", resetSeconds: 120 });
    expect(res.accountEmail).toBe(B);
    const [cd] = cooldowns(r, A);
    expect(cd).toMatchObject({ model: M, reason: "quota_exhausted" });
    expect(secondsLeft(cd!.until)).toBeGreaterThan(100);
    expect(secondsLeft(cd!.until)).toBeLessThanOrEqual(121);
    // only that model: another model still goes to a
    expect(r.pool.eligible(A, M)).toBe(false);
    expect(r.pool.eligible(A, "gemini-2.5-pro")).toBe(true);
    await r.pool.sync();
    for (let i = 0; i < 50 && calls(r, A, "fetchAvailableModels") === 0; i++) await Bun.sleep(10);
    expect(calls(r, A, "fetchAvailableModels")).toBe(1);
    expect(r.pool.get(A)!.failures).toBe(1);
  });

  test("short rate limit: a cools for the model at least 1 s, the request rotates", async () => {
    const r = await twoAccounts();
    const res = await failingA(r, { kind: "rate_limited", resetSeconds: 0.2 });
    expect(res.accountEmail).toBe(B);
    const [cd] = cooldowns(r, A);
    expect(cd).toMatchObject({ model: M, reason: "rate_limited" });
    expect(secondsLeft(cd!.until)).toBeGreaterThan(0.5); // 0.2 s was raised to the 1 s minimum
  });

  test("429 without details: a short cooldown on the model (growing backoff: see classify.test.ts)", async () => {
    const r = await twoAccounts();
    r.sim.addFault({ kind: "no_details_429", email: A });
    expect((await generate(r)).accountEmail).toBe(B);
    expect(cooldowns(r, A)[0]).toMatchObject({ model: M, reason: "rate_limited" });
    expect(secondsLeft(cooldowns(r, A)[0]!.until)).toBeLessThanOrEqual(2);
  });

  test("capacity (503 MODEL_CAPACITY_EXHAUSTED): rotates, short cooldown, not counted against a", async () => {
    const r = await twoAccounts();
    const res = await failingA(r, { kind: "capacity_503", resetSeconds: 3 });
    expect(res.accountEmail).toBe(B);
    expect(cooldowns(r, A)[0]).toMatchObject({ model: M, reason: "capacity" });
    expect(secondsLeft(cooldowns(r, A)[0]!.until)).toBeLessThanOrEqual(3);
    expect(r.pool.get(A)!.failures).toBe(0);
  });

  test("401 once: one refresh and one retry on the same account", async () => {
    const r = await twoAccounts();
    const res = await failingA(r, { kind: "unauthenticated_401", times: 1 });
    expect(res.accountEmail).toBe(A);
    expect(calls(r, A)).toBe(2);
    expect(r.sim.stats().token).toBe(1);
    expect(cooldowns(r, A)).toEqual([]);
  });

  test("401 even with a fresh token: a cools account-wide, the request rotates", async () => {
    const r = await twoAccounts();
    const res = await failingA(r, { kind: "unauthenticated_401" });
    expect(res.accountEmail).toBe(B);
    expect(calls(r, A)).toBe(2);
    expect(cooldowns(r, A)[0]).toMatchObject({ model: "*", reason: "unauthenticated" });
  });

  test.each([
    ["permission_403", "The caller does not have permission"],
    ["tos_403", "Terms of Service"],
  ] as const)("%s: a is disabled with Google's reason, the request rotates", async (kind, text) => {
    const r = await twoAccounts();
    const res = await failingA(r, { kind });
    expect(res.accountEmail).toBe(B);
    const a = r.pool.get(A)!;
    expect(a.state).toBe("disabled");
    expect(a.disabledReason).toContain(text);
    expect(a.disabledAt).toBeDefined();
  });

  test("a 403 every account gives for one model (not the account's doing): nobody is disabled; the client gets a 502 saying so", async () => {
    const r = await twoAccounts();
    r.sim.addFault({ kind: "permission_403", model: M });
    const err = await generate(r).catch((e) => e);
    expect(err.status).toBe(502);
    expect(err.reason).toBe("request_forbidden");
    expect(err.message).toContain("no account was disabled");
    expect(err.options.headers["x-should-retry"]).toBe("false");
    expect([r.pool.get(A)!.state, r.pool.get(B)!.state]).toEqual(["active", "active"]);
    r.sim.clearFaults();
    expect((await generate(r, "gemini-2.5-pro")).accountEmail).toBeDefined();
  });

  test("a pool of one loses no account over a 403 nobody else could tell apart", async () => {
    rig = await startRig([{ email: A }]);
    rig.sim.addFault({ kind: "permission_403", email: A });
    expect((await generate(rig).catch((e) => e)).reason).toBe("request_forbidden");
    expect(rig.pool.get(A)!.state).toBe("active");
  });

  test("403 VALIDATION_REQUIRED: a needs verification, with the link", async () => {
    const r = await twoAccounts();
    const res = await failingA(r, { kind: "validation_403" });
    expect(res.accountEmail).toBe(B);
    const a = r.pool.get(A)!;
    expect(a.state).toBe("needs_verification");
    expect(a.verificationUrl).toStartWith(r.sim.url + "/_sim/verify");
  });

  test.each(["internal_500", "error_in_200"] as const)(
    "%s: the request rotates, no cooldown; a is tried last for new sessions",
    async (kind) => {
      const r = await twoAccounts();
      const res = await failingA(r, { kind });
      expect(res.accountEmail).toBe(B);
      expect(cooldowns(r, A)).toEqual([]);
      expect(r.pool.get(A)!.state).toBe("active");
      r.sim.clearFaults();
      r.sim.clearRequests();
      // new sessions (sticky mode would send them to a, which has the fewest bindings) go to b
      for (const s of ["n1", "n2", "n3"])
        expect((await r.pool.gateway.generate({ model: M, request: userText(s), sessionKey: s })).accountEmail).toBe(B);
    },
  );

  test("a 400 only a answers is a's: b serves, a is cooled for the model", async () => {
    const r = await twoAccounts();
    const res = await failingA(r, { kind: "bad_request_400" });
    expect(res.accountEmail).toBe(B);
    expect(cooldowns(r, A)).toMatchObject([{ model: M, reason: "account_rejected_request" }]);
  });

  test("a 400 both accounts answer: returned with Google's body, nobody cooled", async () => {
    const r = await twoAccounts();
    r.sim.addFault({ kind: "bad_request_400" });
    const err = await r.pool.gateway.generate({ model: M, request: userText("bad") }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(400);
    expect(err.message).toBe("Request contains an invalid argument.");
    expect(err.options.upstreamBody).toMatchObject({ error: { code: 400, status: "INVALID_ARGUMENT" } });
    expect(calls(r, A) + calls(r, B)).toBe(2);
    expect(cooldowns(r, A)).toEqual([]);
    expect(cooldowns(r, B)).toEqual([]);
  });

  test("404 unknown model: returned, no rotation, no cooldown", async () => {
    const r = await twoAccounts();
    const err = await generate(r, "gemini-does-not-exist").catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(404);
    expect(err.message).toBe(
      'model "gemini-does-not-exist" is not served upstream (mapped to "gemini-does-not-exist"); see GET /v1/models',
    );
    // Gemini routes get this message too, in Google's shape (its own body names no model)
    expect(err.options.upstreamBody).toBeUndefined();
    expect(r.sim.stats().generateContent).toBe(1);
    expect(cooldowns(r, A)).toEqual([]);
  });
});

describe("streams", () => {
  test("a failure before the first chunk rotates; the stream then serves normally", async () => {
    const r = await twoAccounts();
    r.sim.addFault({ kind: "quota_exhausted", email: A, method: "streamGenerateContent" });
    const s = await r.pool.gateway.stream({ model: M, request: userText("stream me") });
    expect(s.accountEmail).toBe(B);
    let text = "";
    for await (const c of s.chunks) text += c.candidates?.[0]?.content?.parts?.map((p) => p.text ?? "").join("") ?? "";
    expect(text).toBe("Echo: stream me");
  });

  test("an error event as the first chunk (error in a 200) rotates", async () => {
    const r = await twoAccounts();
    r.sim.addFault({ kind: "error_in_200", email: A, method: "streamGenerateContent" });
    const s = await r.pool.gateway.stream({ model: M, request: userText("x") });
    expect(s.accountEmail).toBe(B);
    for await (const _ of s.chunks);
  });

  test("a stream cut after its first chunk fails mid-stream with an ApiError", async () => {
    const r = await twoAccounts();
    r.sim.addFault({ kind: "stream_cut", email: A, method: "streamGenerateContent" });
    const s = await r.pool.gateway.stream({ model: M, request: userText("a longer answer to cut") });
    expect(s.accountEmail).toBe(A);
    const got: unknown[] = [];
    const err = await (async () => {
      for await (const c of s.chunks) got.push(c);
    })().catch((e) => e);
    expect(got.length).toBe(1);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(502);
  });
});

describe("nothing eligible", () => {
  test("all accounts out of quota: 429 with Retry-After = the soonest reset, saying why", async () => {
    const r = await twoAccounts();
    r.sim.addFault({ kind: "quota_exhausted", email: A, resetSeconds: 300 });
    r.sim.addFault({ kind: "quota_exhausted", email: B, resetSeconds: 60 });
    const err = await generate(r).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(429);
    expect(err.retryAfter).toBeGreaterThan(50);
    expect(err.retryAfter).toBeLessThanOrEqual(61);
    expect(err.message).toContain(`all 2 accounts are out of quota for ${M}`);
    // the next request does not even reach Google
    r.sim.clearRequests();
    const again = await generate(r).catch((e) => e);
    expect(again.status).toBe(429);
    expect(r.sim.requests({ method: "generateContent" })).toHaveLength(0);
  });

  test("maxAttempts bounds the rotation", async () => {
    rig = await startRig([{ email: "1@x.com" }, { email: "2@x.com" }, { email: "3@x.com" }], { scheduling: { maxAttempts: 2 } });
    rig.sim.addFault({ kind: "internal_500" });
    const err = await generate(rig).catch((e) => e);
    expect(err.status).toBe(500);
    expect(rig.sim.requests({ method: "generateContent" })).toHaveLength(2);
  });

  test("attempts ran out while other accounts are still fine: 429 with a short Retry-After", async () => {
    rig = await startRig([{ email: "1@x.com" }, { email: "2@x.com" }, { email: "3@x.com" }], {
      scheduling: { maxAttempts: 2, mode: "round-robin" },
    });
    rig.sim.addFault({ kind: "quota_exhausted", resetSeconds: 3600, times: 2 });
    const err = await generate(rig).catch((e) => e);
    expect(err.status).toBe(429);
    expect(err.retryAfter).toBe(1);
    expect(err.message).toStartWith(`2 accounts tried for ${M}`);
    expect((await generate(rig)).accountEmail).toBe("3@x.com");
  });

  test("quota reported at 0 % keeps the account out for that model", async () => {
    rig = await startRig([{ email: A, quota: { [M]: 0 } }, { email: B }]);
    for (let i = 0; i < 4; i++) expect((await generate(rig)).accountEmail).toBe(B);
    expect(rig.pool.get(A)!.quota![M]!.remainingFraction).toBe(0);
    expect(calls(rig, A)).toBe(0);
  });
});

describe("endpoints", () => {
  test("a dead endpoint and a 5xx endpoint are skipped, in order", async () => {
    const broken = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("oops", { status: 502 }) });
    try {
      rig = await startRig([{ email: A }]);
      await rig.reopen({ upstream: { endpoints: ["http://127.0.0.1:1", `http://127.0.0.1:${broken.port}`, rig.sim.url] } });
      expect((await generate(rig)).accountEmail).toBe(A);
    } finally {
      broken.stop(true);
    }
  });

  test("a generation call that waited out its deadline goes to the next account, and the endpoint that hung is tried last for a while", async () => {
    // generation calls hang there; the rest (project setup, quota) pass through to the simulator
    let hung = 0;
    const hang = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const url = new URL(req.url);
        if (/:(stream)?generateContent$/i.test(url.pathname)) {
          hung++;
          return new Promise<Response>(() => {});
        }
        const headers = new Headers(req.headers);
        headers.delete("host");
        return fetch(rig!.sim.url + url.pathname + url.search, { method: req.method, headers, body: await req.arrayBuffer() });
      },
    });
    try {
      rig = await startRig([{ email: A }, { email: B }]);
      await rig.reopen({ upstream: { endpoints: [`http://127.0.0.1:${hang.port}`, rig.sim.url], requestTimeoutSeconds: 0.2 } });
      // the first account waits one deadline there; the second goes to the endpoint that answers
      const first = await generate(rig);
      expect(hung).toBe(1);
      expect(calls(rig, first.accountEmail)).toBe(1);
      // later calls, whichever account, go to the answering endpoint first: no more deadlines waited
      for (let i = 0; i < 4; i++) await generate(rig);
      expect(hung).toBe(1);
    } finally {
      hang.stop(true);
    }
  });

  test("an empty answer the model broke off (MALFORMED_FUNCTION_CALL) is retried, unary and through the stream call", async () => {
    // the first generation call of each kind gets the slip; the rest reach the simulator
    const slipped = new Set<string>();
    const slip = {
      response: { candidates: [{ finishReason: "MALFORMED_FUNCTION_CALL", finishMessage: "Malformed function call: print(x" }] },
    };
    const front = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const url = new URL(req.url);
        const method = url.pathname.split(":")[1]!;
        if ((method === "generateContent" || method === "streamGenerateContent") && !slipped.has(method)) {
          slipped.add(method);
          return method === "generateContent"
            ? Response.json(slip)
            : new Response(`data: ${JSON.stringify(slip)}\r\n\r\n`, { headers: { "content-type": "text/event-stream" } });
        }
        const headers = new Headers(req.headers);
        headers.delete("host");
        return fetch(rig!.sim.url + url.pathname + url.search, { method: req.method, headers, body: await req.arrayBuffer() });
      },
    });
    try {
      rig = await startRig([{ email: A }, { email: B }]);
      await rig.reopen({ upstream: { endpoints: [`http://127.0.0.1:${front.port}`] } });
      expect((await generate(rig)).response.candidates![0]!.content!.parts![0]!.text).toContain("hello");
      const s = await rig.pool.gateway.stream({ model: M, request: userText("hello") });
      let text = "";
      for await (const c of s.chunks) text += c.candidates?.[0]?.content?.parts?.map((p) => p.text ?? "").join("") ?? "";
      expect(text).toContain("hello");
      expect([...slipped].sort()).toEqual(["generateContent", "streamGenerateContent"]);
    } finally {
      front.stop(true);
    }
  });

  test("a stream that sent only thoughts, then broke off (MALFORMED_FUNCTION_CALL): an error at its end, not an empty stop", async () => {
    const thought = { response: { candidates: [{ content: { role: "model", parts: [{ text: "let me think", thought: true }] } }] } };
    const slip = { response: { candidates: [{ finishReason: "MALFORMED_FUNCTION_CALL" }] } };
    const front = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () =>
        new Response(`data: ${JSON.stringify(thought)}\r\n\r\ndata: ${JSON.stringify(slip)}\r\n\r\n`, {
          headers: { "content-type": "text/event-stream" },
        }),
    });
    try {
      rig = await startRig([{ email: A }]);
      await rig.reopen({ upstream: { endpoints: [`http://127.0.0.1:${front.port}`, rig.sim.url] } });
      const s = await rig.pool.gateway.stream({ model: M, request: userText("hello") });
      const got: unknown[] = [];
      const err = await (async () => {
        for await (const c of s.chunks) got.push(c);
      })().catch((e) => e);
      expect(got.length).toBe(1); // the thought went out
      expect(err.status).toBe(502);
      expect(err.message).toContain("MALFORMED_FUNCTION_CALL");
    } finally {
      front.stop(true);
    }
  });

  test("a 200 on the stream call that is one JSON error (no events) is that error: the account cools, the next serves", async () => {
    const quota = {
      error: {
        code: 429,
        message: "Quota exhausted.",
        status: "RESOURCE_EXHAUSTED",
        details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "QUOTA_EXHAUSTED", metadata: { quotaResetDelay: "2h" } }],
      },
    };
    // the first stream call for each model gets the JSON error; the rest reach the simulator
    const refused = new Set<string>();
    const front = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const url = new URL(req.url);
        const body = await req.text();
        const model = (JSON.parse(body || "{}") as { model?: string }).model ?? "";
        if (url.pathname.endsWith(":streamGenerateContent") && !refused.has(model)) {
          refused.add(model);
          return Response.json(quota);
        }
        const headers = new Headers(req.headers);
        headers.delete("host");
        return fetch(rig!.sim.url + url.pathname + url.search, { method: req.method, headers, body });
      },
    });
    try {
      rig = await startRig([{ email: A }, { email: B }]);
      await rig.reopen({ upstream: { endpoints: [`http://127.0.0.1:${front.port}`] } });
      const cooled = (model: string) =>
        rig!.pool
          .list()
          .filter((a) => a.cooldowns.some((c) => c.model === model && c.reason === "quota_exhausted"))
          .map((a) => a.email);
      const s = await rig.pool.gateway.stream({ model: M, request: userText("hello") });
      expect(cooled(M)).toEqual([s.accountEmail === A ? B : A]);
      // the same through the stream call a whole answer takes (Gemini 3)
      const whole = await rig.pool.gateway.generate({ model: "gemini-3-flash", request: userText("hello") });
      expect(cooled("gemini-3-flash")).toEqual([whole.accountEmail === A ? B : A]);
    } finally {
      front.stop(true);
    }
  });

  test("a 429 does not move to the next endpoint", async () => {
    rig = await startRig([{ email: A }]);
    await rig.reopen({ upstream: { endpoints: [rig.sim.url, rig.sim.url] } });
    rig.sim.addFault({ kind: "quota_exhausted", email: A });
    await generate(rig).catch(() => {});
    expect(calls(rig, A)).toBe(1);
  });
});

test("one log line per upstream failure, with account, model and class; never a token", async () => {
  const log = memoryLogger();
  const metrics = createMetrics();
  rig = await startRig([{ email: A }, { email: B }], {}, { log, metrics });
  rig.sim.addFault({ kind: "quota_exhausted", email: A });
  await generate(rig);
  const lines = log.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "upstream call failed");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ account: A, model: M, class: "quota_exhausted", status: 429 });
  const text = log.lines.join("\n");
  for (const a of rig.pool.exportAccounts().accounts) expect(text).not.toContain(a.refreshToken);
  expect(text).not.toMatch(/sim-at-|ya29/);
  const counts = (await metrics.upstreamCalls.get()).values.map((v) => `${v.labels.method}:${v.labels.outcome}=${v.value}`);
  expect(counts).toContain("generateContent:quota_exhausted=1");
  expect(counts).toContain("generateContent:ok=1");
});

describe("stream deadlines", () => {
  /** an upstream that sends one chunk and then goes quiet */
  function quietUpstream() {
    const enc = new TextEncoder();
    return Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      idleTimeout: 0,
      fetch: () =>
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(
                enc.encode(
                  `data: ${JSON.stringify({ response: { candidates: [{ content: { role: "model", parts: [{ text: "first" }] } }] } })}\r\n\r\n`,
                ),
              );
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    });
  }

  test("a gap between chunks longer than upstream.requestTimeoutSeconds ends the stream with a 504", async () => {
    const quiet = quietUpstream();
    try {
      rig = await startRig([{ email: A }]);
      await rig.reopen({ upstream: { endpoints: [`http://127.0.0.1:${quiet.port}`], requestTimeoutSeconds: 0.2 } });
      const s = await rig.pool.gateway.stream({ model: M, request: userText("x") });
      const it = s.chunks[Symbol.asyncIterator]();
      expect((await it.next()).value.candidates[0].content.parts[0].text).toBe("first");
      const err = await it.next().catch((e) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err.status).toBe(504);
    } finally {
      quiet.stop(true);
    }
  });

  test("a client leaving mid-stream cancels upstream and blames nobody", async () => {
    const quiet = quietUpstream();
    const log = memoryLogger();
    try {
      rig = await startRig([{ email: A }], {}, { log });
      await rig.reopen({ upstream: { endpoints: [`http://127.0.0.1:${quiet.port}`] } });
      const ac = new AbortController();
      const s = await rig.pool.gateway.stream({ model: M, request: userText("x"), signal: ac.signal });
      const it = s.chunks[Symbol.asyncIterator]();
      await it.next();
      setTimeout(() => ac.abort(), 20);
      const err = await it.next().catch((e) => e);
      expect(err.name).toBe("AbortError");
      expect(log.lines.filter((l) => l.includes("upstream call failed"))).toEqual([]);
      await rig.pool.sync();
      expect(rig.pool.get(A)!.failures).toBe(0);
    } finally {
      quiet.stop(true);
    }
  });
});
