// A virtual key's limits, checked before any account is touched: model allowlist (403), requests and
// tokens per minute, requests in flight, daily and monthly token budgets (429 with Retry-After). Windows
// slide over the last 60 s; budgets reset at 00:00 UTC and on the 1st of the month (UTC). The clock is
// injected. Tokens are charged when upstream reported them (after the answer), so a request that starts
// under the limit finishes even if it takes the key over.
import { ApiError } from "../core/errors";
import type { KeyRecord } from "../state/keys";
import { modelAllowed } from "./limits-input";

const MINUTE = 60_000;

interface Meter {
  /** request start times in the last minute */
  starts: number[];
  /** [time, tokens] charged in the last minute */
  tokens: [number, number][];
  inFlight: number;
  day: { start: number; used: number };
  month: { start: number; used: number };
}

export interface Admission {
  /** ends the request's hold on the key's concurrency (call once; later calls do nothing) */
  release(): void;
  /** OpenAI-style x-ratelimit-* headers for the answer */
  headers: Record<string, string>;
}

export const dayStart = (t: number) => Math.floor(t / 86_400_000) * 86_400_000;
export function monthStart(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}
function nextMonth(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

const secondsUntil = (t: number, now: number) => Math.max(1, Math.ceil((t - now) / 1000));

function refused(status: 403 | 429, reason: string, message: string, retryAfter?: number): ApiError {
  return new ApiError(status, message, { reason, ...(retryAfter !== undefined ? { retryAfter } : {}) });
}

export class Limiter {
  private meters = new Map<string, Meter>();

  constructor(
    private now: () => number = Date.now,
    /** tokens each key used so far today and this month (from state.db at start) */
    private used: (keyName: string, since: number) => number = () => 0,
  ) {}

  private meter(k: KeyRecord, now: number): Meter {
    let m = this.meters.get(k.id);
    if (!m) {
      const d = dayStart(now);
      const mo = monthStart(now);
      m = {
        starts: [],
        tokens: [],
        inFlight: 0,
        day: { start: d, used: this.used(k.name, d) },
        month: { start: mo, used: this.used(k.name, mo) },
      };
      this.meters.set(k.id, m);
    }
    if (m.day.start !== dayStart(now)) m.day = { start: dayStart(now), used: 0 };
    if (m.month.start !== monthStart(now)) m.month = { start: monthStart(now), used: 0 };
    while (m.starts.length && m.starts[0]! <= now - MINUTE) m.starts.shift();
    while (m.tokens.length && m.tokens[0]![0] <= now - MINUTE) m.tokens.shift();
    return m;
  }

  /** Throws ApiError (403 / 429 with retryAfter) when `k` may not start a request for `model` now. */
  admit(k: KeyRecord, model: string): Admission {
    const now = this.now();
    if (!modelAllowed(k.models, model))
      throw refused(403, "model_not_allowed", `the key "${k.name}" may not use the model ${model} (allowed: ${k.models!.join(", ")})`);
    const m = this.meter(k, now);
    if (k.rpm !== null && m.starts.length >= k.rpm)
      throw refused(
        429,
        "key_rpm_exceeded",
        `the key "${k.name}" is over its limit of ${k.rpm} requests per minute`,
        secondsUntil(m.starts[0]! + MINUTE, now),
      );
    const tokensNow = m.tokens.reduce((n, [, t]) => n + t, 0);
    if (k.tpm !== null && tokensNow >= k.tpm)
      throw refused(
        429,
        "key_tpm_exceeded",
        `the key "${k.name}" is over its limit of ${k.tpm} tokens per minute`,
        secondsUntil(m.tokens[0]![0] + MINUTE, now),
      );
    if (k.concurrency !== null && m.inFlight >= k.concurrency)
      throw refused(429, "key_concurrency_exceeded", `the key "${k.name}" has ${m.inFlight} requests in flight, its limit`, 1);
    if (k.dailyTokens !== null && m.day.used >= k.dailyTokens) {
      const reset = m.day.start + 86_400_000;
      throw refused(
        429,
        "key_daily_budget_exhausted",
        `the key "${k.name}" used its daily budget of ${k.dailyTokens} tokens; it resets at ${new Date(reset).toISOString()}`,
        secondsUntil(reset, now),
      );
    }
    if (k.monthlyTokens !== null && m.month.used >= k.monthlyTokens) {
      const reset = nextMonth(now);
      throw refused(
        429,
        "key_monthly_budget_exhausted",
        `the key "${k.name}" used its monthly budget of ${k.monthlyTokens} tokens; it resets at ${new Date(reset).toISOString()}`,
        secondsUntil(reset, now),
      );
    }
    m.starts.push(now);
    m.inFlight++;
    let held = true;
    const headers: Record<string, string> = {};
    if (k.rpm !== null) {
      headers["x-ratelimit-limit-requests"] = String(k.rpm);
      headers["x-ratelimit-remaining-requests"] = String(Math.max(0, k.rpm - m.starts.length));
    }
    if (k.tpm !== null) {
      headers["x-ratelimit-limit-tokens"] = String(k.tpm);
      headers["x-ratelimit-remaining-tokens"] = String(Math.max(0, k.tpm - tokensNow));
    }
    return {
      headers,
      release: () => {
        if (!held) return;
        held = false;
        m.inFlight--;
      },
    };
  }

  /** the tokens upstream reported for one of the key's requests */
  charge(k: KeyRecord, tokens: number): void {
    if (tokens <= 0) return;
    const now = this.now();
    const m = this.meter(k, now);
    m.tokens.push([now, tokens]);
    m.day.used += tokens;
    m.month.used += tokens;
  }
}
