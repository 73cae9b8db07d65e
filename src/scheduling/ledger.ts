// What happened to each account at run time: successes and failures (hot counters, added to state.db
// on a timer), and the effects of failures (cooldowns to state.db at once; a state change such as
// disabled is an account change, so it goes to accounts.json).
import type { Logger } from "../core/log";
import type { Failure } from "../upstream/classify";
import { effectOf, type Effect } from "./policy";
import type { LiveState } from "../accounts/live";
import type { AccountStore } from "../accounts/store";
import type { Account } from "../accounts/types";

/** consecutive failures of one class older than this no longer grow the backoff */
const STRIKE_RESET_MS = 2 * 3_600_000;
/** model×class strikes kept per account: a name per request (made-up models, each a 404) must not add one for good */
const MAX_STRIKES = 64;

export interface Hot {
  requests: number;
  failures: number;
  lastUsedAt?: number;
}

export class Ledger {
  private hot = new Map<string, Hot>();
  /** per account: "model|class" → consecutive failures (kept per account so a success clears its own in O(1)) */
  private strikes = new Map<string, Map<string, { n: number; at: number }>>();

  constructor(
    private store: AccountStore,
    private live: LiveState,
    private log: Logger,
    /** the account left service (disabled, needs verification): drop its sessions */
    private onStateChange: (id: string) => void,
  ) {}

  /** counters not yet written to the store */
  pending(id: string): Hot | undefined {
    return this.hot.get(id);
  }

  /** drop what is kept for accounts that are gone (removed elsewhere: no hook ran here) */
  forgetMissing(exists: (id: string) => boolean): void {
    for (const id of new Set([...this.hot.keys(), ...this.strikes.keys()])) if (!exists(id)) this.forget(id);
  }

  forget(id: string): void {
    this.hot.delete(id);
    this.strikes.delete(id);
  }

  private hotOf(id: string): Hot {
    let h = this.hot.get(id);
    if (!h) this.hot.set(id, (h = { requests: 0, failures: 0 }));
    return h;
  }

  served(a: Account): void {
    const now = Date.now();
    const h = this.hotOf(a.id);
    h.requests++;
    h.lastUsedAt = now;
    a.lastUsedAt = now; // the scheduler's LRU sees it at once; the file gets it at the next flush
    a.penaltyUntil = undefined;
    if (this.strikes.size) this.strikes.delete(a.id);
  }

  /** apply a failure's effect: failure counter, cooldown or state (persisted now) */
  failed(a: Account, model: string, f: Failure): Effect {
    const now = Date.now();
    const key = `${model}|${f.class}`;
    let mine = this.strikes.get(a.id);
    if (!mine) this.strikes.set(a.id, (mine = new Map()));
    const prev = mine.get(key);
    const n = prev && now - prev.at < STRIKE_RESET_MS ? prev.n + 1 : 1;
    mine.delete(key); // last in line: the map's order is the order of the last failure
    mine.set(key, { n, at: now });
    if (mine.size > MAX_STRIKES) mine.delete(mine.keys().next().value!);
    const effect = effectOf(f, n, now);
    if (effect.accountFault) this.hotOf(a.id).failures++;
    if (effect.penalty) a.penaltyUntil = effect.penalty.until; // the scheduler sees it at once; never persisted
    const { cooldown: cd, state: st } = effect;
    const id = a.id;
    if (cd) this.live.setCooldown(id, { model: cd.model === "*" ? "*" : model, until: cd.until, reason: cd.reason }, now);
    if (!st) return effect;
    void this.store
      .update((doc) => {
        const x = doc.accounts.get(id);
        if (st.state === "disabled") Object.assign(x ?? {}, { state: "disabled", disabledReason: st.reason, disabledAt: now });
        if (st.state === "needs_verification") Object.assign(x ?? {}, { state: "needs_verification", verificationUrl: st.url });
      })
      .catch((e) => this.log.error("could not save an account's state", { account: a.email, error: (e as Error).message }));
    this.onStateChange(id);
    return effect;
  }

  /** add the hot counters to state.db now */
  async flush(): Promise<void> {
    if (this.hot.size === 0) return;
    const deltas = [...this.hot].map(([id, d]) => ({ id, ...d }));
    this.hot = new Map();
    await this.live.addCounters(deltas);
  }
}
