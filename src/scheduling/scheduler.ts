// Which account serves a request (pure: no I/O, the clock is passed in). Eligible = active, has a
// project, not cooling down for the model or account-wide, quota for the model not exhausted.
// sticky: a session keeps its account while eligible; new sessions go to the account with the
// fewest bindings. round-robin: next eligible in order. quota-first: most remaining quota for the
// model (whole percent), ties to the least recently used. With a `generation` the choices come from
// indexes kept up to date per event (indexes.ts): a pick costs the same for 3 accounts or 10,000, apart
// from skipping accounts that are cooling down. Without one, the same choice by a scan.
import { SessionTable } from "./sessions";
import { BindingIndex, QuotaIndex, quotaRank } from "./indexes";
import type { Account } from "../accounts/types";

export { SessionTable } from "./sessions";
export { quotaRank } from "./indexes";

export type Mode = "sticky" | "round-robin" | "quota-first";

/** a 0 % quota with no reset time blocks the model at most this long after it was fetched */
export const UNKNOWN_RESET_MS = 3_600_000;

/** until when the account is blocked for `model` by quota or cooldown; 0 = not blocked */
export function blockedUntil(a: Account, model: string, now: number): number {
  let until = 0;
  for (const c of a.cooldowns) if (c.until > now && c.until > until && (c.model === "*" || c.model === model)) until = c.until;
  const q = a.quota?.[model];
  if (q && q.remainingFraction <= 0) {
    const reset = q.resetTime ?? q.fetchedAt + UNKNOWN_RESET_MS;
    if (reset > now && reset > until) until = reset;
  }
  return until;
}

export function isEligible(a: Account, model: string, now: number): boolean {
  if (a.state !== "active" || !a.projectId) return false;
  const cds = a.cooldowns;
  for (let i = 0; i < cds.length; i++) {
    const c = cds[i]!;
    if (c.until > now && (c.model === "*" || c.model === model)) return false;
  }
  const q = a.quota?.[model];
  if (q !== undefined && q.remainingFraction <= 0 && (q.resetTime ?? q.fetchedAt + UNKNOWN_RESET_MS) > now) return false;
  return true;
}

export interface PickRequest {
  accounts: readonly Account[];
  model: string;
  now: number;
  /** accounts already tried for this request */
  exclude?: ReadonlySet<string>;
  /** only accounts this accepts (e.g. those whose model list has the model); given the request's model and time */
  accept?: (a: Account, model: string, now: number) => boolean;
  sessionKey?: string;
  byId?: (id: string) => Account | undefined;
  /**
   * bump when quotas, the account list or their order change (not for cooldowns or states, which
   * are checked on every pick): lets quota-first keep a sorted index instead of scanning
   */
  generation?: number;
}

/** quota-first indexes kept (a pool serves a few dozen models; rebuilding one is a sort of the accounts) */
const MAX_QUOTA_INDEXES = 64;

export class Scheduler {
  readonly sessions: SessionTable;
  private cursor = 0;
  private quotaIndex = new Map<string, QuotaIndex>();
  private bindingIndex: BindingIndex | undefined;
  /** the accounts of the indexes' generation, by id */
  private byId: { generation: number; map: Map<string, Account> } | undefined;

  constructor(
    readonly mode: Mode,
    sessionTtlMs: number,
    maxSessions: number,
  ) {
    this.sessions = new SessionTable(sessionTtlMs, maxSessions);
    this.sessions.onCount = (id, n) => this.bindingIndex?.moved(id, n);
  }

  /** an account's quota changed: its place in the quota-first indexes moves (no rebuild) */
  quotaChanged(a: Account): void {
    for (const idx of this.quotaIndex.values()) idx.changed(a);
  }

  pick(req: PickRequest): Account | undefined {
    const { accounts, model, now, exclude } = req;
    if (accounts.length === 0) return undefined;
    if (this.mode === "quota-first") return this.quotaFirst(req);
    if (this.mode === "sticky" && req.sessionKey !== undefined) {
      const id = this.sessions.get(req.sessionKey, now);
      const bound = id !== undefined ? (req.byId?.(id) ?? accounts.find((a) => a.id === id)) : undefined;
      if (bound && !exclude?.has(bound.id) && isEligible(bound, model, now) && (!req.accept || req.accept(bound, model, now))) return bound;
      if (req.generation !== undefined) return this.indexedBindings(req, req.generation);
      return this.fewestBindings(req);
    }
    return this.roundRobin(req);
  }

