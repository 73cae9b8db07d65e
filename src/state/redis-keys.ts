// Virtual keys shared by several instances through Redis: the definitions (the same interface as
// state.db's api_keys, read from a mirror) and the keys' counters — requests started and tokens charged
// reach the other instances' limiters on the changes channel, each key's token totals per UTC day and
// month are added up in Redis (HINCRBY), so budgets hold across instances and restarts, and a key's
// requests per minute are counted in Redis itself (a Lua script), so no instance admits on a late count.
// Layout: `{prefix}keys` hash (id → JSON record), `{prefix}keyuse:{id}` hash (`d:{day start}`,
// `m:{month start}` → tokens), `{prefix}keyrate:{id}` hash (second → requests started in it).
import type { KeyRecord, KeyStore } from "./keys";
import { hashOf, type RedisState } from "./redis";

/** what one instance tells the others a key used */
export interface KeyUse {
  id: string;
  name: string;
  /**
   * "start": a request was admitted; "tokens": upstream reported tokens; "held": the sender now has `n`
   * of the key's requests in flight (a count, not a change: a lost message is mended by the next one)
   */
  kind: "start" | "tokens" | "held";
  n: number;
  at: number;
  /** the sending instance (for "held") */
  from?: string;
}

// One start against a key's sliding minute, counted for every instance at once: per-second counts in a
// hash; seconds that left the minute are dropped. Answers {1 = counted / 0 = over, count before, oldest
// counted second}.
const TAKE_START = `
local now = tonumber(ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
local count, oldest = 0, now
for i = 1, #all, 2 do
  local s = tonumber(all[i])
  if s <= now - 60 then redis.call('HDEL', KEYS[1], all[i])
  else
    count = count + tonumber(all[i + 1])
    if s < oldest then oldest = s end
  end
end
if count >= tonumber(ARGV[2]) then return {0, count, oldest} end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], 61000)
return {1, count, oldest}`;

const DAY = 86_400_000;
const dayOf = (t: number) => Math.floor(t / DAY) * DAY;
const monthOf = (t: number) => {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
};

export class RedisKeys implements KeyStore {
  private records = new Map<string, KeyRecord>();
  private version = 0;
  /** written while Redis was away: pushed when it returns */
  private dirty = new Set<string>();
  /** token totals per key from Redis: `d:{day}` / `m:{month}` → tokens */
  private totals = new Map<string, Map<string, number>>();
  private useListeners: ((u: KeyUse) => void)[] = [];
  private inflight = new Set<Promise<unknown>>();

  private constructor(private redis: RedisState) {}

  /** load the shared keys; the first instance on an empty Redis brings its state.db keys along */
  static async open(redis: RedisState, local: KeyStore, now = Date.now()): Promise<RedisKeys> {
    const k = new RedisKeys(redis);
    await k.load(local.list(), now).catch(() => {
      for (const r of local.list()) k.records.set(r.id, r); // Redis away at start: serve what state.db knows
    });
    redis.onEvent("keys", (p) => {
      const r = p as KeyRecord;
      k.records.set(r.id, r);
      k.version++;
    });
    redis.onEvent("keyuse", (p) => {
      const u = p as KeyUse;
      if (u.kind === "tokens") k.addTotal(u.id, u.n, u.at);
      for (const fn of k.useListeners) fn(u);
    });
    redis.onReconnect(() => k.load([], Date.now()));
    return k;
  }

