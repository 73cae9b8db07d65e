// The account record as the pool holds it in memory (times as ms since epoch; the store file keeps
// ISO strings), the secret-free view the CLI and admin API show, and the pool's error type.
import type { Cooldown, QuotaEntry } from "../state/types";

export class PoolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PoolError";
  }
}

export type AccountState = "active" | "disabled" | "needs_verification";

export type { Cooldown, QuotaEntry } from "../state/types";

/**
 * One account in memory: what identifies it (accounts.json) and what changes on its own (state.db,
 * src/state/), joined so the scheduler reads one object.
 */
export interface Account {
  id: string;
  email: string;
  name?: string;
  refreshToken: string;
  accessToken?: string;
  accessTokenExpiresAt?: number;
  projectId?: string;
  tier?: string;
  state: AccountState;
  disabledReason?: string;
  disabledAt?: number;
  verificationUrl?: string;
  /** null = never fetched (unknown); a model missing from the record is unknown too */
  quota: Record<string, QuotaEntry> | null;
  cooldowns: Cooldown[];
  lastUsedAt?: number;
  requests: number;
  failures: number;
  createdAt: number;
  /** in memory only: other accounts are tried first until then (recent 5xx or hang) */
  penaltyUntil?: number;
}

export interface AccountView {
  id: string;
  email: string;
  name?: string;
  state: AccountState;
  disabledReason?: string;
  disabledAt?: string;
  verificationUrl?: string;
  tier?: string;
  projectId?: string;
  quota: Record<string, { remainingFraction: number; resetTime?: string; fetchedAt: string }> | null;
  cooldowns: { model: string; until: string; reason: string }[];
  lastUsedAt?: string;
  requests: number;
  failures: number;
}

/**
 * ISO text of a time, kept for the times seen lately: an account's quota entries share their fetch time
 * and mostly their reset, and a listing of 10,000 accounts spent a quarter of its time in toISOString
 */
const isoSeen = new Map<number, string>();
function iso(ms: number | undefined): string | undefined {
  if (ms === undefined) return undefined;
  let text = isoSeen.get(ms);
  if (text === undefined) {
    if (isoSeen.size >= 1024) isoSeen.clear();
    isoSeen.set(ms, (text = new Date(ms).toISOString()));
  }
  return text;
}

/** The secret-free view; expired cooldowns are left out. */
export function viewOf(a: Account, now = Date.now(), pending?: { requests: number; failures: number; lastUsedAt?: number }): AccountView {
  const quota = a.quota
    ? Object.fromEntries(
        Object.entries(a.quota).map(([m, q]) => [
          m,
          { remainingFraction: q.remainingFraction, resetTime: iso(q.resetTime), fetchedAt: iso(q.fetchedAt)! },
        ]),
      )
    : null;
  const last = Math.max(a.lastUsedAt ?? 0, pending?.lastUsedAt ?? 0);
  return {
    id: a.id,
    email: a.email,
    name: a.name,
    state: a.state,
    disabledReason: a.disabledReason,
    disabledAt: iso(a.disabledAt),
    verificationUrl: a.verificationUrl,
    tier: a.tier,
    projectId: a.projectId,
    quota,
    cooldowns: a.cooldowns.filter((c) => c.until > now).map((c) => ({ model: c.model, until: iso(c.until)!, reason: c.reason })),
    lastUsedAt: last ? iso(last) : undefined,
    requests: a.requests + (pending?.requests ?? 0),
    failures: a.failures + (pending?.failures ?? 0),
  };
}