  /**
   * Record that `key` was served by `accountId` (sticky mode). `from` is the binding the request saw
   * when its account was chosen: if the binding changed meanwhile (another request of the session
   * moved it, or another instance bound it first), that one stands.
   */
  bind(sessionKey: string | undefined, accountId: string, now: number, from?: string): void {
    if (this.mode !== "sticky" || sessionKey === undefined) return;
    const current = from === undefined ? undefined : this.sessions.get(sessionKey, now);
    if (current !== undefined && current !== from) return;
    this.sessions.bind(sessionKey, accountId, now);
  }

  /**
   * A new session is bound as soon as its account is chosen, so new sessions arriving together see each
   * other and spread; a session bound already moves only once another account serves it (bind), so a
   * request the client got wrong leaves it where it was. Returns the binding now (for `bind`'s `from`).
   */
  bindIfNew(sessionKey: string | undefined, accountId: string, now: number): string | undefined {
    if (this.mode !== "sticky" || sessionKey === undefined) return undefined;
    const current = this.sessions.get(sessionKey, now);
    if (current !== undefined) return current;
    this.sessions.bind(sessionKey, accountId, now);
    return accountId;
  }

  private roundRobin({ accounts, model, now, exclude, accept }: PickRequest): Account | undefined {
    const n = accounts.length;
    const start = this.cursor % n;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const a = accounts[i]!;
      if (exclude?.has(a.id) || !isEligible(a, model, now) || (accept && !accept(a, model, now))) continue;
      this.cursor = i + 1;
      return a;
    }
    return undefined;
  }

  private fewestBindings({ accounts, model, now, exclude, accept }: PickRequest): Account | undefined {
    const n = accounts.length;
    const start = this.cursor % n;
    let best: Account | undefined;
    let bestCount = Infinity;
    let bestIdx = 0;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const a = accounts[i]!;
      if (exclude?.has(a.id) || !isEligible(a, model, now) || (accept && !accept(a, model, now))) continue;
      const c = this.sessions.bindings(a.id);
      if (c < bestCount) {
        best = a;
        bestCount = c;
        bestIdx = i;
        if (c === 0) break;
      }
    }
    if (best) this.cursor = bestIdx + 1;
    return best;
  }

  private quotaFirst(req: PickRequest): Account | undefined {
    if (req.generation === undefined) return this.quotaFirstScan(req);
    const map = this.accountsOf(req, req.generation);
    let idx = this.quotaIndex.get(req.model);
    if (idx) this.quotaIndex.delete(req.model); // last in line: the least recently used goes first
    if (!idx || idx.generation !== req.generation) idx = new QuotaIndex(req.generation, req.model, [...map.values()]);
    this.quotaIndex.set(req.model, idx);
    // one index per model name asked for: made-up names would add one each (O(accounts) apiece) for good
    if (this.quotaIndex.size > MAX_QUOTA_INDEXES) this.quotaIndex.delete(this.quotaIndex.keys().next().value!);
    return idx.pick(usableFor(req));
  }

  private indexedBindings(req: PickRequest, generation: number): Account | undefined {
    const map = this.accountsOf(req, generation);
    if (this.bindingIndex?.generation !== generation)
      this.bindingIndex = new BindingIndex(generation, map, req.accounts, (id) => this.sessions.bindings(id));
    return this.bindingIndex.pick(usableFor(req));
  }

  /** the accounts by id for this generation; a new generation drops every index built on the old one */
  private accountsOf(req: PickRequest, generation: number): Map<string, Account> {
    if (this.byId?.generation !== generation) {
      this.byId = { generation, map: new Map(req.accounts.map((a) => [a.id, a])) };
      this.quotaIndex.clear();
      this.bindingIndex = undefined;
    }
    return this.byId.map;
  }

  /** the same choice without an index: one pass over all accounts */
  private quotaFirstScan({ accounts, model, now, exclude, accept }: PickRequest): Account | undefined {
    let best: Account | undefined;
    let bestRank = -Infinity;
    let bestUsed = Infinity;
    for (let i = 0; i < accounts.length; i++) {
      const a = accounts[i]!;
      if (exclude?.has(a.id) || !isEligible(a, model, now) || (accept && !accept(a, model, now))) continue;
      const rank = quotaRank(a, model);
      const used = a.lastUsedAt ?? 0;
      if (rank > bestRank || (rank === bestRank && used < bestUsed)) {
        best = a;
        bestRank = rank;
        bestUsed = used;
      }
    }
    return best;
  }
}

/** can serve this request: not tried yet, eligible now, accepted */
function usableFor({ model, now, exclude, accept }: PickRequest): (a: Account) => boolean {
  return (a) => !exclude?.has(a.id) && isEligible(a, model, now) && (!accept || accept(a, model, now));
}

/** why nothing can serve; the gateway (src/gateway/errors.ts) turns it into the client's status */
export interface NoAccount {
  message: string;
  reason: string;
  /** seconds until the soonest account comes back; absent when none will by itself */
  retryAfter?: number;
  /** what the account that comes back first waits for (a cooldown's reason) */
  waitingFor?: string;
}

