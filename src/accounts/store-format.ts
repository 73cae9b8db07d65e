// The accounts.json format, times as ISO strings on disk and ms in memory. Version 2 holds what
// identifies an account and its credentials only; what changes on its own lives in state.db
// (src/state/). A version-1 file also held tokens, quota, cooldowns, counters and the model catalogue:
// it is read with them (as `legacy`) so they can be moved to state.db, and then rewritten as version 2.
// Parsing checks every field it reads, so a damaged file is refused with the path of the bad value.
import type { Lineup, ModelInfo } from "../models/catalog";
import type { Account, AccountState, Cooldown, QuotaEntry } from "./types";

export const STORE_VERSION = 2;

/** what a version-1 file held besides the accounts' identities (their changing fields stay on the Account objects) */
export interface LegacyState {
  models: Record<string, ModelInfo>;
  lineup?: Lineup;
  learned: Record<string, string>;
}

export interface StoreDoc {
  /** by id, in insertion order */
  accounts: Map<string, Account>;
  revision: number;
  /** set when the file was version 1: its changing fields are to be moved to state.db */
  legacy?: LegacyState;
}

export type Mutator = (doc: StoreDoc) => void;

const STATES: AccountState[] = ["active", "disabled", "needs_verification"];
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

// the path of a bad value (`at` + field) is only put together when there is an error: a store of
// 10,000 accounts is read at every start

function ms(v: unknown, at: string, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const t = typeof v === "number" ? v : typeof v === "string" ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw new Error(`${at}.${field} is not a time`);
  return t;
}

function str(v: unknown, at: string, field: string, required = false): string | undefined {
  if (v === undefined || v === null) {
    if (required) throw new Error(`${at}.${field} is missing`);
    return undefined;
  }
  if (typeof v !== "string" || (required && v === "")) throw new Error(`${at}.${field} must be a string`);
  return v;
}

