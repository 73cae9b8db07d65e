// Virtual keys shared by several instances through Redis: the definitions (the same interface as
// state.db's api_keys, read from a mirror) and the keys' counters — requests started and tokens charged
// reach the other instances' limiters on the changes channel, each key's token totals per UTC day and
// month are added up in Redis (HINCRBY), so budgets hold across instances and restarts, and a key's
// requests per minute and in flight are checked and counted in Redis itself (one Lua call per request),
// so no instance admits on a late count.
// Layout: `{prefix}keys` hash (id → JSON record), `{prefix}keyuse:{id}` hash (`d:{day start}`,
// `m:{month start}` → tokens), `{prefix}keyrate:{id}` hash (second → requests started in it),
// `{prefix}keyheld:{id}` hash (instance → "requests in flight:when it said so").
import type { KeyRecord, KeyStore } from "./keys";
import { hashOf, Script, type RedisState } from "./redis";

/** what one instance tells the others a key used */
export interface KeyUse {
  id: string;
  name: string;
  /** "start": a request was admitted; "tokens": upstream reported tokens */
  kind: "start" | "tokens";
  n: number;
  at: number;
}

/** what the shared counts said to one request (SharedCounts.admit) */
export interface SharedAnswer {
  /** counted (a start in the minute, and this instance's count in flight) or refused */
  ok: boolean;
  /** the limit that refused it */
  over?: "rpm" | "concurrency";
  /** requests started in the last minute before this one, and the oldest counted second */
  started: number;
  oldestSecond: number;
  /** the other instances' requests in flight */
  othersHeld: number;
}

/** The counts every instance shares (Redis): requests per minute and requests in flight, by key. */
export interface SharedCounts {
  /**
   * One request of the key starts unless it would pass `rpm` or `concurrency` (counting `held`, this
   * instance's requests in flight with it); undefined, or a promise of it, when the counts cannot be
   * reached: the local windows decide then.
   */
  admit(
    id: string,
    q: { now: number; rpm: number | null; concurrency: number | null; held: number },
  ): Promise<SharedAnswer | undefined> | undefined;
  /** this instance now holds `n` of the key's requests (said again every few seconds while n > 0: the lease) */
  held(id: string, n: number, now: number): void;
}

/** an instance's in-flight count not said again within this stops counting (it died holding requests) */
export const HELD_LEASE_MS = 15_000;

