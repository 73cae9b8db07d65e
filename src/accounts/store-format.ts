// The accounts.json format: version 1, times as ISO strings on disk and ms in memory. Parsing
// checks every field it reads, so a damaged file is refused with the path of the bad value.
import type { Lineup, ModelInfo } from "../models/catalog";
import type { Account, AccountState, Cooldown, QuotaEntry } from "./types";

export const STORE_VERSION = 1;

export interface StoreDoc {
  /** by id, in insertion order */
  accounts: Map<string, Account>;
  /** what fetchAvailableModels reported, union over accounts */
  models: Record<string, ModelInfo>;
  /** Google's recommendations and forwarding rules (the last report) */
  lineup?: Lineup;
  /** retired id → successor, learned from retirement notices */
  learned: Record<string, string>;
  revision: number;
}

export type Mutator = (doc: StoreDoc) => void;

const STATES: AccountState[] = ["active", "disabled", "needs_verification"];
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function ms(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const t = typeof v === "number" ? v : typeof v === "string" ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw new Error(`${where} is not a time`);
  return t;
}

function str(v: unknown, where: string, required = false): string | undefined {
  if (v === undefined || v === null) {
    if (required) throw new Error(`${where} is missing`);
    return undefined;
  }
  if (typeof v !== "string" || (required && v === "")) throw new Error(`${where} must be a string`);
  return v;
}

function num(v: unknown, where: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${where} must be a number`);
  return v;
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
        remainingFraction: num(q?.remainingFraction, `${at}.quota.${m}.remainingFraction`),
        resetTime: ms(q?.resetTime, `${at}.quota.${m}.resetTime`),
        fetchedAt: ms(q?.fetchedAt, `${at}.quota.${m}.fetchedAt`) ?? 0,
      };
    }
  }
  if (j.cooldowns !== undefined && !Array.isArray(j.cooldowns)) throw new Error(`${at}.cooldowns must be an array`);
  const cooldowns: Cooldown[] = (j.cooldowns ?? []).map((c: any, k: number) => ({
    model: str(c?.model, `${at}.cooldowns[${k}].model`, true)!,
    until: ms(c?.until, `${at}.cooldowns[${k}].until`) ?? 0,
    reason: str(c?.reason, `${at}.cooldowns[${k}].reason`) ?? "",
  }));
  return {
    id: str(j.id, `${at}.id`, true)!,
    email: str(j.email, `${at}.email`, true)!,
    name: str(j.name, `${at}.name`),
    refreshToken: str(j.refreshToken, `${at}.refreshToken`, true)!,
    accessToken: str(j.accessToken, `${at}.accessToken`),
    accessTokenExpiresAt: ms(j.accessTokenExpiresAt, `${at}.accessTokenExpiresAt`),
    projectId: str(j.projectId, `${at}.projectId`),
    tier: str(j.tier, `${at}.tier`),
    state,
    disabledReason: str(j.disabledReason, `${at}.disabledReason`),
    disabledAt: ms(j.disabledAt, `${at}.disabledAt`),
    verificationUrl: str(j.verificationUrl, `${at}.verificationUrl`),
    quota,
    cooldowns,
    lastUsedAt: ms(j.lastUsedAt, `${at}.lastUsedAt`),
    requests: num(j.requests, `${at}.requests`),
    failures: num(j.failures, `${at}.failures`),
    createdAt: ms(j.createdAt, `${at}.createdAt`) ?? Date.now(),
  };
}

function dehydrateAccount(a: Account, now: number): Record<string, unknown> {
  return {
    id: a.id,
    email: a.email,
    name: a.name,
    refreshToken: a.refreshToken,
    accessToken: a.accessToken,
    accessTokenExpiresAt: iso(a.accessTokenExpiresAt),
    projectId: a.projectId,
    tier: a.tier,
    state: a.state,
    disabledReason: a.disabledReason,
    disabledAt: iso(a.disabledAt),
    verificationUrl: a.verificationUrl,
    quota: a.quota
      ? Object.fromEntries(
          Object.entries(a.quota).map(([m, q]) => [
            m,
            { remainingFraction: q.remainingFraction, resetTime: iso(q.resetTime), fetchedAt: iso(q.fetchedAt) },
          ]),
        )
      : null,
    cooldowns: a.cooldowns.filter((c) => c.until > now).map((c) => ({ model: c.model, until: iso(c.until), reason: c.reason })),
    lastUsedAt: iso(a.lastUsedAt),
    requests: a.requests,
    failures: a.failures,
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
  raw.accounts.forEach((j: unknown, i: number) => {
    const a = hydrateAccount(j, i);
    if (accounts.has(a.id)) throw new Error(`accounts[${i}].id ${a.id} appears twice`);
    accounts.set(a.id, a);
  });
  const models = raw.models && typeof raw.models === "object" ? (raw.models as Record<string, ModelInfo>) : {};
  const lineup = raw.lineup && typeof raw.lineup === "object" ? parseLineupDoc(raw.lineup) : undefined;
  const learned = stringMap(raw.learnedForwards);
  return { accounts, models, ...(lineup ? { lineup } : {}), learned, revision: typeof raw.revision === "number" ? raw.revision : 0 };
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
    accounts: [...doc.accounts.values()].map((a) => dehydrateAccount(a, now)),
    models: doc.models,
    lineup: doc.lineup,
    learnedForwards: doc.learned,
  };
  return JSON.stringify(out, null, 1) + "\n";
}
