// What happened to each account at run time: successes and failures (hot counters, written to the
// store on a timer), and the effects of failures (cooldowns and states, written at once).
import type { Logger } from "../core/log";
import type { Failure } from "../upstream/classify";
import { effectOf, type Effect } from "./policy";
import type { AccountStore, StoreDoc } from "../accounts/store";
import type { Account } from "../accounts/types";

/** consecutive failures of one class older than this no longer grow the backoff */
const STRIKE_RESET_MS = 2 * 3_600_000;

export interface Hot {
  requests: number;
  failures: number;
  lastUsedAt?: number;
}

export class Ledger {
  private hot = new Map<string, Hot>();
  private strikes = new Map<string, { n: number; at: number }>();

  constructor(
    private store: AccountStore,
    private log: Logger,
    /** the account left service (disabled, needs verification): drop its sessions */
    private onStateChange: (id: string) => void,
  ) {}

  /** counters not yet written to the store */
  pending(id: string): Hot | undefined {
    return this.hot.get(id);
  }

  forget(id: string): void {
    this.hot.delete(id);
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
    for (const k of this.strikes.keys()) if (k.startsWith(a.id + "|")) this.strikes.delete(k);
  }

  /** apply a failure's effect: failure counter, cooldown or state (persisted now) */
  failed(a: Account, model: string, f: Failure): Effect {
    const now = Date.now();
    const key = `${a.id}|${model}|${f.class}`;
    const prev = this.strikes.get(key);
    const n = prev && now - prev.at < STRIKE_RESET_MS ? prev.n + 1 : 1;
    this.strikes.set(key, { n, at: now });
    const effect = effectOf(f, n, now);
    if (effect.accountFault) this.hotOf(a.id).failures++;
    if (effect.penalty) a.penaltyUntil = effect.penalty.until; // the scheduler sees it at once; never persisted
    const { cooldown: cd, state: st } = effect;
    if (!cd && !st) return effect;
    const id = a.id;
    void this.store
      .update((doc) => {
        const x = doc.accounts.get(id);
        if (!x) return;
        if (cd) {
          const m = cd.model === "*" ? "*" : model;
          x.cooldowns = x.cooldowns.filter((c) => c.until > now && c.model !== m);
          x.cooldowns.push({ model: m, until: cd.until, reason: cd.reason });
        }
        if (st?.state === "disabled") Object.assign(x, { state: "disabled", disabledReason: st.reason, disabledAt: now });
        if (st?.state === "needs_verification") Object.assign(x, { state: "needs_verification", verificationUrl: st.url });
      })
      .catch((e) => this.log.error("could not save an account's cooldown", { account: a.email, error: (e as Error).message }));
    if (st) this.onStateChange(id);
    return effect;
  }

  /** write the hot counters now */
  flush(): Promise<void> {
    if (this.hot.size === 0) return Promise.resolve();
    const deltas = this.hot;
    this.hot = new Map();
    return this.store
      .update((doc) => {
        for (const [id, d] of deltas) {
          const a = doc.accounts.get(id);
          if (!a) continue;
          a.requests += d.requests;
          a.failures += d.failures;
          if (d.lastUsedAt && d.lastUsedAt > (a.lastUsedAt ?? 0)) a.lastUsedAt = d.lastUsedAt;
        }
      })
      .catch((e) => this.log.error("could not save account counters", { error: (e as Error).message }));
  }

  /** after another process's version replaced ours: our last-used times are newer than the file's */
  reapply(doc: StoreDoc): void {
    for (const [id, d] of this.hot) {
      const a = doc.accounts.get(id);
      if (a && d.lastUsedAt && d.lastUsedAt > (a.lastUsedAt ?? 0)) a.lastUsedAt = d.lastUsedAt;
    }
  }
}