function num(v: unknown, at: string, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${at}.${field} must be a number`);
  return v;
}

const isStr = (v: unknown): v is string => typeof v === "string";
const optStr = (v: unknown) => v === undefined || v === null || typeof v === "string";

/**
 * The common case of a version-2 record, checked in one short pass (a server with 10,000 accounts reads
 * them all at start, before the JIT has warmed up). Anything unusual returns undefined, and the full
 * check below reads it and names what is wrong.
 */
function identityOnly(j: any): Account | undefined {
  if (!j || typeof j !== "object" || !isStr(j.id) || !j.id || !isStr(j.email) || !j.email || !isStr(j.refreshToken) || !j.refreshToken)
    return undefined;
  const state = j.state ?? "active";
  if (state !== "active" && state !== "disabled" && state !== "needs_verification") return undefined;
  if (!optStr(j.name) || !optStr(j.projectId) || !optStr(j.tier) || !optStr(j.disabledReason) || !optStr(j.verificationUrl))
    return undefined;
  if (!isStr(j.createdAt) || (j.disabledAt != null && !isStr(j.disabledAt))) return undefined;
  const createdAt = Date.parse(j.createdAt);
  const disabledAt = j.disabledAt == null ? undefined : Date.parse(j.disabledAt);
  if (Number.isNaN(createdAt) || Number.isNaN(disabledAt)) return undefined;
  return {
    id: j.id,
    email: j.email,
    name: j.name ?? undefined,
    refreshToken: j.refreshToken,
    accessToken: undefined,
    accessTokenExpiresAt: undefined,
    projectId: j.projectId ?? undefined,
    tier: j.tier ?? undefined,
    state,
    disabledReason: j.disabledReason ?? undefined,
    disabledAt,
    verificationUrl: j.verificationUrl ?? undefined,
    quota: null,
    cooldowns: [],
    lastUsedAt: undefined,
    requests: 0,
    failures: 0,
    createdAt,
  };
}

function hydrateAccount(j: any, i: number): Account {
  const at = `accounts[${i}]`;
  if (!j || typeof j !== "object") throw new Error(`${at} must be an object`);
  const state = (j.state ?? "active") as AccountState;
  if (!STATES.includes(state)) throw new Error(`${at}.state must be one of ${STATES.join(", ")}`);
  let quota: Record<string, QuotaEntry> | null = null;
  if (j.quota !== undefined && j.quota !== null) {
    if (typeof j.quota !== "object") throw new Error(`${at}.quota must be an object or null`);
    quota = {};
    for (const [m, q] of Object.entries<any>(j.quota)) {
      quota[m] = {
        remainingFraction: num(q?.remainingFraction, at, `quota.${m}.remainingFraction`),
        resetTime: ms(q?.resetTime, at, `quota.${m}.resetTime`),
        fetchedAt: ms(q?.fetchedAt, at, `quota.${m}.fetchedAt`) ?? 0,
      };
    }
  }
  if (j.cooldowns !== undefined && !Array.isArray(j.cooldowns)) throw new Error(`${at}.cooldowns must be an array`);
  const cooldowns: Cooldown[] = (j.cooldowns ?? []).map((c: any, k: number) => ({
    model: str(c?.model, at, `cooldowns[${k}].model`, true)!,
    until: ms(c?.until, at, `cooldowns[${k}].until`) ?? 0,
    reason: str(c?.reason, at, `cooldowns[${k}].reason`) ?? "",
  }));
  return {
    id: str(j.id, at, "id", true)!,
    email: str(j.email, at, "email", true)!,
    name: str(j.name, at, "name"),
    refreshToken: str(j.refreshToken, at, "refreshToken", true)!,
    accessToken: str(j.accessToken, at, "accessToken"),
    accessTokenExpiresAt: ms(j.accessTokenExpiresAt, at, "accessTokenExpiresAt"),
    projectId: str(j.projectId, at, "projectId"),
    tier: str(j.tier, at, "tier"),
    state,
    disabledReason: str(j.disabledReason, at, "disabledReason"),
    disabledAt: ms(j.disabledAt, at, "disabledAt"),
    verificationUrl: str(j.verificationUrl, at, "verificationUrl"),
    quota,
    cooldowns,
    lastUsedAt: ms(j.lastUsedAt, at, "lastUsedAt"),
    requests: num(j.requests, at, "requests"),
    failures: num(j.failures, at, "failures"),
    createdAt: ms(j.createdAt, at, "createdAt") ?? Date.now(),
  };
}

/** what identifies the account: the only fields version 2 writes */
function dehydrateAccount(a: Account): Record<string, unknown> {
  return {
    id: a.id,
    email: a.email,
    name: a.name,
    refreshToken: a.refreshToken,
    projectId: a.projectId,
    tier: a.tier,
    state: a.state,
    disabledReason: a.disabledReason,
    disabledAt: iso(a.disabledAt),
    verificationUrl: a.verificationUrl,
    createdAt: iso(a.createdAt),
  };
}

/** Parse the file's text; throws a plain Error describing what is wrong. */
export function parseStore(text: string): StoreDoc {
  const raw = JSON.parse(text);
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new Error("top level must be an object");
  if (typeof raw.version !== "number") throw new Error("version is missing");
  if (raw.version > STORE_VERSION)
    throw new Error(`schema version ${raw.version} is newer than this Switchyard understands (${STORE_VERSION}); upgrade Switchyard`);
  if (!Array.isArray(raw.accounts)) throw new Error("accounts must be an array");
  const accounts = new Map<string, Account>();
  const v2 = raw.version >= 2;
  const list = raw.accounts as unknown[];
  for (let i = 0; i < list.length; i++) {
    const a = (v2 && identityOnly(list[i])) || hydrateAccount(list[i], i);
    if (accounts.has(a.id)) throw new Error(`accounts[${i}].id ${a.id} appears twice`);
    accounts.set(a.id, a);
  }
  const doc: StoreDoc = { accounts, revision: typeof raw.revision === "number" ? raw.revision : 0 };
  if (!v2) {
    const models = raw.models && typeof raw.models === "object" ? (raw.models as Record<string, ModelInfo>) : {};
    const lineup = raw.lineup && typeof raw.lineup === "object" ? parseLineupDoc(raw.lineup) : undefined;
    doc.legacy = { models, ...(lineup ? { lineup } : {}), learned: stringMap(raw.learnedForwards) };
  } else {
    // version 2 never holds changing fields: whatever a hand edit put there is not read
    for (const a of accounts.values()) if (a.requests || a.quota || a.cooldowns.length || a.accessToken) Object.assign(a, blankState());
  }
  return doc;
}

/** the changing fields of an account nothing is known about yet */
export function blankState(): Pick<
  Account,
  "accessToken" | "accessTokenExpiresAt" | "quota" | "cooldowns" | "requests" | "failures" | "lastUsedAt"
> {
  return {
    accessToken: undefined,
    accessTokenExpiresAt: undefined,
    quota: null,
    cooldowns: [],
    requests: 0,
    failures: 0,
    lastUsedAt: undefined,
  };
}

function stringMap(v: unknown): Record<string, string> {
  if (!v || typeof v !== "object" || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === "string")) as Record<string, string>;
}

/** tolerant: the lineup is a cache of what Google said and is replaced at the next quota refresh */
function parseLineupDoc(j: any): Lineup {
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  return {
    recommended: list(j.recommended),
    ...(typeof j.defaultModel === "string" ? { defaultModel: j.defaultModel } : {}),
    forwards: stringMap(j.forwards),
    imageModels: list(j.imageModels),
  };
}

export function serializeStore(doc: StoreDoc, now = Date.now()): string {
  const out = {
    version: STORE_VERSION,
    revision: doc.revision,
    updatedAt: new Date(now).toISOString(),
    accounts: [...doc.accounts.values()].map(dehydrateAccount),
  };
  return JSON.stringify(out, null, 1) + "\n";
}
