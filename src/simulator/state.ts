// Everything the simulated Google remembers: accounts (and the models each may use), issued tokens and
// auth codes, onboarding operations, issued thought signatures, the client gate, the request log and
// counters. All maps are bounded or pruned so a long benchmark run keeps memory flat.
import { randomBytes } from "../core/hash";
import { Faults } from "./faults";
import { ClientGate } from "./gate";
import { LISTED_RETIRED } from "./lineup";
import { SIM_MODELS } from "./models";
import type { ReceivedRequest, SimAccount, SimAccountSpec } from "./types";

export interface AccountState {
  email: string;
  name: string;
  refreshToken: string;
  project: string | null;
  onboardPolls: number;
  validationRequired: boolean;
  tier: string;
  quota: Record<string, number>;
  /** null = entitled to every model */
  models: string[] | null;
  revoked: boolean;
  /** id shown by userinfo */
  id: string;
}

export interface CodeGrant {
  email: string;
  clientId: string;
  redirectUri: string;
  challenge?: string;
  challengeMethod?: string;
  scope: string;
  expiresAt: number;
}

export interface Operation {
  name: string;
  email: string;
  /** polls left before done */
  remaining: number;
  /** set when done */
  project?: string;
}

export const LOG_LIMIT = 5000;
const SIGNATURE_LIMIT = 200_000;
export const DEFAULT_SCOPE = [
  "https://www.googleapis.com/auth/cloud-platform",
  "https://www.googleapis.com/auth/userinfo.email",
  "https://www.googleapis.com/auth/userinfo.profile",
].join(" ");

export const hashHex = (s: string, len = 6) => Bun.hash(s).toString(16).padStart(16, "0").slice(0, len);
export const randomHex = (bytes: number) => randomBytes(bytes).toString("hex");

export class SimState {
  accounts = new Map<string, AccountState>();
  private byRefresh = new Map<string, string>();
  private access = new Map<string, { email: string; expiresAt: number }>();
  codes = new Map<string, CodeGrant>();
  ops = new Map<string, Operation>();
  private signatures = new Set<string>();
  private log: ReceivedRequest[] = [];
  private counts = new Map<string, number>();
  private perModel = new Map<string, Map<string, number>>();
  private created = 0;
  faults = new Faults();
  gate = new ClientGate();
  /** quota windows reset at this instant (for fractions < 1 and for 429 QUOTA_EXHAUSTED) */
  readonly quotaResetAt = Date.now() + 5 * 3600_000;
  url = "";

  constructor(
    readonly tokenTtlSeconds: number,
    readonly delays: boolean,
    /** the clock access tokens expire by (tests inject one) */
    readonly now: () => number = Date.now,
  ) {}

  // ---- accounts ----

  /** upsert by email; an existing account keeps what the spec leaves out */
  addAccount(spec: SimAccountSpec = {}): SimAccount {
    const email = (spec.email ?? this.freeEmail()).trim().toLowerCase();
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new Error(`invalid email: ${spec.email}`);
    if (spec.refreshToken !== undefined) {
      const owner = this.byRefresh.get(spec.refreshToken);
      if (owner && owner !== email) throw new Error(`refreshToken already belongs to ${owner}`);
    }
    if (spec.quota !== undefined) {
      for (const [m, f] of Object.entries(spec.quota))
        if (typeof f !== "number" || f < 0 || f > 1) throw new Error(`quota.${m} must be a number from 0 to 1`);
    }
    if (spec.models != null) checkModels(spec.models);
    const old = this.accounts.get(email);
    if (!old) this.created++;
    const acc: AccountState = {
      email,
      name: spec.name ?? old?.name ?? nameFromEmail(email),
      refreshToken: spec.refreshToken ?? old?.refreshToken ?? `1//sim-${randomHex(24)}`,
      project: spec.project !== undefined ? spec.project : (old?.project ?? `sim-project-${hashHex(email)}`),
      onboardPolls: spec.onboardPolls ?? old?.onboardPolls ?? 2,
      validationRequired: spec.validationRequired ?? old?.validationRequired ?? false,
      tier: spec.tier ?? old?.tier ?? "free-tier",
      quota: { ...(old?.quota ?? {}), ...(spec.quota ?? {}) },
      models: spec.models !== undefined ? spec.models && [...new Set(spec.models)] : (old?.models ?? null),
      revoked: old && spec.refreshToken === undefined ? old.revoked : false,
      id: old?.id ?? numericId(email),
    };
    if (old && old.refreshToken !== acc.refreshToken) this.byRefresh.delete(old.refreshToken);
    this.accounts.set(email, acc);
    this.byRefresh.set(acc.refreshToken, email);
    return publicAccount(acc);
  }

  private freeEmail(): string {
    for (let n = this.created + 1; ; n++) if (!this.accounts.has(`sim-user-${n}@example.com`)) return `sim-user-${n}@example.com`;
  }

  account(email: string | undefined) {
    return email ? this.accounts.get(email.trim().toLowerCase()) : undefined;
  }

  accountByRefresh(token: string) {
    const email = this.byRefresh.get(token);
    return email ? this.accounts.get(email) : undefined;
  }

  firstAccount() {
    return this.accounts.values().next().value as AccountState | undefined;
  }

  // ---- tokens ----

  issueAccessToken(email: string): string {
    if (this.access.size > 20_000) this.pruneTokens();
    const token = `ya29.sim-${randomHex(20)}`;
    this.access.set(token, { email, expiresAt: this.now() + this.tokenTtlSeconds * 1000 });
    return token;
  }

