// Upstream failure classification and its effects: table-driven over real-world bodies
// (docs/upstream.md, "Errors") and the simulator's fault bodies.
import { describe, expect, test } from "bun:test";
import { classify, googleError, type FailureClass } from "../../src/upstream/classify";
import { durationInTextMs, parseDurationMs, parseRetryAfterMs } from "../../src/upstream/duration";
import { effectOf, QUOTA_BACKOFF_MS, RATE_LIMIT_BACKOFF_MS, UPSTREAM_ERROR_BACKOFF_MS } from "../../src/scheduling/policy";

const NOW = Date.parse("2026-06-01T12:00:00Z");
const info = (reason: string, metadata: Record<string, string> = {}) => ({
  "@type": "type.googleapis.com/google.rpc.ErrorInfo",
  reason,
  domain: "cloudcode-pa.googleapis.com",
  metadata,
});
const retry = (d: string) => ({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: d });
const gerr = (code: number, status: string, message: string, details?: unknown[]) => ({
  error: { code, message, status, ...(details ? { details } : {}) },
});

describe("parseDurationMs", () => {
  test.each([
    ["108h48m20.795762633s", (108 * 3600 + 48 * 60 + 20.795762633) * 1000],
    ["539.477544ms", 539.477544],
    ["0.539477544s", 539.477544],
    ["7384.5s", 7384500],
    ["40s", 40000],
    ["2h3m4.5s", (2 * 3600 + 3 * 60 + 4.5) * 1000],
    ["1m", 60000],
    ["0", 0],
    ["0s", 0],
    ["1500us", 1.5],
    ["250000ns", 0.25],
  ])("%s", (text, ms) => expect(parseDurationMs(text)!).toBeCloseTo(ms, 3));

  test.each(["", "abc", "5 s", "5x", "-3s", "s"])("rejects %p", (text) => expect(parseDurationMs(text)).toBeUndefined());

  test("Retry-After seconds and HTTP date", () => {
    expect(parseRetryAfterMs("12", NOW)).toBe(12000);
    expect(parseRetryAfterMs(new Date(NOW + 30_000).toUTCString(), NOW)).toBe(30000);
    expect(parseRetryAfterMs("soon", NOW)).toBeUndefined();
  });

  test("durations in prose", () => {
    expect(durationInTextMs("Individual quota reached. Resets in 108h48m29s.")).toBe((108 * 3600 + 48 * 60 + 29) * 1000);
    expect(durationInTextMs("Please retry in 3.5s")).toBe(3500);
    expect(durationInTextMs("nothing here")).toBeUndefined();
  });
});

interface Row {
  name: string;
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  cls: FailureClass;
  delayMs?: number;
  resetAt?: number;
  permanent?: boolean;
  url?: string;
}

