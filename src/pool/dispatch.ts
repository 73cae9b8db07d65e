// The Gateway: the one door from a protocol route to Google. Maps the model, picks an account,
// wraps the v1internal envelope, classifies failures, applies their effects, and retries on other
// accounts until something reached the client (for a stream: until its first chunk was read).
import { randomUUID } from "node:crypto";
import type { Config } from "../config/schema";
import { isImageModel } from "../models/catalog";
import { mapModel } from "../models/mapping";
import { ApiError } from "../server/errors";
import type { Logger } from "../server/log";
import type { Metrics } from "../server/metrics";
import { classify, networkFailure, type Failure } from "../upstream/classify";
import type { Outcome, UpstreamClient } from "../upstream/client";
import { sseEvents, unwrapResponse, StreamIdleTimeout } from "../upstream/sse";
import type { CountResult, Gateway, GenerateArgs, GeminiRequest, GeminiResponse, StreamResult, UnaryResult } from "../upstream/types";
import { OAuthError } from "./oauth";
import { resetOf, type Effect } from "./policy";
import { explainNoAccount, isEligible, type Scheduler } from "./scheduler";
import type { TokenManager } from "./tokens";
import type { Account } from "./types";

/** What the dispatcher needs from the pool. */
export interface Runtime {
  config: Config;
  log: Logger;
  metrics?: Metrics;
  client: UpstreamClient;
  tokens: TokenManager;
  scheduler: Scheduler;
  accounts(): readonly Account[];
  byId(id: string): Account | undefined;
  /** bumped when quotas or the account list change (scheduler index) */
  generation(): number;
  /** the account served a request */
  served(account: Account, model: string): void;
  /** apply a failure's effect (cooldown, state, counters) and return it */
  failed(account: Account, model: string, failure: Failure): Effect;
}

/** the envelope's userAgent field names the client family, not our HTTP User-Agent */
const ENVELOPE_USER_AGENT = "antigravity";

/** Stable upstream sessionId: same conversation → same id (prompt caching), never random per request. */
function upstreamSessionId(sessionKey: string | undefined, accountId: string): string {
  const h = new Bun.CryptoHasher("sha256");
  h.update(sessionKey ?? `account:${accountId}`);
  return "-" + BigInt("0x" + h.digest("hex").slice(0, 15)).toString();
}

export function buildEnvelope(model: string, project: string, requestType: string, request: GeminiRequest, sessionId: string) {
  return {
    model,
    project,
    requestId: `agent-${randomUUID()}`,
    requestType,
    userAgent: ENVELOPE_USER_AGENT,
    request: { ...request, sessionId },
  };
}

export function countTokensBody(model: string, request: GeminiRequest) {
  const r: Record<string, unknown> = { model: `models/${model}`, contents: request.contents };
  if (request.systemInstruction) r.systemInstruction = request.systemInstruction;
  if (request.tools) r.tools = request.tools;
  return { request: r };
}

const retryAfterOf = (f: Failure, now: number) => {
  const at = resetOf(f, now);
  return at === undefined ? undefined : Math.max(1, Math.ceil((at - now) / 1000));
};

/** What the client asked for and who answered: named in messages and the served-by headers. */
export interface FailureContext {
  /** the model name the client sent */
  requested?: string;
  /** the upstream model it was mapped to */
  model?: string;
  /** the last account tried, when one was */
  accountEmail?: string;
}

/** x-mapped-model always, x-account-email when an account was tried (they also feed the request log) */
export function failureHeaders(c: FailureContext): Record<string, string> | undefined {
  const h: Record<string, string> = {};
  if (c.model) h["x-mapped-model"] = c.model;
  if (c.accountEmail) h["x-account-email"] = c.accountEmail;
  return Object.keys(h).length ? h : undefined;
}

/** The client-facing error for an upstream failure we are not retrying. */
export function clientError(f: Failure, now = Date.now(), c: FailureContext = {}): ApiError {
  const base = { upstreamBody: f.body, reason: f.class, googleStatus: f.googleStatus, headers: failureHeaders(c) };
  switch (f.class) {
    case "not_found": {
      // Gemini routes still get Google's own body (upstreamBody); the others get a hint what to send
      const msg = c.model
        ? `model "${c.requested ?? c.model}" is not served upstream (mapped to "${c.model}"); see GET /v1/models`
        : f.message;
      return new ApiError(404, msg, base);
    }
    case "invalid_request":
      return new ApiError(f.status >= 400 && f.status < 500 ? f.status : 400, f.message, base);
    case "quota_exhausted":
    case "rate_limited":
      return new ApiError(429, f.message, { ...base, retryAfter: retryAfterOf(f, now) ?? 1 });
    case "capacity":
      return new ApiError(503, f.message, { ...base, retryAfter: retryAfterOf(f, now) ?? 5 });
    case "server_error":
      return new ApiError(f.status >= 500 && f.status < 600 ? f.status : 502, f.message, base);
    case "network":
      return f.reason === "timeout"
        ? new ApiError(504, f.message, { reason: "timeout", headers: base.headers })
        : new ApiError(502, f.message, { reason: "network", headers: base.headers });
    default:
      // our account was refused (401/403): not the client's fault, so not a 401/403 for them
      return new ApiError(502, `Google refused the account: ${f.message}`, { reason: f.class, headers: base.headers });
  }
}