  /** the account behind a valid, unexpired access token */
  accountByAccessToken(token: string): AccountState | undefined {
    const t = this.access.get(token);
    if (!t) return undefined;
    if (t.expiresAt <= this.now()) {
      this.access.delete(token);
      return undefined;
    }
    return this.accounts.get(t.email);
  }

  expireTokens(email: string): boolean {
    const acc = this.account(email);
    if (!acc) return false;
    for (const [k, t] of this.access) if (t.email === acc.email) this.access.delete(k);
    return true;
  }

  revoke(email: string): boolean {
    const acc = this.account(email);
    if (!acc) return false;
    acc.revoked = true;
    return this.expireTokens(email);
  }

  private pruneTokens() {
    const now = this.now();
    for (const [k, t] of this.access) if (t.expiresAt <= now) this.access.delete(k);
    for (const [k, c] of this.codes) if (c.expiresAt <= now) this.codes.delete(k);
  }

  // ---- thought signatures ----

  issueSignature(): string {
    // base64 of 48 random bytes = 64 chars (clients treat < 50 as invalid)
    const sig = randomBytes(48).toString("base64");
    if (this.signatures.size >= SIGNATURE_LIMIT) this.signatures.delete(this.signatures.values().next().value!);
    this.signatures.add(sig);
    return sig;
  }

  knownSignature(sig: string) {
    return this.signatures.has(sig);
  }

  // ---- log and counters ----

  private usageSum = { promptTokenCount: 0, candidatesTokenCount: 0, thoughtsTokenCount: 0, cachedContentTokenCount: 0, answers: 0 };

  /** an answer's usageMetadata, added to the totals */
  reported(u: object | undefined) {
    this.usageSum.answers++;
    for (const k of ["promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "cachedContentTokenCount"] as const)
      if (typeof (u as any)?.[k] === "number") this.usageSum[k] += (u as any)[k] as number;
  }

  /** the usageMetadata totals over every answer since the last reset */
  reportedUsage() {
    return { ...this.usageSum };
  }

  private inFlight = new Map<string, number>();
  private peak = new Map<string, number>();

  /** a call of `method` started (the peak of calls in flight at once is kept per method) */
  enter(method: string) {
    const n = (this.inFlight.get(method) ?? 0) + 1;
    this.inFlight.set(method, n);
    if (n > (this.peak.get(method) ?? 0)) this.peak.set(method, n);
  }

  leave(method: string) {
    this.inFlight.set(method, (this.inFlight.get(method) ?? 1) - 1);
  }

  /** the calls per method in flight now */
  inFlightNow(): Record<string, number> {
    return Object.fromEntries(this.inFlight);
  }

  /** the most calls per method that were in flight at once (since the last reset) */
  peaks(): Record<string, number> {
    return Object.fromEntries(this.peak);
  }

  record(r: ReceivedRequest, model?: string) {
    this.log.push(r);
    if (this.log.length > LOG_LIMIT * 1.2) this.log.splice(0, this.log.length - LOG_LIMIT);
    this.counts.set(r.method, (this.counts.get(r.method) ?? 0) + 1);
    if (model && r.email) {
      let m = this.perModel.get(r.email);
      if (!m) this.perModel.set(r.email, (m = new Map()));
      m.set(model, (m.get(model) ?? 0) + 1);
    }
  }

  requests(filter: { method?: string; email?: string } = {}): ReceivedRequest[] {
    const email = filter.email?.toLowerCase();
    return this.log.slice(-LOG_LIMIT).filter((r) => (!filter.method || r.method === filter.method) && (!email || r.email === email));
  }

  clearRequests() {
    this.log = [];
  }

  stats(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  usage(): Record<string, Record<string, number>> {
    return Object.fromEntries([...this.perModel].map(([e, m]) => [e, Object.fromEntries(m)]));
  }

  reset() {
    this.faults.clear();
    this.log = [];
    this.counts.clear();
    this.perModel.clear();
    this.peak.clear();
    this.usageSum = { promptTokenCount: 0, candidatesTokenCount: 0, thoughtsTokenCount: 0, cachedContentTokenCount: 0, answers: 0 };
  }
}

export function publicAccount(a: AccountState): SimAccount {
  return {
    email: a.email,
    name: a.name,
    refreshToken: a.refreshToken,
    ...(a.project ? { project: a.project } : {}),
    ...(a.models ? { models: [...a.models] } : {}),
  };
}

/** whether the account may use (and sees) a model */
export const entitled = (a: AccountState, model: string) => !a.models || a.models.includes(model);

// an account can only be limited to ids this Google knows (served, or retired but still listed)
const KNOWN_IDS = new Set([...SIM_MODELS, ...LISTED_RETIRED].map((m) => m.id));

function checkModels(models: unknown) {
  if (!Array.isArray(models)) throw new Error("models must be a list of model ids");
  for (const m of models)
    if (typeof m !== "string" || !KNOWN_IDS.has(m))
      throw new Error(`models: unknown model ${JSON.stringify(m)} (known: ${[...KNOWN_IDS].join(", ")})`);
}

function nameFromEmail(email: string) {
  const local = email
    .split("@")[0]!
    .replace(/[._-]+/g, " ")
    .trim();
  return local.replace(/\b\w/g, (c) => c.toUpperCase()) || "Sim User";
}

/** Google account ids are 21-digit numbers */
function numericId(email: string) {
  return ("1" + BigInt("0x" + hashHex(email, 16)).toString()).padEnd(21, "0").slice(0, 21);
}