const human = (reason: string) => reason.replace(/_/g, " ");

/** Why nothing is eligible for `model`, and when the soonest account comes back (if one will). */
export function explainNoAccount(accounts: readonly Account[], model: string, now: number): NoAccount {
  if (accounts.length === 0) {
    return {
      reason: "no_accounts",
      message: "no Google accounts configured: add one with `switchyard accounts add` or `switchyard accounts login`",
    };
  }
  let soonest = Infinity;
  const waiting = new Map<string, number>();
  const unusable = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  /** what the account that comes back first waits for (the wait Retry-After names) */
  let soonestFor: string | undefined;
  for (const a of accounts) {
    if (a.state === "disabled") bump(unusable, "disabled");
    else if (a.state === "needs_verification") bump(unusable, "need verification");
    else if (!a.projectId) bump(unusable, "have no project");
    else {
      const until = blockedUntil(a, model, now);
      if (until > now) {
        const cd = a.cooldowns.find((c) => c.until === until && (c.model === "*" || c.model === model));
        const reason = cd?.reason ?? "quota_exhausted";
        if (until < soonest) soonestFor = reason;
        soonest = Math.min(soonest, until);
        bump(waiting, human(reason));
      } else bump(waiting, "busy"); // eligible now (only possible when all were tried already)
    }
  }
  const list = (m: Map<string, number>) => [...m].map(([k, n]) => `${n} ${k}`).join(", ");
  const all = accounts.length === 1 ? "the only account is" : `all ${accounts.length} accounts are`;
  if (soonest === Infinity) {
    return { reason: "no_usable_account", message: `no account can serve ${model}: ${all} unusable (${list(unusable)})` };
  }
  const secs = Math.max(1, Math.ceil((soonest - now) / 1000));
  const single = waiting.size === 1 && unusable.size === 0;
  const why = single ? `(${[...waiting.keys()][0]})` : `(${list(waiting)}${unusable.size ? `; ${list(unusable)}` : ""})`;
  const state = single && waiting.has("quota exhausted") ? "out of quota" : "cooling down";
  return {
    reason: "no_account_available",
    retryAfter: secs,
    message: `${all} ${state} for ${model} ${why}; soonest reset in ${secs} s`,
    // what the soonest account waits for: the wait Retry-After names, in the client's terms
    ...(soonestFor ? { waitingFor: soonestFor } : {}),
  };
}

/**
 * Bench hook: time `picks` picks over `n` synthetic accounts per mode (ns per pick). "quota-first
 * (scan)" is the same choice without the sorted index: the O(accounts) worst case.
 */
export function benchPick(n: number, picks = 2000): { accounts: number; mode: string; nsPerPick: number }[] {
  const now = Date.now();
  const model = "gemini-2.5-flash";
  const accounts: Account[] = Array.from({ length: n }, (_, i) => ({
    id: `acc-${i}`,
    email: `user${i}@example.com`,
    refreshToken: "x",
    projectId: `p-${i}`,
    state: "active",
    // a realistic mix: some cooling down, some exhausted, the rest with varied quota
    quota: { [model]: { remainingFraction: i % 10 === 0 ? 0 : (i % 97) / 97, resetTime: now + 3_600_000, fetchedAt: now } },
    cooldowns: i % 7 === 0 ? [{ model, until: now + 60_000, reason: "rate_limited" }] : [],
    lastUsedAt: now - i,
    requests: 0,
    failures: 0,
    createdAt: now,
  }));
  const byId = new Map(accounts.map((a) => [a.id, a]));
  const out: { accounts: number; mode: string; nsPerPick: number }[] = [];
  const variants: [string, Mode, number | undefined][] = [
    ["sticky", "sticky", 1],
    ["round-robin", "round-robin", 1],
    ["quota-first", "quota-first", 1],
    ["quota-first (scan)", "quota-first", undefined],
  ];
  for (const [label, mode, generation] of variants) {
    const s = new Scheduler(mode, 3_600_000, 10_000);
    const sessions = Array.from({ length: 64 }, (_, i) => `session-${i}`);
    const run = (count: number) => {
      for (let i = 0; i < count; i++) {
        const sessionKey = sessions[i % sessions.length];
        const a = s.pick({ accounts, model, now, sessionKey, byId: (id) => byId.get(id), generation });
        if (a) s.bind(sessionKey, a.id, now);
      }
    };
    run(Math.min(200, picks)); // warm up the JIT
    const t0 = Bun.nanoseconds();
    run(picks);
    out.push({ accounts: n, mode: label, nsPerPick: Math.round((Bun.nanoseconds() - t0) / picks) });
  }
  return out;
}
