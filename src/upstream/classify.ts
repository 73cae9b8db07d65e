// Pure classification of an upstream failure (docs/upstream.md, "Errors"). The dispatcher turns the class
// into an effect: cooldown scope, rotation, account state. Table-driven tests in test/pool/classify.test.ts.
import { durationInTextMs, durationObjectMs, parseDurationMs, parseRetryAfterMs } from "./duration";

export type FailureClass =
  | "quota_exhausted"
  | "rate_limited"
  | "capacity"
  | "unauthenticated"
  | "verification"
  | "forbidden"
  | "not_found"
  | "invalid_request"
  | "server_error"
  | "network"
  // a 200 whose whole answer is a service notice (./notices.ts)
  | "client_outdated"
  | "model_retired"
  // the gateway's reading of a 404 when another account lists the model
  | "model_not_served"
  // the gateway's reading of a 400 that another account did not repeat
  | "account_rejected";

export interface Failure {
  class: FailureClass;
  /** HTTP status upstream answered (0 for network failures) */
  status: number;
  /** Google's human message */
  message: string;
  /** ErrorInfo.reason when present (QUOTA_EXHAUSTED, VALIDATION_REQUIRED, …) */
  reason?: string;
  /** Google's status name (RESOURCE_EXHAUSTED, …) */
  googleStatus?: string;
  /** how long upstream told us to wait, ms (already resolved from the sources below, best first) */
  delayMs?: number;
  /** absolute reset time upstream named (quotaResetTimeStamp), ms since epoch */
  resetAt?: number;
  /** forbidden: true when the account itself is refused (ToS, permission); false for a 403 that may pass */
  permanent?: boolean;
  verificationUrl?: string;
  /** model_retired: the successor the notice names ("Claude Opus 4.6") */
  successor?: string;
  /** the parsed Google error body (forwarded to Gemini clients), or undefined */
  body?: unknown;
}

export interface UpstreamReply {
  status: number;
  /** raw text or parsed JSON */
  body: unknown;
  headers?: Headers | Record<string, string>;
}

/** a short rate limit with a delay longer than this is really an exhausted quota (Gemini CLI uses 300 s) */
export const RATE_LIMIT_MAX_MS = 300_000;

interface GoogleError {
  code?: number;
  message?: string;
  status?: string;
  details?: Record<string, unknown>[];
}

/** Parse a body into Google's `error` object, tolerating an array wrapper and JSON nested in `message`. */
export function googleError(body: unknown): GoogleError | undefined {
  let b = body;
  if (typeof b === "string") {
    try {
      b = JSON.parse(b);
    } catch {
      return undefined;
    }
  }
  if (Array.isArray(b)) b = b[0];
  if (!b || typeof b !== "object") return undefined;
  const err = (b as { error?: unknown }).error;
  if (!err || typeof err !== "object") return undefined;
  const e = err as GoogleError;
  if (typeof e.message === "string" && e.message.trimStart().startsWith("{")) {
    const inner = googleError(e.message);
    if (inner) return inner;
  }
  return e;
}

function detail(e: GoogleError | undefined, type: string): Record<string, any> | undefined {
  return e?.details?.find((d) => typeof d?.["@type"] === "string" && (d["@type"] as string).endsWith(type)) as any;
}

function header(h: UpstreamReply["headers"], name: string): string | undefined {
  if (!h) return undefined;
  if (h instanceof Headers) return h.get(name) ?? undefined;
  const k = Object.keys(h).find((x) => x.toLowerCase() === name);
  return k ? h[k] : undefined;
}

function delayOf(e: GoogleError | undefined, reply: UpstreamReply, now: number): { delayMs?: number; resetAt?: number } {
  const info = detail(e, "ErrorInfo");
  const meta = (info?.metadata ?? {}) as Record<string, unknown>;
  const retry = detail(e, "RetryInfo");
  // relative delays first: they do not depend on our clock agreeing with Google's
  const delayMs =
    parseDurationMs(meta.quotaResetDelay) ??
    parseDurationMs(retry?.retryDelay) ??
    durationObjectMs(retry?.retryDelay) ??
    parseRetryAfterMs(header(reply.headers, "retry-after"), now) ??
    durationInTextMs(e?.message ?? "");
  const ts = typeof meta.quotaResetTimeStamp === "string" ? Date.parse(meta.quotaResetTimeStamp) : NaN;
  return { delayMs, resetAt: Number.isNaN(ts) ? undefined : ts };
}

function verificationUrl(e: GoogleError | undefined, message: string): string | undefined {
  const help = detail(e, "Help");
  const link = help?.links?.[0]?.url;
  if (typeof link === "string") return link;
  const meta = detail(e, "ErrorInfo")?.metadata ?? {};
  for (const k of ["validation_link", "validationUrl", "validation_url", "appeal_url"]) if (typeof meta[k] === "string") return meta[k];
  return /https:\/\/\S+/.exec(message)?.[0]?.replace(/[).,]+$/, "");
}

const CAPACITY_REASONS = new Set(["MODEL_CAPACITY_EXHAUSTED", "MODEL_CAPACITY_EXCEEDED"]);
const NO_CAPACITY = /no capacity available|capacity exceeded|model is overloaded/i;

