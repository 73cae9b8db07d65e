// The composition root of the pool: wires the account store (accounts.json) and the state engine
// (state.db, src/state/) with its service (accounts/), the scheduler and ledger (scheduling/) and the
// gateway (gateway/), and runs the background jobs of a server (token and quota refresh, watching both
// files for other processes' writes, counter flush). The account methods below only delegate.
import { mkdirSync } from "node:fs";
import type { Database } from "bun:sqlite";
import type { Config } from "../config/schema";
import { ModelCatalog, type Lineup, type ModelInfo, type ModelSource } from "../models/catalog";
import type { Logger } from "../core/log";
import type { Metrics } from "../core/metrics";
import { UpstreamClient } from "../upstream/client";
import { ClientIdentity } from "../upstream/identity";
import { PoolGateway } from "../gateway/gateway";
import { Ledger } from "../scheduling/ledger";
import { Scheduler, isEligible } from "../scheduling/scheduler";
import { AccountStore } from "../accounts/store";
import { LiveState } from "../accounts/live";
import { SqliteState } from "../state/sqlite";
import { RedisState } from "../state/redis";
import { SharedAccounts } from "../accounts/shared";
import { Gauge } from "../core/prom";
import { TokenManager } from "../accounts/tokens";
import { Upkeep } from "../accounts/upkeep";
import { AccountService, type ExportFile } from "../accounts/service";
import { viewOf, type Account, type AccountView } from "../accounts/types";

export { PoolError, type AccountView } from "../accounts/types";
export type { ExportFile } from "../accounts/service";
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

/** which accounts a pool view shows: those matching `q` (email, name or state), from `offset`, at most `limit` */
export interface PoolPage {
  offset?: number;
  limit?: number;
  q?: string;
}

/** after a quota-exhausted error, re-read that account's quota at most this often */
const QUOTA_RECHECK_MS = 30_000;

export async function openPool(opts: PoolOptions): Promise<Pool> {
  let pool: Pool | undefined;
  try {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  } catch {
    /* AccountStore.open reports it */
  }
  const state = SqliteState.open(opts.dataDir, (n) => opts.log[n.level](n.message));
  // with Redis the accounts' changing state is shared (keys and usage stay in state.db for now)
  const redisUrl = opts.config.state.redisUrl;
  const shared = redisUrl ? await RedisState.fromConfig({ redisUrl, redisPrefix: opts.config.state.redisPrefix }, opts.log) : undefined;
  const live = new LiveState(shared ?? state, opts.log);
  let store: AccountStore;
  let accountsSync: SharedAccounts | undefined;
  try {
    store = await AccountStore.open(opts.dataDir, {
      onExternalChange: (next, previous) => {
        live.onReplace(next, previous);
        accountsSync?.localChanged();
        pool?.onExternalChange();
      },
      onUpdate: () => accountsSync?.localChanged(),
      onLegacy: (doc) => live.importLegacy(doc),
      onError: (e) => opts.log.error("account store unreadable; keeping the last good state", { error: e.message }),
    });
  } catch (e) {
    live.close();
    if (shared) state.close();
    throw e;
  }
  live.attach(store);
  if (shared) {
    // Redis is the source of truth for the accounts too; accounts.json is this instance's copy
    const sync = new SharedAccounts(shared, store, (added) => {
      for (const id of added) void live.reload(id);
      pool?.onExternalChange();
    });
    await sync.open();
    accountsSync = sync;
  }
  pool = new Pool(opts, store, live, state, shared, accountsSync);
  if (opts.background) {
    // a server answers at once; requests wait for the state (a few slices of rows), timers start after it
    const p = pool;
    p.ready = live.loadInSlices().then(() => {
      p.ready = undefined;
      if (!p.closed) p.startBackground();
    });
  } else live.loadAll();
  return pool;
}

