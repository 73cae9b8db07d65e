// The Gateway: the one door from a protocol route to Google. Maps the model, picks an account,
// wraps the v1internal envelope, classifies failures, applies their effects, and retries on other
// accounts until something reached the client (for a stream: until its first chunk was read).
import type { Config } from "../config/schema";
import { isImageModel, type ModelCatalog } from "../models/catalog";
import { fitRequest } from "../models/fit";
import type { Rule } from "../models/resolve";
import type { ApiError } from "../core/errors";
import { LogGate, type Logger } from "../core/log";
import type { Metrics } from "../core/metrics";
import { classify, networkFailure, type Failure } from "../upstream/classify";
import type { Outcome, UpstreamClient } from "../upstream/client";
import type { ClientIdentity } from "../upstream/identity";
import { unwrapResponse } from "../upstream/sse";
import { buildEnvelope, countTokensBody, upstreamSessionId } from "../upstream/wire";
import {
  isErrorEnvelope,
  isGeminiResponse,
  answerFailure,
  brokenAnswer,
  notAnAnswer,
  noticeFailure,
  openStream,
  streamsForUnary,
  streamWhole,
  type Upstream,
} from "./reading";
import {
  attemptsError,
  clientError,
  midStreamError,
  noAccountError,
  outdatedError,
  forbiddenRequestError,
  requestRefusedError,
  retiredError,
  type FailureContext,
} from "./errors";
import type { GeminiRequest, GeminiResponse, GeminiUsage } from "../upstream/types";
import type { CountResult, Gateway, GenerateArgs, MeterHandle, RequestMeter, StreamResult, UnaryResult } from "./port";
import { OAuthError } from "../accounts/oauth";
import type { Effect } from "../scheduling/policy";
import { explainNoAccount, isEligible, type Scheduler } from "../scheduling/scheduler";
import type { TokenManager } from "../accounts/tokens";
import type { Account } from "../accounts/types";

/** the question a retirement notice is checked with before its forwarding rule is kept (see confirmRetired) */
const RETIREMENT_PROBE: GeminiRequest = { contents: [{ role: "user", parts: [{ text: "Reply with the word OK." }] }] };

/** resolution rules that guess (a family's current model, the built-in table): see withAccount */
const FUZZY_RULES = new Set<Rule>(["family", "builtin"]);

/** What the dispatcher needs from the pool. */
export interface Runtime {
  config: Config;
  log: Logger;
  metrics?: Metrics;
  client: UpstreamClient;
  identity: ClientIdentity;
  catalog: ModelCatalog;
  tokens: TokenManager;
  scheduler: Scheduler;
  pool: PoolView;
  outcomes: Outcomes;
  /** the caller's limits and the usage log (set once the server has them) */
  meter?: RequestMeter;
}

/** the accounts as the rotation loop reads them */
export interface PoolView {
  accounts(): readonly Account[];
  byId(id: string): Account | undefined;
  /** bumped when quotas or the account list change (the scheduler's index) */
  generation(): number;
  /** pending while the accounts' state is still loading (a server's first moments) */
  ready(): Promise<void> | undefined;
}

/** what an attempt's outcome does to its account (the ledger, persisted) */
export interface Outcomes {
  served(account: Account, model: string): void;
  /** applies the failure's effect (cooldown, state, counters) and returns it */
  failed(account: Account, model: string, failure: Failure): Effect;
}

/** a 400 may be about the account (its project, its region), not the request: another account tells */
const ambiguous400 = (f: Failure) => f.class === "invalid_request" && f.status === 400 && !/signature/i.test(f.message);
/**
 * a lasting 403 that does not name the account (unlike terms of service) may be about the model or the request
 * ("no valid license of this product" for one model): another account tells, before anyone is disabled
 */
const ambiguous403 = (f: Failure) => f.class === "forbidden" && f.permanent === true && !ACCOUNT_403.test(f.message);
const ACCOUNT_403 = /terms of service|\btos\b|violat|suspend|abuse/i;
/** what a deferred failure means once the next account did not repeat it */
const asAccounts = (f: Failure): Failure => (f.class === "invalid_request" ? { ...f, class: "account_rejected" } : f);

