// What a classified upstream failure does (pure): cool the account for the model or as a whole,
// change its state, try another account, or hand the error to the client.
import type { Failure } from "../upstream/classify";

export interface Effect {
  /** try another account for this request */
  rotate: boolean;
  cooldown?: { model: "model" | "*"; until: number; reason: string };
  state?: { state: "disabled"; reason: string } | { state: "needs_verification"; url?: string; reason: string };
  /** re-read the account's quota soon */
  refreshQuota?: boolean;
  /** counts as the account's failure (not the client's, not Google's capacity) */
  accountFault: boolean;
  /** try other accounts first until then (the account stays eligible when nothing else is) */
  penalty?: { until: number };
}

export const QUOTA_BACKOFF_MS = [60_000, 300_000, 1_800_000, 7_200_000];
export const RATE_LIMIT_BACKOFF_MS = [2_000, 5_000, 15_000, 30_000];
export const MIN_COOLDOWN_MS = 1_000;
export const CAPACITY_DEFAULT_MS = 5_000;
export const CAPACITY_MAX_MS = 60_000;
export const UNAUTHENTICATED_COOLDOWN_MS = 60_000;
export const TRANSIENT_403_COOLDOWN_MS = 300_000;
/** an account that said 404 for a model others list is asked again after this long (or its next quota refresh) */
export const MODEL_NOT_SERVED_MS = 600_000;
/**
 * 5xx, hangs and cut connections carry no reset time, yet an account that fails this way must not stay
 * first in line for every new session (the scheduler prefers accounts with the fewest bindings): it is
 * tried last for a while that grows while the failures continue — still used when nothing else is.
 */
export const UPSTREAM_ERROR_BACKOFF_MS = [5_000, 15_000, 60_000, 300_000];
/** an account whose 400 another account did not repeat */
export const ACCOUNT_REJECTED_MS = 300_000;

const step = (steps: number[], strikes: number) => steps[Math.min(Math.max(strikes, 1), steps.length) - 1]!;

/** when upstream said the limit resets, if it said so */
export function resetOf(f: Failure, now: number): number | undefined {
  if (f.delayMs !== undefined) return now + f.delayMs;
  if (f.resetAt !== undefined && f.resetAt > now) return f.resetAt;
  return undefined;
}

/**
 * @param strikes how many times in a row this account×model failed with this class (1 = first time)
 */
export function effectOf(f: Failure, strikes: number, now: number): Effect {
  switch (f.class) {
    case "quota_exhausted": {
      const until = resetOf(f, now) ?? now + step(QUOTA_BACKOFF_MS, strikes);
      return {
        rotate: true,
        cooldown: { model: "model", until: Math.max(until, now + MIN_COOLDOWN_MS), reason: "quota_exhausted" },
        refreshQuota: true,
        accountFault: true,
      };
    }
    case "rate_limited": {
      const until = resetOf(f, now) ?? now + step(RATE_LIMIT_BACKOFF_MS, strikes);
      return {
        rotate: true,
        cooldown: { model: "model", until: Math.max(until, now + MIN_COOLDOWN_MS), reason: "rate_limited" },
        accountFault: true,
      };
    }
    case "capacity": {
      // Google is out of capacity for the model, not this account out of quota: short, bounded
      const wait = Math.min(Math.max((resetOf(f, now) ?? now + CAPACITY_DEFAULT_MS) - now, MIN_COOLDOWN_MS), CAPACITY_MAX_MS);
      return { rotate: true, cooldown: { model: "model", until: now + wait, reason: "capacity" }, accountFault: false };
    }
    case "unauthenticated":
      // reached only when a fresh token was rejected too
      return {
        rotate: true,
        cooldown: { model: "*", until: now + UNAUTHENTICATED_COOLDOWN_MS, reason: "unauthenticated" },
        accountFault: true,
      };
    case "verification":
      return { rotate: true, state: { state: "needs_verification", url: f.verificationUrl, reason: f.message }, accountFault: true };
    case "forbidden":
      if (f.permanent)
        return { rotate: true, state: { state: "disabled", reason: `forbidden (403): ${f.message}`.slice(0, 800) }, accountFault: true };
      return { rotate: true, cooldown: { model: "*", until: now + TRANSIENT_403_COOLDOWN_MS, reason: "forbidden" }, accountFault: true };
    case "server_error":
    case "network":
      // every endpoint already failed for this account; another account may get through
      return { rotate: true, penalty: { until: now + step(UPSTREAM_ERROR_BACKOFF_MS, strikes) }, accountFault: true };
    case "account_rejected":
      return {
        rotate: true,
        cooldown: { model: "model", until: now + ACCOUNT_REJECTED_MS, reason: "account_rejected_request" },
        accountFault: true,
      };
    case "model_not_served":
      return {
        rotate: true,
        cooldown: { model: "model", until: now + MODEL_NOT_SERVED_MS, reason: "model_not_served" },
        accountFault: false,
      };
    case "not_found":
    case "invalid_request":
    // about the request or our client version, not the account: the dispatcher decides what to do
    case "client_outdated":
    case "model_retired":
      return { rotate: false, accountFault: false };
  }
}