/** The composition (and the server's status, by shape: protocol/context.ts PoolStatus). */
export class Pool implements ModelSource {
  readonly gateway: PoolGateway;
  readonly config: Config;
  readonly catalog: ModelCatalog;
  readonly identity: ClientIdentity;
  /** what an operator does with accounts */
  readonly accounts: AccountService;
  private modelsGen = 0;
  private readonly now: () => number;
  private tokens: TokenManager;
  private upkeep: Upkeep;
  private scheduler: Scheduler;
  private client: UpstreamClient;
  private log: Logger;
  private gen = 0;
  private ledger: Ledger;
  private quotaCheckedAt = new Map<string, number>();
  private timers: ReturnType<typeof setInterval>[] = [];
  /** @internal */
  closed = false;
  /** set while the accounts' state is still loading (a server's first moments); requests wait for it */
  ready: Promise<void> | undefined;

  /** use openPool */
  constructor(
    private opts: PoolOptions,
    private store: AccountStore,
    private live: LiveState,
    private state: SqliteState,
    private shared?: RedisState,
    private accountsSync?: SharedAccounts,
  ) {
    this.config = opts.config;
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    const s = opts.config.scheduling;
    this.scheduler = new Scheduler(s.mode, s.sessionTtlMinutes * 60_000, s.maxSessions);
    this.identity = opts.identity ?? new ClientIdentity({ ...opts.config.upstream, versionUrl: "" });
    this.client = new UpstreamClient(opts.config.upstream, this.identity, { log: opts.log, metrics: opts.metrics });
    this.catalog = new ModelCatalog(this, opts.config.models.aliases, opts.config.models.defaultImageModel);
    this.tokens = new TokenManager(this.config, store, live, this.log, (id) => this.scheduler.sessions.unbindAccount(id), opts.metrics);
    this.ledger = new Ledger(store, live, this.log, (id) => this.scheduler.sessions.unbindAccount(id));
    this.upkeep = new Upkeep(
      this.config,
      store,
      live,
      this.client,
      this.tokens,
      this.log,
      (id) => this.quotaChanged(id),
      opts.internal,
      opts.metrics,
    );
    this.accounts = new AccountService(this.config, store, live, this.upkeep, this.client, this.log, {
      changed: () => this.changed(),
      left: (id, how) => {
        this.scheduler.sessions.unbindAccount(id);
        if (how.removed) this.ledger.forget(id);
      },
      pending: (id) => this.ledger.pending(id),
    });
    this.gateway = new PoolGateway({
      config: opts.config,
      log: opts.log,
      metrics: opts.metrics,
      client: this.client,
      identity: this.identity,
      catalog: this.catalog,
      tokens: this.tokens,
      scheduler: this.scheduler,
      pool: {
        accounts: () => store.accounts(),
        byId: (id) => store.get(id),
        generation: () => this.generation(),
        ready: () => this.ready,
      },
      outcomes: {
        served: (a) => this.ledger.served(a),
        failed: (a, model, f) => {
          const effect = this.ledger.failed(a, model, f);
          if (effect.refreshQuota) this.recheckQuota(a.id);
          return effect;
        },
      },
    });
  }

