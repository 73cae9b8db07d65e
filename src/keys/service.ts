// The keys room's service: who a presented key belongs to, a request's scope from the server's handler
// to the gateway and back, the limits (limiter.ts), and the usage log — one record per client request,
// written to state.db every second (a crash loses at most the last second) with hourly totals.
import type { Database } from "bun:sqlite";
import { Counter, type Registry } from "../core/prom";
import { ApiError } from "../core/errors";
import { LogGate, type Logger } from "../core/log";
import type { MeterHandle, RequestMeter } from "../gateway/port";
import type { KeyRecord } from "../state/keys";
import { SqliteKeys } from "../state/keys";
import type { RedisKeys } from "../state/redis-keys";
import type { RedisUsage } from "../state/redis-usage";
import { SqliteUsage, type UsageBy, type UsageRecord, type UsageRow } from "../state/usage";
import { isReservedName, KEY_PREFIX, KeyBook } from "./book";
import { HELD_REPEAT_MS, Limiter } from "./limiter";
import { ANONYMOUS, callerOf, noTokens, scopeOf, tokensOf, type Caller, type RequestScope } from "./scope";

const FLUSH_MS = 1000;
/** usage records per transaction: ~2 ms of work */
const SLICE = 500;
const PRUNE_MS = 3_600_000;
/** usage rows deleted per statement (~10 ms) */
const PRUNE_SLICE = 5000;
const DAY = 86_400_000;
const DIRECTIONS = ["input", "output", "thinking", "cached"] as const;

export interface KeysOptions {
  db: Database;
  log: Logger;
  retentionDays: number;
  registry?: Registry;
  now?: () => number;
  /** several instances: key definitions and counters shared through Redis */
  shared?: RedisKeys;
  /** several instances: the usage totals shared through Redis (reports show every instance's) */
  sharedUsage?: RedisUsage;
  /** whether an upstream model id is one the catalogue knows (its metric series are labelled by it) */
  knownModel?: (id: string) => boolean;
}

/** more upstream models than any lineup has had: a bound, not a limit anyone meets */
const MAX_MODEL_LABELS = 200;
/** characters of a request's path a usage record keeps */
const MAX_ROUTE_CHARS = 200;

export class Keys implements RequestMeter {
  readonly book: KeyBook;
  readonly limiter: Limiter;
  private usage: SqliteUsage;
  private buffer: UsageRecord[] = [];
  private timers: ReturnType<typeof setInterval>[] = [];
  private now: () => number;
  private tokensTotal?: Counter<"direction" | "model" | "key">;
  private requestsTotal?: Counter<"key" | "status">;
  private servedTotal?: Counter<"protocol" | "model" | "account" | "status">;
  private flushing = false;
  private pruning = false;
  private closed = false;
  private listeners = new Set<(r: UsageRecord) => void>();
  private writeLog = new LogGate(60_000);
  /** upstream models labelled so far: the catalogue's, and any that answered (see modelLabel) */
  private labelledModels = new Set<string>();

  constructor(private opts: KeysOptions) {
    this.now = opts.now ?? Date.now;
    const shared = opts.shared;
    this.usage = new SqliteUsage(opts.db);
    this.book = new KeyBook(shared ?? new SqliteKeys(opts.db), this.now, (from, to, id, elsewhere) => {
      // the usage log, and what is not written yet: a renamed key keeps its budget, its old name starts
      // empty — but a key from before the names were reserved leaves "config" / "anonymous" their usage
      if (isReservedName(from)) return;
      // renamed by another process (the CLI): it renamed the usage on disk already, and the old name may
      // be another key's by now — only what this process wrote since under the old name goes, by key id
      if (elsewhere) this.usage.renameKeyRows(id, from, to);
      else this.usage.renameKey(from, to);
      for (const r of this.buffer) if (r.keyId === id) r.keyName = to;
    });
    this.limiter = new Limiter(this.now, (name, since) => shared?.tokensSince(name, since) ?? this.tokensSince(name, since));
    if (shared) {
      shared.onUse(this.limiter.share((u) => shared.used(u), shared.counts));
      shared.onChange(() => this.book.reloadIfChanged());
    }
    if (opts.registry) {
      this.tokensTotal = new Counter({
        name: "switchyard_tokens_total",
        help: "tokens upstream reported, by direction (input, output, thinking, cached), upstream model and key name",
        labelNames: ["direction", "model", "key"] as const,
        registers: [opts.registry],
      });
      this.servedTotal = new Counter({
        name: "switchyard_requests_total",
        help: "client requests by protocol, upstream model, account (email; - before one was chosen) and status",
        labelNames: ["protocol", "model", "account", "status"] as const,
        registers: [opts.registry],
      });
      this.requestsTotal = new Counter({
        name: "switchyard_key_requests_total",
        help: "client requests by key name (a virtual key's name, config, anonymous) and status",
        labelNames: ["key", "status"] as const,
        registers: [opts.registry],
      });
    }
  }

