// Transport failures → short human messages (table-driven over the errors Bun's fetch throws), and
// the client error each failure class becomes.
import { describe, expect, test } from "bun:test";
import { networkFailure, type Failure } from "../../src/upstream/classify";
import { attemptsError, clientError, noAccountError } from "../../src/gateway/errors";
import { explainNoAccount } from "../../src/scheduling/scheduler";
import { errorBody } from "../../src/core/errors";

const bunError = (code: string, message: string) => Object.assign(new TypeError(message), { code });
const RUNTIME_TEXT = /TypeError|TimeoutError|DOMException|verbose|fetch\(\)|Error:/;

describe("networkFailure", () => {
  const ctx = { host: "cloudcode-pa.googleapis.com", timeoutSeconds: 30 };
  test.each([
    [
      "reset",
      bunError(
        "ECONNRESET",
        "ECONNRESET: The socket connection was closed unexpectedly. For more information, pass `verbose: true` in the second argument to fetch()",
      ),
      "connection reset by upstream",
      undefined,
    ],
    ["reset without code", new TypeError("The socket connection was closed unexpectedly."), "connection reset by upstream", undefined],
    [
      "refused",
      bunError("ECONNREFUSED", "ECONNREFUSED: Unable to connect. Is the computer able to access the url?"),
      "could not connect to cloudcode-pa.googleapis.com (connection refused)",
      undefined,
    ],
    [
      "dns",
      bunError("ENOTFOUND", "getaddrinfo ENOTFOUND cloudcode-pa.googleapis.com"),
      "could not connect to cloudcode-pa.googleapis.com (host not found)",
      undefined,
    ],
    [
      "unable to connect, no code",
      new TypeError("Unable to connect. Is the computer able to access the url?"),
      "could not connect to cloudcode-pa.googleapis.com",
      undefined,
    ],
    ["AbortSignal.timeout", new DOMException("The operation timed out.", "TimeoutError"), "upstream did not answer within 30 s", "timeout"],
    [
      "our stream deadline",
      new DOMException("upstream did not answer in time", "TimeoutError"),
      "upstream did not answer within 30 s",
      "timeout",
    ],
    ["unknown error", new Error("weird internal thing"), "upstream connection failed", undefined],
    ["unknown code", bunError("EPROTO", "EPROTO: something"), "upstream connection failed (EPROTO)", undefined],
    ["not an Error", "boom", "upstream connection failed", undefined],
  ] as [string, unknown, string, string | undefined][])("%s", (_name, err, message, reason) => {
    const f = networkFailure(err, ctx);
    expect(f).toMatchObject({ class: "network", status: 0, message });
    expect(f.reason).toBe(reason as string);
    expect(f.message).not.toMatch(RUNTIME_TEXT);
  });

  test("without context: no host, no number", () => {
    expect(networkFailure(bunError("ECONNREFUSED", "x")).message).toBe("could not connect to upstream (connection refused)");
    expect(networkFailure(new DOMException("t", "TimeoutError")).message).toBe("upstream did not answer in time");
  });
});

describe("clientError", () => {
  const served = { requested: "claude-opus-9", model: "claude-opus-4-6-thinking", accountEmail: "a@example.com" };
  const f = (over: Partial<Failure>): Failure => ({ class: "network", status: 0, message: "m", ...over });
  test.each([
    // [failure, status, message, reason]
    [f({ message: "upstream did not answer within 30 s", reason: "timeout" }), 504, "upstream did not answer within 30 s", "timeout"],
    [f({ message: "connection reset by upstream" }), 502, "connection reset by upstream", "network"],
    [
      f({ class: "not_found", status: 404, message: "Requested entity was not found." }),
      404,
      'model "claude-opus-9" is not served upstream (mapped to "claude-opus-4-6-thinking"); see GET /v1/models',
      "not_found",
    ],
    [f({ class: "invalid_request", status: 400, message: "bad" }), 400, "bad", "invalid_request"],
    [f({ class: "unauthenticated", status: 401, message: "nope" }), 502, "Google refused the account: nope", "unauthenticated"],
  ] as [Failure, number, string, string][])("%j → %d", (failure, status, message, reason) => {
    const e = clientError(failure, Date.now(), served);
    expect(e.status).toBe(status);
    expect(e.message).toBe(message);
    expect(e.reason).toBe(reason);
    expect(e.options.headers).toEqual({ "x-mapped-model": "claude-opus-4-6-thinking", "x-account-email": "a@example.com" });
  });

  test("a 404 for a model names it in every protocol, Gemini's too (Google's body says only \"not found\")", () => {
    const body = { error: { code: 404, message: "Requested entity was not found.", status: "NOT_FOUND" } };
    const e = clientError(f({ class: "not_found", status: 404, message: "x", body }), Date.now(), served);
    expect(e.options.upstreamBody).toBeUndefined();
    expect(e.options.param).toBe("model");
    expect(e.message).toContain(`"${served.model}"`);
  });

  test("without an account tried: only x-mapped-model", () => {
    const e = clientError(f({ class: "not_found", status: 404 }), Date.now(), { model: "m" });
    expect(e.options.headers).toEqual({ "x-mapped-model": "m" });
  });
});