  /** the degraded-state gauge, for /metrics (only with shared state) */
  private registerStateMetric(): void {
    const shared = this.shared;
    if (!shared || !this.opts.metrics) return;
    new Gauge({
      name: "switchyard_state_degraded",
      help: "1 while the shared state (Redis) is unreachable and this instance serves from its last known state",
      registers: [this.opts.metrics.registry],
      collect() {
        this.set(shared.healthy ? 0 : 1);
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
    this.registerStateMetric();
    const watchMs = this.opts.internal?.watchIntervalMs ?? 500;
    this.store.watch(watchMs);
    // the CLI (accounts refresh, say) writes state.db too: pick up what it wrote
    every(watchMs, () => {
      if (this.live.pollOthers()) this.changed();
    });
    // other instances' writes (a cooldown, a token, a session binding) apply as soon as they arrive
    const shared = this.shared;
    if (shared) {
      shared.onOthers(() => {
        if (!this.closed && this.live.pollOthers()) this.changed();
      });
      const sessions = this.scheduler.sessions;
      const ttlMs = this.config.scheduling.sessionTtlMinutes * 60_000;
      sessions.onBind = (key, id, at, fresh) => shared.shareSession(key, id, at, ttlMs, fresh);
      shared.onSession((key, id, at) => {
        if (this.store.get(id)) sessions.applyRemote(key, id, at);
      });
      // the bindings under way: at start, and after Redis was away (others' bindings made meanwhile win)
      const adopt = () =>
        shared.sessions().then((list) => {
          for (const b of list) if (this.store.get(b.id)) sessions.applyRemote(b.key, b.id, b.at);
        });
      void adopt().catch(() => {});
      shared.onReconnect(adopt);
    }
    every(this.config.pool.flushIntervalSeconds * 1000, () => this.flushCounters());
    every(this.opts.internal?.tokenSweepMs ?? 30_000, () =>
      Promise.all([this.upkeep.refreshDueTokens(), this.upkeep.resolveMissingProjects(this.now())]),
    );
    // an account that was added without a project (Google's lookup failed then) is tried again at start
    // (this runs once the state is loaded)
    void this.upkeep.resolveMissingProjects(this.now()).catch(() => {});
    // no model list (a first start, a state.db rebuilt, Redis down at start): learn it now from one
    // account, rather than map names by the built-in rules until the quota sweep, minutes away
    if (!Object.keys(this.live.models()).length) {
      const one = this.store.accounts().find((a) => a.state === "active" && a.projectId);
      if (one)
        void this.upkeep
          .refreshQuota(one.id)
          .catch((e) => this.log.warn("could not read the model list at start", { error: (e as Error).message }));
    }
    every(60_000, () => this.scheduler.sessions.prune(this.now()));
    if (this.config.pool.quotaRefreshMinutes > 0)
      every(this.config.pool.quotaRefreshMinutes * 60_000, () => this.upkeep.refreshStaleQuotas());
  }

  /** shared state (Redis): "shared", or "degraded" while it is unreachable; undefined with state.db alone */
  stateStatus(): "shared" | "degraded" | undefined {
    if (!this.shared) return undefined;
    return this.shared.healthy ? "shared" : "degraded";
  }

  /** the shared state (Redis), when configured: keys share its connection */
  get sharedState(): RedisState | undefined {
    return this.shared;
  }

  /** the state.db connection, for the other tables in it (keys and usage: src/keys/) */
  get stateDatabase(): Database {
    return this.state.database;
  }

  // ---- PoolStatus / ModelSource ----

  counts(): { total: number; available: number } {
    const now = Date.now();
    const all = this.store.accounts();
    const available = all.filter((a) => servesSomeModel(a, now)).length;
    return { total: all.length, available };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.ready?.catch(() => {});
    await this.flushCounters();
    await this.store.close();
    await this.accountsSync?.settle();
    this.live.close();
    if (this.shared) this.state.close();
    // the last write failed and its changes were dropped: the operator must hear it (non-zero exit)
    if (this.store.unsaved) throw this.store.unsaved;
  }

  reportedModels(): ModelInfo[] {
    return Object.values(this.live.models());
  }

  lineup(): Lineup | undefined {
    const reported = this.live.lineup();
    const learned = this.live.learned();
    if (!reported && !Object.keys(learned).length) return undefined;
    const base = reported ?? { recommended: [], forwards: {}, imageModels: [] };
    return { ...base, forwards: { ...learned, ...base.forwards } };
  }

  modelsRevision(): number {
    return this.modelsGen;
  }

  learnForward(from: string, to: string): void {
    if (from === to || this.live.learned()[from] === to) return;
    this.modelsGen++;
    this.live.learn(from, to);
    this.log.info("model retired upstream; forwarding it from now on", { from, to });
  }

  // ---- accounts (src/accounts/service.ts) ----

  list(): AccountView[] {
    return this.accounts.list();
  }

  /** the accounts as held, not views (the per-account series of /metrics; protocol/context.ts) */
  accountStates(): readonly Account[] {
    return this.store.accounts();
  }

  get(idOrEmail: string): AccountView | undefined {
    return this.accounts.get(idOrEmail);
  }

  addByRefreshToken(refreshToken: string): Promise<{ account: AccountView; created: boolean }> {
    return this.accounts.addByRefreshToken(refreshToken);
  }

  remove(idOrEmail: string): Promise<boolean> {
    return this.accounts.remove(idOrEmail);
  }

  setEnabled(idOrEmail: string, enabled: boolean): Promise<AccountView> {
    return this.accounts.setEnabled(idOrEmail, enabled);
  }

  refresh(idOrEmail?: string): Promise<{ email: string; ok: boolean; error?: string }[]> {
    return this.accounts.refresh(idOrEmail);
  }

  exportAccounts(): ExportFile {
    return this.accounts.exportAccounts();
  }

  /**
   * The scheduler's view of the accounts: all of them, or a page of those whose email, name or state
   * contains `q` (the dashboard shows 50 at a time: views are made for the page only), with how many match.
   */
  poolView(page: PoolPage = {}): {
    accounts: (AccountView & { sessionBindings: number })[];
    total: number;
    sessions: number;
    mode: string;
  } {
    const now = this.now();
    const q = page.q?.trim().toLowerCase();
    const all = this.store.accounts();
    const matching = q
      ? all.filter((a) => a.email.toLowerCase().includes(q) || a.name?.toLowerCase().includes(q) || a.state.includes(q))
      : all;
    const from = page.offset ?? 0;
    const shown = matching.slice(from, page.limit === undefined ? undefined : from + page.limit);
    // pruned first, so the per-account counts and the total agree
    const scheduling = this.schedulingView();
    return {
      accounts: shown.map((a) => ({
        ...viewOf(a, now, this.ledger.pending(a.id)),
        sessionBindings: this.scheduler.sessions.bindings(a.id),
      })),
      total: matching.length,
      ...scheduling,
    };
  }

  /** the scheduler's mode and its live session bindings, without every account's view (the dashboard's overview) */
  schedulingView(): { sessions: number; mode: string } {
    this.scheduler.sessions.prune(this.now());
    return { sessions: this.scheduler.sessions.size, mode: this.scheduler.mode };
  }

  /** write hot counters (requests, failures, last used) now */
  flushCounters(): Promise<void> {
    return this.ledger.flush();
  }

  /** wait until every change so far is on disk (tests, shutdown) */
  async sync(): Promise<void> {
    await this.ready;
    await this.flushCounters();
    await this.store.flush();
    await this.accountsSync?.settle();
  }

  // ---- runtime hooks ----

  /** accounts added, removed or replaced: the scheduler's index must be rebuilt now */
  private changed() {
    this.gen++;
    this.modelsGen++;
  }

  /** one account's quota changed: it moves in the scheduler's index (no rebuild) */
  private quotaChanged(id: string) {
    this.modelsGen++;
    const a = this.store.get(id);
    if (a) this.scheduler.quotaChanged(a);
  }

  private generation(): number {
    return this.gen;
  }

  /**
   * @internal the accounts changed elsewhere: another process wrote accounts.json (LiveState carried the
   * state over) or another instance wrote Redis. An account that left (removed, disabled, to verify)
   * keeps no sessions here either, as when this process did it, and a removed one no counters.
   */
  onExternalChange() {
    for (const id of this.scheduler.sessions.boundAccounts()) {
      const a = this.store.get(id);
      if (a?.state !== "active") this.scheduler.sessions.unbindAccount(id);
    }
    this.ledger.forgetMissing((id) => this.store.get(id) !== undefined);
    this.changed();
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
    const a = this.accounts.find(idOrEmail);
    return !!a && isEligible(a, model, Date.now());
  }
}

/**
 * Eligible for at least one of the models it reported (quota or a cooldown for each of them counts):
 * what /readyz and the pool gauge call available. Before it reported any, only account-wide blocks count.
 */
function servesSomeModel(a: Account, now: number): boolean {
  const models = a.quota ? Object.keys(a.quota) : [];
  if (models.length === 0) return isEligible(a, "*", now);
  return models.some((m) => isEligible(a, m, now));
}