function isErrorEnvelope(v: unknown): boolean {
  return !!v && typeof v === "object" && "error" in v && !("response" in v);
}

interface Attempt<T> {
  value: T;
  account: Account;
  model: string;
}

export class PoolGateway implements Gateway {
  constructor(private rt: Runtime) {}

  async generate(args: GenerateArgs): Promise<UnaryResult> {
    const r = await this.withAccount(args, "generateContent", (acc, token, model, sessionId) =>
      this.rt.client.unary("generateContent", buildEnvelope(model, acc.projectId!, this.requestType(args, model), args.request, sessionId), token, args.signal),
    );
    return { response: unwrapResponse<GeminiResponse>(r.value), accountId: r.account.id, accountEmail: r.account.email, mappedModel: r.model };
  }

  async countTokens(args: GenerateArgs): Promise<CountResult> {
    const r = await this.withAccount(args, "countTokens", (_acc, token, model) =>
      this.rt.client.unary("countTokens", countTokensBody(model, args.request), token, args.signal),
    );
    const v = unwrapResponse<{ totalTokens?: unknown }>(r.value);
    const total = Number(v?.totalTokens ?? 0);
    return { totalTokens: Number.isFinite(total) ? total : 0, accountId: r.account.id, accountEmail: r.account.email, mappedModel: r.model };
  }

  async stream(args: GenerateArgs): Promise<StreamResult> {
    const idleTimeoutMs = this.rt.config.upstream.requestTimeoutSeconds * 1000;
    const r = await this.withAccount(args, "streamGenerateContent", async (acc, token, model, sessionId) => {
      const body = buildEnvelope(model, acc.projectId!, this.requestType(args, model), args.request, sessionId);
      const opened = await this.rt.client.stream("streamGenerateContent", body, token, args.signal);
      if (!opened.ok) return opened;
      const { response, abort } = opened.value;
      const events = sseEvents(response.body!, { idleTimeoutMs, signal: args.signal, onMalformed: () => this.rt.log.debug("skipped a malformed upstream event") });
      // read the first event here, so a failure before anything reached the client can still rotate
      let first: IteratorResult<unknown>;
      try {
        first = await events.next();
      } catch (e) {
        abort.abort();
        if (args.signal?.aborted) throw e;
        return { ok: false, failure: networkFailure(e, { timeoutSeconds: this.rt.config.upstream.requestTimeoutSeconds }) };
      }
      const fail = (failure: Failure): Outcome<never> => {
        void events.return(undefined);
        abort.abort();
        return { ok: false, failure };
      };
      if (first.done) return fail({ class: "server_error", status: 502, message: "upstream stream ended without any data" });
      if (isErrorEnvelope(first.value)) return fail(classify({ status: 200, body: first.value }));
      return { ok: true, value: { first: first.value, events, abort }, endpoint: opened.endpoint };
    });
    const { first, events, abort } = r.value;
    return { chunks: this.chunks(first, events, abort, r.account, r.model, args.model, args.signal), accountId: r.account.id, accountEmail: r.account.email, mappedModel: r.model };
  }

  private async *chunks(
    first: unknown,
    events: AsyncGenerator<unknown>,
    abort: AbortController,
    account: Account,
    model: string,
    requested: string,
    signal?: AbortSignal,
  ): AsyncGenerator<GeminiResponse> {
    const served = { requested, model, accountEmail: account.email };
    try {
      yield unwrapResponse<GeminiResponse>(first);
      for (;;) {
        let next: IteratorResult<unknown>;
        try {
          next = await events.next();
        } catch (e) {
          if (signal?.aborted || abort.signal.aborted) throw e; // the client left: nobody's fault
          const f = networkFailure(e, { timeoutSeconds: this.rt.config.upstream.requestTimeoutSeconds });
          this.report(account, model, "streamGenerateContent", f, "mid-stream");
          const headers = failureHeaders(served);
          throw e instanceof StreamIdleTimeout
            ? new ApiError(504, `upstream stream stalled: ${e.message}`, { reason: "timeout", headers })
            : new ApiError(502, `upstream stream interrupted: ${f.message}`, { reason: f.reason ?? "network", headers });
        }
        if (next.done) return;
        if (isErrorEnvelope(next.value)) {
          const f = classify({ status: 200, body: next.value });
          this.report(account, model, "streamGenerateContent", f, "mid-stream");
          throw clientError(f, Date.now(), served);
        }
        yield unwrapResponse<GeminiResponse>(next.value);
      }
    } finally {
      await events.return(undefined).catch(() => {});
      abort.abort();
    }
  }

