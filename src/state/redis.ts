// The state engine on Redis, for several instances sharing one pool: the second StateStore. Reads are
// synchronous from a local mirror (the scheduler reads state on every request); the mirror is loaded at
// open, written through to Redis at once (not awaited), and kept current by a pub/sub channel that
// carries every write's new values, so another instance's cooldown is in the mirror within
// milliseconds. While Redis is unreachable the instance keeps serving from the mirror (degraded),
// remembers what it wrote, and on reconnect pushes that and reloads the rest.
// Layout: `{prefix}acct:{id}` hash per account, `{prefix}accts` set of ids, `{prefix}meta` hash,
// `{prefix}lease:{name}` leases (SET NX PX), channel `{prefix}changes`. See docs/state.md.
import { RedisClient } from "bun";
import type { AccountRow, CounterDelta, Cooldown, QuotaEntry, StateStore } from "./types";
import { redactRedisUrl, redisUrlWith } from "./redis-url";

export interface RedisStateOptions {
  url: string;
  prefix: string;
  log: { info(msg: string, f?: Record<string, unknown>): void; warn(msg: string, f?: Record<string, unknown>): void };
  /** how often a lost connection is retried (default 1000 ms) */
  retryMs?: number;
  /** how long open waits for Redis before starting degraded (default 3000 ms) */
  connectTimeoutMs?: number;
  /** how long a command may go unanswered before Redis counts as away (default 3000 ms) */
  commandTimeoutMs?: number;
}

/**
 * `client` with every command (send, publish) failing after `ms` unanswered, and `onStall` told of the
 * first: a Redis that stops answering but keeps its socket open (paused, swapping, a dead peer behind a
 * proxy) would otherwise hold every request that waits on it, while the socket says all is well.
 */
function stallGuard(client: RedisClient, ms: number, onStall: (e: Error) => void): RedisClient {
  const guard =
    <A extends unknown[]>(call: (...a: A) => Promise<any>, what: (...a: A) => string) =>
    (...a: A): Promise<any> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const e = new Error(`Redis did not answer ${what(...a)} within ${ms} ms`);
          reject(e);
          onStall(e);
        }, ms);
        call(...a).then(
          (v) => (clearTimeout(timer), resolve(v)),
          (e) => (clearTimeout(timer), reject(e)),
        );
      });
  client.send = guard(client.send.bind(client), (name: string, _args: string[]) => name);
  client.publish = guard(client.publish.bind(client), (_channel: string, _message: string) => "PUBLISH");
  return client;
}

/** one message on the changes channel: who wrote, and the new values */
interface Change {
  w: string;
  id?: string;
  set?: Record<string, string>;
  inc?: { r: number; f: number; l?: number };
  del?: 1;
  meta?: string;
  v?: string;
  /** a custom event (key definitions, key counters: redis-keys.ts): its topic and payload */
  e?: string;
  p?: unknown;
  /** a session binding: key, account id, when */
  s?: string;
  a?: string;
  t?: number;
  /** the version of the cooldowns in `set` (newer ones only are applied) */
  cv?: number;
}

export type SessionListener = (key: string, id: string, at: number) => void;

/** a down connection is logged at most this often */
const LOG_EVERY_MS = 60_000;
/** session bindings kept for Redis's return: beyond this the oldest go (they are re-made on their next turn) */
const MAX_PENDING_SESSIONS = 10_000;
const ROW_FIELDS = ["token", "quota", "cooldowns", "requests", "failures", "lastUsedAt"] as const;

/**
 * A Lua script run by its SHA-1 (EVALSHA): the source goes to Redis only when Redis does not have it
 * (its first use, or after a Redis restart or SCRIPT FLUSH), instead of with every call — a limited key's
 * every request runs one (src/state/redis-keys.ts).
 */
export class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = new Bun.CryptoHasher("sha1").update(source).digest("hex");
  }

  /** runs it on `cmd` with these keys and arguments */
  run(cmd: RedisClient, keys: string[], args: string[]): Promise<any> {
    const rest = [String(keys.length), ...keys, ...args];
    return cmd.send("EVALSHA", [this.sha, ...rest]).catch((e: unknown) => {
      if (!String((e as Error)?.message ?? e).includes("NOSCRIPT")) throw e;
      return cmd.send("EVAL", [this.source, ...rest]); // EVAL keeps it: the next EVALSHA finds it
    });
  }
}