// One request of a key starts, for every instance at once, unless it would pass a limit (-1: none).
// KEYS: the key's minute (second → starts), its holders (instance → "in flight:ms when said").
// ARGV: now (ms), rpm, concurrency, this instance, its requests in flight with this one, the lease (ms).
// Seconds that left the minute and holders silent for a lease are dropped. Answers {1 counted / 0
// refused, 0 / 1 over rpm / 2 over concurrency, starts in the minute before, oldest counted second,
// the other holders' requests in flight}.
const ADMIT = new Script(`
local now = tonumber(ARGV[1])
local sec = math.floor(now / 1000)
local rpm, conc, lease = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[6])
local started, oldest, others = 0, sec, 0
if rpm >= 0 then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local s = tonumber(all[i])
    if s <= sec - 60 then redis.call('HDEL', KEYS[1], all[i])
    else
      started = started + tonumber(all[i + 1])
      if s < oldest then oldest = s end
    end
  end
  if started >= rpm then return {0, 1, started, oldest, 0} end
end
if conc >= 0 then
  local all = redis.call('HGETALL', KEYS[2])
  for i = 1, #all, 2 do
    if all[i] ~= ARGV[4] then
      local n, at = string.match(all[i + 1], '^(%d+):(%d+)$')
      if not n or tonumber(at) < now - lease then redis.call('HDEL', KEYS[2], all[i])
      else others = others + tonumber(n) end
    end
  end
  if others + tonumber(ARGV[5]) > conc then return {0, 2, started, oldest, others} end
  redis.call('HSET', KEYS[2], ARGV[4], ARGV[5] .. ':' .. ARGV[1])
  redis.call('PEXPIRE', KEYS[2], lease)
end
if rpm >= 0 then
  redis.call('HINCRBY', KEYS[1], sec, 1)
  redis.call('PEXPIRE', KEYS[1], 61000)
end
return {1, 0, started, oldest, others}`);

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
  /** token totals per key from Redis: `d:{day}` / `m:{month}` → tokens (today's and this month's) */
  private totals = new Map<string, Map<string, number>>();
  private byName?: { version: number; map: Map<string, KeyRecord> };
  private useListeners: ((u: KeyUse) => void)[] = [];
  private changeListeners: (() => void)[] = [];
  /** key id → shared total field (d:<day>, m:<month>) → tokens Redis has not taken yet */
  private owed = new Map<string, Map<string, number>>();
  private inflight = new Set<Promise<unknown>>();
  /** this instance, in the keys' in-flight counts */
  private readonly self = crypto.randomUUID().slice(0, 12);
  /** in-flight counts that could not be written (Redis away): written when it is back */
  private unsaid = new Map<string, { n: number; at: number }>();

  private constructor(
    private redis: RedisState,
    /** state.db's keys: the copy served when Redis is down at start, kept equal to Redis's */
    private local: KeyStore & { replaceAll?(records: KeyRecord[]): void },
  ) {}

  /** Redis's keys as last known, into state.db (a failed write only costs the copy's freshness) */
  private mirror(): void {
    try {
      this.local.replaceAll?.(this.list());
    } catch {
      // state.db busy or read-only: the next change tries again
    }
  }

  /** load the shared keys; the first instance on an empty Redis brings its state.db keys along */
  static async open(redis: RedisState, local: KeyStore, now = Date.now()): Promise<RedisKeys> {
    const k = new RedisKeys(redis, local);
    await k.load(local.list(), now).catch(() => {
      for (const r of local.list()) k.records.set(r.id, r); // Redis away at start: serve what state.db knows
    });
    redis.onEvent("keys", (p) => {
      const r = p as KeyRecord;
      k.records.set(r.id, r);
      k.version++;
      k.mirror();
      for (const fn of k.changeListeners) fn();
    });
    redis.onEvent("keyuse", (p) => {
      const u = p as KeyUse;
      if (u.kind === "tokens") k.addTotal(u.id, u.n, u.at);
      for (const fn of k.useListeners) fn(u);
    });
    // at every (re)connection our keys are offered to a Redis that has none — one reached for the first
    // time (Redis was away at start), or one restarted without its data — and a Redis that has keys wins
    redis.onReconnect(async () => {
      // counts in flight that changed while Redis was away (a request that ended meanwhile still counted there)
      for (const [id, h] of k.unsaid) if (k.sayHeld(id, h.n, h.at)) k.unsaid.delete(id);
      k.payOwed();
      await k.load(k.list(), Date.now());
    });
    return k;
  }

  private async load(seed: KeyRecord[], now: number): Promise<void> {
    const keysHash = this.redis.keyOf("keys");
    // what changed here while Redis was away goes to Redis, and is told to the others (who loaded
    // before it arrived would keep their copy: a key revoked here stayed live there)
    for (const id of this.dirty) {
      const r = this.records.get(id);
      if (!r) continue;
      await this.redis.command("HSET", [keysHash, id, JSON.stringify(r)]);
      this.redis.publish("keys", r);
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
    this.mirror();
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
    this.addShared(u.id, [
      [`d:${dayOf(u.at)}`, u.n],
      [`m:${monthOf(u.at)}`, u.n],
    ]);
  }

  /**
   * Tokens into the shared day and month totals. What Redis could not take (away, or the command failed)
   * is owed and added when it is back: the reload at reconnection would otherwise replace this
   * instance's totals with Redis's lower ones, and a key overspent its budget by what the outage used.
   */
  private addShared(id: string, adds: Iterable<[field: string, n: number]>): void {
    const key = this.redis.keyOf(`keyuse:${id}`);
    let sentAny = false;
    for (const [field, n] of adds) {
      const owe = () => {
        const fields = this.owed.get(id) ?? new Map<string, number>();
        fields.set(field, (fields.get(field) ?? 0) + n);
        this.owed.set(id, fields);
      };
      const sent = this.redis.command("HINCRBY", [key, field, String(n)]);
      if (!sent) {
        owe();
        continue;
      }
      sentAny = true;
      void sent.catch(owe);
    }
    // one expiry a use, for both totals
    if (sentAny) void this.redis.command("EXPIRE", [key, String(40 * 86_400)])?.catch(() => {});
  }

  /** the tokens owed since Redis went away (see addShared); sent ahead of the reload's reads, on the same connection */
  private payOwed(): void {
    const owed = this.owed;
    this.owed = new Map();
    for (const [id, fields] of owed) this.addShared(id, fields);
  }

  /** the requests per minute and in flight every instance checks and counts here (Limiter.share) */
  readonly counts: SharedCounts = {
    admit: (id, q) => {
      const args = [String(q.now), String(q.rpm ?? -1), String(q.concurrency ?? -1), this.self, String(q.held), String(HELD_LEASE_MS)];
      const sent = this.redis.script(ADMIT, [this.redis.keyOf(`keyrate:${id}`), this.redis.keyOf(`keyheld:${id}`)], args);
      return sent?.then(
        (r: unknown): SharedAnswer => {
          const [ok, over, started, oldest, others] = (r as unknown[]).map(Number);
          return {
            ok: ok === 1,
            over: over === 1 ? "rpm" : over === 2 ? "concurrency" : undefined,
            started: started!,
            oldestSecond: oldest!,
            othersHeld: others!,
          };
        },
        () => undefined,
      );
    },
    held: (id, n, now) => {
      if (this.sayHeld(id, n, now)) this.unsaid.delete(id);
      else this.unsaid.set(id, { n, at: now });
    },
  };

  /** write this instance's count in flight for a key (0: its field goes); false while Redis is away */
  private sayHeld(id: string, n: number, at: number): boolean {
    const key = this.redis.keyOf(`keyheld:${id}`);
    const sent = n > 0 ? this.redis.command("HSET", [key, this.self, `${n}:${at}`]) : this.redis.command("HDEL", [key, this.self]);
    if (!sent) return false;
    void sent.catch(() => {});
    if (n > 0) void this.redis.command("PEXPIRE", [key, String(HELD_LEASE_MS)])?.catch(() => {});
    return true;
  }

  /** another instance changed a key (a revocation takes effect here at once, not at the next reload) */
  onChange(fn: () => void): void {
    this.changeListeners.push(fn);
  }

  /** hear what the other instances' requests used */
  onUse(fn: (u: KeyUse) => void): void {
    this.useListeners.push(fn);
  }

  /** tokens a key used since the start of `since`'s day or month, across instances (undefined = not known here) */
  tokensSince(name: string, since: number): number | undefined {
    const k = this.named(name);
    const t = k && this.totals.get(k.id);
    if (!t) return undefined;
    return t.get(`d:${since}`) ?? t.get(`m:${since}`);
  }

  /** a key by name (a limited key's budget is checked on each of its requests): an index rebuilt when the keys change */
  private named(name: string): KeyRecord | undefined {
    if (this.byName?.version !== this.version)
      this.byName = { version: this.version, map: new Map([...this.records.values()].map((r) => [r.name, r])) };
    return this.byName.map.get(name);
  }

  private addTotal(id: string, n: number, at: number): void {
    let t = this.totals.get(id);
    if (!t) this.totals.set(id, (t = new Map()));
    const day = dayOf(at);
    const month = monthOf(at);
    // a new day or month: the ones before it are no longer asked for (kept, they grew by one a day and key)
    if (!t.has(`d:${day}`) || !t.has(`m:${month}`))
      for (const f of t.keys()) if (Number(f.slice(2)) < (f.startsWith("d:") ? day : month)) t.delete(f);
    for (const f of [`d:${day}`, `m:${month}`]) t.set(f, (t.get(f) ?? 0) + n);
  }

  private write(r: KeyRecord): void {
    this.records.set(r.id, r);
    this.version++;
    this.mirror();
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
