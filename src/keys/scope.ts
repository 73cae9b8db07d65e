// One client request as the keys room sees it: who called (a virtual key, a configured key, or nobody),
// what the gateway learned (account, models, tokens), and what the server learned at the end (status,
// latency). Carried with AsyncLocalStorage from the server's handler to the gateway, so no route has to
// pass it along.
import { AsyncLocalStorage } from "node:async_hooks";
import type { KeyRecord } from "../state/keys";
import type { Admission } from "./limiter";

export interface Caller {
  /** the virtual key; undefined for a configured key or none */
  key?: KeyRecord;
  /** the key's name, "config" or "anonymous" */
  name: string;
}

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

const storage = new AsyncLocalStorage<RequestScope>();

export const currentScope = (): RequestScope | undefined => storage.getStore();

export function inScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

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
