// One error type for the whole gateway, rendered in the shape of the protocol the client speaks
// (docs/contract.md §7). Routes and the pool throw ApiError; the app's onError renders it.

export type Family = "gemini" | "openai" | "anthropic" | "plain";

export interface ApiErrorOptions {
  /** the offending request field, e.g. "messages[0].content" (OpenAI `param`) */
  param?: string;
  /** seconds; becomes the Retry-After header */
  retryAfter?: number;
  /** Google status name to use for the Gemini shape when it should differ from the default for `status` */
  googleStatus?: string;
  /** a machine-readable reason (plain shape `code`, logs and metrics), e.g. "quota_exhausted" */
  reason?: string;
  /** the original Google error body, forwarded as-is on Gemini routes when present */
  upstreamBody?: unknown;
  headers?: Record<string, string>;
  /**
   * why a 429/503 is waiting, in Google's words: the Gemini shape then carries Google's ErrorInfo and
   * RetryInfo (Gemini CLI tells a quota it stops on from a rate limit it waits out only by them), and a
   * long quota wait is OpenAI's `insufficient_quota` (Codex waits out any other 429, for hours)
   */
  waitReason?: "QUOTA_EXHAUSTED" | "RATE_LIMIT_EXCEEDED" | "MODEL_CAPACITY_EXHAUSTED";
}

/**
 * past this wait a quota 429 is final for the client (OpenAI's insufficient_quota, Google's QUOTA_EXHAUSTED:
 * clients stop instead of sleeping through it); a shorter one is worth waiting out (a rate limit to them;
 * Gemini CLI retries delays up to five minutes)
 */
const LONG_QUOTA_WAIT_S = 300;

export class ApiError extends Error {
  readonly status: number;
  readonly options: ApiErrorOptions;
  constructor(status: number, message: string, options: ApiErrorOptions = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.options = options;
  }
  get param() {
    return this.options.param;
  }
  get retryAfter() {
    return this.options.retryAfter;
  }
  get reason() {
    return this.options.reason ?? defaultReason(this.status);
  }
}

export const badRequest = (message: string, param?: string) => new ApiError(400, message, { param, reason: "invalid_request" });

/** Which protocol's error shape a path gets. */
/** Google's SDKs send one of these headers, Anthropic's send anthropic-version (/v1/models serves all three) */
export const isGoogleClient = (h: Headers) => h.has("x-goog-api-client") || h.has("x-goog-api-key");
export const isAnthropicClient = (h: Headers) => h.has("anthropic-version");

/**
 * Whose error shape a request gets: by its path, and on /v1/models (shared by all three) by the headers
 * only an SDK sends — Google's x-goog-api-client, Anthropic's anthropic-version. A bare x-goog-api-key
 * is one of the four ways to send a key, so it leaves the route's OpenAI shape alone.
 */
export function familyOf(path: string, headers?: Headers): Family {
  if (path.startsWith("/v1beta/") || path === "/v1beta" || /^\/v1\/models\/[^/]+:/.test(path)) return "gemini";
  if (headers && (path === "/v1/models" || path.startsWith("/v1/models/"))) {
    if (headers.has("x-goog-api-client")) return "gemini";
    if (isAnthropicClient(headers)) return "anthropic";
  }
  if (path.startsWith("/v1/messages")) return "anthropic";
  if (path.startsWith("/v1/chat/") || path.startsWith("/v1/images/") || path === "/v1/models" || path.startsWith("/v1/models/"))
    return "openai";
  if (path.startsWith("/v1/")) return "openai";
  return "plain";
}

const GOOGLE_STATUS: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  405: "UNIMPLEMENTED",
  409: "ABORTED",
  413: "INVALID_ARGUMENT",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  501: "UNIMPLEMENTED",
  502: "UNAVAILABLE",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

export function googleStatusOf(status: number): string {
  return GOOGLE_STATUS[status] ?? (status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT");
}

function openaiType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

function anthropicType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 503 || status === 529) return "overloaded_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

function defaultReason(status: number): string {
  if (status === 401) return "unauthenticated";
  if (status === 403) return "permission_denied";
  if (status === 404) return "not_found";
  if (status === 405) return "method_not_allowed";
  if (status === 413) return "payload_too_large";
  if (status === 429) return "rate_limited";
  if (status === 503) return "unavailable";
  if (status >= 500) return "internal";
  return "invalid_request";
}

/** The JSON body for an error in a family's shape. */
export function errorBody(family: Family, err: ApiError): unknown {
  switch (family) {
    case "gemini": {
      const up = err.options.upstreamBody as { error?: { code?: number } } | undefined;
      if (up && typeof up === "object" && up.error && typeof up.error === "object" && up.error.code === err.status) return up;
      const body = { code: err.status, message: err.message, status: err.options.googleStatus ?? googleStatusOf(err.status) };
      const said = err.options.waitReason;
      if (!said) return { error: body };
      const why = said === "QUOTA_EXHAUSTED" && (err.retryAfter ?? Infinity) <= LONG_QUOTA_WAIT_S ? "RATE_LIMIT_EXCEEDED" : said;
      const details: unknown[] = [
        { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: why, domain: "cloudcode-pa.googleapis.com" },
      ];
      if (err.retryAfter !== undefined)
        details.push({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${Math.max(1, Math.ceil(err.retryAfter))}s` });
      return { error: { ...body, details } };
    }
    case "openai": {
      const quota = err.options.waitReason === "QUOTA_EXHAUSTED" && (err.retryAfter ?? 0) > LONG_QUOTA_WAIT_S;
      const type = quota ? "insufficient_quota" : openaiType(err.status);
      return {
        error: { message: err.message, type, param: err.param ?? null, code: quota ? "insufficient_quota" : (err.options.reason ?? null) },
      };
    }
    case "anthropic":
      return { type: "error", error: { type: anthropicType(err.status), message: err.message } };
    default:
      return { error: { message: err.message, code: err.reason } };
  }
}

export function errorHeaders(err: ApiError): Record<string, string> {
  const h: Record<string, string> = { "content-type": "application/json", ...(err.options.headers ?? {}) };
  if (err.retryAfter !== undefined) h["retry-after"] = String(Math.max(1, Math.ceil(err.retryAfter)));
  return h;
}

export function errorResponse(family: Family, err: ApiError): Response {
  return new Response(JSON.stringify(errorBody(family, err)), { status: err.status, headers: errorHeaders(err) });
}

/** Anything thrown → ApiError; unknown errors become a 500 without internals. */
/** a change could not be written to disk (full, read-only, corrupt file): it was not applied */
export class StorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StorageError";
  }
}

export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof StorageError) return new ApiError(507, e.message, { reason: "storage_error" });
  if (e instanceof Error && e.name === "AbortError") return new ApiError(499, "request cancelled", { reason: "cancelled" });
  if (e instanceof Error && e.name === "TimeoutError") return new ApiError(504, "upstream deadline exceeded", { reason: "timeout" });
  return new ApiError(500, "internal error", { reason: "internal" });
}