  private async load(seed: KeyRecord[], now: number): Promise<void> {
    const keysHash = this.redis.keyOf("keys");
    for (const id of this.dirty) {
      const r = this.records.get(id);
      if (r) await this.redis.command("HSET", [keysHash, id, JSON.stringify(r)]);
    }
    this.dirty.clear();
    let stored = hashOf(await this.redis.command("HGETALL", [keysHash]));
    if (!Object.keys(stored).length && seed.length) {
      await this.redis.command("HSET", [keysHash, ...seed.flatMap((r) => [r.id, JSON.stringify(r)])]);
      stored = Object.fromEntries(seed.map((r) => [r.id, JSON.stringify(r)]));
    }
    const next = new Map<string, KeyRecord>();
    for (const [id, json] of Object.entries(stored)) {
      try {
        next.set(id, JSON.parse(json) as KeyRecord);
      } catch {
        /* a damaged record is skipped */
      }
    }
    this.records = next;
    this.version++;
    const fields = [`d:${dayOf(now)}`, `m:${monthOf(now)}`];
    await Promise.all(
      [...next.keys()].map(async (id) => {
        const v = ((await this.redis.command("HMGET", [this.redis.keyOf(`keyuse:${id}`), ...fields])) ?? []) as (string | null)[];
        this.totals.set(id, new Map(fields.map((f, i) => [f, Number(v[i] ?? 0) || 0])));
      }),
    );
  }

  // ---- KeyStore ----

  list(): KeyRecord[] {
    return [...this.records.values()].sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
  }

  insert(k: KeyRecord): void {
    this.write({ ...k });
  }

  update(k: KeyRecord): void {
    this.write({ ...k });
  }

  revoke(id: string, at: number): boolean {
    const r = this.records.get(id);
    if (!r || r.revokedAt !== null) return false;
    this.write({ ...r, revokedAt: at });
    return true;
  }

  dataVersion(): number {
    return this.version;
  }

  // ---- counters ----

  /** this instance used a key: tell the others, and add tokens to the shared totals */
  used(u: KeyUse): void {
    this.redis.publish("keyuse", u);
    if (u.kind !== "tokens") return;
    this.addTotal(u.id, u.n, u.at);
    const key = this.redis.keyOf(`keyuse:${u.id}`);
    void this.redis.command("HINCRBY", [key, `d:${dayOf(u.at)}`, String(u.n)])?.catch(() => {});
    void this.redis.command("HINCRBY", [key, `m:${monthOf(u.at)}`, String(u.n)])?.catch(() => {});
    void this.redis.command("EXPIRE", [key, String(40 * 86_400)])?.catch(() => {});
  }

  /** count one start against the key's requests per minute, across instances (undefined: Redis away) */
  takeStart(id: string, limit: number, now: number): Promise<{ ok: boolean; count: number; oldestSecond: number } | undefined> | undefined {
    const sent = this.redis.command("EVAL", [
      TAKE_START,
      "1",
      this.redis.keyOf(`keyrate:${id}`),
      String(Math.floor(now / 1000)),
      String(limit),
    ]);
    return sent?.then(
      (r: unknown) => {
        const [ok, count, oldest] = (r as unknown[]).map(Number);
        return { ok: ok === 1, count: count!, oldestSecond: oldest! };
      },
      () => undefined,
    );
  }

  /** hear what the other instances' requests used */
  onUse(fn: (u: KeyUse) => void): void {
    this.useListeners.push(fn);
  }

  /** tokens a key used since the start of `since`'s day or month, across instances (undefined = not known here) */
  tokensSince(name: string, since: number): number | undefined {
    const k = [...this.records.values()].find((r) => r.name === name);
    const t = k && this.totals.get(k.id);
    if (!t) return undefined;
    return t.get(`d:${since}`) ?? t.get(`m:${since}`);
  }

  private addTotal(id: string, n: number, at: number): void {
    let t = this.totals.get(id);
    if (!t) this.totals.set(id, (t = new Map()));
    for (const f of [`d:${dayOf(at)}`, `m:${monthOf(at)}`]) t.set(f, (t.get(f) ?? 0) + n);
  }

  private write(r: KeyRecord): void {
    this.records.set(r.id, r);
    this.version++;
    const sent = this.redis.command("HSET", [this.redis.keyOf("keys"), r.id, JSON.stringify(r)]);
    if (!sent) {
      this.dirty.add(r.id);
      return;
    }
    const p = sent.then(
      () => this.redis.publish("keys", r),
      () => this.dirty.add(r.id),
    );
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  /** wait until every definition written so far reached Redis (the CLI exits right after) */
  async settle(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight]);
  }
}
