// Virtual API keys in state.db: the key itself is never stored, only its SHA-256 (keys are 192-bit
// random strings, so a fast hash is enough) and a short prefix to recognise it by.
import type { Database } from "bun:sqlite";

export interface KeyLimits {
  /** model patterns with `*` wildcards, matched against the model the client asked for; null = any */
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  concurrency: number | null;
  dailyTokens: number | null;
  monthlyTokens: number | null;
  /** ms since epoch; null = never */
  expiresAt: number | null;
}

export interface KeyRecord extends KeyLimits {
  id: string;
  name: string;
  /** the first characters of the key (sk-sy-xxxx), to recognise it in listings */
  prefix: string;
  hash: string;
  createdAt: number;
  revokedAt: number | null;
}

/** the keys' table (exported for the salvage of a damaged state.db: sqlite.ts) */
export const KEYS_SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  models TEXT,
  rpm INTEGER, tpm INTEGER, concurrency INTEGER, daily_tokens INTEGER, monthly_tokens INTEGER,
  expires_at INTEGER,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
) WITHOUT ROWID;
`;

interface Raw {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  models: string | null;
  rpm: number | null;
  tpm: number | null;
  concurrency: number | null;
  daily_tokens: number | null;
  monthly_tokens: number | null;
  expires_at: number | null;
  created_at: number;
  revoked_at: number | null;
}

function recordOf(r: Raw): KeyRecord {
  let models: string[] | null = null;
  try {
    models = r.models === null ? null : (JSON.parse(r.models) as string[]);
  } catch {
    models = []; // a damaged list allows nothing rather than everything
  }
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    hash: r.hash,
    models,
    rpm: r.rpm,
    tpm: r.tpm,
    concurrency: r.concurrency,
    dailyTokens: r.daily_tokens,
    monthlyTokens: r.monthly_tokens,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}

/** where key definitions live: state.db (SqliteKeys), or Redis shared by several instances (redis-keys.ts) */
export interface KeyStore {
  list(): KeyRecord[];
  insert(k: KeyRecord): void;
  update(k: KeyRecord): void;
  revoke(id: string, at: number): boolean;
  /** changes whenever the keys may have changed (cheap): a server re-reads them only then */
  dataVersion(): number;
}

export class SqliteKeys implements KeyStore {
  private s;

  constructor(private db: Database) {
    db.exec(KEYS_SCHEMA);
    this.s = {
      all: db.query<Raw, []>("SELECT * FROM api_keys ORDER BY created_at, name"),
      insert: db.query(
        `INSERT INTO api_keys (id, name, prefix, hash, models, rpm, tpm, concurrency, daily_tokens, monthly_tokens, expires_at, created_at, revoked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
      ),
      update: db.query(
        `UPDATE api_keys SET name = ?, models = ?, rpm = ?, tpm = ?, concurrency = ?, daily_tokens = ?, monthly_tokens = ?, expires_at = ?
         WHERE id = ?`,
      ),
      revoke: db.query("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"),
      version: db.query<{ data_version: number }, []>("PRAGMA data_version"),
    };
  }

  list(): KeyRecord[] {
    return this.s.all.all().map(recordOf);
  }

  insert(k: KeyRecord): void {
    this.s.insert.run(
      k.id,
      k.name,
      k.prefix,
      k.hash,
      k.models === null ? null : JSON.stringify(k.models),
      k.rpm,
      k.tpm,
      k.concurrency,
      k.dailyTokens,
      k.monthlyTokens,
      k.expiresAt,
      k.createdAt,
    );
  }

  update(k: KeyRecord): void {
    this.s.update.run(
      k.name,
      k.models === null ? null : JSON.stringify(k.models),
      k.rpm,
      k.tpm,
      k.concurrency,
      k.dailyTokens,
      k.monthlyTokens,
      k.expiresAt,
      k.id,
    );
  }

  revoke(id: string, at: number): boolean {
    return this.s.revoke.run(at, id).changes > 0;
  }

  /** changes when any connection commits (cheap): a server re-reads its keys only then */
  dataVersion(): number {
    return this.s.version.get()!.data_version;
  }

  /**
   * these keys instead of the ones held (with Redis: the local copy of the shared keys, what an instance
   * that starts while Redis is down serves). One transaction: readers see the old set or the new.
   */
  replaceAll(records: KeyRecord[]): void {
    this.db.transaction(() => {
      this.db.run("DELETE FROM api_keys");
      for (const k of records) {
        this.insert(k);
        if (k.revokedAt !== null) this.revoke(k.id, k.revokedAt);
      }
    })();
  }
}
