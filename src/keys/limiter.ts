// A virtual key's limits, checked before any account is touched: model allowlist (403), requests and
// tokens per minute, requests in flight, daily and monthly token budgets (429 with Retry-After). Windows
// slide over the last 60 s; budgets reset at 00:00 UTC and on the 1st of the month (UTC). The clock is
// injected. Tokens are charged when upstream reported them (after the answer), so a request that starts
// under the limit finishes even if it takes the key over. With shared state the requests per minute and
// the requests in flight are counted in one place for every instance (admitShared): announcements
// arrive milliseconds late, which let a quick run of requests across instances pass a limit.
import { ApiError } from "../core/errors";
import type { KeyRecord } from "../state/keys";
import type { KeyUse, SharedCounts } from "../state/redis-keys";
import { modelAllowed } from "./limits-input";

const SLOTS = 60;
/**
 * With shared state, each instance repeats its in-flight counts this often: a count not repeated within
 * the shared store's lease (HELD_LEASE_MS) stops counting, so an instance that died holding requests
 * blocks nobody after it.
 */
export const HELD_REPEAT_MS = 5_000;

/**
 * A sliding minute in 60 one-second slots: adding and summing cost the same however busy the key is
 * (a list of timestamps would grow to the key's rate and make every request pay for it).
 */
class Window {
  private second = new Float64Array(SLOTS).fill(-1);
  private value = new Float64Array(SLOTS);

  private live(now: number): number {
    return Math.floor(now / 1000) - SLOTS + 1;
  }

  add(now: number, n: number): void {
    const sec = Math.floor(now / 1000);
    const i = sec % SLOTS;
    if (this.second[i] !== sec) {
      this.second[i] = sec;
      this.value[i] = 0;
    }
    this.value[i]! += n;
  }

  /** a slot counts while its second is in the last minute — not after it: a clock set back leaves them */
  private counts(i: number, from: number, to: number): boolean {
    const sec = this.second[i]!;
    return sec >= from && sec <= to;
  }

  sum(now: number): number {
    const from = this.live(now);
    const to = Math.floor(now / 1000);
    let total = 0;
    for (let i = 0; i < SLOTS; i++) if (this.counts(i, from, to)) total += this.value[i]!;
    return total;
  }

  /** when the oldest counted second leaves the window */
  nextExpiry(now: number): number {
    const from = this.live(now);
    const to = Math.floor(now / 1000);
    let oldest = Infinity;
    for (let i = 0; i < SLOTS; i++)
      if (this.counts(i, from, to) && this.value[i]! > 0 && this.second[i]! < oldest) oldest = this.second[i]!;
    return oldest === Infinity ? now : freedAt(oldest);
  }
}

/** when a request counted in the second `second` leaves the sliding minute */
const freedAt = (second: number) => (second + SLOTS) * 1000;

interface Meter {
  /** requests started in the last minute */
  starts: Window;
  /** tokens charged in the last minute */
  tokens: Window;
  /** this instance's requests in flight */
  inFlight: number;
  /** the budget periods the counts are for: [start, end) in ms, so a request compares numbers (no Date) */
  day: Period;
  month: Period;
  /** the key record the limit texts below were made for (an update makes a new record) */
  limitsOf?: KeyRecord;
  rpmText?: string;
  tpmText?: string;
}

interface Period {
  start: number;
  end: number;
  used: number;
}

export interface Admission {
  /** ends the request's hold on the key's concurrency (call once; later calls do nothing) */
  release(): void;
  /** OpenAI-style x-ratelimit-* headers for the answer */
  headers: Record<string, string>;
}