type Accept = (a: Account, model: string, now: number) => boolean;
/** the account's model list has the model (one that never reported a list may have it) */
const lists: Accept = (a, model) => !a.quota || Object.hasOwn(a.quota, model);
/** the account did not fail just now */
const healthy: Accept = (a, _model, now) => !(a.penaltyUntil! > now);
const listsAndHealthy: Accept = (a, model, now) => lists(a, model, now) && healthy(a, model, now);

/** detail-free 429: Google gave no reason and no retry hint */
const detailFree429 = (f: Failure) =>
  f.class === "rate_limited" && f.status === 429 && !f.reason && f.delayMs === undefined && f.resetAt === undefined;

interface Attempt<T> {
  value: T;
  account: Account;
  model: string;
}

type Call<T> = (account: Account, token: string, model: string, sessionId: string, request: GeminiRequest) => Promise<Outcome<T>>;

export class PoolGateway implements Gateway {
  /** the client-outdated advice, once a minute */
  private outdatedLog = new LogGate(60_000);

  private readonly upstream: Upstream;
  private readonly byId = (id: string) => this.rt.pool.byId(id);

  constructor(private rt: Runtime) {
    this.upstream = { client: rt.client, log: rt.log, timeoutSeconds: rt.config.upstream.requestTimeoutSeconds };
  }

  /** the caller's limits and usage log (the server sets it once it has them) */
  useMeter(meter: RequestMeter): void {
    this.rt.meter = meter;
  }

  async generate(args: GenerateArgs): Promise<UnaryResult> {
    const meter = this.rt.meter?.current(args.signal);
    const r = await this.withAccount(args, meter, "generateContent", async (acc, token, model, sessionId, request) => {
      const body = buildEnvelope(model, acc.projectId!, this.requestType(args, model), request, sessionId);
      if (streamsForUnary(model)) return streamWhole(this.upstream, body, { model, request }, token, args.signal);
      const out = await this.rt.client.unary("generateContent", body, token, args.signal);
      if (!out.ok) return out;
      const resp = unwrapResponse<GeminiResponse>(out.value);
      const bad = isGeminiResponse(resp) ? answerFailure(resp, { model, request }) : notAnAnswer();
      return bad ? { ok: false, failure: bad, endpoint: out.endpoint } : out;
    });
    const response = unwrapResponse<GeminiResponse>(r.value);
    meter?.answered(response?.usageMetadata);
    return {
      response,
      accountId: r.account.id,
      accountEmail: r.account.email,
      mappedModel: r.model,
    };
  }

  async countTokens(args: GenerateArgs): Promise<CountResult> {
    const r = await this.withAccount(args, this.rt.meter?.current(args.signal), "countTokens", (_acc, token, model, _sid, request) =>
      this.rt.client.unary("countTokens", countTokensBody(model, request), token, args.signal),
    );
    const v = unwrapResponse<{ totalTokens?: unknown }>(r.value);
    const total = Number(v?.totalTokens ?? 0);
    return {
      totalTokens: Number.isFinite(total) ? total : 0,
      accountId: r.account.id,
      accountEmail: r.account.email,
      mappedModel: r.model,
    };
  }

  async stream(args: GenerateArgs): Promise<StreamResult> {
    const meter = this.rt.meter?.current(args.signal);
    const r = await this.withAccount(args, meter, "streamGenerateContent", (acc, token, model, sessionId, request) =>
      openStream(
        this.upstream,
        buildEnvelope(model, acc.projectId!, this.requestType(args, model), request, sessionId),
        { model, request },
        token,
        args.signal,
      ),
    );
    const { held, events, abort } = r.value;
    // Upstream's usage comes with its last chunk. A stream ended before it (the client left, a stop
    // sequence matched, upstream broke off) is counted upstream instead: the prompt, and the answer's text so far. Without
    // that a key's token limits never saw it, and the client's usage said 0. Counted once, on demand
    // (no signal: no admission).
    const answer: string[] = [];
    let counted: Promise<GeminiUsage> | undefined;
    const earlyUsage = () =>
      (counted ??= (async () => {
        const count = (request: GeminiRequest) =>
          this.countTokens({ ...args, request, upstreamModel: r.model, signal: undefined, own: true }).then((c) => c.totalTokens);
        const text = answer.join("");
        const [prompt, output] = await Promise.all([
          count(args.request),
          text ? count({ contents: [{ role: "user", parts: [{ text }] }] }) : 0,
        ]);
        return { promptTokenCount: prompt, candidatesTokenCount: output, totalTokenCount: prompt + output };
      })());
    return {
      chunks: this.chunks(held, events, abort, r.account, r.model, args.model, answer, earlyUsage, args.signal, meter),
      usageOfEarlyEnd: earlyUsage,
      accountId: r.account.id,
      accountEmail: r.account.email,
      mappedModel: r.model,
    };
  }

