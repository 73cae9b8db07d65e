// Usage totals shared by several instances through Redis: the hourly totals per key, account and model
// (state.db's usage_hourly, summed over every instance), so a report on any instance shows one total.
// Each instance still keeps its own raw rows in state.db. Increments are added with HINCRBY (they add
// up whatever the order), announced on the changes channel, and mirrored here for the last MIRROR_DAYS
// (a report on them reads memory; an older one reads Redis too). Layout: `{prefix}usage:{hour}` hash,
// field `key\taccount\tmodel\tmetric` → count; `{prefix}usage:hours` sorted set of the hours that have one.
import { ApiError } from "../core/errors";
import { hashOf, type RedisState } from "./redis";
import type { UsageBy, UsageRecord, UsageRow } from "./usage";

const HOUR = 3_600_000;
/**
 * How far back the totals are kept in memory: every report the dashboard offers (30 days at most) and the
 * CLI's usual ones. Kept for good, they grew by a few hundred fields an hour (tens of MB a year for a
 * small pool, hundreds for a large one), and each start loaded every hour ever.
 */
const MIRROR_DAYS = 35;
const MIRROR_MS = MIRROR_DAYS * 24 * HOUR;
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

  /** the oldest hour kept in memory */
  private mirrorFrom = 0;

  private constructor(
    private redis: RedisState,
    private now: () => number,
  ) {}

  static async open(redis: RedisState, now: () => number = Date.now): Promise<RedisUsage> {
    const u = new RedisUsage(redis, now);
    await u.load().catch(() => {});
    redis.onEvent("usage", (p) => u.apply(p as Delta));
    redis.onReconnect(() => u.push().then(() => u.load()));
    return u;
  }

  /** how many hours are in memory (bounded by MIRROR_DAYS) */
  get mirroredHours(): number {
    return this.hours.size;
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

  /**
   * Totals since `since` (rounded down to its hour), grouped like state.db's report: from memory, and
   * for the hours before the mirror's from Redis — a 503 while Redis is away, not a report that leaves
   * those hours out.
   */
  async query(since: number, by: UsageBy, split?: UsageBy): Promise<UsageRow[]> {
    const from = Math.floor(since / HOUR) * HOUR;
    const older = from < this.mirrorFrom ? await this.fetchOlder(from) : new Map<number, Map<string, number>>();
    const rows = new Map<string, UsageRow>();
    for (const hours of [older, this.hours])
      for (const [hour, fields] of hours) {
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
      if (hour < this.mirrorFrom) continue; // in Redis; a report that old reads it there
      let m = this.hours.get(hour);
      if (!m) {
        this.hours.set(hour, (m = new Map()));
        this.trim();
      }
      for (const [f, n] of Object.entries(fields)) m.set(f, (m.get(f) ?? 0) + n);
    }
  }

  /** hours that left the mirror's window leave memory (once an hour: a new hour starts the trim) */
  private trim(): void {
    this.mirrorFrom = Math.floor((this.now() - MIRROR_MS) / HOUR) * HOUR;
    for (const hour of this.hours.keys()) if (hour < this.mirrorFrom) this.hours.delete(hour);
  }

  /** the hours from `from` to the mirror's first, from Redis; ApiError 503 while it is away or failing */
  private async fetchOlder(from: number): Promise<Map<number, Map<string, number>>> {
    try {
      return await this.fetch(from, this.mirrorFrom - 1);
    } catch {
      throw new ApiError(
        503,
        `since reaches back more than ${MIRROR_DAYS} days: usage totals that old are read from Redis, which is not reachable now; ask for the last ${MIRROR_DAYS} days or try again`,
        { param: "since", reason: "shared_state_unavailable", retryAfter: 5 },
      );
    }
  }

  /**
   * the hours from `from` to `to` (inclusive) as Redis has them; throws while Redis is away (an empty
   * answer would read as no usage, and `load` would replace the mirror with it)
   */
  private async fetch(from: number, to: number): Promise<Map<number, Map<string, number>>> {
    const send = (name: string, args: string[]): Promise<any> => {
      const reply = this.redis.command(name, args);
      if (!reply) throw new Error("Redis is away");
      return reply;
    };
    const hours = ((await send("ZRANGEBYSCORE", [this.redis.keyOf("usage:hours"), String(from), String(to)])) ?? []) as string[];
    const hashes = await Promise.all(hours.map((h) => send("HGETALL", [this.redis.keyOf(`usage:${h}`)])));
    const out = new Map<number, Map<string, number>>();
    hours.forEach((h, i) => out.set(Number(h), new Map(Object.entries(hashOf(hashes[i])).map(([f, v]) => [f, Number(v) || 0]))));
    return out;
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

  /** the mirror's window from Redis (at start, and after Redis was away) */
  private async load(): Promise<void> {
    this.trim();
    const next = await this.fetch(this.mirrorFrom, Number.MAX_SAFE_INTEGER);
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
