// What changes on its own, per account: the access token, the quota snapshot, cooldowns, counters and
// last use. accounts.json never holds these (it is rewritten only when an account changes); a StateStore
// keeps them. Times are ms since epoch.

export interface QuotaEntry {
  /** 0..1 as Google reports it */
  remainingFraction: number;
  resetTime?: number;
  fetchedAt: number;
}

export interface Cooldown {
  /** upstream model id, or "*" for the whole account */
  model: string;
  until: number;
  reason: string;
}

export interface AccountRow {
  accessToken?: string;
  accessTokenExpiresAt?: number;
  /** null = never fetched (unknown) */
  quota: Record<string, QuotaEntry> | null;
  cooldowns: Cooldown[];
  requests: number;
  failures: number;
  lastUsedAt?: number;
}

/** counters to add (a flush of what the ledger gathered) */
export interface CounterDelta {
  id: string;
  requests: number;
  failures: number;
  lastUsedAt?: number;
}

/**
 * The state engine's interface: the SQLite file (sqlite.ts), or Redis shared by several instances (redis.ts).
 * Every write is applied at once (no caching here); reads are for start-up and for changes other
 * processes made.
 */
export interface StateStore {
  readonly path: string;
  loadAll(): Map<string, AccountRow>;
  load(id: string): AccountRow | undefined;
  /** the rows of these accounts (those that have one) */
  loadMany(ids: string[]): Map<string, AccountRow>;
  /** every field of the row (a migration or a new account) */
  put(id: string, row: AccountRow): void;
  putMany(rows: [string, AccountRow][]): void;
  saveToken(id: string, token: string | undefined, expiresAt: number | undefined): void;
  saveQuota(id: string, quota: Record<string, QuotaEntry> | null): void;
  saveCooldowns(id: string, cooldowns: Cooldown[]): void;
  addCounters(deltas: CounterDelta[]): void;
  remove(id: string): void;
  getMeta<T>(key: string): T | undefined;
  setMeta(key: string, value: unknown): void;
  /** rows and meta keys other processes wrote since the last call (cheap when there are none) */
  othersChanges(): { rows: Map<string, AccountRow>; meta: boolean } | undefined;
  close(): void;
  // ---- a store shared by several instances (redis.ts) offers these too ----
  /** told as soon as other instances' writes arrived (read them with othersChanges) */
  onOthers?(fn: () => void): void;
  /** take a named lease for `ms` across instances: "held" = another instance has it, "unavailable" = cannot tell now */
  lease?(name: string, ms: number): Promise<"taken" | "held" | "unavailable">;
  release?(name: string): Promise<void>;
  /** read one row from the shared source now */
  reload?(id: string): Promise<AccountRow | undefined>;
  /** false while the shared source is unreachable (serving from the last known state) */
  readonly healthy?: boolean;
}