/** Classify a non-2xx reply, or a 2xx whose body is an `{error}`. */
export function classify(reply: UpstreamReply, now = Date.now()): Failure {
  const e = googleError(reply.body);
  const status = reply.status >= 200 && reply.status < 300 ? (e?.code ?? 500) : reply.status;
  const message = e?.message ?? (typeof reply.body === "string" && reply.body.trim() ? reply.body.trim().slice(0, 300) : `HTTP ${status}`);
  const reason = detail(e, "ErrorInfo")?.reason as string | undefined;
  const base = { status, message, reason, googleStatus: e?.status, body: e ? { error: e } : undefined };
  const f = (cls: FailureClass, extra: Partial<Failure> = {}): Failure => ({ class: cls, ...base, ...extra });

  if (status === 401) return f("unauthenticated");
  if (status === 403) {
    const text = JSON.stringify(reply.body ?? "");
    if (reason === "VALIDATION_REQUIRED" || /verify your account|validation_url|validation_link|VALIDATION_REQUIRED/i.test(text)) {
      return f("verification", { verificationUrl: verificationUrl(e, message) });
    }
    // a 403 without Google's error body came from something in between (proxy, front end), and some
    // 403s pass by themselves (API still activating): neither benches the account for good
    const transient = !e || reason === "SERVICE_DISABLED" || /has not been used in project|try again|temporar/i.test(message);
    return f("forbidden", { permanent: !transient });
  }
  if (status === 404) return e ? f("not_found") : f("server_error");
  if (status === 408) return f("server_error");
  if (status === 429 || status === 503 || status === 529) {
    const d = delayOf(e, reply, now);
    if ((reason && CAPACITY_REASONS.has(reason)) || NO_CAPACITY.test(message)) return f("capacity", d);
    if (status !== 429) return f("server_error", d);
    if (reason === "QUOTA_EXHAUSTED" || reason === "INSUFFICIENT_G1_CREDITS_BALANCE") return f("quota_exhausted", d);
    const wait = d.delayMs ?? (d.resetAt !== undefined ? d.resetAt - now : undefined);
    if (reason === "RATE_LIMIT_EXCEEDED") return f(wait !== undefined && wait > RATE_LIMIT_MAX_MS ? "quota_exhausted" : "rate_limited", d);
    if (/limit: 0\b|per ?day|daily/i.test(message)) return f("quota_exhausted", d);
    // a detail-free 429 ("Resource has been exhausted") is usually short-lived
    return f(wait !== undefined && wait > RATE_LIMIT_MAX_MS ? "quota_exhausted" : "rate_limited", d);
  }
  // 499 CANCELLED is Google giving up on its side (Gemini CLI retries it like a 5xx), not the client's request
  if (status >= 500 || status === 499) return f("server_error", delayOf(e, reply, now));
  if (status >= 400) return f("invalid_request");
  return f("server_error");
}

export interface NetworkContext {
  /** the host we were calling (named in "could not connect to …") */
  host?: string;
  /** the deadline that applied, for "did not answer within N s" */
  timeoutSeconds?: number;
}

const CONNECT_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ConnectionRefused: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  FailedToOpenSocket: "could not open a socket",
  CERT_HAS_EXPIRED: "TLS certificate problem",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS certificate problem",
  DEPTH_ZERO_SELF_SIGNED_CERT: "TLS certificate problem",
};

/**
 * A transport failure (no HTTP answer) as a short message for clients and logs: the runtime's own
 * text (error class names, hints such as "pass `verbose: true` to fetch()") never leaves here.
 */
export function networkFailure(err: unknown, ctx: NetworkContext = {}): Failure {
  const e = (err && typeof err === "object" ? err : {}) as { name?: unknown; code?: unknown; message?: unknown };
  const name = typeof e.name === "string" ? e.name : "";
  const code = typeof e.code === "string" ? e.code : "";
  const text = typeof e.message === "string" ? e.message : typeof err === "string" ? err : "";
  const f = (message: string, reason?: string): Failure => ({ class: "network", status: 0, message, ...(reason ? { reason } : {}) });
  if (name === "TimeoutError" || code === "ETIMEDOUT" || code === "UND_ERR_HEADERS_TIMEOUT") {
    return f(ctx.timeoutSeconds ? `upstream did not answer within ${ctx.timeoutSeconds} s` : "upstream did not answer in time", "timeout");
  }
  if (code === "ECONNRESET" || code === "EPIPE" || /ECONNRESET|EPIPE|socket connection was closed|socket hang up/i.test(text)) {
    return f("connection reset by upstream");
  }
  const where = ctx.host ? `could not connect to ${ctx.host}` : "could not connect to upstream";
  const known = CONNECT_CODES[code] ?? Object.entries(CONNECT_CODES).find(([k]) => text.includes(k))?.[1];
  if (known) return f(`${where} (${known})`);
  if (/unable to connect|connect/i.test(text)) return f(where);
  return f(`upstream connection failed${/^E[A-Z]+$/.test(code) ? ` (${code})` : ""}`);
}
