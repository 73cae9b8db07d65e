// The account pool: the store, tokens, projects, quota, the scheduler and the Gateway, plus the
// background jobs of a running server (token and quota refresh, store watch, counter flush).
import type { Config } from "../config/schema";
import { ModelCatalog, type Lineup, type ModelInfo, type ModelSource } from "../models/catalog";
import type { PoolStatus } from "../protocol/context";
import type { Logger } from "../core/log";
import type { Metrics } from "../core/metrics";
import { UpstreamClient } from "../upstream/client";
import { ClientIdentity } from "../upstream/identity";
import type { Gateway } from "../gateway/port";
import { PoolGateway } from "../gateway/gateway";
import { fetchUserInfo, refreshAccessToken } from "../accounts/oauth";
import { Ledger } from "../scheduling/ledger";
import { applyReport, fetchQuota } from "../accounts/quota";
import { Scheduler, isEligible } from "../scheduling/scheduler";
import { AccountStore, newAccountId, type StoreDoc } from "../accounts/store";
import { TokenManager } from "../accounts/tokens";
import { Upkeep } from "../accounts/upkeep";
import { PoolError, viewOf, type Account, type AccountView } from "../accounts/types";

export { PoolError, type AccountView } from "../accounts/types";
export { OAuthError, exchangeCode, fetchUserInfo, refreshAccessToken } from "../accounts/oauth";

export interface PoolOptions {
  config: Config;
  dataDir: string;
  log: Logger;
  metrics?: Metrics;
  /** timers: token + quota refresh, store watch, counter flush. false in CLI commands */
  background?: boolean;
  /** the client identity sent upstream (a running server discovers its version); default: from config, no discovery */
  identity?: ClientIdentity;
  /** the clock for the pool's own views and session expiry (tests inject one) */
  now?: () => number;
  /** knobs for tests */
  internal?: { onboardPollMs?: number; onboardMaxPolls?: number; watchIntervalMs?: number; tokenSweepMs?: number };
}

export interface ExportFile {
  version: 1;
  exportedAt: string;
  accounts: { email: string; name?: string; refreshToken: string; projectId?: string }[];
}

/** after a quota-exhausted error, re-read that account's quota at most this often */
const QUOTA_RECHECK_MS = 30_000;

export async function openPool(opts: PoolOptions): Promise<Pool> {
  let pool: Pool | undefined;
  const store = await AccountStore.open(opts.dataDir, {
    onExternalChange: (doc) => pool?.onExternalChange(doc),
    onError: (e) => opts.log.error("account store unreadable; keeping the last good state", { error: e.message }),
  });
  pool = new Pool(opts, store);
  if (opts.background) pool.startBackground();
  return pool;
}

export class Pool implements PoolStatus, ModelSource {
  readonly gateway: Gateway;
  readonly config: Config;
  readonly catalog: ModelCatalog;
  readonly identity: ClientIdentity;
  private modelsGen = 0;
  private readonly now: () => number;
  private tokens: TokenManager;
  private upkeep: Upkeep;
  private scheduler: Scheduler;
  private client: UpstreamClient;
  private log: Logger;
  private gen = 0;
  private quotaDirty = false;
  private quotaBumpedAt = 0;
  private ledger: Ledger;
  private quotaCheckedAt = new Map<string, number>();
  private timers: ReturnType<typeof setInterval>[] = [];
  private closed = false;

  /** use openPool */
  constructor(
    private opts: PoolOptions,
    private store: AccountStore,
  ) {
    this.config = opts.config;
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    const s = opts.config.scheduling;
    this.scheduler = new Scheduler(s.mode, s.sessionTtlMinutes * 60_000, s.maxSessions);
    this.identity = opts.identity ?? new ClientIdentity({ ...opts.config.upstream, versionUrl: "" });
    this.client = new UpstreamClient(opts.config.upstream, this.identity);
    this.catalog = new ModelCatalog(this, opts.config.models.aliases, opts.config.models.defaultImageModel);
    this.tokens = new TokenManager(this.config, store, this.log, (id) => this.scheduler.sessions.unbindAccount(id));
    this.ledger = new Ledger(store, this.log, (id) => this.scheduler.sessions.unbindAccount(id));
    this.upkeep = new Upkeep(this.config, store, this.client, this.tokens, this.log, () => this.quotaChanged(), opts.internal);
    this.gateway = new PoolGateway({
      config: opts.config,
      log: opts.log,
      metrics: opts.metrics,
      client: this.client,
      identity: this.identity,
      catalog: this.catalog,
      tokens: this.tokens,
      scheduler: this.scheduler,
      accounts: () => store.accounts(),
      byId: (id) => store.get(id),
      generation: () => this.generation(),
      served: (a) => this.ledger.served(a),
      failed: (a, model, f) => {
        const effect = this.ledger.failed(a, model, f);
        if (effect.refreshQuota) this.recheckQuota(a.id);
        return effect;
      },
    });
  }