  private requestType(args: GenerateArgs, model: string) {
    return args.requestType ?? (isImageModel(model) ? "image_gen" : "agent");
  }

  private report(account: Account, model: string, method: string, f: Failure, action: string): Effect {
    this.rt.metrics?.upstreamCalls.inc({ method, outcome: f.class });
    const effect = this.rt.failed(account, model, f);
    this.rt.log.warn("upstream call failed", {
      account: account.email,
      model,
      method,
      class: f.class,
      status: f.status,
      message: f.message.slice(0, 300),
      action: action === "auto" ? (effect.rotate ? "next account" : "returned to client") : action,
    });
    return effect;
  }

  /** Pick → token → call, rotating over up to maxAttempts accounts. */
  private async withAccount<T>(
    args: GenerateArgs,
    method: string,
    call: (account: Account, token: string, model: string, sessionId: string) => Promise<Outcome<T>>,
  ): Promise<Attempt<T>> {
    const { config, scheduler, tokens } = this.rt;
    const model = mapModel(args.model, config.models.aliases);
    const tried = new Set<string>();
    let last: Failure | undefined;
    let lastAccount: Account | undefined;
    for (let attempt = 0; attempt < config.scheduling.maxAttempts; attempt++) {
      if (args.signal?.aborted) throw args.signal.reason;
      const account = scheduler.pick({
        accounts: this.rt.accounts(),
        model,
        now: Date.now(),
        exclude: tried,
        sessionKey: args.sessionKey,
        byId: (id) => this.rt.byId(id),
        generation: this.rt.generation(),
      });
      if (!account) break;
      tried.add(account.id);
      lastAccount = account;
      const sessionId = upstreamSessionId(args.sessionKey, account.id);
      let out: Outcome<T> | undefined;
      let token: string | undefined;
      for (let authTry = 0; authTry < 2; authTry++) {
        try {
          token = await tokens.get(account.id, { rejected: authTry > 0 ? token : undefined });
        } catch (e) {
          last = tokenFailure(e);
          this.rt.metrics?.upstreamCalls.inc({ method: "token", outcome: last.class });
          this.rt.log.warn("could not get an access token", { account: account.email, model, message: last.message.slice(0, 300) });
          out = undefined;
          break;
        }
        out = await call(account, token, model, sessionId);
        // a 401 with a token we think is valid: Google revoked it early; refresh once and retry
        if (out.ok || out.failure.class !== "unauthenticated" || authTry > 0) break;
        this.rt.metrics?.upstreamCalls.inc({ method, outcome: "unauthenticated" });
        this.rt.log.info("upstream said 401: refreshing the token and retrying", { account: account.email, model, method });
      }
      if (!out) continue;
      if (out.ok) {
        this.rt.metrics?.upstreamCalls.inc({ method, outcome: "ok" });
        this.rt.served(account, model);
        scheduler.bind(args.sessionKey, account.id, Date.now());
        return { value: out.value, account, model };
      }
      last = out.failure;
      const effect = this.report(account, model, method, out.failure, "auto");
      if (!effect.rotate) throw clientError(out.failure, Date.now(), { requested: args.model, model, accountEmail: account.email });
    }
    throw this.exhausted(model, last, tried.size, { requested: args.model, model, accountEmail: lastAccount?.email });
  }

  private exhausted(model: string, last: Failure | undefined, tried: number, c: FailureContext): ApiError {
    const now = Date.now();
    const accounts = this.rt.accounts();
    if (!last || !accounts.some((a) => isEligible(a, model, now))) {
      // x-account-email only when an account was actually tried (and then benched)
      const why = explainNoAccount(accounts, model, now);
      return new ApiError(why.status, why.message, { retryAfter: why.retryAfter, reason: why.reason, headers: failureHeaders(c) });
    }
    const err = clientError(last, now, c);
    if (err.retryAfter !== undefined) {
      // the attempts ran out, not the pool: another account can take a retry right away
      return new ApiError(err.status, `${tried} accounts tried for ${model}; the last said: ${last.message}`, { ...err.options, retryAfter: 1 });
    }
    return err;
  }
}

function tokenFailure(e: unknown): Failure {
  if (e instanceof OAuthError) {
    return { class: e.code === "network" || e.status >= 500 ? "network" : "unauthenticated", status: e.status, message: e.message };
  }
  return networkFailure(e);
}
