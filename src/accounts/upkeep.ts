// Keeping accounts current: project (loadCodeAssist / onboarding), quota, ahead-of-expiry tokens.
// Used by the Pool's API (add, refresh) and by its background timers. Background work is paced: a
// bounded number of upstream calls at a time, token refreshes spread by a per-account jitter, and only
// accounts in service are kept current (an idle account's token is refreshed when it is next picked).
import type { Config } from "../config/schema";
import type { Logger } from "../core/log";
import type { Metrics } from "../core/metrics";
import type { Failure } from "../upstream/classify";
import type { UpstreamClient } from "../upstream/client";
import { resolveProject, type ProjectResult } from "./project";
import { fetchQuota } from "./quota";
import type { LiveState } from "./live";
import type { AccountStore } from "./store";
import type { TokenManager } from "./tokens";
import { PoolError, type Account } from "./types";

/** upstream calls a background sweep has in flight at most */
const CONCURRENCY = 4;
/** an account that served a request within this long (or two quota periods, if longer) is in use */
const IN_USE_MS = 30 * 60_000;

/** a stable spread in [0, 1) per account: background refreshes of accounts added together do not fall due together */
export function jitterOf(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return (h >>> 0) / 4294967296;
}

export interface UpkeepOptions {
  onboardPollMs?: number;
  onboardMaxPolls?: number;
}

/** run `fn` over `items`, at most `limit` at a time */
export async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const PROJECT_RETRY_MS = 60_000;
const PROJECT_RETRY_MAX_MS = 30 * 60_000;

export class Upkeep {
  constructor(
    private config: Config,
    private store: AccountStore,
    private live: LiveState,
    private client: UpstreamClient,
    private tokens: TokenManager,
    private log: Logger,
    /** an account's quota changed (the scheduler moves it in its index) */
    private onQuota: (id: string) => void,
    private opts: UpkeepOptions = {},
    private metrics?: Pick<Metrics, "accountJobs">,
  ) {}

  resolveProject(token: string): Promise<ProjectResult> {
    return resolveProject(this.client, token, {
      pollIntervalMs: this.opts.onboardPollMs ?? 1000,
      maxPolls: this.opts.onboardMaxPolls ?? 30,
    });
  }

  /** a call with the account's token, refreshing once on 401 */
  private async withToken<T extends { ok: boolean; failure?: Failure }>(id: string, fn: (token: string) => Promise<T>): Promise<T> {
    const token = await this.tokens.get(id);
    let r = await fn(token);
    if (!r.ok && r.failure?.class === "unauthenticated") r = await fn(await this.tokens.get(id, { rejected: token }));
    return r;
  }

  /** `asked`: a refresh someone asked for (`accounts refresh`) reads a disabled account's quota too */
  async refreshQuota(id: string, asked = false): Promise<void> {
    const a = this.store.get(id);
    if (!a || (a.state === "disabled" && !asked)) return;
    const project = a.projectId;
    const r = await this.withToken(id, (t) => fetchQuota(this.client, t, project));
    this.metrics?.accountJobs.inc({ job: "quota_fetch", outcome: r.ok ? "ok" : r.failure.class });
    if (!r.ok) throw new PoolError(`fetchAvailableModels: ${r.failure.message}`);
    if (!this.store.get(id)) return;
    this.live.applyReport(id, r.report);
    // someone asked: a model Google now reports quota left for is not held back by an old quota cooldown
    // (one from the backoff without a reset time can outlast the real reset by hours)
    const q = r.report.quota;
    if (asked) this.live.clearCooldowns(id, (c) => c.reason === "quota_exhausted" && (q[c.model]?.remainingFraction ?? 0) > 0);
    this.onQuota(id);
  }

  /** token, project and quota now; throws with the reason when one of them fails */
  async refreshAccount(id: string): Promise<void> {
    await this.tokens.refresh(id);
    const r = await this.withToken(id, async (t) => {
      const p = await this.resolveProject(t);
      return p.kind === "error" ? { ok: false, failure: p.failure, p } : { ok: true, p };
    });
    const p = r.p;
    const apply = (x: { tier?: string; projectId?: string; state: string; verificationUrl?: string }) => {
      if (p.tier) x.tier = p.tier;
      if (p.kind === "ok") {
        x.projectId = p.projectId;
        if (x.state === "needs_verification") Object.assign(x, { state: "active", verificationUrl: undefined });
      }
      if (p.kind === "verification") Object.assign(x, { state: "needs_verification", verificationUrl: p.url });
    };
    // accounts.json is written only when the project, tier or state really changed
    const cur = this.store.get(id);
    if (cur) {
      const before = { tier: cur.tier, projectId: cur.projectId, state: cur.state, verificationUrl: cur.verificationUrl };
      const after = { ...before };
      apply(after);
      if (JSON.stringify(after) !== JSON.stringify(before))
        await this.store.update((doc) => {
          const x = doc.accounts.get(id);
          if (x) apply(x);
        });
    }
    if (p.kind === "error") throw new PoolError(p.message);
    if (p.kind === "verification") throw new PoolError(`Google asks to verify this account${p.url ? `: ${p.url}` : ""}`);
    await this.refreshQuota(id, true);
  }