export const dayStart = (t: number) => Math.floor(t / 86_400_000) * 86_400_000;
function day(t: number, used: number): Period {
  const start = dayStart(t);
  return { start, end: start + 86_400_000, used };
}
const month = (t: number, used: number): Period => ({ start: monthStart(t), end: nextMonth(t), used });
const within = (p: Period, t: number) => t >= p.start && t < p.end;
export function monthStart(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}
function nextMonth(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

const secondsUntil = (t: number, now: number) => Math.max(1, Math.ceil((t - now) / 1000));

function refused(status: 403 | 429, reason: string, message: string, retryAfter?: number, headers?: Record<string, string>): ApiError {
  return new ApiError(status, message, { reason, ...(retryAfter !== undefined ? { retryAfter } : {}), ...(headers ? { headers } : {}) });
}

/** a refusal of a per-minute limit carries the x-ratelimit-* headers of that limit, as an admission does (and OpenAI) */
const minuteHeaders = (what: "requests" | "tokens", limit: number, wait: number) => ({
  [`x-ratelimit-limit-${what}`]: String(limit),
  [`x-ratelimit-remaining-${what}`]: "0",
  [`x-ratelimit-reset-${what}`]: `${wait}s`,
});

const rpmRefusal = (k: KeyRecord, now: number, freed: number) => {
  const wait = secondsUntil(freed, now);
  const message = `the key "${k.name}" is over its limit of ${k.rpm} requests per minute`;
  return refused(429, "key_rpm_exceeded", message, wait, minuteHeaders("requests", k.rpm!, wait));
};
// the limit, not a count: with shared state this instance's count includes requests still being admitted
const concurrencyRefusal = (k: KeyRecord) =>
  refused(429, "key_concurrency_exceeded", `the key "${k.name}" has ${k.concurrency} requests in flight, its limit`, 1);

export class Limiter {
  private meters = new Map<string, Meter>();
  /** with shared state: what this instance's keys use goes to the other instances */
  private tell: ((u: KeyUse) => void) | undefined;
  private counts: SharedCounts | undefined;

  constructor(
    private now: () => number = Date.now,
    /** tokens each key used so far today and this month (from state.db at start) */
    private used: (keyName: string, since: number) => number = () => 0,
  ) {}

  /**
   * Share with other instances: `tell` hears this instance's use and the returned function takes the
   * others' (requests started and tokens count in every instance's windows and budgets); `counts` are
   * the requests per minute and in flight that every instance checks and counts in one place.
   */
  share(tell: (u: KeyUse) => void, counts?: SharedCounts): (u: KeyUse) => void {
    this.tell = tell;
    this.counts = counts;
    return (u) => {
      const m = this.meter(u, this.now());
      if (u.kind === "start") m.starts.add(u.at, u.n);
      else if (u.kind === "tokens") this.add(m, u.at, u.n); // nothing else (an older instance's "held")
    };
  }

  /** say this instance's in-flight count for a key with a concurrency limit to the shared counts */
  private sayHeld(k: Pick<KeyRecord, "id" | "concurrency">, m: Meter): void {
    if (k.concurrency !== null) this.counts?.held(k.id, m.inFlight, this.now());
  }

  /** repeat the in-flight counts (a timer calls this every HELD_REPEAT_MS while state is shared) */
  repeatHeld(keys: (id: string) => KeyRecord | undefined): void {
    for (const [id, m] of this.meters) {
      const k = m.inFlight > 0 ? keys(id) : undefined;
      if (k) this.sayHeld(k, m);
    }
  }

  private meter(k: Pick<KeyRecord, "id" | "name">, now: number): Meter {
    let m = this.meters.get(k.id);
    if (!m) {
      m = {
        starts: new Window(),
        tokens: new Window(),
        inFlight: 0,
        day: day(now, this.used(k.name, dayStart(now))),
        month: month(now, this.used(k.name, monthStart(now))),
      };
      this.meters.set(k.id, m);
    }
    // a new day or month (or a clock set back): its count starts at 0
    if (!within(m.day, now)) m.day = day(now, 0);
    if (!within(m.month, now)) m.month = month(now, 0);
    return m;
  }

  /**
   * Throws ApiError (403 / 429 with retryAfter) when `k` may not start a request for `model` now.
   * `reached`: the model a family rule or the built-in table makes of `model`, which the key's models
   * must allow as well (else `gemini-*flash*` would reach Pro as `gemini-flash-pro`).
   */
  admit(k: KeyRecord, model: string, reached?: string): Admission {
    const now = this.now();
    const m = this.check(k, model, now, reached);
    const started = k.rpm !== null ? m.starts.sum(now) : 0;
    if (k.rpm !== null && started >= k.rpm) throw rpmRefusal(k, now, m.starts.nextExpiry(now));
    return this.grant(k, m, now, started);
  }

  /**
   * admit(), with the key's requests per minute and in flight checked and counted where every instance
   * counts them, when there is such a place (a promise then). When that place cannot be reached, the
   * local windows and counts decide, as in admit().
   */
  admitShared(k: KeyRecord, model: string, reached?: string): Admission | Promise<Admission> {
    const counts = this.counts;
    if (!counts || (k.rpm === null && k.concurrency === null)) return this.admit(k, model, reached);
    const now = this.now();
    const m = this.check(k, model, now, reached);
    m.inFlight++; // this request's place, held while the shared counts answer
    const asking = counts.admit(k.id, { now, rpm: k.rpm, concurrency: k.concurrency, held: m.inFlight });
    if (!asking) {
      m.inFlight--;
      return this.admit(k, model, reached);
    }
    return asking.then((r) => {
      m.inFlight--;
      if (!r) return this.admit(k, model, reached);
      if (r.ok) return this.grant(k, m, now, r.started, false);
      this.sayHeld(k, m); // a count said meanwhile included this request's place
      throw r.over === "rpm" ? rpmRefusal(k, now, freedAt(r.oldestSecond)) : concurrencyRefusal(k);
    });
  }

  /** every limit but requests per minute; the key's meter */
  private check(k: KeyRecord, model: string, now: number, reached?: string): Meter {
    if (!modelAllowed(k.models, model))
      throw refused(403, "model_not_allowed", `the key "${k.name}" may not use the model ${model} (allowed: ${k.models!.join(", ")})`);
    if (reached !== undefined && !modelAllowed(k.models, reached))
      throw refused(
        403,
        "model_not_allowed",
        `the key "${k.name}" may not use the model ${reached}, which ${model} means here (allowed: ${k.models!.join(", ")})`,
      );
    const m = this.meter(k, now);
    if (k.tpm !== null && m.tokens.sum(now) >= k.tpm) {
      const wait = secondsUntil(m.tokens.nextExpiry(now), now);
      const message = `the key "${k.name}" is over its limit of ${k.tpm} tokens per minute`;
      throw refused(429, "key_tpm_exceeded", message, wait, minuteHeaders("tokens", k.tpm, wait));
    }
    if (k.concurrency !== null && m.inFlight >= k.concurrency) throw concurrencyRefusal(k);
    if (k.dailyTokens !== null && m.day.used >= k.dailyTokens) {
      const reset = m.day.end;
      throw refused(
        429,
        "key_daily_budget_exhausted",
        `the key "${k.name}" used its daily budget of ${k.dailyTokens} tokens; it resets at ${new Date(reset).toISOString()}`,
        secondsUntil(reset, now),
      );
    }
    if (k.monthlyTokens !== null && m.month.used >= k.monthlyTokens) {
      const reset = m.month.end;
      throw refused(
        429,
        "key_monthly_budget_exhausted",
        `the key "${k.name}" used its monthly budget of ${k.monthlyTokens} tokens; it resets at ${new Date(reset).toISOString()}`,
        secondsUntil(reset, now),
      );
    }
    return m;
  }

  /** the request starts: counted, announced, held until release (`say`: its count is not shared yet) */
  private grant(k: KeyRecord, m: Meter, now: number, started: number, say = true): Admission {
    m.starts.add(now, 1);
    this.tell?.({ id: k.id, name: k.name, kind: "start", n: 1, at: now });
    m.inFlight++;
    if (say) this.sayHeld(k, m);
    let held = true;
    if (m.limitsOf !== k) {
      // the limits as text, once per key record (a large number's text is not cached by the engine)
      m.limitsOf = k;
      m.rpmText = String(k.rpm);
      m.tpmText = String(k.tpm);
    }
    const headers: Record<string, string> = {};
    if (k.rpm !== null) {
      headers["x-ratelimit-limit-requests"] = m.rpmText!;
      headers["x-ratelimit-remaining-requests"] = String(Math.max(0, k.rpm - started - 1));
    }
    if (k.tpm !== null) {
      headers["x-ratelimit-limit-tokens"] = m.tpmText!;
      headers["x-ratelimit-remaining-tokens"] = String(Math.max(0, k.tpm - m.tokens.sum(now)));
    }
    return {
      headers,
      release: () => {
        if (!held) return;
        held = false;
        m.inFlight--;
        this.sayHeld(k, m);
      },
    };
  }

  /** the tokens upstream reported for one of the key's requests */
  charge(k: KeyRecord, tokens: number): void {
    if (tokens <= 0) return;
    const now = this.now();
    this.add(this.meter(k, now), now, tokens);
    this.tell?.({ id: k.id, name: k.name, kind: "tokens", n: tokens, at: now });
  }

  private add(m: Meter, at: number, tokens: number): void {
    m.tokens.add(at, tokens);
    if (within(m.day, at)) m.day.used += tokens;
    if (within(m.month, at)) m.month.used += tokens;
  }
}