  /** @internal timers of a running server */
  startBackground(): void {
    const every = (ms: number, fn: () => unknown) => {
      const t = setInterval(
        () => void Promise.resolve(fn()).catch((e) => this.log.error("pool job failed", { error: (e as Error).message })),
        ms,
      );
      (t as any).unref?.();
      this.timers.push(t);
    };
    this.store.watch(this.opts.internal?.watchIntervalMs ?? 500);
    every(this.config.pool.flushIntervalSeconds * 1000, () => this.flushCounters());
    every(this.opts.internal?.tokenSweepMs ?? 30_000, () => this.upkeep.refreshDueTokens());
    every(60_000, () => this.scheduler.sessions.prune(this.now()));
    if (this.config.pool.quotaRefreshMinutes > 0)
      every(this.config.pool.quotaRefreshMinutes * 60_000, () => this.upkeep.refreshStaleQuotas());
  }

  // ---- PoolStatus / ModelSource ----

  counts(): { total: number; available: number } {
    const now = Date.now();
    const all = this.store.accounts();
    const available = all.filter(
      (a) => a.state === "active" && a.projectId && !a.cooldowns.some((c) => c.model === "*" && c.until > now),
    ).length;
    return { total: all.length, available };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.flushCounters();
    await this.store.close();
    // the last write failed and its changes were dropped: the operator must hear it (non-zero exit)
    if (this.store.unsaved) throw this.store.unsaved;
  }

  reportedModels(): ModelInfo[] {
    return Object.values(this.store.current.models);
  }

  lineup(): Lineup | undefined {
    const doc = this.store.current;
    const learned = doc.learned;
    if (!doc.lineup && !Object.keys(learned).length) return undefined;
    const base = doc.lineup ?? { recommended: [], forwards: {}, imageModels: [] };
    return { ...base, forwards: { ...learned, ...base.forwards } };
  }

  modelsRevision(): number {
    return this.modelsGen;
  }

  learnForward(from: string, to: string): void {
    if (from === to || this.store.current.learned[from] === to) return;
    this.modelsGen++;
    void this.store
      .update((doc) => void (doc.learned[from] = to))
      .catch((e) => this.log.error("could not save a model forwarding rule", { error: (e as Error).message }));
    this.log.info("model retired upstream; forwarding it from now on", { from, to });
  }

  // ---- accounts ----

  list(): AccountView[] {
    const now = Date.now();
    return this.store.accounts().map((a) => viewOf(a, now, this.ledger.pending(a.id)));
  }

  get(idOrEmail: string): AccountView | undefined {
    const a = this.find(idOrEmail);
    return a ? viewOf(a, Date.now(), this.ledger.pending(a.id)) : undefined;
  }

  private find(idOrEmail: string): Account | undefined {
    const key = idOrEmail.trim();
    const byId = this.store.get(key);
    if (byId) return byId;
    const lower = key.toLowerCase();
    return this.store.accounts().find((a) => a.email.toLowerCase() === lower);
  }

  private mustFind(idOrEmail: string): Account {
    const a = this.find(idOrEmail);
    if (!a) throw new PoolError(`no account ${JSON.stringify(idOrEmail)}`);
    return a;
  }

  /** refresh → userinfo → project → quota → upsert by email. A bad token throws with Google's reason; nothing is stored. */
  async addByRefreshToken(refreshToken: string): Promise<{ account: AccountView; created: boolean }> {
    const rt = refreshToken.trim();
    if (!rt) throw new PoolError("refresh token is empty");
    const grant = await refreshAccessToken(this.config, rt);
    const info = await fetchUserInfo(this.config, grant.accessToken);
    const project = await this.upkeep.resolveProject(grant.accessToken);
    if (project.kind === "error") this.log.warn("account added without a project", { account: info.email, reason: project.message });
    const quota = project.kind === "ok" ? await fetchQuota(this.client, grant.accessToken, project.projectId) : undefined;
    if (quota && !quota.ok) this.log.warn("could not read quota for a new account", { account: info.email, reason: quota.failure.message });
    const now = Date.now();
    let created = false;
    let id = "";
    await this.store.update((doc) => {
      const lower = info.email.toLowerCase();
      let a = [...doc.accounts.values()].find((x) => x.email.toLowerCase() === lower);
      created = !a;
      if (!a) {
        a = {
          id: newAccountId(),
          email: info.email,
          refreshToken: rt,
          state: "active",
          quota: null,
          cooldowns: [],
          requests: 0,
          failures: 0,
          createdAt: now,
        };
        doc.accounts.set(a.id, a);
      }
      id = a.id;
      a.email = info.email;
      if (info.name) a.name = info.name;
      a.refreshToken = grant.refreshToken ?? rt;
      a.accessToken = grant.accessToken;
      a.accessTokenExpiresAt = grant.expiresAt;
      if (project.tier) a.tier = project.tier;
      // re-adding is how a disabled account comes back
      a.state = "active";
      a.disabledReason = a.disabledAt = a.verificationUrl = undefined;
      if (project.kind === "ok") a.projectId = project.projectId;
      if (project.kind === "verification") Object.assign(a, { state: "needs_verification", verificationUrl: project.url });
      if (quota?.ok) applyReport(doc, a, quota.report);
    });
    this.changed();
    return { account: this.get(id)!, created };
  }