  /** timers of a running server: the usage flush, pruning old rows, picking up keys the CLI changed */
  start(): this {
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(() => {
        try {
          fn();
        } catch (e) {
          this.opts.log.error("usage job failed", { error: (e as Error).message });
        }
      }, ms);
      (t as any).unref?.();
      this.timers.push(t);
    };
    every(FLUSH_MS, () => {
      void this.flushInSlices();
      this.book.reloadIfChanged();
    });
    every(PRUNE_MS, () => void this.prune());
    // shared state: the in-flight counts other instances hold against a key's concurrency are leases
    if (this.opts.shared) every(HELD_REPEAT_MS, () => this.limiter.repeatHeld((id) => this.book.find(id)));
    return this;
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.flush();
  }

  // ---- the server's side ----

  /**
   * Who a presented key is. A virtual key (sk-sy-…) that is known gives its caller, or throws 401 when
   * it is revoked or expired; anything else gives undefined (a configured key, or none).
   */
  identify(secret: string | undefined): Caller | undefined {
    if (!secret?.startsWith(KEY_PREFIX)) return undefined;
    const k = this.book.lookup(secret);
    if (!k) return undefined;
    if (k.revokedAt !== null) throw new ApiError(401, `the key "${k.name}" was revoked`, { reason: "key_revoked" });
    if (k.expiresAt !== null && k.expiresAt <= this.now())
      throw new ApiError(401, `the key "${k.name}" expired at ${new Date(k.expiresAt).toISOString()}`, { reason: "key_expired" });
    return { key: k, name: k.name };
  }

  begin(caller: Caller, protocol: string, route: string): RequestScope {
    // the path as sent, kept 30 days: a 16 KB path made up by a client is not kept whole
    if (route.length > MAX_ROUTE_CHARS) route = route.slice(0, MAX_ROUTE_CHARS);
    return { caller, protocol, route, at: this.now(), tokens: noTokens(), holds: 1 };
  }

  /** the server's answer ended (for a stream: its body) */
  end(scope: RequestScope, end: NonNullable<RequestScope["end"]>, errorClass?: string): void {
    scope.end = end;
    if (errorClass && !scope.errorClass) scope.errorClass = errorClass;
    this.release(scope);
  }

  /** the rate-limit headers of the request's key, when it has limits */
  headers(scope: RequestScope): Record<string, string> | undefined {
    return scope.admission?.headers;
  }

  // ---- the gateway's side ----

  current(signal: AbortSignal | undefined): MeterHandle | undefined {
    const scope = scopeOf(signal);
    return scope && new ScopeMeter(this, scope);
  }

  /** the account and upstream model the request is being tried on now (the gateway says each attempt) */
  attemptOf(signal: AbortSignal | undefined): { accountEmail: string; mappedModel: string } | undefined {
    const scope = scopeOf(signal);
    return scope?.account && scope.upstreamModel ? { accountEmail: scope.account, mappedModel: scope.upstreamModel } : undefined;
  }

  /**
   * Who owns what a request stores (a Responses answer): a virtual key by its id (a rename keeps it),
   * else the caller's name — the configured keys share "config", callers without a key "anonymous".
   */
  ownerOf(signal: AbortSignal | undefined): string {
    const caller = callerOf(signal);
    return caller?.key ? `key:${caller.key.id}` : (caller?.name ?? ANONYMOUS.name);
  }

  // ---- the log ----

  /** @internal a hold on the record ended (ScopeMeter, end) */
  release(scope: RequestScope): void {
    if (--scope.holds > 0 || !scope.end) return;
    scope.admission?.release();
    const t = scope.tokens;
    const k = scope.caller.key;
    if (k) this.limiter.charge(k, t.input + t.output + t.thinking);
    const e = scope.end;
    // the key's name now: a request that began before a rename ends under the new one (budgets go by name)
    const keyName = k ? (this.book.nameOf(k.id) ?? scope.caller.name) : scope.caller.name;
    const record: UsageRecord = {
      at: scope.at,
      keyId: k?.id ?? null,
      keyName,
      account: scope.account ?? null,
      model: this.recordedModel(scope.model, scope.upstreamModel, e.status),
      upstreamModel: scope.upstreamModel ?? null,
      protocol: scope.protocol,
      route: scope.route,
      status: e.status,
      errorClass: e.status >= 400 ? (scope.errorClass ?? null) : null,
      ...t,
      latencyMs: Math.round(e.latencyMs * 10) / 10,
      ttfbMs: e.ttfbMs === null ? null : Math.round(e.ttfbMs * 10) / 10,
      streamed: e.streamed,
    };
    this.buffer.push(record);
    for (const fn of this.listeners) {
      try {
        fn(record);
      } catch {} // a watcher never breaks the log
    }
    if (!this.tokensTotal || !this.requestsTotal || !this.servedTotal) return;
    const model = this.modelLabel(scope.upstreamModel, e.status);
    for (const d of DIRECTIONS) if (t[d]) this.tokensTotal.inc({ direction: d, model, key: keyName }, t[d]);
    this.requestsTotal.inc({ key: keyName, status: String(e.status) });
    const account = scope.account ?? "-";
    const served = { protocol: scope.protocol, model, account, status: String(e.status) };
    this.servedTotal.inc(served);
  }

  /**
   * The model name a usage record keeps: as the client asked, except a failed request's name no model
   * answers to, which is "other" (as in the metrics): the hourly totals are kept for good, and one row per
   * made-up name would grow them by every such request.
   */
  private recordedModel(model: string | undefined, upstream: string | undefined, status: number): string | null {
    if (model === undefined) return null;
    if (status < 400 || this.opts.knownModel === undefined || this.opts.knownModel(upstream ?? model)) return model;
    return "other";
  }

  /**
   * The model label of a request's series. A name neither the catalogue knows nor upstream ever answered
   * (any string a client sends that resolves to nothing, each a 404) would add a series that never goes
   * away: such requests count as "other", so the series stay as many as the models that exist.
   */
  private modelLabel(model: string | undefined, status: number): string {
    if (model === undefined) return "-";
    if (this.labelledModels.has(model)) return model;
    const known = status < 400 || this.opts.knownModel?.(model);
    if (!known || this.labelledModels.size >= MAX_MODEL_LABELS) return "other";
    this.labelledModels.add(model);
    return model;
  }

  /** the timer's flush: at most SLICE records per transaction, yielding between them (a busy second is thousands) */
  private async flushInSlices(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.buffer.length) {
        const slice = this.buffer.splice(0, SLICE);
        if (!this.append(slice)) return;
        if (this.buffer.length) await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      this.flushing = false;
    }
  }

  /** write everything gathered, now (a report, and on close) */
  flush(): void {
    if (!this.buffer.length) return;
    const batch = this.buffer;
    this.buffer = [];
    this.append(batch);
  }

  /** written, or kept for the next try (bounded) with a line at most once a minute (a full disk, a read-only dir) */
  private append(batch: UsageRecord[]): boolean {
    try {
      this.usage.append(batch);
      this.opts.sharedUsage?.add(batch);
      return true;
    } catch (e) {
      this.buffer = batch.concat(this.buffer).slice(-100_000);
      if (this.writeLog.open(this.now())) this.opts.log.error("could not write usage records", { error: (e as Error).message });
      return false;
    }
  }

  /** rows past the retention, PRUNE_SLICE to a statement, yielding between them (a backlog is millions); hourly */
  async prune(): Promise<void> {
    if (this.pruning || !(this.opts.retentionDays > 0)) return;
    this.pruning = true;
    try {
      const before = this.now() - this.opts.retentionDays * DAY;
      while (!this.closed && this.usage.prune(before, PRUNE_SLICE) === PRUNE_SLICE) await new Promise<void>((r) => setImmediate(r));
    } catch (e) {
      this.opts.log.error("could not delete old usage records", { error: (e as Error).message });
    } finally {
      this.pruning = false;
    }
  }

  /** tokens a key used since `since`, written and not yet written */
  private tokensSince(name: string, since: number): number {
    let n = this.usage.tokensByKeySince(since).get(name) ?? 0;
    for (const r of this.buffer) if (r.keyName === name && r.at >= since) n += r.input + r.output + r.thinking;
    return n;
  }

  /** totals since `since` grouped by `by`, then by `split` if given (what is not yet written is written first) */
  async report(since: number, by: UsageBy, split?: UsageBy): Promise<UsageRow[]> {
    this.flush();
    const kept = this.opts.retentionDays > 0 ? this.now() - this.opts.retentionDays * DAY : -Infinity;
    // with shared usage: every instance's hourly totals (since rounds down to its hour)
    if (this.opts.sharedUsage) return this.opts.sharedUsage.query(since, by, split);
    return this.usage.query(since, by, kept, split);
  }

  /** called with every usage record as it is made (the dashboard's live log); returns the unsubscribe */
  onRecord(fn: (r: UsageRecord) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

export type { KeyRecord, UsageRecord };

/** the gateway's view of one request's scope: one object per call, no closures */
class ScopeMeter implements MeterHandle {
  constructor(
    private keys: Keys,
    private scope: RequestScope,
  ) {}

  admit(model: string, reached?: string): Promise<void> | undefined {
    const scope = this.scope;
    scope.model ??= model;
    const k = scope.caller.key;
    if (!k || scope.admission) return;
    // one admission per client request, even when it makes several upstream calls at once (images, n > 1)
    if (scope.admitting) return scope.admitting;
    const a = this.keys.limiter.admitShared(k, model, reached);
    if (!(a instanceof Promise)) scope.admission = a;
    else return (scope.admitting = a.then((x) => void (scope.admission = x)));
  }

  routed(account: string, upstreamModel: string): void {
    this.scope.account = account;
    this.scope.upstreamModel = upstreamModel;
  }

  answered(u: unknown): void {
    const t = tokensOf(u);
    const s = this.scope.tokens;
    s.input += t.input;
    s.output += t.output;
    s.thinking += t.thinking;
    s.cached += t.cached;
  }

  freeSlot(): void {
    this.scope.admission?.release(); // once: the record's own release later does nothing more
  }

  holdStream(): () => void {
    const scope = this.scope;
    scope.holds++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.keys.release(scope);
    };
  }
}