  private async *chunks(
    held: unknown[],
    events: AsyncGenerator<unknown>,
    abort: AbortController,
    account: Account,
    model: string,
    requested: string,
    /** the text of the chunks handed on (what earlyUsage counts as the answer) */
    answer: string[],
    earlyUsage: () => Promise<GeminiUsage>,
    signal?: AbortSignal,
    meter?: MeterHandle,
  ): AsyncGenerator<GeminiResponse> {
    const served = { requested, model, accountEmail: account.email };
    // a stream's usage is what its last chunk with usageMetadata said, also when the client cut it
    const done = meter?.holdStream();
    let usage: unknown;
    // something besides thoughts went out: an answer the model broke off after it is the answer it is
    let said = false;
    const seen = (c: GeminiResponse) => {
      if (c?.usageMetadata) usage = c.usageMetadata;
      for (const p of c?.candidates?.[0]?.content?.parts ?? []) {
        if (typeof p.text === "string") answer.push(p.text);
        if (!said && ((p.text && !p.thought) || p.functionCall || p.inlineData)) said = true;
      }
      return c;
    };
    // a stream read to its end has nothing left to stop upstream (aborting it anyway made an error and
    // an abort event per stream)
    let ended = false;
    try {
      for (const c of held) yield seen(unwrapResponse<GeminiResponse>(c));
      for (;;) {
        let next: IteratorResult<unknown>;
        try {
          next = await events.next();
        } catch (e) {
          if (signal?.aborted || abort.signal.aborted) throw e; // the client left: nobody's fault
          const f = networkFailure(e, { timeoutSeconds: this.rt.config.upstream.requestTimeoutSeconds });
          this.midStream(account, model, f);
          throw midStreamError(e, f, served);
        }
        if (next.done) {
          ended = true;
          return;
        }
        if (isErrorEnvelope(next.value)) {
          const f = classify({ status: 200, body: next.value });
          this.midStream(account, model, f);
          throw clientError(f, Date.now(), served);
        }
        const chunk = unwrapResponse<GeminiResponse>(next.value);
        // only thoughts so far, then the model broke off: an error event (clients retry it), not an empty stop
        const slip = said ? undefined : brokenAnswer(chunk);
        if (slip) {
          this.midStream(account, model, slip);
          throw midStreamError(new Error(slip.message), slip, served);
        }
        yield seen(chunk);
      }
    } finally {
      // ended before any usage arrived: the client left, a stop sequence matched, or upstream broke off
      // after the first byte (the client got part of an answer: it is charged as one)
      const early = !ended && usage === undefined && meter !== undefined;
      if (!early) {
        meter?.answered(usage);
        done?.();
      }
      await events.return(undefined).catch(() => {});
      if (!ended) abort.abort();
      // counted in the background: the client's stream does not wait (an Anthropic stream a stop sequence
      // ended waits up to 2 s for it, to report it), nor does the key's next request
      // (its concurrency slot is free now); the usage record does (the hold)
      if (early) {
        meter!.freeSlot();
        void earlyUsage()
          .then(
            (u) => meter?.answered(u),
            () => {},
          )
          .finally(() => done?.());
      }
    }
  }

