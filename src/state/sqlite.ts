// state.db: the state engine on SQLite (bun:sqlite, built into the binary). WAL mode, so the CLI and a
// running server read and write it at the same time; synchronous=NORMAL, so a commit is in the WAL
// before the call returns (a SIGKILL loses nothing committed; only a power cut can lose the last few).
// One row per account, written field by field as things change; no write ever touches other rows.
// Other processes' writes are found through `seq` (a counter every write transaction bumps) and
// `writer` (who wrote the row), checked only when SQLite's data_version says someone else committed. A
// write to a row another process changed since this one last looked marks it `*`, nobody's: both
// processes then read it again (taking it over hid the other's change from it for good).
import { KEYS_SCHEMA } from "./keys";
import { USAGE_SCHEMA } from "./usage";
import { Database } from "bun:sqlite";
import { chmodSync, closeSync, existsSync, openSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { AccountRow, CounterDelta, Cooldown, QuotaEntry, StateStore } from "./types";
import { USAGE_TABLES } from "./usage";

export const STATE_FILE = "state.db";
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS account_state (
  id TEXT PRIMARY KEY,
  access_token TEXT,
  token_expires_at INTEGER,
  quota TEXT,
  cooldowns TEXT NOT NULL DEFAULT '[]',
  requests INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  last_used_at INTEGER,
  seq INTEGER NOT NULL DEFAULT 0,
  writer TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS account_state_seq ON account_state(seq);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  seq INTEGER NOT NULL DEFAULT 0,
  writer TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clock (n INTEGER NOT NULL);
INSERT INTO clock (n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM clock);
`;

interface Raw {
  id: string;
  access_token: string | null;
  token_expires_at: number | null;
  quota: string | null;
  cooldowns: string;
  requests: number;
  failures: number;
  last_used_at: number | null;
}

function rowOf(r: Raw): AccountRow {
  return {
    accessToken: r.access_token ?? undefined,
    accessTokenExpiresAt: r.token_expires_at ?? undefined,
    quota: r.quota === null ? null : (parseJson(r.quota, {}) as Record<string, QuotaEntry>),
    cooldowns: parseJson(r.cooldowns, []) as Cooldown[],
    requests: r.requests,
    failures: r.failures,
    lastUsedAt: r.last_used_at ?? undefined,
  };
}

function parseJson(text: string, fallback: unknown): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return fallback; // a damaged cell costs that cell only: quota and cooldowns are re-learned
  }
}

const corrupt = (e: unknown) => /SQLITE_(CORRUPT|NOTADB)|malformed|not a database|file is encrypted/i.test(`${(e as any)?.code} ${e}`);
const busy = (e: unknown) => /SQLITE_BUSY|database is locked/i.test(`${(e as any)?.code} ${e}`);
/** how long opening waits for another process that holds the file (busy_timeout's 5 s) */
const OPEN_WAIT_MS = 5000;
const readOnly = (e: unknown) => /SQLITE_(CANTOPEN|READONLY|PERM|AUTH)|readonly|unable to open/i.test(`${(e as any)?.code} ${e}`);

export interface OpenNotice {
  /** what happened to the file (set aside as corrupt, opened read-only, kept in memory only) */
  message: string;
  level: "warn" | "error";
}

/**
 * A file that is not a database fails at the schema read; the tables whose size the accounts and keys
 * bound are checked page by page (`quick_check`). A check of the whole file cost ~0.5 s a start per
 * million usage rows, and the usage log keeps 30 days by default (docs/state.md, "Damage").
 */
function checkTables(db: Database): void {
  const tables = db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
  for (const { name } of tables) {
    // the usage log's tables grow with traffic (a million rows a busy day): start-up does not check them
    if (USAGE_TABLES.includes(name) || !/^\w+$/.test(name)) continue;
    const check = db.query<{ quick_check: string }, []>(`PRAGMA quick_check(${name})`).get();
    if (check && check.quick_check !== "ok") throw new Error(`SQLITE_CORRUPT: ${check.quick_check}`);
  }
}

export class SqliteState implements StateStore {
  private db: Database;
  private readonly writer = crypto.randomUUID().slice(0, 12);
  private dataVersion = 0;
  private lastSeq = 0;
  /** runs `fn` inside BEGIN … COMMIT (one wrapper, built once) */
  private tx: (fn: () => void) => void;
  private s!: ReturnType<SqliteState["prepare"]>;

  private constructor(
    readonly path: string,
    db: Database,
  ) {
    this.db = db;
    const run = db.transaction((fn: () => void) => fn());
    this.tx = (fn) => run(fn);
    this.s = this.prepare();
    this.dataVersion = this.readDataVersion();
    this.lastSeq = this.s.clock.get()!.n;
  }

  /**
   * Open (or create) dir/state.db. A corrupt file is renamed to state.db.corrupt-<time> and a fresh one
   * created: the accounts live in accounts.json, so only tokens, quota and counters are lost (re-learned).
   * A file that cannot be written (read-only data dir) is opened read-only, or held in memory.
   */
  static open(dir: string, onNotice: (n: OpenNotice) => void = () => {}): SqliteState {
    const path = join(dir, STATE_FILE);
    try {
      return SqliteState.openWaiting(path);
    } catch (e) {
      if (corrupt(e)) {
        const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
        for (const suffix of ["", "-wal", "-shm"]) if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
        const state = SqliteState.openAt(path);
        const saved = salvage(state.db, aside);
        onNotice({
          level: "error",
          message:
            `${path} was unreadable (${(e as Error).message}); it was set aside as ${aside} and a new one created — accounts are ` +
            `unaffected; tokens, quota and counters are re-learned; ${saved}`,
        });
        return state;
      }
      if (!readOnly(e)) throw e;
      try {
        const db = new Database(path, { readonly: true });
        onNotice({ level: "warn", message: `${path} is read-only here: state changes are not saved` });
        return new SqliteState(path, db);
      } catch {
        onNotice({ level: "warn", message: `${path} cannot be opened (${(e as Error).message}): state is kept in memory only` });
        const db = new Database(":memory:");
        db.exec(SCHEMA);
        return new SqliteState(path, db);
      }
    }
  }

  /**
   * openAt, tried again while another process holds the file: setting the journal mode does not wait
   * through busy_timeout, and a server and a CLI command opening at once after a crash (one recovering
   * the write-ahead log) met "database is locked" (seen once in test/accounts/crash.test.ts)
   */
  private static openWaiting(path: string): SqliteState {
    const end = Date.now() + OPEN_WAIT_MS;
    for (;;) {
      try {
        return SqliteState.openAt(path);
      } catch (e) {
        if (!busy(e)) throw e;
        if (Date.now() > end) throw new Error(`${path} is locked by another process (waited ${OPEN_WAIT_MS / 1000} s)`);
        Bun.sleepSync(20);
      }
    }
  }

  private static openAt(path: string): SqliteState {
    if (!existsSync(path)) closeSync(openSync(path, "a", 0o600)); // an empty file is an empty database
    const db = new Database(path, { create: true, strict: true });
    try {
      db.exec("PRAGMA busy_timeout = 5000");
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      checkTables(db);
      const version = db.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version;
      if (version > SCHEMA_VERSION)
        throw new Error(
          `${path} has schema version ${version}, newer than this Switchyard understands (${SCHEMA_VERSION}); upgrade Switchyard`,
        );
      db.exec(SCHEMA);
      if (version < SCHEMA_VERSION) db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    } catch (e) {
      db.close();
      throw e;
    }
    for (const suffix of ["", "-wal", "-shm"]) if (existsSync(path + suffix)) chmodSync(path + suffix, 0o600);
    return new SqliteState(path, db);
  }

  private prepare() {
    const db = this.db;
    return {
      clock: db.query<{ n: number }, []>("SELECT n FROM clock"),
      tick: db.query<{ n: number }, []>("UPDATE clock SET n = n + 1 RETURNING n"),
      all: db.query<Raw, []>("SELECT * FROM account_state"),
      one: db.query<Raw, [string]>("SELECT * FROM account_state WHERE id = ?"),
      many: db.query<Raw, [string]>("SELECT * FROM account_state WHERE id IN (SELECT value FROM json_each(?))"),
      since: db.query<Raw, [number, number, string]>("SELECT * FROM account_state WHERE seq > ? AND seq <= ? AND writer != ?"),
      metaSince: db.query<{ n: number }, [number, number, string]>(
        "SELECT count(*) AS n FROM meta WHERE seq > ? AND seq <= ? AND writer != ?",
      ),
      put: db.query(
        `INSERT INTO account_state (id, access_token, token_expires_at, quota, cooldowns, requests, failures, last_used_at, seq, writer)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET access_token = excluded.access_token, token_expires_at = excluded.token_expires_at,
           quota = excluded.quota, cooldowns = excluded.cooldowns, requests = excluded.requests, failures = excluded.failures,
           last_used_at = excluded.last_used_at, seq = excluded.seq,
           writer = CASE WHEN writer <> excluded.writer AND seq > ? THEN '*' ELSE excluded.writer END`,
      ),
      token: db.query(
        `INSERT INTO account_state (id, access_token, token_expires_at, seq, writer) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET access_token = excluded.access_token, token_expires_at = excluded.token_expires_at,
           seq = excluded.seq,
           writer = CASE WHEN writer <> excluded.writer AND seq > ? THEN '*' ELSE excluded.writer END`,
      ),
      quota: db.query(
        `INSERT INTO account_state (id, quota, seq, writer) VALUES (?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET quota = excluded.quota, seq = excluded.seq,
           writer = CASE WHEN writer <> excluded.writer AND seq > ? THEN '*' ELSE excluded.writer END`,
      ),
      cooldowns: db.query(
        `INSERT INTO account_state (id, cooldowns, seq, writer) VALUES (?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET cooldowns = excluded.cooldowns, seq = excluded.seq,
           writer = CASE WHEN writer <> excluded.writer AND seq > ? THEN '*' ELSE excluded.writer END`,
      ),
      counters: db.query(
        `INSERT INTO account_state (id, requests, failures, last_used_at, seq, writer) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET requests = requests + excluded.requests, failures = failures + excluded.failures,
           last_used_at = max(coalesce(last_used_at, 0), coalesce(excluded.last_used_at, 0)), seq = excluded.seq,
           writer = CASE WHEN writer <> excluded.writer AND seq > ? THEN '*' ELSE excluded.writer END`,
      ),
      remove: db.query("DELETE FROM account_state WHERE id = ?"),
      getMeta: db.query<{ value: string }, [string]>("SELECT value FROM meta WHERE key = ?"),
      setMeta: db.query(
        `INSERT INTO meta (key, value, seq, writer) VALUES (?, ?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, seq = excluded.seq,
           writer = CASE WHEN writer <> excluded.writer AND seq > ? THEN '*' ELSE excluded.writer END`,
      ),
    };
  }

  private readDataVersion(): number {
    return this.db.query<{ data_version: number }, []>("PRAGMA data_version").get()!.data_version;
  }

  /** one write transaction: bump the clock, run `fn` with the new seq */
  private write(fn: (seq: number) => void): void {
    this.tx(() => fn(this.s.tick.get()!.n));
  }

  loadAll(): Map<string, AccountRow> {
    const out = new Map<string, AccountRow>();
    for (const r of this.s.all.iterate()) out.set(r.id, rowOf(r));
    return out;
  }

  load(id: string): AccountRow | undefined {
    const r = this.s.one.get(id);
    return r ? rowOf(r) : undefined;
  }

  loadMany(ids: string[]): Map<string, AccountRow> {
    const out = new Map<string, AccountRow>();
    if (ids.length) for (const r of this.s.many.iterate(JSON.stringify(ids))) out.set(r.id, rowOf(r));
    return out;
  }

  put(id: string, row: AccountRow): void {
    this.putMany([[id, row]]);
  }

  putMany(rows: [string, AccountRow][]): void {
    this.write((seq) => {
      for (const [id, r] of rows)
        this.s.put.run(
          id,
          r.accessToken ?? null,
          r.accessTokenExpiresAt ?? null,
          r.quota === null ? null : JSON.stringify(r.quota),
          JSON.stringify(r.cooldowns),
          r.requests,
          r.failures,
          r.lastUsedAt ?? null,
          seq,
          this.writer,
          this.lastSeq,
        );
    });
  }

  saveToken(id: string, token: string | undefined, expiresAt: number | undefined): void {
    this.write((seq) => this.s.token.run(id, token ?? null, expiresAt ?? null, seq, this.writer, this.lastSeq));
  }

  saveQuota(id: string, quota: Record<string, QuotaEntry> | null): void {
    this.write((seq) => this.s.quota.run(id, quota === null ? null : JSON.stringify(quota), seq, this.writer, this.lastSeq));
  }

  saveCooldowns(id: string, cooldowns: Cooldown[]): void {
    this.write((seq) => this.s.cooldowns.run(id, JSON.stringify(cooldowns), seq, this.writer, this.lastSeq));
  }

  addCounters(deltas: CounterDelta[]): void {
    if (!deltas.length) return;
    this.write((seq) => {
      for (const d of deltas) this.s.counters.run(d.id, d.requests, d.failures, d.lastUsedAt ?? null, seq, this.writer, this.lastSeq);
    });
  }

  remove(id: string): void {
    this.s.remove.run(id);
  }

  getMeta<T>(key: string): T | undefined {
    const r = this.s.getMeta.get(key);
    return r ? (parseJson(r.value, undefined) as T | undefined) : undefined;
  }

  setMeta(key: string, value: unknown): void {
    this.write((seq) => this.s.setMeta.run(key, JSON.stringify(value), seq, this.writer, this.lastSeq));
  }

  othersChanges(): { rows: Map<string, AccountRow>; meta: boolean } | undefined {
    const v = this.readDataVersion();
    if (v === this.dataVersion) return undefined;
    this.dataVersion = v;
    let result: { rows: Map<string, AccountRow>; meta: boolean } | undefined;
    this.tx(() => {
      const hi = this.s.clock.get()!.n;
      const rows = new Map<string, AccountRow>();
      for (const r of this.s.since.iterate(this.lastSeq, hi, this.writer)) rows.set(r.id, rowOf(r));
      const meta = this.s.metaSince.get(this.lastSeq, hi, this.writer)!.n > 0;
      this.lastSeq = hi;
      result = rows.size || meta ? { rows, meta } : undefined;
    });
    return result;
  }

  /** the connection, for the other tables of state.db (keys, usage: ./keys.ts, ./usage.ts) */
  get database(): Database {
    return this.db;
  }

  close(): void {
    try {
      this.db.close();
    } catch {
      /* closing twice */
    }
  }
}

/**
 * What a damaged state.db still yields that nothing re-learns: the virtual keys (without them every
 * client's key answers 401) and the usage log's hourly totals (the keys' budgets). Copied table by table
 * as far as the damage allows; says what was saved.
 */
function salvage(db: Database, aside: string): string {
  const out: string[] = [];
  const copy = (table: string, schema: string, what: string) => {
    try {
      db.exec(schema);
      const n = db.run(`INSERT OR IGNORE INTO main.${table} SELECT * FROM old.${table}`).changes;
      out.push(`${n} ${what} recovered from it`);
    } catch (e) {
      out.push(`${what} could not be read from it (${(e as Error).message})`);
    }
  };
  try {
    db.run("ATTACH DATABASE ? AS old", [aside]);
  } catch (e) {
    return `virtual keys and the usage log could not be read from it (${(e as Error).message})`;
  }
  try {
    copy("api_keys", KEYS_SCHEMA, "virtual keys");
    copy("usage_hourly", USAGE_SCHEMA, "hours of usage totals");
  } finally {
    try {
      db.run("DETACH DATABASE old");
    } catch {
      /* nothing attached */
    }
  }
  return out.join("; ");
}
