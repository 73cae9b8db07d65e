// What changes on its own, kept in two places at once: on the in-memory Account objects (the scheduler
// reads them on every request) and in the state store (state.db), written at once and only for the
// account that changed. accounts.json is not touched here. Also the model catalogue Google reported
// (models, lineup, learned forwards), which changes with every quota report.
import { LogGate, type Logger } from "../core/log";
import type { Lineup, ModelInfo } from "../models/catalog";
import type { AccountRow, CounterDelta, Cooldown, QuotaEntry, StateStore } from "../state/types";
import type { QuotaReport } from "./quota";
import { blankState, type AccountStore, type StoreDoc } from "./store";
import type { Account } from "./types";

/** rows per transaction when loading or flushing many: each slice keeps the event loop busy ~1–5 ms */
const SLICE = 500;

const META_MODELS = "models";
const META_LINEUP = "lineup";
const META_LEARNED = "learnedForwards";

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

function rowOf(a: Account): AccountRow {
  return {
    accessToken: a.accessToken,
    accessTokenExpiresAt: a.accessTokenExpiresAt,
    quota: a.quota,
    cooldowns: a.cooldowns,
    requests: a.requests,
    failures: a.failures,
    lastUsedAt: a.lastUsedAt,
  };
}

/** a row from the store onto an account (the in-memory penalty is not part of it) */
function applyRow(a: Account, r: AccountRow | undefined): void {
  Object.assign(a, r ?? blankState());
}

export class LiveState {
  private store: AccountStore | undefined;
  private catalog: { models: Record<string, ModelInfo>; lineup?: Lineup; learned: Record<string, string> };
  /** accounts written while a start-up load runs: their row on disk is older than memory */
  private touched: Set<string> | undefined;
  /** a failing state store is reported once a minute */
  private errorLog = new LogGate(60_000);

  constructor(
    private db: StateStore,
    private log: Logger,
  ) {
    this.catalog = this.readCatalog();
  }

  get path(): string {
    return this.db.path;
  }

  /** the account store this state belongs to (set once it is open) */
  attach(store: AccountStore): void {
    this.store = store;
  }

  // ---- loading ----

  /** every account's state now (the CLI: a short-lived process that needs all of it) */
  loadAll(): void {
    const rows = this.db.loadAll();
    for (const a of this.accountList()) applyRow(a, rows.get(a.id));
  }

  /** every account's state in slices, yielding between them (a server with thousands of accounts starts at once) */
  async loadInSlices(): Promise<void> {
    const ids = this.accountList().map((a) => a.id);
    this.touched = new Set();
    try {
      for (let i = 0; i < ids.length; i += SLICE) {
        const slice = ids.slice(i, i + SLICE);
        const rows = this.guard(() => this.db.loadMany(slice)) ?? new Map<string, AccountRow>();
        for (const id of slice) {
          const a = this.store?.get(id);
          if (a && !this.touched.has(id)) applyRow(a, rows.get(id));
        }
        if (i + SLICE < ids.length) await yieldToLoop();
      }
    } finally {
      this.touched = undefined;
    }
  }

  /**
   * accounts.json was replaced (another process wrote it): the new Account objects take their state
   * from the old ones (memory is never behind state.db here), new accounts and migrated ones from state.db.
   */
  onReplace(next: StoreDoc, previous: StoreDoc): void {
    const fromDisk = next.legacy ? [...next.accounts.keys()] : [...next.accounts.keys()].filter((id) => !previous.accounts.has(id));
    const rows = fromDisk.length ? (this.guard(() => this.db.loadMany(fromDisk)) ?? new Map()) : new Map<string, AccountRow>();
    for (const [id, a] of next.accounts) {
      const old = previous.accounts.get(id);
      if (!next.legacy && old) {
        applyRow(a, rowOf(old));
        a.penaltyUntil = old.penaltyUntil;
      } else applyRow(a, rows.get(id));
    }
  }

