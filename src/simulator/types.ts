// Public shapes of the simulator (the Simulator API in the team brief).
import type { GeminiRequest } from "../upstream/types";
import type { Logger } from "../core/log";

export interface SimulatorOptions {
  /** 0 (default) = a free port */
  port?: number;
  /** default 127.0.0.1 */
  hostname?: string;
  /** pace stream chunks ~25 ms apart (default true); the bench turns it off */
  delays?: boolean;
  /** access-token lifetime, default 3600 */
  tokenTtlSeconds?: number;
  /** the clock access tokens expire by (default Date.now) */
  now?: () => number;
  log?: Logger;
  /** the client-version gate; off by default */
  clientGate?: ClientGateSpec;
  /** the version the updater endpoint announces (default "2.9.4") */
  latestClientVersion?: string;
}

/** which of Google's two gate notices the gate answers with */
export type GateWording = "unsupported" | "outdated";

export interface ClientGateSpec {
  /** "N.N.N": generation calls whose User-Agent reports a lower version (or none) get the notice */
  minVersion?: string;
  /** default "unsupported" */
  wording?: GateWording;
}

/** what GET /_sim/client-gate shows */
export interface ClientGateState {
  /** null = the gate is off */
  minVersion: string | null;
  wording: GateWording;
  /** what the updater endpoint announces */
  latestVersion: string;
}

export interface SimAccountSpec {
  email?: string;
  name?: string;
  refreshToken?: string;
  /** undefined → a generated project; null → needs onboarding (onboardUser) */
  project?: string | null;
  /** operation polls before onboarding completes (default 2) */
  onboardPolls?: number;
  validationRequired?: boolean;
  /** default "free-tier" */
  tier?: string;
  /** model → remainingFraction (default 1.0) */
  quota?: Record<string, number>;
  /** served ids the account is entitled to (others → 404); default every model; null → back to every model */
  models?: string[] | null;
}

export interface SimAccount {
  email: string;
  name: string;
  refreshToken: string;
  project?: string;
  /** set when the account is limited to these models */
  models?: string[];
}

export const FAULT_KINDS = [
  "quota_exhausted",
  "rate_limited",
  "no_details_429",
  "capacity_503",
  "unauthenticated_401",
  "permission_403",
  "validation_403",
  "tos_403",
  "internal_500",
  "bad_request_400",
  "error_in_200",
  "html_200",
  "stream_cut",
  /** a stream that ends cleanly after its first chunk, without a finish reason (cut short, politely) */
  "stream_end",
  "delay",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSpec {
  kind: FaultKind;
  email?: string;
  model?: string;
  /** v1internal method, "token", "userinfo", "operation", or "*"; omitted → generateContent + streamGenerateContent */
  method?: string;
  /** default: unlimited */
  times?: number;
  resetSeconds?: number;
  delayMs?: number;
}

export interface ReceivedRequest {
  time: string;
  /** v1internal method, or "token" / "userinfo" / "authorize" / "operation" */
  method: string;
  path: string;
  /** secrets (authorization, cookies) masked */
  headers: Record<string, string>;
  /** parsed JSON or form body; secret form fields masked */
  body: any;
  email?: string;
  status: number;
}

export interface Simulator {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** upsert by email (same as POST /_sim/accounts) */
  addAccount(spec?: SimAccountSpec): SimAccount;
  addFault(f: FaultSpec): string;
  removeFault(id: string): boolean;
  clearFaults(): void;
  requests(filter?: { method?: string; email?: string }): ReceivedRequest[];
  clearRequests(): void;
  /** calls per method incl. "token" */
  stats(): Record<string, number>;
  /** the most calls per method that were in flight at once (since the last reset) */
  peaks(): Record<string, number>;
  /** the calls per method in flight now */
  inFlight(): Record<string, number>;
  /** the usageMetadata totals of every answer given since the last reset */
  reportedUsage(): {
    promptTokenCount: number;
    candidatesTokenCount: number;
    thoughtsTokenCount: number;
    cachedContentTokenCount: number;
    answers: number;
  };
  /** generate/stream calls per account email → model */
  usage(): Record<string, Record<string, number>>;
  countTokens(req: GeminiRequest): number;
  /** revoke an account's refresh token and access tokens (→ invalid_grant / 401) */
  revoke(email: string): boolean;
  /** make an account's current access tokens expire now (→ 401 until refreshed) */
  expireTokens(email: string): boolean;
  /** clears faults, the request log, stats and usage; accounts, tokens and the client gate stay */
  reset(): void;
  /** change the client-version gate; minVersion null turns it off, omitted fields stay */
  setClientGate(gate: { minVersion?: string | null; wording?: GateWording }): ClientGateState;
  /** the version the updater endpoint announces ("N.N.N") */
  setLatestClientVersion(version: string): void;
}