describe("when the attempts or the accounts run out", () => {
  const ctx = { model: "gemini-3-flash", requested: "gemini-3-flash" };
  test("the attempts ran out: retry at once (others may serve), but Google's own delay when it is out of capacity", () => {
    const rate = attemptsError({ class: "rate_limited", status: 429, message: "slow down", delayMs: 30_000 }, 3, ctx);
    expect([rate.status, rate.retryAfter]).toEqual([429, 1]);
    const capacity = attemptsError({ class: "capacity", status: 503, message: "no capacity", delayMs: 40_000 }, 3, ctx);
    expect([capacity.status, capacity.retryAfter]).toEqual([503, 40]);
  });

  test("every account waiting: 429 with the soonest reset whatever it waits for (capacity too, named in waitReason); 503 with no retry when none will come back", () => {
    const used = noAccountError({ message: "m", reason: "no_account_available", retryAfter: 60, waitingFor: "quota_exhausted" }, ctx);
    expect([used.status, used.retryAfter, used.options.waitReason]).toEqual([429, 60, "QUOTA_EXHAUSTED"]);
    const overloaded = noAccountError({ message: "m", reason: "no_account_available", retryAfter: 40, waitingFor: "capacity" }, ctx);
    expect([overloaded.status, overloaded.retryAfter, overloaded.options.waitReason]).toEqual([429, 40, "MODEL_CAPACITY_EXHAUSTED"]);
    expect(noAccountError({ message: "m", reason: "no_usable_account" }, ctx).status).toBe(503);
  });

  test("what the waiting accounts wait for is named also when some accounts are disabled", () => {
    const now = Date.now();
    const base = { refreshToken: "x", projectId: "p", requests: 0, failures: 0, createdAt: now, quota: null };
    const accounts = [
      { ...base, id: "a", email: "a@x", state: "active", cooldowns: [{ model: "m", until: now + 3_600_000, reason: "quota_exhausted" }] },
      { ...base, id: "b", email: "b@x", state: "disabled", cooldowns: [] },
    ] as never[];
    expect(explainNoAccount(accounts, "m", now)).toMatchObject({ retryAfter: 3600, waitingFor: "quota_exhausted" });
    // waiting for different things: what the first to come back waits for (the wait Retry-After names)
    const mixed = [
      { ...base, id: "a", email: "a@x", state: "active", cooldowns: [{ model: "m", until: now + 3_600_000, reason: "quota_exhausted" }] },
      { ...base, id: "c", email: "c@x", state: "active", cooldowns: [{ model: "m", until: now + 2_000, reason: "rate_limited" }] },
    ] as never[];
    expect(explainNoAccount(mixed, "m", now)).toMatchObject({ retryAfter: 2, waitingFor: "rate_limited" });
  });
});

test.each([
  [20, "RATE_LIMIT_EXCEEDED", "rate_limit_error"],
  [300, "RATE_LIMIT_EXCEEDED", "rate_limit_error"],
  [600, "QUOTA_EXHAUSTED", "insufficient_quota"],
])("a pool out of quota for %i s: final to clients only past five minutes (Google: %s; OpenAI: %s)", (secs, google, openai) => {
  const err = noAccountError(
    { message: "m", reason: "no_account_available", retryAfter: secs, waitingFor: "quota_exhausted" },
    { model: "m" },
  );
  const g = errorBody("gemini", err) as { error: { details: { reason?: string; retryDelay?: string }[] } };
  expect(g.error.details.map((d) => d.reason ?? d.retryDelay)).toEqual([google, `${secs}s`]);
  expect((errorBody("openai", err) as { error: { type: string } }).error.type).toBe(openai);
});