const ROWS: Row[] = [
  {
    name: "429 RATE_LIMIT_EXCEEDED with a sub-second delay",
    status: 429,
    body: gerr(429, "RESOURCE_EXHAUSTED", "You have exhausted your capacity on this model. Your quota will reset after 0s.", [
      info("RATE_LIMIT_EXCEEDED", { quotaResetDelay: "539.477544ms", quotaResetTimeStamp: "2025-10-20T19:14:08Z" }),
      retry("0.539477544s"),
    ]),
    cls: "rate_limited",
    delayMs: 539.477544,
  },
  {
    name: "429 QUOTA_EXHAUSTED with a long reset",
    status: 429,
    body: gerr(429, "RESOURCE_EXHAUSTED", "Individual quota reached. Resets in 108h48m29s.", [
      info("QUOTA_EXHAUSTED", { quotaResetDelay: "108h48m20.795762633s", quotaResetTimeStamp: "2026-06-04T15:24:12Z" }),
      retry("391609.795772632s"),
    ]),
    cls: "quota_exhausted",
    delayMs: (108 * 3600 + 48 * 60 + 20.795762633) * 1000,
    resetAt: Date.parse("2026-06-04T15:24:12Z"),
  },
  {
    name: "429 QUOTA_EXHAUSTED with only a timestamp",
    status: 429,
    body: gerr(429, "RESOURCE_EXHAUSTED", "quota", [info("QUOTA_EXHAUSTED", { quotaResetTimeStamp: "2026-06-01T12:05:00Z" })]),
    cls: "quota_exhausted",
    resetAt: Date.parse("2026-06-01T12:05:00Z"),
  },
  {
    name: "429 QUOTA_EXHAUSTED with only RetryInfo",
    status: 429,
    body: gerr(429, "RESOURCE_EXHAUSTED", "quota", [info("QUOTA_EXHAUSTED"), retry("7384.5s")]),
    cls: "quota_exhausted",
    delayMs: 7384500,
  },
  {
    name: "429 QUOTA_EXHAUSTED with ErrorInfo not first",
    status: 429,
    body: gerr(429, "RESOURCE_EXHAUSTED", "quota", [retry("10s"), info("QUOTA_EXHAUSTED")]),
    cls: "quota_exhausted",
    delayMs: 10000,
  },
  {
    name: "429 RATE_LIMIT_EXCEEDED with a delay over 5 minutes is an exhausted quota",
    status: 429,
    body: gerr(429, "RESOURCE_EXHAUSTED", "x", [info("RATE_LIMIT_EXCEEDED", { quotaResetDelay: "2h" })]),
    cls: "quota_exhausted",
    delayMs: 7_200_000,
  },
  {
    name: "429 without details (short rate limit)",
    status: 429,
    body: gerr(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    cls: "rate_limited",
  },
  { name: "429 with Retry-After header only", status: 429, body: "", headers: { "Retry-After": "7" }, cls: "rate_limited", delayMs: 7000 },
  {
    name: "429 no capacity (message)",
    status: 429,
    body: gerr(429, "RESOURCE_EXHAUSTED", "No capacity available for model gemini-3-pro-high on the server"),
    cls: "capacity",
  },
  {
    name: "503 MODEL_CAPACITY_EXHAUSTED",
    status: 503,
    body: gerr(503, "UNAVAILABLE", "No capacity available for model gemini-3-pro-high on the server", [
      info("MODEL_CAPACITY_EXHAUSTED", { model: "gemini-3-pro-high" }),
      retry("40s"),
    ]),
    cls: "capacity",
    delayMs: 40000,
  },
  { name: "503 plain", status: 503, body: gerr(503, "UNAVAILABLE", "The service is currently unavailable."), cls: "server_error" },
  { name: "500", status: 500, body: gerr(500, "INTERNAL", "Internal error encountered."), cls: "server_error" },
  { name: "502 HTML", status: 502, body: "<html>Bad Gateway</html>", cls: "server_error" },
  { name: "408", status: 408, body: "", cls: "server_error" },
  {
    name: "401",
    status: 401,
    body: gerr(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."),
    cls: "unauthenticated",
  },
  {
    name: "403 VALIDATION_REQUIRED with a Help link",
    status: 403,
    body: gerr(403, "PERMISSION_DENIED", "Verify your account to continue.", [
      info("VALIDATION_REQUIRED", { validation_link: "https://meta.example/verify" }),
      { "@type": "type.googleapis.com/google.rpc.Help", links: [{ description: "Verify", url: "https://help.example/verify" }] },
    ]),
    cls: "verification",
    url: "https://help.example/verify",
  },
  {
    name: "403 VALIDATION_REQUIRED with only metadata",
    status: 403,
    body: gerr(403, "PERMISSION_DENIED", "Verify your account.", [
      info("VALIDATION_REQUIRED", { validation_link: "https://meta.example/verify" }),
    ]),
    cls: "verification",
    url: "https://meta.example/verify",
  },
  {
    name: "403 permission",
    status: 403,
    body: gerr(403, "PERMISSION_DENIED", "The caller does not have permission"),
    cls: "forbidden",
    permanent: true,
  },
  {
    name: "403 terms of service",
    status: 403,
    body: gerr(403, "PERMISSION_DENIED", "This service has been disabled in this account for violation of Terms of Service."),
    cls: "forbidden",
    permanent: true,
  },
  {
    name: "403 SERVICE_DISABLED is transient",
    status: 403,
    body: gerr(403, "PERMISSION_DENIED", "Cloud Code Private API has not been used in project 123 before or it is disabled.", [
      info("SERVICE_DISABLED"),
    ]),
    cls: "forbidden",
    permanent: false,
  },
  { name: "403 without Google's body is transient", status: 403, body: "Forbidden", cls: "forbidden", permanent: false },
  {
    name: "499 CANCELLED is upstream giving up: a 5xx to retry elsewhere, not the client's 4xx",
    status: 499,
    body: { error: { code: 499, message: "The operation was cancelled.", status: "CANCELLED" } },
    cls: "server_error",
  },
  { name: "404 model", status: 404, body: gerr(404, "NOT_FOUND", "Requested entity was not found."), cls: "not_found" },
  { name: "404 of an endpoint (not Google's body)", status: 404, body: "Not Found", cls: "server_error" },
  {
    name: "400",
    status: 400,
    body: gerr(400, "INVALID_ARGUMENT", 'Invalid JSON payload received. Unknown name "thinking": Cannot find field.'),
    cls: "invalid_request",
  },
  {
    name: "400 invalid signature stays the client's",
    status: 400,
    body: gerr(400, "INVALID_ARGUMENT", "Invalid signature in thinking block"),
    cls: "invalid_request",
  },
  { name: "200 whose body is an error", status: 200, body: gerr(500, "INTERNAL", "Internal error encountered."), cls: "server_error" },
  {
    name: "200 whose body is a 429 error",
    status: 200,
    body: gerr(429, "RESOURCE_EXHAUSTED", "x", [info("QUOTA_EXHAUSTED", { quotaResetDelay: "60s" })]),
    cls: "quota_exhausted",
    delayMs: 60000,
  },
  {
    name: "error wrapped in an array",
    status: 429,
    body: [gerr(429, "RESOURCE_EXHAUSTED", "x", [info("QUOTA_EXHAUSTED", { quotaResetDelay: "5s" })])],
    cls: "quota_exhausted",
    delayMs: 5000,
  },
];

describe("classify", () => {
  test.each(ROWS.map((r) => [r.name, r] as const))("%s", (_name, r) => {
    const f = classify({ status: r.status, body: r.body, headers: r.headers }, NOW);
    expect(f.class).toBe(r.cls);
    if (r.delayMs !== undefined) expect(f.delayMs!).toBeCloseTo(r.delayMs, 3);
    if (r.resetAt !== undefined) expect(f.resetAt).toBe(r.resetAt);
    if (r.permanent !== undefined) expect(f.permanent).toBe(r.permanent);
    if (r.url !== undefined) expect(f.verificationUrl).toBe(r.url);
  });

  test("keeps Google's message and body, and reads a body given as text", () => {
    const body = gerr(404, "NOT_FOUND", "Requested entity was not found.");
    const f = classify({ status: 404, body: JSON.stringify(body) }, NOW);
    expect(f.message).toBe("Requested entity was not found.");
    expect(f.googleStatus).toBe("NOT_FOUND");
    expect(f.body).toEqual(body);
  });

  test("JSON nested as a string inside message", () => {
    const inner = JSON.stringify(gerr(429, "RESOURCE_EXHAUSTED", "inner", [info("QUOTA_EXHAUSTED")]));
    expect(googleError({ error: { code: 429, message: inner } })?.message).toBe("inner");
  });
});

describe("effects", () => {
  const f = (status: number, body: unknown) => classify({ status, body }, NOW);

  test("quota exhausted: cools the model until the reset, rotates, re-reads quota", () => {
    const e = effectOf(f(429, ROWS[1]!.body), 1, NOW);
    expect(e).toMatchObject({ rotate: true, refreshQuota: true, cooldown: { model: "model", reason: "quota_exhausted" } });
    expect(e.cooldown!.until).toBeCloseTo(NOW + ROWS[1]!.delayMs!, -1);
  });

  test("quota exhausted without a delay backs off 60 s → 300 s → 1800 s → 7200 s", () => {
    const body = gerr(429, "RESOURCE_EXHAUSTED", "x", [info("QUOTA_EXHAUSTED")]);
    const waits = [1, 2, 3, 4, 5].map((n) => effectOf(f(429, body), n, NOW).cooldown!.until - NOW);
    expect(waits).toEqual([...QUOTA_BACKOFF_MS, QUOTA_BACKOFF_MS[3]!]);
  });

  test("rate limits: at least 1 s; detail-free ones back off", () => {
    expect(effectOf(f(429, ROWS[0]!.body), 1, NOW).cooldown!.until - NOW).toBe(1000);
    const bare = ROWS.find((r) => r.name.startsWith("429 without details"))!.body;
    expect([1, 2, 3].map((n) => effectOf(f(429, bare), n, NOW).cooldown!.until - NOW)).toEqual(RATE_LIMIT_BACKOFF_MS.slice(0, 3));
  });

  test("capacity: short model cooldown, not the account's fault", () => {
    const e = effectOf(f(503, ROWS.find((r) => r.name === "503 MODEL_CAPACITY_EXHAUSTED")!.body), 1, NOW);
    expect(e).toMatchObject({ rotate: true, accountFault: false, cooldown: { model: "model", reason: "capacity" } });
    expect(e.cooldown!.until - NOW).toBe(40000);
  });

  test("403: permission disables, verification flags, transient only cools", () => {
    expect(effectOf(f(403, gerr(403, "PERMISSION_DENIED", "The caller does not have permission")), 1, NOW).state).toMatchObject({
      state: "disabled",
    });
    expect(effectOf(f(403, ROWS.find((r) => r.cls === "verification")!.body), 1, NOW).state).toMatchObject({
      state: "needs_verification",
      url: "https://help.example/verify",
    });
    const t = effectOf(f(403, "Forbidden"), 1, NOW);
    expect(t.state).toBeUndefined();
    expect(t.cooldown).toMatchObject({ model: "*" });
  });

  test("client errors are returned: no cooldown, no rotation", () => {
    for (const [s, b] of [
      [404, gerr(404, "NOT_FOUND", "Requested entity was not found.")],
      [400, gerr(400, "INVALID_ARGUMENT", "Invalid signature in thinking block")],
    ] as const) {
      const e = effectOf(f(s, b), 1, NOW);
      expect(e).toEqual({ rotate: false, accountFault: false });
    }
  });

  test("server errors rotate without a cooldown; the account is tried last for a while that grows", () => {
    const e = effectOf(f(500, gerr(500, "INTERNAL", "x")), 1, NOW);
    expect(e).toMatchObject({ rotate: true, accountFault: true });
    expect(e.cooldown).toBeUndefined();
    expect([1, 2, 3, 4, 5].map((n) => effectOf(f(500, gerr(500, "INTERNAL", "x")), n, NOW).penalty!.until - NOW)).toEqual([
      ...UPSTREAM_ERROR_BACKOFF_MS,
      UPSTREAM_ERROR_BACKOFF_MS[3]!,
    ]);
  });
});
