import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { startSimulator, type SimAccount, type Simulator } from "../../src/simulator";
import { accessToken, CLIENT_ID, envelope, userText, v1 } from "../helpers/simulator";

let sim: Simulator;
let acc: SimAccount;
let other: SimAccount;
let tok: string;
let otherTok: string;
beforeAll(async () => {
  sim = await startSimulator({ delays: false });
  acc = sim.addAccount({ email: "faulty@example.com" });
  other = sim.addAccount({ email: "healthy@example.com" });
  tok = await accessToken(sim, acc);
  otherTok = await accessToken(sim, other);
});
afterAll(() => sim.stop());
afterEach(() => sim.clearFaults());

const gen = (model = "gemini-2.5-flash", t = tok, a = acc) =>
  v1(sim, t, "generateContent", envelope(a, { contents: [userText("hi")] }, model));
const stream = (model = "gemini-2.5-flash") =>
  v1(sim, tok, "streamGenerateContent?alt=sse", envelope(acc, { contents: [userText("hi there friend")] }, model));

describe("fault kinds on generation", () => {
  test("quota_exhausted: 429, ErrorInfo QUOTA_EXHAUSTED first (Go-style delay + timestamp), then RetryInfo", async () => {
    sim.addFault({ kind: "quota_exhausted", email: acc.email, resetSeconds: 7384.5 });
    const r = await gen();
    expect(r.status).toBe(429);
    expect(r.json.error.status).toBe("RESOURCE_EXHAUSTED");
    const [info, retry] = r.json.error.details;
    expect(info).toMatchObject({
      "@type": "type.googleapis.com/google.rpc.ErrorInfo",
      reason: "QUOTA_EXHAUSTED",
      domain: "cloudcode-pa.googleapis.com",
    });
    expect(info.metadata.quotaResetDelay).toBe("2h3m4.5s");
    expect(info.metadata.model).toBe("gemini-2.5-flash");
    const ts = new Date(info.metadata.quotaResetTimeStamp).getTime();
    expect(ts).toBeGreaterThan(Date.now() + 7000_000);
    expect(retry).toEqual({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "7384.5s" });
    // another account is unaffected
    expect((await gen("gemini-2.5-flash", otherTok, other)).status).toBe(200);
  });

  test("rate_limited: 429 RATE_LIMIT_EXCEEDED with a short delay", async () => {
    sim.addFault({ kind: "rate_limited", resetSeconds: 0.539477544 });
    const r = await gen();
    expect(r.status).toBe(429);
    expect(r.json.error.details[0].reason).toBe("RATE_LIMIT_EXCEEDED");
    expect(r.json.error.details[0].metadata.quotaResetDelay).toBe("539.477544ms");
    expect(r.json.error.details[1].retryDelay).toBe("0.539477544s");
  });

  test("no_details_429, capacity_503, unauthenticated_401, permission_403, tos_403, internal_500, bad_request_400", async () => {
    const expectations: [Parameters<Simulator["addFault"]>[0]["kind"], number, string, (e: any) => void][] = [
      ["no_details_429", 429, "RESOURCE_EXHAUSTED", (e) => expect(e.details).toBeUndefined()],
      [
        "capacity_503",
        503,
        "UNAVAILABLE",
        (e) => {
          expect(e.message).toBe("No capacity available for model gemini-2.5-flash on the server");
          expect(e.details[0].reason).toBe("MODEL_CAPACITY_EXHAUSTED");
          expect(e.details[1].retryDelay).toMatch(/s$/);
        },
      ],
      ["unauthenticated_401", 401, "UNAUTHENTICATED", () => {}],
      ["permission_403", 403, "PERMISSION_DENIED", (e) => expect(e.message).toBe("The caller does not have permission")],
      ["tos_403", 403, "PERMISSION_DENIED", (e) => expect(e.message).toContain("Terms of Service")],
      ["internal_500", 500, "INTERNAL", () => {}],
      ["bad_request_400", 400, "INVALID_ARGUMENT", () => {}],
    ];
    for (const [kind, status, gstatus, extra] of expectations) {
      sim.addFault({ kind, times: 1 });
      const r = await gen();
      expect(r.status).toBe(status);
      expect(r.json.error.code).toBe(status);
      expect(r.json.error.status).toBe(gstatus);
      extra(r.json.error);
      expect((await gen()).status).toBe(200); // times: 1
    }
  });

  test("validation_403: VALIDATION_REQUIRED ErrorInfo plus a google.rpc.Help link", async () => {
    sim.addFault({ kind: "validation_403" });
    const r = await gen();
    expect(r.status).toBe(403);
    const [info, help] = r.json.error.details;
    expect(info.reason).toBe("VALIDATION_REQUIRED");
    expect(help["@type"]).toBe("type.googleapis.com/google.rpc.Help");
    expect(help.links[0].url).toStartWith("http");
    expect(info.metadata.validation_link).toBe(help.links[0].url);
  });

  test("error_in_200: HTTP 200 whose body is an error object (unary and stream)", async () => {
    sim.addFault({ kind: "error_in_200", times: 2 });
    const r = await gen();
    expect(r.status).toBe(200);
    expect(r.json.error.code).toBe(500);
    expect(r.json.response).toBeUndefined();
    const s = await stream();
    expect(s.status).toBe(200);
    expect(s.text).toStartWith("data: ");
    expect(JSON.parse(s.text.slice(6)).error.status).toBe("INTERNAL");
  });

  test("stream_cut: the first chunk arrives, then the connection drops", async () => {
    sim.addFault({ kind: "stream_cut", method: "streamGenerateContent", times: 1 });
    const res = await fetch(`${sim.url}/v1internal:streamGenerateContent?alt=sse`, {
      method: "POST",
      headers: { authorization: `Bearer ${tok}`, "content-type": "application/json" },
      body: JSON.stringify(envelope(acc, { contents: [userText("a long enough prompt to stream")] })),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = "";
    let failed = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    } catch {
      failed = true;
    }
    expect(failed).toBe(true);
    const events = text.split("\r\n\r\n").filter(Boolean);
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.slice(6)).response.candidates[0].finishReason).toBeUndefined();
  });

  test("stream_end: the first chunk arrives and the stream ends cleanly, with no finish reason", async () => {
    sim.addFault({ kind: "stream_end", method: "streamGenerateContent", times: 1 });
    const res = await stream();
    expect(res.status).toBe(200);
    const events = res.text.split("\r\n\r\n").filter(Boolean);
    expect(events).toHaveLength(1);
    const candidate = JSON.parse(events[0]!.slice(6)).response.candidates[0];
    expect(candidate.content.parts.length).toBeGreaterThan(0);
    expect(candidate.finishReason).toBeUndefined();
  });

  test("stream_cut on a unary call sends half a body, then drops", async () => {
    sim.addFault({ kind: "stream_cut", method: "generateContent", times: 1 });
    const res = await fetch(`${sim.url}/v1internal:generateContent`, {
      method: "POST",
      headers: { authorization: `Bearer ${tok}`, "content-type": "application/json" },
      body: JSON.stringify(envelope(acc, { contents: [userText("hi")] })),
    });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  test("delay: the answer is held back by delayMs and then served normally", async () => {
    sim.addFault({ kind: "delay", delayMs: 150, times: 1 });
    const r = await gen();
    expect(r.status).toBe(200);
    const entry = sim.requests({ method: "generateContent" }).at(-1)!;
    expect(entry.status).toBe(200);
  });
});

describe("fault matching", () => {
  test("by model and by method; times counts down; removeFault and clearFaults", async () => {
    const id = sim.addFault({ kind: "internal_500", model: "gemini-2.5-pro" });
    expect((await gen("gemini-2.5-pro")).status).toBe(500);
    expect((await gen("gemini-2.5-flash")).status).toBe(200);
    expect((await gen("gemini-2.5-pro")).status).toBe(500); // unlimited
    expect(sim.removeFault(id)).toBe(true);
    expect((await gen("gemini-2.5-pro")).status).toBe(200);

    // without `method`, setup calls are not affected
    sim.addFault({ kind: "internal_500" });
    expect((await v1(sim, tok, "loadCodeAssist")).status).toBe(200);
    sim.clearFaults();
    sim.addFault({ kind: "capacity_503", method: "loadCodeAssist", times: 2 });
    expect((await v1(sim, tok, "loadCodeAssist")).status).toBe(503);
    expect((await v1(sim, tok, "loadCodeAssist")).status).toBe(503);
    expect((await v1(sim, tok, "loadCodeAssist")).status).toBe(200);
    sim.addFault({ kind: "permission_403", method: "*", email: acc.email, times: 1 });
    expect((await v1(sim, tok, "fetchAvailableModels")).status).toBe(403);
  });

  test("faults on the token endpoint use OAuth error bodies; unauthenticated_401 forces a refresh", async () => {
    const refresh = () =>
      fetch(`${sim.url}/token`, {
        method: "POST",
        body: new URLSearchParams({ client_id: CLIENT_ID, grant_type: "refresh_token", refresh_token: acc.refreshToken }),
      });
    sim.addFault({ kind: "internal_500", method: "token", email: acc.email, times: 1 });
    let res = await refresh();
    expect(res.status).toBe(500);
    expect(((await res.json()) as any).error).toBe("internal_failure");
    sim.addFault({ kind: "error_in_200", method: "token", times: 1 });
    res = await refresh();
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).access_token).toBeUndefined();
    expect((await refresh()).status).toBe(200);

    sim.addFault({ kind: "unauthenticated_401", times: 1 });
    const r = await gen();
    expect(r.status).toBe(401);
    expect(r.json.error.status).toBe("UNAUTHENTICATED");
  });

  test("invalid fault specs are rejected", () => {
    expect(() => sim.addFault({ kind: "explode" as any })).toThrow();
    expect(() => sim.addFault({ kind: "delay", times: 0 })).toThrow();
  });
});