  /** whether `model` answers a fixed question of ours with its retirement notice too */
  private async confirmRetired(account: Account, token: string, model: string, sessionKey?: string): Promise<boolean> {
    const body = buildEnvelope(model, account.projectId!, "agent", RETIREMENT_PROBE, upstreamSessionId(sessionKey, account.id));
    const out = await this.rt.client.unary("generateContent", body, token).catch(() => undefined);
    if (!out?.ok) return false;
    const resp = unwrapResponse<GeminiResponse>(out.value);
    return isGeminiResponse(resp) && noticeFailure(resp, { model, request: RETIREMENT_PROBE })?.class === "model_retired";
  }

  private requestType(args: GenerateArgs, model: string) {
    return args.requestType ?? (isImageModel(model) ? "image_gen" : "agent");
  }

  private report(account: Account, model: string, method: string, f: Failure, action: string): Effect {
    this.rt.metrics?.upstreamCalls.inc({ method, outcome: f.class });
    const effect = this.rt.outcomes.failed(account, model, f);
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

  /**
   * A failure after the client got bytes: too late to try another account for this request, but booked
   * like any failure, so the next one goes elsewhere (a cut connection puts the account last for a
   * while; an error Google sent mid-stream, a quota one say, has its usual effect). A conversation's
   * retries otherwise kept going to the account that broke them.
   */
  private midStream(account: Account, model: string, f: Failure) {
    this.rt.metrics?.upstreamCalls.inc({ method: "streamGenerateContent", outcome: f.class });
    this.rt.outcomes.failed(account, model, f);
    this.rt.log.warn("upstream stream failed after the first byte", {
      account: account.email,
      model,
      class: f.class,
      message: f.message.slice(0, 300),
    });
  }

  /** the request as sent for `model`: the last shaping for the model actually chosen */
  private fit(request: GeminiRequest, model: string): GeminiRequest {
    const { request: out, changes } = fitRequest(request, model, this.rt.catalog.get(model), {
      rewriteAgentIdentity: this.rt.config.upstream.rewriteAgentIdentity,
    });
    if (changes.length) this.rt.log.debug("request fitted to the model", { model, changes });
    return out;
  }

  /** an account other than the tried ones that can serve `model` and lists it */
  private otherListing(model: string, tried: ReadonlySet<string>): boolean {
    const now = Date.now();
    return this.rt.pool.accounts().some((a) => !tried.has(a.id) && !!a.quota && Object.hasOwn(a.quota, model) && isEligible(a, model, now));
  }

  /** after a client_outdated answer: is there a newer client version to try (another request may have found it)? */
  private async newerVersion(uaUsed: string): Promise<boolean> {
    const id = this.rt.identity;
    if (id.userAgent !== uaUsed) return true;
    await id.recheck();
    return id.userAgent !== uaUsed;
  }

  /** logs the client-outdated advice at most once a minute */
  private logOutdated(f: Failure, uaUsed: string) {
    if (!this.outdatedLog.open()) return;
    this.rt.log.error(
      "Google turned away our client version; set upstream.clientVersion / SWITCHYARD_CLIENT_VERSION to the current Antigravity version",
      {
        userAgent: uaUsed,
        notice: f.message.slice(0, 200),
        identity: this.rt.identity.info().source,
      },
    );
  }

  /**
   * Resolve the model, then pick → token → call, rotating over up to maxAttempts accounts. Notices,
   * model access and request-scoped refusals are decided here (docs/gateway.md).
   */
  private async withAccount<T>(args: GenerateArgs, meter: MeterHandle | undefined, method: string, call: Call<T>): Promise<Attempt<T>> {
    const { config, scheduler, tokens, catalog } = this.rt;
    const loading = this.rt.pool.ready();
    if (loading) await loading;
    const resolved = catalog.resolve(args.model);
    let model = args.upstreamModel ?? resolved.model;
    // the caller's limits come first: a key over its limit never touches an account. A name that only a
    // fuzzy rule maps must be allowed as what it reaches, too
    const admitting = meter?.admit(args.model, FUZZY_RULES.has(resolved.rule) ? model : undefined);
    if (admitting) await admitting;
    let request = this.fit(args.request, model);
    const models = new Set([model]);
    const tried = new Set<string>();
    let last: Failure | undefined;
    let lastAccount: Account | undefined;
    let versionRetried = false;
    // a detail-free 429 or a 400 is applied only once the next account tells whether the request caused it
    let deferred: { account: Account; model: string; failure: Failure } | undefined;
    const settle = () => {
      // the next account did not repeat it: it was this account's (a 400 then cools it for the model)
      if (deferred) this.report(deferred.account, deferred.model, method, asAccounts(deferred.failure), "next account");
      deferred = undefined;
    };
    const ctx = (acc?: Account): FailureContext => ({ requested: args.model, model, accountEmail: acc?.email });

    for (let attempt = 0; attempt < config.scheduling.maxAttempts; attempt++) {
      if (args.signal?.aborted) throw args.signal.reason;
      const account =
        this.pick(args, model, tried, listsAndHealthy) ??
        this.pick(args, model, tried, healthy) ??
        this.pick(args, model, tried, lists) ??
        this.pick(args, model, tried);
      if (!account) break;
      tried.add(account.id);
      lastAccount = account;
      const boundTo = args.own ? undefined : scheduler.bindIfNew(args.sessionKey, account.id, Date.now());
      // the usage record and metrics name the account and model of the last attempt, served or not
      meter?.routed(account.email, model);
      const sessionId = upstreamSessionId(args.sessionKey, account.id);
      let out: Outcome<T> | undefined;
      let token: string | undefined;
      let uaUsed = this.rt.client.userAgent;
      for (let authTry = 0; authTry < 2; authTry++) {
        try {
          token =
            (authTry === 0 && tokens.current(account.id)) || (await tokens.get(account.id, { rejected: authTry > 0 ? token : undefined }));
        } catch (e) {
          last = tokenFailure(e);
          this.rt.metrics?.upstreamCalls.inc({ method: "token", outcome: last.class });
          this.rt.log.warn("could not get an access token", { account: account.email, model, message: last.message.slice(0, 300) });
          // an account that cannot get a token must not stay first in line: a 5xx or network failure
          // puts it last for a while, a refusal cools it (invalid_grant already disabled it)
          this.rt.outcomes.failed(account, model, last);
          out = undefined;
          break;
        }
        uaUsed = this.rt.client.userAgent;
        out = await call(account, token, model, sessionId, request);
        // a 401 with a token we think is valid: Google revoked it early; refresh once and retry
        if (out.ok || out.failure.class !== "unauthenticated" || authTry > 0) break;
        this.rt.metrics?.upstreamCalls.inc({ method, outcome: "unauthenticated" });
        this.rt.log.info("upstream said 401: refreshing the token and retrying", { account: account.email, model, method });
      }
      if (!out) continue;
      if (out.ok) {
        settle();
        this.rt.metrics?.upstreamCalls.inc({ method, outcome: "ok" });
        if (!args.own) {
          this.rt.outcomes.served(account, model);
          // an account removed or disabled while the call ran keeps no sessions (they were let go then)
          if (this.rt.pool.byId(account.id)?.state === "active") scheduler.bind(args.sessionKey, account.id, Date.now(), boundTo);
        }
        return { value: out.value, account, model };
      }
      const f = out.failure;
      last = f;
      if (f.class === "client_outdated") {
        // not the account's fault: it is neither cooled nor counted as served
        this.rt.metrics?.upstreamCalls.inc({ method, outcome: f.class });
        if (!versionRetried && (await this.newerVersion(uaUsed))) {
          versionRetried = true;
          tried.delete(account.id);
          attempt--;
          continue;
        }
        this.logOutdated(f, uaUsed);
        throw outdatedError(f, uaUsed, ctx(account));
      }
      if (f.class === "model_retired") {
        this.rt.metrics?.upstreamCalls.inc({ method, outcome: f.class });
        const next = f.successor ? catalog.successor(f.successor) : undefined;
        this.rt.log.warn("upstream model retired", { model, notice: f.message.slice(0, 200), successor: next ?? null });
        if (next && !models.has(next)) {
          // this request goes on to the successor; every later one only if a question of our own meets
          // the notice too (a model can be asked to write one: a client must not reroute everyone)
          if (token !== undefined && (await this.confirmRetired(account, token, model, args.sessionKey))) catalog.learnForward(model, next);
          model = next;
          models.add(next);
          request = this.fit(args.request, model);
          tried.delete(account.id);
          attempt--;
          continue;
        }
        throw retiredError(f, ctx(account), next);
      }
      if (f.class === "not_found" && this.otherListing(model, tried)) {
        this.report(account, model, method, { ...f, class: "model_not_served" }, "next account");
        continue;
      }
      if (detailFree429(f) || ambiguous400(f) || ambiguous403(f)) {
        if (deferred && ambiguous403(deferred.failure) && ambiguous403(f)) {
          // two accounts refused it alike: about the model or the request, so nobody is disabled
          deferred = undefined;
          this.rt.metrics?.upstreamCalls.inc({ method, outcome: f.class });
          this.rt.log.warn("a 403 followed the request to a second account: not disabling either", {
            model,
            message: f.message.slice(0, 300),
          });
          throw forbiddenRequestError(f, ctx(account));
        }
        if (deferred?.failure.class === "invalid_request" && f.class === "invalid_request") {
          // two accounts refused it alike: the request is wrong, and no account is to blame
          deferred = undefined;
          this.rt.metrics?.upstreamCalls.inc({ method, outcome: f.class });
          throw clientError(f, Date.now(), ctx(account));
        }
        if (deferred && detailFree429(deferred.failure) && detailFree429(f)) {
          // the same refusal from a second account: the request causes it, not the accounts' quota
          this.rt.metrics?.upstreamCalls.inc({ method, outcome: "request_refused" });
          this.rt.log.warn("a detail-free 429 followed the request to a second account: treating it as caused by the request", {
            model,
            accounts: [deferred.account.email, account.email],
          });
          deferred = undefined;
          throw requestRefusedError(f, ctx(account));
        }
        settle();
        deferred = { account, model, failure: f };
        continue;
      }
      settle();
      const effect = this.report(account, model, method, f, "auto");
      if (!effect.rotate) throw clientError(f, Date.now(), ctx(account));
    }
    if (deferred?.failure.class === "invalid_request") {
      // no other account could tell: the client gets the 400, and the account is not blamed
      this.rt.metrics?.upstreamCalls.inc({ method, outcome: "invalid_request" });
      throw clientError(deferred.failure, Date.now(), ctx(deferred.account));
    }
    if (deferred && ambiguous403(deferred.failure)) {
      // the same for a 403 (a pool of one must not lose its only account over one model)
      this.rt.metrics?.upstreamCalls.inc({ method, outcome: deferred.failure.class });
      throw forbiddenRequestError(deferred.failure, ctx(deferred.account));
    }
    settle();
    throw this.exhausted(model, last, tried.size, ctx(lastAccount));
  }

  /**
   * An account for `model` not tried yet. Accounts whose model list has the model come first (one that
   * never reported a list may have it), and accounts that failed just now last: the gateway asks with
   * the strictest `accept` first.
   */
  private pick(args: GenerateArgs, model: string, tried: ReadonlySet<string>, accept?: Accept): Account | undefined {
    return this.rt.scheduler.pick({
      accounts: this.rt.pool.accounts(),
      model,
      now: Date.now(),
      exclude: tried,
      sessionKey: args.sessionKey,
      byId: this.byId,
      generation: this.rt.pool.generation(),
      accept,
    });
  }

  private exhausted(model: string, last: Failure | undefined, tried: number, c: FailureContext): ApiError {
    const now = Date.now();
    const accounts = this.rt.pool.accounts();
    // x-account-email only when an account was actually tried (and then benched)
    if (!last) return noAccountError(explainNoAccount(accounts, model, now), c);
    if (accounts.some((a) => isEligible(a, model, now))) return attemptsError(last, tried, c, now);
    return noAccountError(explainNoAccount(accounts, model, now), c);
  }
}

function tokenFailure(e: unknown): Failure {
  if (e instanceof OAuthError) {
    // Google's token service busy, down or answering oddly says nothing about the account: it goes last
    // for a while; a refusal of the token itself cools the account (invalid_grant has disabled it)
    const transient = e.code === "network" || e.code === "bad_response" || e.status === 429 || e.status >= 500;
    return { class: transient ? "network" : "unauthenticated", status: e.status, message: e.message };
  }
  return networkFailure(e);
}