  async remove(idOrEmail: string): Promise<boolean> {
    const a = this.find(idOrEmail);
    if (!a) return false;
    const id = a.id;
    await this.store.update((doc) => void doc.accounts.delete(id));
    this.scheduler.sessions.unbindAccount(id);
    this.ledger.forget(id);
    this.changed();
    return true;
  }

  async setEnabled(idOrEmail: string, enabled: boolean): Promise<AccountView> {
    const id = this.mustFind(idOrEmail).id;
    const now = Date.now();
    await this.store.update((doc) => {
      const a = doc.accounts.get(id);
      if (!a) return;
      if (enabled) {
        a.state = "active";
        a.disabledReason = a.disabledAt = a.verificationUrl = undefined;
        a.cooldowns = a.cooldowns.filter((c) => c.model !== "*");
      } else {
        a.state = "disabled";
        a.disabledReason = "disabled by the operator";
        a.disabledAt = now;
      }
    });
    if (!enabled) this.scheduler.sessions.unbindAccount(id);
    return this.get(id)!;
  }

  /** refresh token, project and quota now (one account or all) */
  async refresh(idOrEmail?: string): Promise<{ email: string; ok: boolean; error?: string }[]> {
    const targets = idOrEmail === undefined ? [...this.store.accounts()] : [this.mustFind(idOrEmail)];
    const errors = await this.upkeep.refreshMany(targets.map((a) => a.id));
    return targets.map((a) => {
      const error = errors.get(a.id);
      return error === undefined ? { email: a.email, ok: true } : { email: a.email, ok: false, error };
    });
  }

  exportAccounts(): ExportFile {
    return {
      version: 1,
      exportedAt: new Date().toISOString(),
      accounts: this.store.accounts().map((a) => ({ email: a.email, name: a.name, refreshToken: a.refreshToken, projectId: a.projectId })),
    };
  }

  poolView(): { accounts: (AccountView & { sessionBindings: number })[]; sessions: number; mode: string } {
    const now = this.now();
    this.scheduler.sessions.prune(now);
    return {
      accounts: this.store
        .accounts()
        .map((a) => ({ ...viewOf(a, now, this.ledger.pending(a.id)), sessionBindings: this.scheduler.sessions.bindings(a.id) })),
      sessions: this.scheduler.sessions.size,
      mode: this.scheduler.mode,
    };
  }

  /** write hot counters (requests, failures, last used) now */
  flushCounters(): Promise<void> {
    return this.ledger.flush();
  }

  /** wait until every change so far is on disk (tests, shutdown) */
  async sync(): Promise<void> {
    await this.flushCounters();
    await this.store.flush();
  }

  // ---- runtime hooks ----

  /** accounts added, removed or replaced: the scheduler's index must be rebuilt now */
  private changed() {
    this.gen++;
    this.modelsGen++;
  }

  /** quota values changed: re-sort at most once a second (eligibility is checked live anyway) */
  private quotaChanged() {
    this.quotaDirty = true;
    this.modelsGen++;
  }

  private generation(): number {
    const now = Date.now();
    if (this.quotaDirty && now - this.quotaBumpedAt >= 1000) {
      this.quotaDirty = false;
      this.quotaBumpedAt = now;
      this.gen++;
    }
    return this.gen;
  }

  /** @internal the store was replaced by what another process wrote */
  onExternalChange(doc: StoreDoc) {
    this.changed();
    this.ledger.reapply(doc);
  }

  private recheckQuota(id: string) {
    const now = Date.now();
    if (now - (this.quotaCheckedAt.get(id) ?? 0) < QUOTA_RECHECK_MS) return;
    this.quotaCheckedAt.set(id, now);
    void this.upkeep
      .refreshQuota(id)
      .catch((e) => this.log.warn("quota refresh failed", { account: this.store.get(id)?.email, error: (e as Error).message }));
  }

  /** for tests and the bench: is the account eligible for the model right now */
  eligible(idOrEmail: string, model: string): boolean {
    const a = this.find(idOrEmail);
    return !!a && isEligible(a, model, Date.now());
  }
}