  /**
   * A version-1 accounts.json was read: its changing fields go to state.db. What the file says wins,
   * except that counters and last use never go backwards and an absent token, quota or cooldown list
   * keeps what state.db had.
   */
  importLegacy(doc: StoreDoc): void {
    const legacy = doc.legacy!;
    const ids = [...doc.accounts.keys()];
    const known = this.guard(() => this.db.loadMany(ids)) ?? new Map<string, AccountRow>();
    const now = Date.now();
    const rows: [string, AccountRow][] = [];
    for (const a of doc.accounts.values()) {
      const had = known.get(a.id);
      rows.push([
        a.id,
        {
          accessToken: a.accessToken ?? had?.accessToken,
          accessTokenExpiresAt: a.accessToken ? a.accessTokenExpiresAt : had?.accessTokenExpiresAt,
          quota: a.quota ?? had?.quota ?? null,
          cooldowns: a.cooldowns.some((c) => c.until > now) ? a.cooldowns : (had?.cooldowns ?? []),
          requests: Math.max(a.requests, had?.requests ?? 0),
          failures: Math.max(a.failures, had?.failures ?? 0),
          lastUsedAt: Math.max(a.lastUsedAt ?? 0, had?.lastUsedAt ?? 0) || undefined,
        },
      ]);
    }
    for (let i = 0; i < rows.length; i += SLICE) this.guard(() => this.db.putMany(rows.slice(i, i + SLICE)));
    const c = this.catalog;
    this.catalog = {
      models: { ...legacy.models, ...c.models },
      lineup: c.lineup ?? legacy.lineup,
      learned: { ...legacy.learned, ...c.learned },
    };
    this.saveCatalog(true, true, true);
    if (rows.length)
      this.log.info("moved the accounts' changing state from accounts.json to state.db", { accounts: rows.length, path: this.db.path });
  }

  // ---- writes: memory and state.db together ----

  setToken(id: string, token: string | undefined, expiresAt: number | undefined): void {
    const a = this.store?.get(id);
    if (a) Object.assign(a, { accessToken: token, accessTokenExpiresAt: expiresAt });
    this.wrote(id, () => this.db.saveToken(id, token, expiresAt));
  }

  setQuota(id: string, quota: Record<string, QuotaEntry> | null): void {
    const a = this.store?.get(id);
    if (a) a.quota = quota;
    this.wrote(id, () => this.db.saveQuota(id, quota));
  }

  /**
   * cool `model` ("*" = the whole account) until `until`, replacing an earlier cooldown for it unless that
   * one ends later (the answer of a request already in flight when the account was cooled must not cut a
   * quota cooldown of an hour to a rate limit's second); expired ones go
   */
  setCooldown(id: string, cd: Cooldown, now = Date.now()): void {
    const a = this.store?.get(id);
    if (!a) return;
    if (a.cooldowns.some((c) => c.model === cd.model && c.until >= cd.until)) return;
    a.cooldowns = [...a.cooldowns.filter((c) => c.until > now && c.model !== cd.model), cd];
    this.wrote(id, () => this.db.saveCooldowns(id, a.cooldowns));
  }

  clearCooldowns(id: string, which: (c: Cooldown) => boolean): void {
    const a = this.store?.get(id);
    if (!a || !a.cooldowns.some(which)) return;
    a.cooldowns = a.cooldowns.filter((c) => !which(c));
    this.wrote(id, () => this.db.saveCooldowns(id, a.cooldowns));
  }

  /** counters gathered since the last flush: state.db adds them (in slices), memory follows */
  async addCounters(deltas: CounterDelta[]): Promise<void> {
    // an account removed while its requests were in flight gets no row back
    if (this.store) deltas = deltas.filter((d) => this.store!.get(d.id));
    for (let i = 0; i < deltas.length; i += SLICE) {
      const slice = deltas.slice(i, i + SLICE);
      this.guard(() => this.db.addCounters(slice));
      for (const d of slice) {
        const a = this.store?.get(d.id);
        if (!a) continue;
        a.requests += d.requests;
        a.failures += d.failures;
        if (d.lastUsedAt && d.lastUsedAt > (a.lastUsedAt ?? 0)) a.lastUsedAt = d.lastUsedAt;
      }
      if (i + SLICE < deltas.length) await yieldToLoop();
    }
  }

  /** the account was removed */
  forget(id: string): void {
    this.guard(() => this.db.remove(id));
  }

  /** a new account (or one added again): its whole row */
  putAccount(id: string): void {
    const a = this.store?.get(id);
    if (a) this.wrote(id, () => this.db.put(id, rowOf(a)));
  }

  // ---- the model catalogue ----

  models(): Record<string, ModelInfo> {
    return this.catalog.models;
  }

