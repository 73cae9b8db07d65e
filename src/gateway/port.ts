// The Gateway port: what a protocol route calls to reach Google. The routes depend on this interface,
// not on the pool behind it (PoolGateway in ./gateway.ts implements it; route tests script it).
import type { GeminiRequest, GeminiResponse, GeminiUsage } from "../upstream/types";

export type RequestType = "agent" | "image_gen";

export interface GenerateArgs {
  /** the model the client asked for, before mapping (a leading "models/" is tolerated) */
  model: string;
  /** the upstream model the route already resolved (ModelCatalog.resolve): resolved once per request */
  upstreamModel?: string;
  request: GeminiRequest;
  /** sticky-session key; undefined → no stickiness for this request */
  sessionKey?: string;
  /** client disconnect / deadline */
  signal?: AbortSignal;
  /** default: "image_gen" for image models, else "agent" */
  requestType?: RequestType;
  /**
   * the gateway's own call (the count of a stream that ended early), not a client's request: it binds no
   * session and does not count as the account serving (which would clear a penalty just earned)
   */
  own?: boolean;
}

export interface Served {
  accountId: string;
  accountEmail: string;
  /** the upstream model actually used (after aliases and the built-in table) */
  mappedModel: string;
}

export interface UnaryResult extends Served {
  response: GeminiResponse;
}

export interface StreamResult extends Served {
  /**
   * Unwrapped upstream chunks as they arrive. Throws ApiError if upstream fails mid-stream.
   * Breaking out of the loop (or the signal aborting) cancels the upstream request.
   */
  chunks: AsyncIterable<GeminiResponse>;
  /**
   * For a stream ended before upstream's usage came (it comes with the last chunk): the prompt and the
   * answer handed on so far, counted upstream (once, however often asked)
   */
  usageOfEarlyEnd?: () => Promise<GeminiUsage>;
}

export interface CountResult extends Served {
  totalTokens: number;
}

/**
 * The request being served, as the caller's limits and the usage log see it (implemented in src/keys/:
 * the gateway only reports to it). `admit` throws ApiError (403, 429) when the caller may not start.
 */
export interface MeterHandle {
  /**
   * the caller's limits for `model`; `reached` is the model a fuzzy rule made of it, which the caller's
   * model list must allow too. A promise when the caller's count is shared with other instances (Redis)
   */
  admit(model: string, reached?: string): Promise<void> | undefined;
  /** the request went to this account and upstream model (each attempt: the last one is recorded) */
  routed(account: string, upstreamModel: string): void;
  /** one upstream answer's usageMetadata */
  answered(usageMetadata: unknown): void;
  /** an upstream stream stays open past the answer's headers: call the result when it ends */
  holdStream(): () => void;
  /** the key's hold on its concurrency ends now (the stream is over), while the usage record still waits */
  freeSlot(): void;
}

export interface RequestMeter {
  /** the client request this call belongs to (found by its signal), when there is one */
  current(signal: AbortSignal | undefined): MeterHandle | undefined;
}

/**
 * What a protocol route calls. Picks an account (scheduler), maps the model, wraps the v1internal
 * envelope, refreshes tokens, retries retryable failures on other accounts (before the first byte),
 * and throws ApiError (status, message, retryAfter, upstreamBody) when it cannot serve.
 */
export interface Gateway {
  generate(args: GenerateArgs): Promise<UnaryResult>;
  /** resolves once upstream answered 200 for the stream; failures before that are retried or thrown */
  stream(args: GenerateArgs): Promise<StreamResult>;
  countTokens(args: GenerateArgs): Promise<CountResult>;
}
