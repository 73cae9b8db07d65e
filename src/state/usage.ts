// Usage records in state.db: one row per client request (kept `usage.retentionDays`), and hourly
// totals per key, account and model (kept for good). Both are written in one transaction per flush, so
// they always agree. No prompt or answer text is ever stored.
import type { Database } from "bun:sqlite";

export interface UsageRecord {
  at: number;
  keyId: string | null;
  /** the key's name, "config" for a key from the configuration, "anonymous" for none */
  keyName: string;
  account: string | null;
  /** the model the client asked for */
  model: string | null;
  upstreamModel: string | null;
  protocol: string;
  route: string;
  status: number;
  errorClass: string | null;
  input: number;
  output: number;
  thinking: number;
  cached: number;
  latencyMs: number;
  ttfbMs: number | null;
  streamed: boolean;
}

export type UsageBy = "key" | "account" | "model" | "day" | "hour";

export interface UsageRow {
  /** the key name, account, model, or the day / hour (ISO) */
  group: string;
  requests: number;
  errors: number;
  input: number;
  output: number;
  thinking: number;
  cached: number;
  /** the second grouping, when one was asked for (a chart's series) */
  split?: string;
}

/** the tables below (state.db's start-up check leaves them out: they grow with traffic) */
export const USAGE_TABLES: readonly string[] = ["usage", "usage_hourly"];

/** the usage tables (exported for the salvage of a damaged state.db: sqlite.ts) */
export const USAGE_SCHEMA = `
CREATE TABLE IF NOT EXISTS usage (
  at INTEGER NOT NULL,
  key_id TEXT, key_name TEXT NOT NULL, account TEXT, model TEXT, upstream_model TEXT,
  protocol TEXT NOT NULL, route TEXT NOT NULL, status INTEGER NOT NULL, error_class TEXT,
  input INTEGER NOT NULL, output INTEGER NOT NULL, thinking INTEGER NOT NULL, cached INTEGER NOT NULL,
  latency_ms REAL NOT NULL, ttfb_ms REAL, streamed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_at ON usage(at);
CREATE TABLE IF NOT EXISTS usage_hourly (
  hour INTEGER NOT NULL, key_name TEXT NOT NULL, account TEXT NOT NULL, model TEXT NOT NULL,
  requests INTEGER NOT NULL, errors INTEGER NOT NULL,
  input INTEGER NOT NULL, output INTEGER NOT NULL, thinking INTEGER NOT NULL, cached INTEGER NOT NULL,
  PRIMARY KEY (hour, key_name, account, model)
) WITHOUT ROWID;
`;

const HOUR = 3_600_000;

type Tokens = Pick<UsageRecord, "input" | "output" | "thinking" | "cached">;

/** SQL for one grouping: over raw rows (exact times) or hourly totals (older than the raw rows' retention) */
function groupExpr(by: UsageBy, raw: boolean): string {
  const t = raw ? "at" : "hour";
  switch (by) {
    case "key":
      return "key_name";
    case "account":
      return "coalesce(account, '-')";
    case "model":
      return "coalesce(model, '-')";
    case "day":
      return `strftime('%Y-%m-%d', ${t} / 1000, 'unixepoch')`;
    case "hour":
      return `strftime('%Y-%m-%dT%H:00Z', ${t} / 1000, 'unixepoch')`;
  }
}

/** values per row (COLUMNS) */
const PER_ROW = 17;
/** rows per multi-row INSERT: PER_ROW values each, well under SQLite's 32,766 parameters */
const ROWS_PER_INSERT = 64;
const COLUMNS =
  "at, key_id, key_name, account, model, upstream_model, protocol, route, status, error_class, input, output, thinking, cached, latency_ms, ttfb_ms, streamed";

const insertSql = (rows: number) =>
  `INSERT INTO usage (${COLUMNS}) VALUES ${Array.from({ length: rows }, () => `(${Array(PER_ROW).fill("?").join(", ")})`).join(", ")}`;

type Values = (string | number | null)[];
/** a statement run with its values as one array: bun:sqlite binds an array argument as the list (its types do not say so) */
type ArrayRun = { run(values: Values): unknown };

