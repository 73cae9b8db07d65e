// One client request as the keys room sees it: who called (a virtual key, a configured key, or nobody),
// what the gateway learned (account, models, tokens), and what the server learned at the end (status,
// latency). Found from the request's AbortSignal (withScope below), so no route has to pass it along.
import type { KeyRecord } from "../state/keys";
import type { Admission } from "./limiter";

export interface Caller {
  /** the virtual key; undefined for a configured key or none */
  key?: KeyRecord;
  /** the key's name, "config" or "anonymous" */
  name: string;
}

/** a key from the configuration, and no key: their usage is recorded under these names */
export const CONFIG_CALLER: Caller = { name: "config" };
export const ANONYMOUS: Caller = { name: "anonymous" };

export interface Tokens {
  input: number;
  output: number;
  thinking: number;
  cached: number;
}

export interface RequestScope {
  caller: Caller;
  protocol: string;
  route: string;
  at: number;
  admission?: Admission;
  /** the admission while the key's shared count is being taken */
  admitting?: Promise<void>;
  model?: string;
  upstreamModel?: string;
  account?: string;
  tokens: Tokens;
  errorClass?: string;
  /** holds on the record: the server's answer, and each upstream stream still open */
  holds: number;
  /** set by the server when its answer ended */
  end?: { status: number; latencyMs: number; ttfbMs: number | null; streamed: boolean };
}

// Every gateway call carries its route's `request.signal` (to stop upstream when the client leaves),
// so the signal is the handle the scope is found by: no AsyncLocalStorage, which made every await of
// every request pay for carrying its context (docs/performance.md).
const scopes = new WeakMap<AbortSignal, RequestScope>();

/** the request's scope from now on, for the gateway (scopeOf(args.signal)) and the error hook */
export function withScope(req: Request, scope: RequestScope): void {
  scopes.set(req.signal, scope);
}

export const scopeOf = (signal: AbortSignal | undefined): RequestScope | undefined => (signal ? scopes.get(signal) : undefined);

/** the caller of a client request that has no scope (a GET or DELETE: nothing to meter, but owned things to find) */
const callers = new WeakMap<AbortSignal, Caller>();

export function withCaller(req: Request, caller: Caller): void {
  callers.set(req.signal, caller);
}

export const callerOf = (signal: AbortSignal | undefined): Caller | undefined =>
  signal ? (scopes.get(signal)?.caller ?? callers.get(signal)) : undefined;

export const noTokens = (): Tokens => ({ input: 0, output: 0, thinking: 0, cached: 0 });

/** Gemini's usageMetadata as our four counts (absent fields are 0) */
export function tokensOf(u: any): Tokens {
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);
  return {
    input: n(u?.promptTokenCount),
    output: n(u?.candidatesTokenCount),
    thinking: n(u?.thoughtsTokenCount),
    cached: n(u?.cachedContentTokenCount),
  };
}
