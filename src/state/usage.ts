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

const SCHEMA = `
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

export class SqliteUsage {
  private insert;
  private hourly;
  private tokensSince;

  constructor(private db: Database) {
    db.exec(SCHEMA);
    this.insert = db.query(
      `INSERT INTO usage (at, key_id, key_name, account, model, upstream_model, protocol, route, status, error_class,
         input, output, thinking, cached, latency_ms, ttfb_ms, streamed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.hourly = db.query(
      `INSERT INTO usage_hourly (hour, key_name, account, model, requests, errors, input, output, thinking, cached)
       VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?)
       ON CONFLICT (hour, key_name, account, model) DO UPDATE SET requests = requests + 1, errors = errors + excluded.errors,
         input = input + excluded.input, output = output + excluded.output, thinking = thinking + excluded.thinking,
         cached = cached + excluded.cached`,
    );
    this.tokensSince = db.query<{ key_name: string; n: number }, [number]>(
      "SELECT key_name, sum(input + output + thinking) AS n FROM usage_hourly WHERE hour >= ? GROUP BY key_name",
    );
  }

  /** the records, and their hourly totals, in one transaction */
  append(records: UsageRecord[]): void {
    if (!records.length) return;
    this.db.transaction(() => {
      for (const r of records) {
        this.insert.run(
          r.at,
          r.keyId,
          r.keyName,
          r.account,
          r.model,
          r.upstreamModel,
          r.protocol,
          r.route,
          r.status,
          r.errorClass,
          r.input,
          r.output,
          r.thinking,
          r.cached,
          r.latencyMs,
          r.ttfbMs,
          r.streamed ? 1 : 0,
        );
        const hour = Math.floor(r.at / HOUR) * HOUR;
        this.hourly.run(
          hour,
          r.keyName,
          r.account ?? "-",
          r.model ?? "-",
          r.status >= 400 ? 1 : 0,
          r.input,
          r.output,
          r.thinking,
          r.cached,
        );
      }
    })();
  }

  /** tokens (input + output + thinking) per key name since `from` (rounded down to its hour) */
  tokensByKeySince(from: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const r of this.tokensSince.all(Math.floor(from / HOUR) * HOUR)) out.set(r.key_name, r.n);
    return out;
  }

  /**
   * Totals since `since`, grouped. Raw rows answer exactly when they reach back that far (retention);
   * before that, the hourly totals do.
   */
  query(since: number, by: UsageBy, rawKeptFrom: number, split?: UsageBy): UsageRow[] {
    const raw = since >= rawKeptFrom;
    const g = groupExpr(by, raw);
    // a second grouping (hour × model for a chart): one more column and GROUP BY term
    const sub = split ? `, ${groupExpr(split, raw)} AS sub` : "";
    const group = split ? "grp, sub" : "grp";
    const sql = raw
      ? `SELECT ${g} AS grp${sub}, count(*) AS requests, sum(status >= 400) AS errors, sum(input) AS input, sum(output) AS output,
           sum(thinking) AS thinking, sum(cached) AS cached FROM usage WHERE at >= ? GROUP BY ${group} ORDER BY ${group}`
      : `SELECT ${g} AS grp${sub}, sum(requests) AS requests, sum(errors) AS errors, sum(input) AS input, sum(output) AS output,
           sum(thinking) AS thinking, sum(cached) AS cached FROM usage_hourly WHERE hour >= ? GROUP BY ${group} ORDER BY ${group}`;
    const bound = raw ? since : Math.floor(since / HOUR) * HOUR;
    return this.db
      .query<any, [number]>(sql)
      .all(bound)
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

  /** drop raw rows older than `before` (the hourly totals stay) */
  prune(before: number): number {
    return this.db.query("DELETE FROM usage WHERE at < ?").run(before).changes;
  }
}