/** writes one record's values into `to` from `at`, in COLUMNS order (arrays reused: no array per row) */
function putRow(to: Values, at: number, r: UsageRecord): void {
  to[at] = r.at;
  to[at + 1] = r.keyId;
  to[at + 2] = r.keyName;
  to[at + 3] = r.account;
  to[at + 4] = r.model;
  to[at + 5] = r.upstreamModel;
  to[at + 6] = r.protocol;
  to[at + 7] = r.route;
  to[at + 8] = r.status;
  to[at + 9] = r.errorClass;
  to[at + 10] = r.input;
  to[at + 11] = r.output;
  to[at + 12] = r.thinking;
  to[at + 13] = r.cached;
  to[at + 14] = r.latencyMs;
  to[at + 15] = r.ttfbMs;
  to[at + 16] = r.streamed ? 1 : 0;
}

export class SqliteUsage {
  private insert: ArrayRun;
  private insertMany: ArrayRun;
  // the statements' values, filled in place and passed as one array (bun:sqlite binds an array as the
  // list): ~25 % less per row than an array per record spread into the call
  private one: Values = new Array(PER_ROW);
  private many: Values = new Array(PER_ROW * ROWS_PER_INSERT);
  private hourly;
  private pruneSlice;
  private tokensSince;

  constructor(private db: Database) {
    db.exec(USAGE_SCHEMA);
    this.insert = db.query(insertSql(1)) as unknown as ArrayRun;
    this.insertMany = db.query(insertSql(ROWS_PER_INSERT)) as unknown as ArrayRun;
    this.hourly = db.query(
      `INSERT INTO usage_hourly (hour, key_name, account, model, requests, errors, input, output, thinking, cached)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (hour, key_name, account, model) DO UPDATE SET requests = requests + excluded.requests,
         errors = errors + excluded.errors, input = input + excluded.input, output = output + excluded.output,
         thinking = thinking + excluded.thinking, cached = cached + excluded.cached`,
    );
    this.pruneSlice = db.query<unknown, [number, number]>(
      "DELETE FROM usage WHERE rowid IN (SELECT rowid FROM usage WHERE at < ? ORDER BY at LIMIT ?)",
    );
    this.tokensSince = db.query<{ key_name: string; n: number }, [number]>(
      "SELECT key_name, sum(input + output + thinking) AS n FROM usage_hourly WHERE hour >= ? GROUP BY key_name",
    );
  }

  /**
   * The records, and their hourly totals, in one transaction: the rows ROWS_PER_INSERT to a statement,
   * the totals summed here first, one upsert per hour, key, account and model (a flush is ~1,000 records
   * of a handful of groups; a statement per record was ~5 % of a request's CPU under load).
   */
  append(records: UsageRecord[]): void {
    if (!records.length) return;
    const totals = new Map<
      string,
      { hour: number; key: string; account: string; model: string; requests: number; errors: number } & Tokens
    >();
    for (const r of records) {
      const hour = Math.floor(r.at / HOUR) * HOUR;
      const account = r.account ?? "-";
      const model = r.model ?? "-";
      const id = `${hour}\u0000${r.keyName}\u0000${account}\u0000${model}`;
      let t = totals.get(id);
      if (!t)
        totals.set(id, (t = { hour, key: r.keyName, account, model, requests: 0, errors: 0, input: 0, output: 0, thinking: 0, cached: 0 }));
      t.requests++;
      if (r.status >= 400) t.errors++;
      t.input += r.input;
      t.output += r.output;
      t.thinking += r.thinking;
      t.cached += r.cached;
    }
    this.db.transaction(() => {
      let i = 0;
      for (; i + ROWS_PER_INSERT <= records.length; i += ROWS_PER_INSERT) {
        for (let j = 0; j < ROWS_PER_INSERT; j++) putRow(this.many, j * PER_ROW, records[i + j]!);
        this.insertMany.run(this.many);
      }
      for (; i < records.length; i++) {
        putRow(this.one, 0, records[i]!);
        this.insert.run(this.one);
      }
      for (const t of totals.values())
        this.hourly.run(t.hour, t.key, t.account, t.model, t.requests, t.errors, t.input, t.output, t.thinking, t.cached);
    })();
  }