// counters add up across instances; last use never goes backwards
const ADD_COUNTERS = new Script(`
redis.call('HINCRBY', KEYS[1], 'requests', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'failures', ARGV[2])
local l = tonumber(ARGV[3])
if l > 0 and l > tonumber(redis.call('HGET', KEYS[1], 'lastUsedAt') or '0') then redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[3]) end
return 1`);
// One account's cooldowns changed by model (ARGV[1]: those set, ARGV[2]: the models dropped), so that two
// instances cooling different models at once both keep theirs: a write of the whole list lost the other's.
// Counts a version, announces the result (the writer's id ARGV[3], the account ARGV[4]), returns both.
const CHANGE_COOLDOWNS = new Script(`
local cur = {}
local raw = redis.call('HGET', KEYS[1], 'cooldowns')
if raw then
  local ok, v = pcall(cjson.decode, raw)
  if ok and type(v) == 'table' then cur = v end
end
local by, order = {}, {}
local function put(c)
  if by[c.model] == nil then table.insert(order, c.model) end
  by[c.model] = c
end
for _, c in ipairs(cur) do put(c) end
for _, m in ipairs(cjson.decode(ARGV[2])) do by[m] = false end
for _, c in ipairs(cjson.decode(ARGV[1])) do put(c) end
local list = {}
for _, m in ipairs(order) do if by[m] then table.insert(list, by[m]) end end
local out = '[]'
if #list > 0 then out = cjson.encode(list) end
local v = redis.call('HINCRBY', KEYS[1], 'cooldownsVersion', 1)
redis.call('HSET', KEYS[1], 'cooldowns', out)
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('PUBLISH', KEYS[3], cjson.encode({w = ARGV[3], id = ARGV[4], set = {cooldowns = out}, cv = v}))
return {out, v}`);
// a lease is released only by its holder (a lease that ran out may already be someone else's)
const RELEASE = new Script(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`);

function blankRow(): AccountRow {
  return { quota: null, cooldowns: [], requests: 0, failures: 0 };
}

function parse<T>(text: string | undefined | null, fallback: T): T {
  if (text === undefined || text === null || text === "") return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback; // a damaged field costs that field only: it is re-learned
  }
}

/** the hash fields of a row (all of them, or those named) */
function fieldsOf(row: AccountRow, only?: readonly string[]): Record<string, string> {
  const all: Record<string, string> = {
    token: JSON.stringify({ t: row.accessToken ?? null, e: row.accessTokenExpiresAt ?? null }),
    quota: JSON.stringify(row.quota),
    cooldowns: JSON.stringify(row.cooldowns),
    requests: String(row.requests),
    failures: String(row.failures),
    lastUsedAt: String(row.lastUsedAt ?? 0),
  };
  return only ? Object.fromEntries(only.map((k) => [k, all[k]!])) : all;
}

/** hash fields onto a row (fields absent keep what the row had) */
function applyFields(row: AccountRow, f: Record<string, string>): AccountRow {
  const out = { ...row };
  if (f.token !== undefined) {
    const t = parse<{ t: string | null; e: number | null }>(f.token, { t: null, e: null });
    out.accessToken = t.t ?? undefined;
    out.accessTokenExpiresAt = t.e ?? undefined;
  }
  if (f.quota !== undefined) out.quota = parse<Record<string, QuotaEntry> | null>(f.quota, null);
  if (f.cooldowns !== undefined) out.cooldowns = parse<Cooldown[]>(f.cooldowns, []);
  if (f.requests !== undefined) out.requests = Number(f.requests) || 0;
  if (f.failures !== undefined) out.failures = Number(f.failures) || 0;
  if (f.lastUsedAt !== undefined) out.lastUsedAt = Number(f.lastUsedAt) || undefined;
  return out;
}

/** a reply of HGETALL (a plain object, or a flat array from older protocol versions) */
export function hashOf(reply: unknown): Record<string, string> {
  if (Array.isArray(reply)) {
    const o: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) o[String(reply[i])] = String(reply[i + 1]);
    return o;
  }
  return (reply ?? {}) as Record<string, string>;
}

const clientOptions = (timeout: number) => ({
  autoReconnect: false,
  enableOfflineQueue: false,
  connectionTimeout: timeout,
  maxRetries: 0,
});

export class RedisState implements StateStore {
  readonly path: string;
  private readonly writer = crypto.randomUUID().slice(0, 12);
  private rows = new Map<string, AccountRow>();
  /** each row's cooldowns version (CHANGE_COOLDOWNS): an older announcement arriving late is not applied */
  private cooldownsVersion = new Map<string, number>();
  private meta = new Map<string, string>();
  private changedRows = new Set<string>();
  private metaChanged = false;
  private listeners: (() => void)[] = [];
  private sessionListeners: SessionListener[] = [];
  private eventListeners = new Map<string, ((payload: unknown) => void)[]>();
  private reconnectListeners: (() => Promise<void>)[] = [];
  private cmd: RedisClient | undefined;
  private sub: RedisClient | undefined;
  private up = false;
  private connecting: Promise<boolean> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private downLoggedAt = 0;
  // what this instance wrote while Redis was away, pushed when it returns
  private dirty = new Map<string, Set<string>>();
  private pendingCounters = new Map<string, CounterDelta>();
  private dirtyMeta = new Set<string>();
  private removed = new Set<string>();
  /** session bindings made while Redis was away (the most recent MAX_PENDING_SESSIONS) */
  private pendingSessions = new Map<string, { id: string; at: number; ttlMs: number }>();

  private constructor(private opts: RedisStateOptions) {
    this.path = redactRedisUrl(opts.url);
  }

  /** from the configuration (`state.redisUrl`, `state.redisPrefix`), with SWITCHYARD_REDIS_PASSWORD */
  static fromConfig(
    state: { redisUrl: string; redisPrefix: string },
    log: RedisStateOptions["log"],
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<RedisState> {
    return RedisState.open({ url: redisUrlWith(state.redisUrl, env.SWITCHYARD_REDIS_PASSWORD), prefix: state.redisPrefix, log });
  }

  /** connect and load every row; Redis unreachable → a degraded store that keeps trying */
  static async open(opts: RedisStateOptions): Promise<RedisState> {
    const s = new RedisState(opts);
    const ok = await s.connect();
    if (!ok) s.noteDown(new Error("not reachable"));
    s.timer = setInterval(() => {
      if (!s.up && !s.closed) void s.connect();
    }, opts.retryMs ?? 1000);
    (s.timer as any).unref?.();
    return s;
  }

  /** true while Redis answers; false = serving from the local mirror */
  get healthy(): boolean {
    return this.up;
  }

  // ---- StateStore: reads from the mirror ----

  loadAll(): Map<string, AccountRow> {
    return new Map(this.rows);
  }

  load(id: string): AccountRow | undefined {
    return this.rows.get(id);
  }

  loadMany(ids: string[]): Map<string, AccountRow> {
    const out = new Map<string, AccountRow>();
    for (const id of ids) {
      const r = this.rows.get(id);
      if (r) out.set(id, r);
    }
    return out;
  }

  getMeta<T>(key: string): T | undefined {
    const v = this.meta.get(key);
    return v === undefined ? undefined : parse<T | undefined>(v, undefined);
  }

  othersChanges(): { rows: Map<string, AccountRow>; meta: boolean } | undefined {
    if (!this.changedRows.size && !this.metaChanged) return undefined;
    const rows = this.loadMany([...this.changedRows]);
    const meta = this.metaChanged;
    this.changedRows.clear();
    this.metaChanged = false;
    return { rows, meta };
  }

  /** told (once per burst) when another instance's writes reached the mirror */
  onOthers(fn: () => void): void {
    this.listeners.push(fn);
  }

  // ---- StateStore: writes (mirror now, Redis right after) ----

  put(id: string, row: AccountRow): void {
    this.rows.set(id, { ...row });
    this.removed.delete(id);
    this.writeFields(id, [...ROW_FIELDS]);
  }

  putMany(rows: [string, AccountRow][]): void {
    for (const [id, row] of rows) this.put(id, row);
  }

  saveToken(id: string, token: string | undefined, expiresAt: number | undefined): void {
    this.patch(id, { accessToken: token, accessTokenExpiresAt: expiresAt }, ["token"]);
  }

  saveQuota(id: string, quota: Record<string, QuotaEntry> | null): void {
    this.patch(id, { quota }, ["quota"]);
  }

  saveCooldowns(id: string, cooldowns: Cooldown[]): void {
    const before = this.rows.get(id)?.cooldowns ?? [];
    this.rows.set(id, { ...(this.rows.get(id) ?? blankRow()), cooldowns });
    const cmd = this.cmd;
    if (!this.up || !cmd) return this.markDirty(id, ["cooldowns"]);
    const same = (a: Cooldown, b: Cooldown) => a.model === b.model && a.until === b.until && a.reason === b.reason;
    const set = cooldowns.filter((c) => !before.some((b) => same(b, c)));
    const drop = before.filter((b) => !cooldowns.some((c) => c.model === b.model)).map((b) => b.model);
    const keys = [this.key(id), this.k("accts"), this.k("changes")];
    CHANGE_COOLDOWNS.run(cmd, keys, [JSON.stringify(set), JSON.stringify(drop), this.writer, id]).then(
      ([out, v]: [string, number]) => {
        // what Redis holds now, with what other instances wrote meanwhile (unless a newer one arrived first)
        if (this.applyCooldowns(id, out, Number(v))) {
          this.changedRows.add(id);
          this.notify();
        }
      },
      () => this.markDirty(id, ["cooldowns"]),
    );
  }

  /** a cooldowns list of version `v` onto the mirror, unless it already has that one or a newer one */
  private applyCooldowns(id: string, json: string, v: number): boolean {
    if (v <= (this.cooldownsVersion.get(id) ?? 0)) return false;
    this.cooldownsVersion.set(id, v);
    this.rows.set(id, applyFields(this.rows.get(id) ?? blankRow(), { cooldowns: json }));
    return true;
  }

  addCounters(deltas: CounterDelta[]): void {
    for (const d of deltas) {
      const r = this.rows.get(d.id) ?? blankRow();
      this.rows.set(d.id, {
        ...r,
        requests: r.requests + d.requests,
        failures: r.failures + d.failures,
        lastUsedAt: Math.max(r.lastUsedAt ?? 0, d.lastUsedAt ?? 0) || undefined,
      });
      if (!this.up) {
        this.addPending(d);
        continue;
      }
      const l = d.lastUsedAt ?? 0;
      this.run(
        [
          (cmd) => ADD_COUNTERS.run(cmd, [this.key(d.id)], [String(d.requests), String(d.failures), String(l)]),
          ["SADD", [this.k("accts"), d.id]],
        ],
        this.message({ id: d.id, inc: { r: d.requests, f: d.failures, l } }),
        () => this.addPending(d),
      );
    }
  }

  remove(id: string): void {
    this.rows.delete(id);
    this.cooldownsVersion.delete(id);
    this.dirty.delete(id);
    this.pendingCounters.delete(id);
    if (!this.up) {
      this.removed.add(id);
      return;
    }
    this.run(
      [
        ["DEL", [this.key(id)]],
        ["SREM", [this.k("accts"), id]],
      ],
      this.message({ id, del: 1 }),
      () => this.removed.add(id),
    );
  }

  setMeta(key: string, value: unknown): void {
    const v = JSON.stringify(value);
    this.meta.set(key, v);
    if (!this.up) {
      this.dirtyMeta.add(key);
      return;
    }
    this.run([["HSET", [this.k("meta"), key, v]]], this.message({ meta: key, v }), () => this.dirtyMeta.add(key));
  }

  // ---- shared only ----

  /** take the named lease for `ms` ("held": another instance has it; "unavailable": Redis is away) */
  async lease(name: string, ms: number): Promise<"taken" | "held" | "unavailable"> {
    if (!this.up || !this.cmd) return "unavailable";
    try {
      const r = await this.cmd.send("SET", [this.k(`lease:${name}`), this.writer, "NX", "PX", String(Math.max(1, Math.round(ms)))]);
      return r === "OK" ? "taken" : "held";
    } catch {
      return "unavailable";
    }
  }

  /**
   * A session binding for every instance; Redis keeps it for `ttlMs` after its last use. A `fresh` one
   * (the conversation's first turn here) is set only if no instance bound the conversation first (SET
   * NX): two instances taking first turns at once would otherwise each adopt the other's and stay split.
   * The loser takes the winner's binding.
   */
  shareSession(key: string, id: string, at: number, ttlMs: number, fresh = false): void {
    if (!this.up) {
      // local meanwhile; offered to the others when Redis is back (a binding one of them made first wins)
      this.pendingSessions.delete(key);
      this.pendingSessions.set(key, { id, at, ttlMs });
      if (this.pendingSessions.size > MAX_PENDING_SESSIONS) this.pendingSessions.delete(this.pendingSessions.keys().next().value!);
      return;
    }
    const cmd = this.cmd;
    if (fresh && cmd) {
      void this.claimSession(cmd, key, { id, at, ttlMs }).catch(() => {});
      return;
    }
    const v = JSON.stringify({ a: id, t: at });
    const args = [this.k(`sess:${key}`), v, ...(ttlMs > 0 ? ["PX", String(Math.round(ttlMs))] : [])];
    this.run([["SET", args]], this.message({ s: key, a: id, t: at }), () => {});
  }

  /** SET NX a binding and announce it, or take the binding another instance made first */
  private async claimSession(cmd: RedisClient, key: string, b: { id: string; at: number; ttlMs: number }): Promise<void> {
    const px = b.ttlMs > 0 ? ["PX", String(Math.round(b.ttlMs))] : [];
    const set = await cmd.send("SET", [this.k(`sess:${key}`), JSON.stringify({ a: b.id, t: b.at }), "NX", ...px]);
    if (set === "OK") {
      await cmd.publish(this.k("changes"), this.message({ s: key, a: b.id, t: b.at }));
      return;
    }
    const theirs = parse<{ a?: string; t?: number } | undefined>(await cmd.send("GET", [this.k(`sess:${key}`)]), undefined);
    if (!this.closed && theirs?.a && theirs.t && theirs.a !== b.id) for (const fn of this.sessionListeners) fn(key, theirs.a, theirs.t);
  }

  /** tell every other instance about something (a topic of its own: key definitions, key counters) */
  publish(topic: string, payload: unknown): void {
    if (this.up && this.cmd) void this.cmd.publish(this.k("changes"), this.message({ e: topic, p: payload })).catch(() => {});
  }

  /** hear another instance's events on `topic` */
  onEvent(topic: string, fn: (payload: unknown) => void): void {
    const list = this.eventListeners.get(topic) ?? [];
    list.push(fn);
    this.eventListeners.set(topic, list);
  }

  /** run after every connection made after `open` (a reconnect, or the first one if Redis was down at start): push what was kept, reload the rest */
  onReconnect(fn: () => Promise<void>): void {
    this.reconnectListeners.push(fn);
  }

  /** one Redis command, or undefined while Redis is away */
  command(name: string, args: string[]): Promise<any> | undefined {
    return this.up && this.cmd ? this.cmd.send(name, args) : undefined;
  }

  /** one Lua script (by its digest), or undefined while Redis is away */
  script(script: Script, keys: string[], args: string[]): Promise<any> | undefined {
    return this.up && this.cmd ? script.run(this.cmd, keys, args) : undefined;
  }

  /** a Redis key under this pool's prefix */
  keyOf(name: string): string {
    return this.k(name);
  }

  /** told of every binding another instance makes */
  onSession(fn: SessionListener): void {
    this.sessionListeners.push(fn);
  }

  /** the bindings Redis holds now (an instance that starts late learns the conversations under way) */
  async sessions(): Promise<{ key: string; id: string; at: number }[]> {
    const cmd = this.cmd;
    if (!this.up || !cmd) return [];
    const out: { key: string; id: string; at: number }[] = [];
    const pattern = this.k("sess:*");
    let cursor = "0";
    do {
      const [next, keys] = (await cmd.send("SCAN", [cursor, "MATCH", pattern, "COUNT", "1000"])) as [string, string[]];
      cursor = String(next);
      if (keys.length) {
        const values = (await cmd.send("MGET", keys)) as (string | null)[];
        keys.forEach((k, i) => {
          const v = parse<{ a?: string; t?: number }>(values[i], {});
          if (v.a && v.t) out.push({ key: k.slice(pattern.length - 1), id: v.a, at: v.t });
        });
      }
    } while (cursor !== "0");
    return out;
  }

  async release(name: string): Promise<void> {
    if (!this.up || !this.cmd) return; // the lease runs out on its own
    await RELEASE.run(this.cmd, [this.k(`lease:${name}`)], [this.writer]).catch(() => {});
  }

  /** read one account's row from Redis now (a lease holder checks what the last holder left) */
  async reload(id: string): Promise<AccountRow | undefined> {
    if (!this.up || !this.cmd) return this.rows.get(id);
    try {
      const h = hashOf(await this.cmd.send("HGETALL", [this.key(id)]));
      if (!Object.keys(h).length) return this.rows.get(id);
      const row = applyFields(blankRow(), h);
      this.rows.set(id, row);
      this.cooldownsVersion.set(id, Number(h.cooldownsVersion) || 0);
      return row;
    } catch {
      return this.rows.get(id);
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const cmd = this.cmd;
    const sub = this.sub;
    this.cmd = this.sub = undefined;
    this.up = false;
    // let written-through commands reach Redis before the socket closes
    setTimeout(() => {
      cmd?.close();
      sub?.close();
    }, 50);
  }

  // ---- connection ----

  private connect(): Promise<boolean> {
    this.connecting ??= this.doConnect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async doConnect(): Promise<boolean> {
    const timeout = this.opts.connectTimeoutMs ?? 3000;
    let lost = (_e: Error) => {};
    const cmd = stallGuard(new RedisClient(this.opts.url, clientOptions(timeout)), this.opts.commandTimeoutMs ?? 3000, (e) => lost(e));
    const sub = new RedisClient(this.opts.url, clientOptions(timeout));
    try {
      await Promise.all([cmd.connect(), sub.connect()]);
      await sub.subscribe(this.k("changes"), (m) => this.onMessage(m));
      if (this.closed) throw new Error("closed");
      this.cmd = cmd;
      this.sub = sub;
      lost = (e: Error) => {
        if (this.cmd !== cmd) return;
        this.up = false;
        this.cmd = this.sub = undefined;
        cmd.close();
        sub.close();
        this.noteDown(e);
      };
      cmd.onclose = lost;
      sub.onclose = lost;
      await this.catchUp();
      this.up = true;
      // none are registered yet at the connection `open` makes; a gateway that started while Redis was
      // down has them at its first connection, and needs them (what it did meanwhile was never shared)
      for (const fn of this.reconnectListeners) await fn().catch(() => {});
      if (this.downLoggedAt) this.opts.log.info("shared state (Redis) is back; caught up", { redis: this.path });
      this.downLoggedAt = 0;
      return true;
    } catch (e) {
      if (this.cmd === cmd) this.cmd = this.sub = undefined;
      cmd.close();
      sub.close();
      if (!this.closed) this.noteDown(e as Error);
      return false;
    }
  }

  private noteDown(e: Error): void {
    const now = Date.now();
    if (now - this.downLoggedAt < LOG_EVERY_MS) return;
    this.downLoggedAt = now;
    this.opts.log.warn("shared state (Redis) unreachable; serving from the last known state with local limits", {
      redis: this.path,
      error: e?.message,
    });
  }

  /** push what was written while away, then reload every row (other instances wrote too) */
  private async catchUp(): Promise<void> {
    const cmd = this.cmd!;
    // take what is owed now: writes made while this runs are owed again if it fails
    const dirty = this.dirty;
    const pending = this.pendingCounters;
    const removed = this.removed;
    const dirtyMeta = this.dirtyMeta;
    this.dirty = new Map();
    this.pendingCounters = new Map();
    this.removed = new Set();
    this.dirtyMeta = new Set();
    const sessions = this.pendingSessions;
    this.pendingSessions = new Map();
    try {
      await this.push(cmd, dirty, pending, removed, dirtyMeta);
      await this.pushSessions(cmd, sessions);
    } catch (e) {
      for (const [id, f] of dirty) this.markDirty(id, [...f]);
      for (const d of pending.values()) this.addPending(d);
      for (const id of removed) this.removed.add(id);
      for (const k of dirtyMeta) this.dirtyMeta.add(k);
      // those kept, then those made meanwhile (newer: later in line), under the cap (the oldest go)
      const merged = new Map(sessions);
      for (const [k, b] of this.pendingSessions) {
        merged.delete(k);
        merged.set(k, b);
      }
      for (const k of merged.keys()) {
        if (merged.size <= MAX_PENDING_SESSIONS) break;
        merged.delete(k);
      }
      this.pendingSessions = merged;
      throw e;
    }
    await this.reloadAll(cmd);
  }

  /**
   * The bindings made while away, where no other instance bound the conversation meanwhile (SET NX),
   * announced; where one did, its binding stays and this instance takes it when it reads them (the pool
   * re-reads the bindings after every reconnect).
   */
  private async pushSessions(cmd: RedisClient, sessions: Map<string, { id: string; at: number; ttlMs: number }>): Promise<void> {
    await Promise.all([...sessions].map(([key, b]) => this.claimSession(cmd, key, b)));
  }

  private async push(
    cmd: RedisClient,
    dirty: Map<string, Set<string>>,
    pending: Map<string, CounterDelta>,
    removed: Set<string>,
    dirtyMeta: Set<string>,
  ): Promise<void> {
    const ids = new Set([...dirty.keys(), ...pending.keys()]);
    const remote = new Map<string, Record<string, string>>();
    await Promise.all([...ids].map(async (id) => remote.set(id, hashOf(await cmd.send("HGETALL", [this.key(id)])))));
    const writes: Promise<unknown>[] = [];
    for (const [id, fields] of dirty) {
      const mine = this.rows.get(id);
      if (!mine) continue;
      const theirs = applyFields(blankRow(), remote.get(id) ?? {});
      const row = { ...mine };
      // cooldowns learned on either side both hold; the token that lives longer wins
      if (fields.has("cooldowns")) row.cooldowns = mergeCooldowns(mine.cooldowns, theirs.cooldowns);
      if (fields.has("token") && (theirs.accessTokenExpiresAt ?? 0) > (mine.accessTokenExpiresAt ?? 0)) {
        row.accessToken = theirs.accessToken;
        row.accessTokenExpiresAt = theirs.accessTokenExpiresAt;
      }
      const f = fieldsOf(
        row,
        [...fields].filter((x) => x !== "requests" && x !== "failures" && x !== "lastUsedAt"),
      );
      if (Object.keys(f).length) writes.push(cmd.send("HSET", [this.key(id), ...Object.entries(f).flat()]));
      writes.push(cmd.send("SADD", [this.k("accts"), id]));
    }
    for (const d of pending.values())
      writes.push(
        ADD_COUNTERS.run(cmd, [this.key(d.id)], [String(d.requests), String(d.failures), String(d.lastUsedAt ?? 0)]),
        cmd.send("SADD", [this.k("accts"), d.id]),
      );
    for (const id of removed) writes.push(cmd.send("DEL", [this.key(id)]), cmd.send("SREM", [this.k("accts"), id]));
    for (const key of dirtyMeta) writes.push(cmd.send("HSET", [this.k("meta"), key, this.meta.get(key)!]));
    await Promise.all(writes);
    if (writes.length) await cmd.publish(this.k("changes"), this.message({}));
  }

  private async reloadAll(cmd: RedisClient): Promise<void> {
    const ids = ((await cmd.send("SMEMBERS", [this.k("accts")])) ?? []) as string[];
    const hashes = await Promise.all(ids.map((id) => cmd.send("HGETALL", [this.key(id)])));
    const next = new Map<string, AccountRow>();
    ids.forEach((id, i) => {
      const h = hashOf(hashes[i]);
      if (!Object.keys(h).length) return;
      next.set(id, applyFields(blankRow(), h));
      this.cooldownsVersion.set(id, Number(h.cooldownsVersion) || 0);
    });
    // rows written here while this ran keep what was written
    for (const id of this.dirty.keys()) {
      const mine = this.rows.get(id);
      if (mine) next.set(id, mine);
    }
    for (const id of new Set([...this.rows.keys(), ...next.keys()])) this.changedRows.add(id);
    this.rows = next;
    const meta = hashOf(await cmd.send("HGETALL", [this.k("meta")]));
    this.meta = new Map(Object.entries(meta));
    this.metaChanged = true;
    this.notify();
  }

  // ---- pub/sub ----

  private onMessage(text: string): void {
    // closed: the subscription lingers for a moment (close lets written commands out), its news does not
    if (this.closed) return;
    const m = parse<Change | undefined>(text, undefined);
    if (!m || m.w === this.writer) return;
    if (m.e !== undefined) {
      for (const fn of this.eventListeners.get(m.e) ?? []) fn(m.p);
      return;
    }
    if (m.s !== undefined && m.a && m.t) {
      for (const fn of this.sessionListeners) fn(m.s, m.a, m.t);
      return;
    }
    if (m.meta !== undefined && m.v !== undefined) {
      this.meta.set(m.meta, m.v);
      this.metaChanged = true;
    } else if (m.id) {
      if (m.del) {
        this.rows.delete(m.id);
        this.cooldownsVersion.delete(m.id);
      } else if (m.cv !== undefined && m.set?.cooldowns !== undefined) {
        if (!this.applyCooldowns(m.id, m.set.cooldowns, m.cv)) return;
      } else {
        let row = this.rows.get(m.id) ?? blankRow();
        if (m.set) row = applyFields(row, m.set);
        if (m.inc)
          row = {
            ...row,
            requests: row.requests + m.inc.r,
            failures: row.failures + m.inc.f,
            lastUsedAt: Math.max(row.lastUsedAt ?? 0, m.inc.l ?? 0) || undefined,
          };
        this.rows.set(m.id, row);
      }
      this.changedRows.add(m.id);
    } else if (this.cmd) {
      void this.reloadAll(this.cmd).catch(() => {}); // someone caught up after an outage
      return;
    }
    this.notify();
  }

  private notifyQueued = false;
  private notify(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      for (const fn of this.listeners) fn();
    });
  }

  // ---- helpers ----

  private k(name: string): string {
    return this.opts.prefix + name;
  }

  private key(id: string): string {
    return this.k(`acct:${id}`);
  }

  private message(m: Omit<Change, "w">): string {
    return JSON.stringify({ w: this.writer, ...m });
  }

  private patch(id: string, change: Partial<AccountRow>, fields: string[]): void {
    this.rows.set(id, { ...(this.rows.get(id) ?? blankRow()), ...change });
    this.writeFields(id, fields);
  }

  private writeFields(id: string, fields: string[]): void {
    if (!this.up) return this.markDirty(id, fields);
    const f = fieldsOf(this.rows.get(id)!, fields);
    this.run(
      [
        ["HSET", [this.key(id), ...Object.entries(f).flat()]],
        ["SADD", [this.k("accts"), id]],
      ],
      this.message({ id, set: f }),
      () => this.markDirty(id, fields),
    );
  }

  private markDirty(id: string, fields: string[]): void {
    let s = this.dirty.get(id);
    if (!s) this.dirty.set(id, (s = new Set()));
    for (const f of fields) s.add(f);
  }

  private addPending(d: CounterDelta): void {
    const p = this.pendingCounters.get(d.id) ?? { id: d.id, requests: 0, failures: 0 };
    p.requests += d.requests;
    p.failures += d.failures;
    p.lastUsedAt = Math.max(p.lastUsedAt ?? 0, d.lastUsedAt ?? 0) || undefined;
    this.pendingCounters.set(d.id, p);
  }

  /** commands in order on one connection, then the change message; `failed` keeps it for the catch-up */
  private run(commands: ([string, string[]] | ((cmd: RedisClient) => Promise<unknown>))[], message: string, failed: () => void): void {
    const cmd = this.cmd;
    if (!cmd) return failed();
    const sent = commands.map((c) => (typeof c === "function" ? c(cmd) : cmd.send(c[0], c[1])));
    sent.push(cmd.publish(this.k("changes"), message));
    void Promise.all(sent).catch(() => failed());
  }
}

/** both sides' cooldowns still running, the later end per model */
export function mergeCooldowns(a: Cooldown[], b: Cooldown[], now = Date.now()): Cooldown[] {
  const by = new Map<string, Cooldown>();
  for (const c of [...a, ...b]) {
    if (c.until <= now) continue;
    const had = by.get(c.model);
    if (!had || had.until < c.until) by.set(c.model, c);
  }
  return [...by.values()];
}