  lineup(): Lineup | undefined {
    return this.catalog.lineup;
  }

  learned(): Record<string, string> {
    return this.catalog.learned;
  }

  /** one account's quota report: its quota, the union of models, the lineup. Returns whether the catalogue changed. */
  applyReport(id: string, report: QuotaReport): boolean {
    this.setQuota(id, report.quota);
    const c = this.catalog;
    let modelsChanged = false;
    for (const m of report.models) {
      const had = c.models[m.id];
      if (had && JSON.stringify(had) === JSON.stringify(m)) continue;
      c.models = { ...c.models, [m.id]: m };
      modelsChanged = true;
    }
    const l = report.lineup;
    const lineupChanged =
      (l.recommended.length > 0 || Object.keys(l.forwards).length > 0 || l.imageModels.length > 0) &&
      JSON.stringify(l) !== JSON.stringify(c.lineup);
    if (lineupChanged) c.lineup = l;
    this.saveCatalog(modelsChanged, lineupChanged, false);
    return modelsChanged || lineupChanged;
  }

  learn(from: string, to: string): void {
    this.catalog.learned = { ...this.catalog.learned, [from]: to };
    this.saveCatalog(false, false, true);
  }

  // ---- other processes ----

  /** apply what other processes wrote to state.db (the CLI refreshing quota, say); true when something changed */
  pollOthers(): boolean {
    const changes = this.guard(() => this.db.othersChanges());
    if (!changes) return false;
    for (const [id, row] of changes.rows) {
      const a = this.store?.get(id);
      if (!a) continue;
      const lastUsedAt = Math.max(a.lastUsedAt ?? 0, row.lastUsedAt ?? 0) || undefined;
      applyRow(a, { ...row, lastUsedAt });
    }
    if (changes.meta) this.catalog = this.readCatalog();
    return true;
  }

  // ---- a store shared by several instances (Redis) ----

  /** whether other instances share this state (leases mean something) */
  get shared(): boolean {
    return !!this.db.lease;
  }

  /** false while a shared store is unreachable; undefined for state.db */
  get healthy(): boolean | undefined {
    return this.db.healthy;
  }

  /** a lease across instances (see StateStore.lease); "unavailable" without a shared store */
  lease(name: string, ms: number): Promise<"taken" | "held" | "unavailable"> {
    return this.db.lease ? this.db.lease(name, ms) : Promise.resolve("unavailable");
  }

  release(name: string): Promise<void> {
    return this.db.release ? this.db.release(name) : Promise.resolve();
  }

  /** re-read one account's row from the shared store, onto the account */
  async reload(id: string): Promise<void> {
    const row = await this.db.reload?.(id);
    const a = this.store?.get(id);
    if (!a || !row) return;
    applyRow(a, { ...row, lastUsedAt: Math.max(a.lastUsedAt ?? 0, row.lastUsedAt ?? 0) || undefined });
  }

  close(): void {
    this.db.close();
  }

  // ---- helpers ----

  private accountList(): Account[] {
    return this.store ? this.store.accounts() : [];
  }

  private readCatalog() {
    return {
      models: this.guard(() => this.db.getMeta<Record<string, ModelInfo>>(META_MODELS)) ?? {},
      lineup: this.guard(() => this.db.getMeta<Lineup>(META_LINEUP)),
      learned: this.guard(() => this.db.getMeta<Record<string, string>>(META_LEARNED)) ?? {},
    };
  }

  private saveCatalog(models: boolean, lineup: boolean, learned: boolean): void {
    const c = this.catalog;
    if (models) this.guard(() => this.db.setMeta(META_MODELS, c.models));
    if (lineup && c.lineup) this.guard(() => this.db.setMeta(META_LINEUP, c.lineup));
    if (learned) this.guard(() => this.db.setMeta(META_LEARNED, c.learned));
  }

  private wrote(id: string, write: () => void): void {
    this.touched?.add(id);
    this.guard(write);
  }

  /**
   * A state store that fails (a full disk, a file gone bad while we run) must not fail requests: memory
   * keeps the value and the operator hears of it once a minute.
   */
  private guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      if (this.errorLog.open())
        this.log.error("could not use the state store; keeping the state in memory", { path: this.db.path, error: (e as Error).message });
      return undefined;
    }
  }
}