  /** a key's rows under its new name (the hourly totals added to any the new name has already) */
  renameKey(from: string, to: string): void {
    this.db.transaction(() => {
      this.db.run("UPDATE usage SET key_name = ? WHERE key_name = ?", [to, from]);
      this.db.run(
        `INSERT INTO usage_hourly (hour, key_name, account, model, requests, errors, input, output, thinking, cached)
         SELECT hour, ?, account, model, requests, errors, input, output, thinking, cached FROM usage_hourly WHERE key_name = ?
         ON CONFLICT (hour, key_name, account, model) DO UPDATE SET requests = requests + excluded.requests,
           errors = errors + excluded.errors, input = input + excluded.input, output = output + excluded.output,
           thinking = thinking + excluded.thinking, cached = cached + excluded.cached`,
        [to, from],
      );
      this.db.run("DELETE FROM usage_hourly WHERE key_name = ?", [from]);
    })();
  }

  /**
   * One key's own rows written under its old name (by its id: the name may be another key's now). The
   * hourly totals, kept by name, are left: the rename that reached this process late covers at most the
   * second before it saw the change.
   */
  renameKeyRows(id: string, from: string, to: string): void {
    this.db.run("UPDATE usage SET key_name = ? WHERE key_id = ? AND key_name = ?", [to, id, from]);
  }

  /** tokens (input + output + thinking) per key name since `from` (rounded down to its hour) */
  tokensByKeySince(from: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.tokensSince.all(Math.floor(from / HOUR) * HOUR)) out.set(r.key_name, r.n);
    return out;
  }

  /**
   * Totals since `since`, grouped. The hourly totals answer for every whole hour from the first one
   * after `since`; the raw rows only for the part hour before it, where they are kept (retention) — so
   * the answer is exact, and its cost follows the number of hours, not of requests (over the raw rows,
   * 30 days of a million rows took 4 s, with the server's thread blocked: bun:sqlite is synchronous).
   * Before the raw rows' retention the part hour is counted whole.
   */
  query(since: number, by: UsageBy, rawKeptFrom: number, split?: UsageBy): UsageRow[] {
    const firstHour = since >= rawKeptFrom ? Math.ceil(since / HOUR) * HOUR : Math.floor(since / HOUR) * HOUR;
    const cols = (raw: boolean) => `${groupExpr(by, raw)} AS grp${split ? `, ${groupExpr(split, raw)} AS sub` : ""}`;
    const group = split ? "grp, sub" : "grp";
    const sql = `SELECT ${group}, sum(requests) AS requests, sum(errors) AS errors, sum(input) AS input, sum(output) AS output,
        sum(thinking) AS thinking, sum(cached) AS cached FROM (
          SELECT ${cols(true)}, 1 AS requests, status >= 400 AS errors, input, output, thinking, cached
            FROM usage WHERE at >= ?1 AND at < ?2
          UNION ALL
          SELECT ${cols(false)}, requests, errors, input, output, thinking, cached FROM usage_hourly WHERE hour >= ?2
        ) GROUP BY ${group} ORDER BY ${group}`;
    return this.db
      .query<any, [number, number]>(sql)
      .all(since, firstHour)
      .map((r) => ({
        group: String(r.grp),
        requests: r.requests ?? 0,
        errors: r.errors ?? 0,
        input: r.input ?? 0,
        output: r.output ?? 0,
        thinking: r.thinking ?? 0,
        cached: r.cached ?? 0,
        ...(split ? { split: String(r.sub) } : {}),
      }));
  }

  /**
   * Drops raw rows older than `before`, the oldest first, at most `limit` of them (the hourly totals
   * stay); how many went. A slice at a time: deleting a lowered retention's or a long downtime's
   * backlog in one statement held the thread for seconds (914,661 rows: 1.95 s).
   */
  prune(before: number, limit = Number.MAX_SAFE_INTEGER): number {
    return this.pruneSlice.run(before, limit).changes;
  }
}
