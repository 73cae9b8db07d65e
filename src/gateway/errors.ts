// The one place that decides what a client gets for an upstream failure: status, message, Retry-After
// and the served-by headers. The rotation loop (./gateway.ts) decides *whether* to answer; this file
// decides *what*. Protocol routes render the ApiError in their own shape.
import { ApiError, type ApiErrorOptions } from "../core/errors";
import type { NoAccount } from "../scheduling/scheduler";
import { resetOf } from "../scheduling/policy";
import type { Failure } from "../upstream/classify";
import { StreamIdleTimeout } from "../upstream/sse";

export const retryAfterOf = (f: Failure, now: number) => {
  const at = resetOf(f, now);
  return at === undefined ? undefined : Math.max(1, Math.ceil((at - now) / 1000));
};

/** What the client asked for and who answered: named in messages and the served-by headers. */
export interface FailureContext {
  /** the model name the client sent */
  requested?: string;
  /** the upstream model it was mapped to */
  model?: string;
  /** the last account tried, when one was */
  accountEmail?: string;
}

/** x-mapped-model always, x-account-email when an account was tried (they also feed the request log) */
export function failureHeaders(c: FailureContext): Record<string, string> | undefined {
  const h: Record<string, string> = {};
  if (c.model) h["x-mapped-model"] = c.model;
  if (c.accountEmail) h["x-account-email"] = c.accountEmail;
  return Object.keys(h).length ? h : undefined;
}

/** a cooldown's reason in Google's words (the Gemini shape's ErrorInfo) */
const WAIT_REASONS: Record<string, ApiErrorOptions["waitReason"]> = {
  quota_exhausted: "QUOTA_EXHAUSTED",
  rate_limited: "RATE_LIMIT_EXCEEDED",
  capacity: "MODEL_CAPACITY_EXHAUSTED",
};

/** The client-facing error for an upstream failure we are not retrying. */
export function clientError(f: Failure, now = Date.now(), c: FailureContext = {}): ApiError {
  const base = { upstreamBody: f.body, reason: f.class, googleStatus: f.googleStatus, headers: failureHeaders(c) };
  switch (f.class) {
    case "not_found": {
      // every protocol gets the model named (Google's own body says only "Requested entity was not found.")
      if (!c.model) return new ApiError(404, f.message, base);
      const msg = `model "${c.requested ?? c.model}" is not served upstream (mapped to "${c.model}"); see GET /v1/models`;
      return new ApiError(404, msg, { ...base, upstreamBody: undefined, param: "model" });
    }
    case "invalid_request":
      return new ApiError(f.status >= 400 && f.status < 500 ? f.status : 400, f.message, base);
    case "quota_exhausted":
    case "rate_limited":
      return new ApiError(429, f.message, { ...base, retryAfter: retryAfterOf(f, now) ?? 1, waitReason: WAIT_REASONS[f.class] });
    case "capacity":
      return new ApiError(503, f.message, { ...base, retryAfter: retryAfterOf(f, now) ?? 5, waitReason: WAIT_REASONS.capacity });
    case "server_error":
      return new ApiError(f.status >= 500 && f.status < 600 ? f.status : 502, f.message, base);
    case "network":
      return f.reason === "timeout"
        ? new ApiError(504, f.message, { reason: "timeout", headers: base.headers })
        : new ApiError(502, f.message, { reason: "network", headers: base.headers });
    default:
      // our account was refused (401/403): not the client's fault, so not a 401/403 for them
      return new ApiError(502, `Google refused the account: ${f.message}`, { reason: f.class, headers: base.headers });
  }
}

/** a 403 no other account could tell apart from the request's own doing: nobody disabled (502: not the client's key) */
export function forbiddenRequestError(f: Failure, c: FailureContext): ApiError {
  return new ApiError(
    502,
    `Google refused this request for ${c.model ?? "the model"} (403: ${f.message}); another account was refused alike or none could tell, so no account was disabled`,
    // the OpenAI and Anthropic SDKs (and Claude Code) retry a 502 unless told: the same 403 would follow
    { reason: "request_forbidden", headers: { ...failureHeaders(c), "x-should-retry": "false" } },
  );
}

/** Google turned away our client version (docs/upstream.md, "Service notices") */
export function outdatedError(f: Failure, userAgent: string, c: FailureContext): ApiError {
  return new ApiError(
    502,
    `Google turned away the client version this gateway sent (User-Agent "${userAgent}"): "${f.message}". ` +
      `The operator can set the current Antigravity version with upstream.clientVersion or SWITCHYARD_CLIENT_VERSION.`,
    { reason: "client_outdated", headers: failureHeaders(c) },
  );
}

/** the model is retired and no served successor could be found */
export function retiredError(f: Failure, c: FailureContext, next?: string): ApiError {
  const hint = next ? `; use "${next}"` : f.successor ? `; Google suggests ${f.successor}` : "";
  return new ApiError(
    404,
    `model "${c.requested ?? c.model}" (upstream "${c.model}") is retired: "${f.message}"${hint} (see GET /v1/models)`,
    {
      reason: "model_retired",
      headers: failureHeaders(c),
    },
  );
}

/** the same detail-free 429 on two accounts: the request is refused, not the accounts' quota */
export function requestRefusedError(f: Failure, c: FailureContext): ApiError {
  return new ApiError(
    429,
    `Google refused this request with a detail-free 429 ("${f.message}") on two accounts in a row: the request itself is refused, ` +
      `not the accounts' quota, so no account was cooled and it was not tried further.`,
    { reason: "request_refused", googleStatus: f.googleStatus, headers: failureHeaders(c) },
  );
}

/** no account can take the request: 429 when one comes back later (Retry-After), else 503 */
export function noAccountError(why: NoAccount, c: FailureContext): ApiError {
  // every account cooling is a 429 with the soonest reset (the contract), whatever it waits for: the
  // reason goes in the protocol's own terms (waitReason), capacity included
  return new ApiError(why.retryAfter !== undefined ? 429 : 503, why.message, {
    waitReason: why.retryAfter === undefined ? undefined : WAIT_REASONS[why.waitingFor ?? ""],
    retryAfter: why.retryAfter,
    reason: why.reason,
    headers: failureHeaders(c),
  });
}

/**
 * the attempts ran out while accounts were still eligible: the last failure, with a retry right away
 * (others may serve) — unless Google is out of capacity for the model, which no other account changes
 */
export function attemptsError(last: Failure, tried: number, c: FailureContext, now = Date.now()): ApiError {
  const err = clientError(last, now, c);
  if (err.retryAfter === undefined) return err;
  const capacity = last.class === "capacity";
  return new ApiError(err.status, `${tried} accounts tried for ${c.model}; the last said: ${last.message}`, {
    ...err.options,
    // others may serve at once: our own short wait, not Google's body (its QUOTA_EXHAUSTED would be final
    // to Gemini CLI); capacity keeps Google's 503 and its delay
    upstreamBody: capacity ? err.options.upstreamBody : undefined,
    retryAfter: capacity ? err.retryAfter : 1,
  });
}

/** a stream that failed after its first byte reached the client */
export function midStreamError(cause: unknown, f: Failure, c: FailureContext): ApiError {
  const headers = failureHeaders(c);
  return cause instanceof StreamIdleTimeout
    ? new ApiError(504, `upstream stream stalled: ${(cause as Error).message}`, { reason: "timeout", headers })
    : new ApiError(502, `upstream stream interrupted: ${f.message}`, { reason: f.reason ?? "network", headers });
}