  async refreshMany(ids: string[]): Promise<Map<string, string | undefined>> {
    const errors = new Map<string, string | undefined>();
    await eachLimited(ids, CONCURRENCY, async (id) => {
      try {
        await this.refreshAccount(id);
        errors.set(id, undefined);
      } catch (e) {
        errors.set(id, (e as Error).message);
      }
    });
    return errors;
  }

  /** served a request lately: the only accounts the sweeps keep current (see inUse) */
  private inUse(a: Account, now: number): boolean {
    return now - (a.lastUsedAt ?? 0) < Math.max(IN_USE_MS, 2 * this.config.pool.quotaRefreshMinutes * 60_000);
  }

  /**
   * Refresh cached tokens that expire within pool.tokenRefreshAheadSeconds (plus up to half of it, by a
   * per-account jitter), of accounts in use. The others — never used, or idle — are left to refresh on
   * demand: refreshing every live token as it fell due kept a whole pool awake for good.
   */
  async refreshDueTokens(): Promise<void> {
    const now = Date.now();
    const spread = this.config.pool.tokenRefreshAheadSeconds * 500;
    const due = this.store
      .accounts()
      .filter(
        (a) =>
          a.state === "active" &&
          a.accessToken &&
          (a.accessTokenExpiresAt ?? 0) > now &&
          this.inUse(a, now) &&
          this.tokens.due(a.id, now + jitterOf(a.id) * spread),
      );
    await eachLimited(due, CONCURRENCY, async (a) => {
      await this.tokens
        .refresh(a.id)
        .catch((e) => this.log.warn("background token refresh failed", { account: a.email, error: (e as Error).message }));
    });
  }

  /** accounts with no project yet: when each is tried next, and the wait after that (doubling) */
  private projectRetry = new Map<string, { at: number; waitMs: number }>();

  /**
   * Try again, with a growing wait (1 min doubling to 30), the accounts that have no project: one added
   * while Google's project lookup failed can serve nothing until it has one, and nothing else would look
   * again (the quota sweep skips them, nothing picks them). Run at start and with the token sweep.
   */
  async resolveMissingProjects(now = Date.now()): Promise<void> {
    const missing = this.store.accounts().filter((a) => a.state === "active" && !a.projectId);
    for (const id of this.projectRetry.keys()) if (!missing.some((a) => a.id === id)) this.projectRetry.delete(id);
    const due = missing.filter((a) => (this.projectRetry.get(a.id)?.at ?? 0) <= now);
    await eachLimited(due, CONCURRENCY, async (a) => {
      try {
        await this.refreshAccount(a.id);
        this.projectRetry.delete(a.id);
      } catch (e) {
        const waitMs = Math.min(PROJECT_RETRY_MAX_MS, (this.projectRetry.get(a.id)?.waitMs ?? PROJECT_RETRY_MS / 2) * 2);
        this.projectRetry.set(a.id, { at: now + waitMs, waitMs });
        this.log.warn("account still has no project; trying again later", {
          account: a.email,
          error: (e as Error).message,
          retryInSeconds: waitMs / 1000,
        });
      }
    });
  }

  /**
   * Re-read the quota of accounts in use whose data is older than pool.quotaRefreshMinutes. Idle accounts
   * are not woken: that would refresh every token of a big pool at once (a live token alone does not
   * make an account in use: the token sweep and this one kept each other going).
   */
  async refreshStaleQuotas(): Promise<void> {
    const now = Date.now();
    const period = this.config.pool.quotaRefreshMinutes * 60_000;
    const stale = this.store.accounts().filter((a) => {
      if (a.state !== "active" || !a.projectId || !this.inUse(a, now)) return false;
      const times = Object.values(a.quota ?? {}).map((q) => q.fetchedAt);
      const oldest = times.length ? Math.min(...times) : 0;
      return now - oldest >= period * 0.9; // a little early, so a timer tick never just misses it
    });
    await eachLimited(stale, CONCURRENCY, async (a) => {
      await this.refreshQuota(a.id).catch((e) => this.log.warn("quota refresh failed", { account: a.email, error: (e as Error).message }));
    });
  }
}
