// Usage totals shared by several instances through Redis: the hourly totals per key, account and model
// (state.db's usage_hourly, summed over every instance), so a report on any instance shows one total.
// Each instance still keeps its own raw rows in state.db. Increments are added with HINCRBY (they add
// up whatever the order), announced on the changes channel, and mirrored here so a report is
// synchronous. Layout: `{prefix}usage:{hour}` hash, field `key\taccount\tmodel\tmetric` → count;
// `{prefix}usage:hours` sorted set of the hours that have one.
import { hashOf, type RedisState } from "./redis";
import type { UsageBy, UsageRecord, UsageRow } from "./usage";

const HOUR = 3_600_000;
const METRICS = ["requests", "errors", "input", "output", "thinking", "cached"] as const;
type Metric = (typeof METRICS)[number];
/** increments: hour → field → n */
type Delta = Record<string, Record<string, number>>;

const iso = (t: number) => new Date(t).toISOString();

function groupOf(by: UsageBy, hour: number, key: string, account: string, model: string): string {
  switch (by) {
    case "key":
      return key;
    case "account":
      return account;
    case "model":
      return model;
    case "day":
      return iso(hour).slice(0, 10);
    case "hour":
      return `${iso(hour).slice(0, 13)}:00Z`;
  }
}

export class RedisUsage {
  private hours = new Map<number, Map<string, number>>();
  /** added while Redis was away: pushed when it returns */
  private pending: Delta = {};

  private constructor(private redis: RedisState) {}

  static async open(redis: RedisState): Promise<RedisUsage> {
    const u = new RedisUsage(redis);
    await u.load().catch(() => {});
    redis.onEvent("usage", (p) => u.apply(p as Delta));
    redis.onReconnect(() => u.push().then(() => u.load()));
    return u;
  }

  /** records this instance wrote to state.db: into the shared totals */
  add(records: UsageRecord[]): void {
    if (!records.length) return;
    const d: Delta = {};
    for (const r of records) {
      const hour = String(Math.floor(r.at / HOUR) * HOUR);
      const base = `${r.keyName}\t${r.account ?? "-"}\t${r.model ?? "-"}\t`;
      const row = (d[hour] ??= {});
      const values: Record<Metric, number> = {
        requests: 1,
        errors: r.status >= 400 ? 1 : 0,
        input: r.input,
        output: r.output,
        thinking: r.thinking,
        cached: r.cached,
      };
      for (const m of METRICS) if (values[m]) row[base + m] = (row[base + m] ?? 0) + values[m];
    }
    this.apply(d);
    if (!this.send(d)) merge(this.pending, d);
  }

  /** totals since `since` (rounded down to its hour), grouped like state.db's report */
  query(since: number, by: UsageBy, split?: UsageBy): UsageRow[] {
    const from = Math.floor(since / HOUR) * HOUR;
    const rows = new Map<string, UsageRow>();
    for (const [hour, fields] of this.hours) {
      if (hour < from) continue;
      for (const [field, n] of fields) {
        const [key, account, model, metric] = field.split("\t") as [string, string, string, Metric];
        const group = groupOf(by, hour, key, account, model);
        const sub = split ? groupOf(split, hour, key, account, model) : undefined;
        const id = sub === undefined ? group : `${group}\u0000${sub}`;
        let row = rows.get(id);
        if (!row) {
          row = {
            group,
            requests: 0,
            errors: 0,
            input: 0,
            output: 0,
            thinking: 0,
            cached: 0,
            ...(sub !== undefined ? { split: sub } : {}),
          };
          rows.set(id, row);
        }
        row[metric] += n;
      }
    }
    return [...rows.values()].sort((a, b) =>
      a.group === b.group ? (a.split ?? "").localeCompare(b.split ?? "") : a.group < b.group ? -1 : 1,
    );
  }

  private apply(d: Delta): void {
    for (const [h, fields] of Object.entries(d)) {
      const hour = Number(h);
      let m = this.hours.get(hour);
      if (!m) this.hours.set(hour, (m = new Map()));
      for (const [f, n] of Object.entries(fields)) m.set(f, (m.get(f) ?? 0) + n);
    }
  }

  /** HINCRBY every field, then tell the others; false when Redis is away */
  private send(d: Delta): boolean {
    if (!this.redis.healthy) return false;
    const away = () => Promise.reject(new Error("Redis is away"));
    const sent: Promise<unknown>[] = [];
    for (const [hour, fields] of Object.entries(d)) {
      const key = this.redis.keyOf(`usage:${hour}`);
      for (const [f, n] of Object.entries(fields)) sent.push(this.redis.command("HINCRBY", [key, f, String(n)]) ?? away());
      sent.push(this.redis.command("ZADD", [this.redis.keyOf("usage:hours"), hour, hour]) ?? away());
    }
    this.redis.publish("usage", d);
    // a connection cut halfway: counted again on reconnect (rather twice than never)
    void Promise.all(sent).catch(() => merge(this.pending, d));
    return true;
  }

  private async push(): Promise<void> {
    const d = this.pending;
    this.pending = {};
    if (Object.keys(d).length && !this.send(d)) merge(this.pending, d);
  }

  private async load(): Promise<void> {
    const hours = ((await this.redis.command("ZRANGE", [this.redis.keyOf("usage:hours"), "0", "-1"])) ?? []) as string[];
    const hashes = await Promise.all(hours.map((h) => this.redis.command("HGETALL", [this.redis.keyOf(`usage:${h}`)])));
    const next = new Map<number, Map<string, number>>();
    hours.forEach((h, i) => next.set(Number(h), new Map(Object.entries(hashOf(hashes[i])).map(([f, v]) => [f, Number(v) || 0]))));
    // what was added here and not yet in Redis stays counted
    this.hours = next;
    this.apply(this.pending);
  }
}

function merge(into: Delta, d: Delta): void {
  for (const [h, fields] of Object.entries(d)) {
    const row = (into[h] ??= {});
    for (const [f, n] of Object.entries(fields)) row[f] = (row[f] ?? 0) + n;
  }
}
