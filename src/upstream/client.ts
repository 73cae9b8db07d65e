// Calls `{endpoint}/v1internal:{method}`, trying the configured endpoints in order when one fails
// in a way another endpoint may not (5xx, 408, a non-Google 404, network). 429 and other 4xx are
// about the account or the request, so they are returned at once. At most
// `upstream.maxConcurrentRequests` calls are in flight; the rest wait for a slot in order (./limit.ts).
import { classify, networkFailure, type Failure } from "./classify";
import { Slots, type Release } from "./limit";
import { LogGate, type Logger } from "../core/log";
import type { Metrics } from "../core/metrics";

export interface ClientConfig {
  endpoints: string[];
  requestTimeoutSeconds: number;
  /** v1internal calls in flight at once (a stream holds its slot until its body ends); default: no limit */
  maxConcurrentRequests?: number;
}

/** what the client reports to besides its answers; all optional */
export interface ClientOptions {
  fetch?: typeof fetch;
  /** a line when calls wait for a slot, at most once a minute */
  log?: Pick<Logger, "warn">;
  metrics?: Pick<Metrics, "upstreamInFlight" | "upstreamWaiting" | "upstreamWaits" | "upstreamLatency">;
  /** the clock of the once-a-minute line (tests inject one) */
  now?: () => number;
}

/** tokens whose headers are kept for reuse (headers()) */
const HEADER_CACHE = 4096;
/** the waiting line is written at most this often */
const WAIT_LOG_EVERY_MS = 60_000;

/** where the User-Agent comes from (ClientIdentity: it may change while we run) */
export interface UserAgentSource {
  readonly userAgent: string;
}

/** What the working clients send besides the User-Agent (docs/upstream.md, "Client identity"). */
const CLIENT_HEADERS = {
  "x-goog-api-client": "google-cloud-sdk vscode_cloudshelleditor/0.1",
  "client-metadata": JSON.stringify({ ideType: "IDE_UNSPECIFIED", platform: "PLATFORM_UNSPECIFIED", pluginType: "GEMINI" }),
};
/** project discovery answers some accounts only for Google's Node client library */
const SETUP_METHODS = new Set(["loadCodeAssist", "onboardUser"]);
const SETUP_USER_AGENT = "google-api-nodejs-client/9.15.1";

export type Outcome<T> = { ok: true; value: T; endpoint: string } | { ok: false; failure: Failure; endpoint?: string };

const NEXT_ENDPOINT = new Set(["server_error", "network"]);
/** how long an endpoint that waited out a deadline is tried last */
const SLOW_ENDPOINT_MS = 5 * 60_000;
const GENERATION = new Set(["generateContent", "streamGenerateContent"]);
const SSE = "text/event-stream";

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** a 200 that is not JSON (a proxy's or captive portal's page, an empty body) is not an answer */
function notJson(res: Response): Failure {
  const type = res.headers.get("content-type")?.split(";")[0] || "no content type";
  return { class: "server_error", status: 502, message: `upstream answered 200 with something that is not a JSON answer (${type})` };
}

/** a JSON answer: a 200 whose body is `{error}`, or not a JSON object, is a failure */
async function readJson(res: Response, endpoint: string): Promise<Outcome<unknown>> {
  const parsed = parseBody(await res.text());
  if (res.ok && (parsed === null || typeof parsed !== "object")) return { ok: false, failure: notJson(res), endpoint };
  if (res.ok && !("error" in (parsed as object))) return { ok: true, value: parsed, endpoint };
  return { ok: false, failure: classify({ status: res.status, body: parsed, headers: res.headers }), endpoint };
}

/** a 200's body as text (its events are the caller's to read); anything else is a failure */
async function readText(res: Response, endpoint: string): Promise<Outcome<string>> {
  const text = await res.text();
  if (res.ok) return { ok: true, value: text, endpoint };
  return { ok: false, failure: classify({ status: res.status, body: parseBody(text), headers: res.headers }), endpoint };
}

/**
 * A call's own controller: it follows the caller's signal (this object is the listener: no closure per
 * call) and aborts at the call's deadline (a timer given the controller as its argument). Cheaper than
 * AbortSignal.any plus AbortSignal.timeout, which a call used to combine (docs/performance.md).
 */
class CallAbort {
  readonly ctl = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly parent: AbortSignal | undefined,
    deadlineMs: number,
  ) {
    // no { once: true }: end() takes the listener off, and on a server request's signal the option
    // costs ~1 µs a call (docs/performance.md, "Eleventh pass")
    if (parent?.aborted) this.ctl.abort(parent.reason);
    else parent?.addEventListener("abort", this);
    this.timer = setTimeout(expire, deadlineMs, this.ctl);
  }

  get signal(): AbortSignal {
    return this.ctl.signal;
  }

  /** the caller's signal aborted */
  handleEvent(): void {
    this.ctl.abort(this.parent!.reason);
  }

  /** the deadline no longer applies (a stream's body is bounded by its reader) */
  clearDeadline(): void {
    clearTimeout(this.timer);
  }

  /** the call is over: neither the deadline nor the caller's signal reach it any more */
  end(): void {
    clearTimeout(this.timer);
    this.parent?.removeEventListener("abort", this);
  }
}
/** what a call's deadline aborts it with: a TimeoutError, as AbortSignal.timeout's (classify.ts names it) */
const expire = (ctl: AbortController) => ctl.abort(new DOMException("upstream did not answer in time", "TimeoutError"));

function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return endpoint;
  }
}

export class UpstreamClient {
  /** the calls in flight and waiting (upstream.maxConcurrentRequests) */
  readonly slots: Slots;
  private fetchImpl: typeof fetch;
  private waitLog = new LogGate(WAIT_LOG_EVERY_MS);
  private waitsSinceLine = 0;
  private headerCache = new Map<string, { ua: string; accept: string; headers: Headers }[]>();
  /** endpoints that waited out a deadline lately: tried after the others until then */
  private slowUntil = new Map<string, number>();

  constructor(
    private cfg: ClientConfig,
    private identity: UserAgentSource,
    private opts: ClientOptions = {},
  ) {
    this.fetchImpl = opts.fetch ?? fetch;
    const m = opts.metrics;
    this.slots = new Slots(cfg.maxConcurrentRequests ?? Number.MAX_SAFE_INTEGER, {
      queued: () => this.queued(),
      changed: m
        ? (inFlight, waiting) => {
            m.upstreamInFlight.set(inFlight);
            m.upstreamWaiting.set(waiting);
          }
        : undefined,
    });
  }

  /** a call waits for a slot: counted, and a line at most once a minute (the limit is the fix, or more capacity) */
  private queued() {
    this.opts.metrics?.upstreamWaits.inc();
    this.waitsSinceLine++;
    if (!this.waitLog.open((this.opts.now ?? Date.now)())) return;
    this.opts.log?.warn("upstream calls wait for a free slot", {
      maxConcurrentRequests: this.slots.max,
      inFlight: this.slots.inFlight,
      waiting: this.slots.waiting,
      waitsSinceLastLine: this.waitsSinceLine,
      setting: "upstream.maxConcurrentRequests",
    });
    this.waitsSinceLine = 0;
  }

  /** the User-Agent generation calls carry now (named in client_outdated errors) */
  get userAgent(): string {
    return this.identity.userAgent;
  }

  /**
   * A call's headers, made once per token, User-Agent and Accept and reused: fetch copies a Headers
   * object natively, where a plain object is read and checked field by field on every call (~5 µs).
   * Found by the token, then among its few kinds (no key string built per call: a new string is hashed
   * on every lookup). Bounded: the map starts over past HEADER_CACHE tokens.
   */
  private headers(token: string, accept: string, method: string): Headers {
    const ua = SETUP_METHODS.has(method) ? SETUP_USER_AGENT : this.identity.userAgent;
    let kinds = this.headerCache.get(token);
    if (!kinds) {
      if (this.headerCache.size >= HEADER_CACHE) this.headerCache.clear();
      this.headerCache.set(token, (kinds = []));
    }
    for (const k of kinds) if (k.ua === ua && k.accept === accept) return k.headers;
    const headers = new Headers({
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      "user-agent": ua,
      accept,
      ...CLIENT_HEADERS,
    });
    // a User-Agent that changed leaves its old entries behind: a token's list stays a handful
    if (kinds.length >= 8) kinds.length = 0;
    kinds.push({ ua, accept, headers });
    return headers;
  }

  private get timeoutMs() {
    return this.cfg.requestTimeoutSeconds * 1000;
  }

  /** Unary JSON call. A 200 whose body is `{error}` is a failure. */
  unary(method: string, body: unknown, token: string, signal?: AbortSignal): Promise<Outcome<unknown>> {
    return this.call("POST", method, `v1internal:${method}`, body, token, "application/json", readJson, signal);
  }

  /** GET `{endpoint}/v1internal/{path}` (long-running operations). */
  get(path: string, token: string, signal?: AbortSignal): Promise<Outcome<unknown>> {
    return this.call("GET", "operation", `v1internal/${path}`, undefined, token, "application/json", readJson, signal);
  }

  /**
   * A streaming call read to its end as one text (`?alt=sse`): for a whole answer that goes upstream as a
   * stream. The deadline covers the whole body, as for unary(); no stream objects per chunk.
   */
  sseText(method: string, body: unknown, token: string, signal?: AbortSignal): Promise<Outcome<string>> {
    return this.call("POST", method, `v1internal:${method}?alt=sse`, body, token, SSE, readText, signal);
  }

  /** one call with its body read by `read` within the deadline, trying the endpoints in order */
  private async call<T>(
    verb: "GET" | "POST",
    method: string,
    path: string,
    body: unknown,
    token: string,
    accept: string,
    read: (res: Response, endpoint: string) => Promise<Outcome<T>>,
    signal?: AbortSignal,
  ): Promise<Outcome<T>> {
    // written before a slot is taken: should it throw, no slot is left held
    const json = body === undefined ? undefined : JSON.stringify(body);
    const release = this.slots.take(signal) ?? (await this.slots.acquire(signal));
    const started = performance.now();
    // a stream's latency is to its headers (the metric's meaning), also when its body is read here
    let headersAt: number | undefined;
    try {
      return await this.tryEndpoints(
        method,
        async (endpoint) => {
          // the deadline covers the answer's body too
          const abort = new CallAbort(signal, this.timeoutMs);
          try {
            const res = await this.fetchImpl(`${endpoint}/${path}`, {
              method: verb,
              headers: this.headers(token, accept, method),
              body: json,
              signal: abort.signal,
              redirect: "manual",
              timeout: false,
            } as RequestInit);
            if (accept === SSE) headersAt = performance.now();
            return await read(res, endpoint);
          } finally {
            abort.end();
          }
        },
        signal,
      );
    } finally {
      release();
      this.took(method, started, headersAt);
    }
  }

  /**
   * Streaming call: resolves with the Response once upstream answered 200 (the headers). The deadline
   * covers the wait for the headers; the caller bounds the gaps between chunks. Aborting `abort`
   * (returned) cancels the request. The call's slot is held until its reader calls `release` (returned:
   * sseEvents' onEnd, once the body ended, failed or was cancelled) or the request is aborted (`abort`,
   * or `signal`), whichever comes first. No stream is wrapped around the body to find its end: that
   * cost a pull and a promise per chunk, and a stream, a reader and a Response per call.
   */
  async stream(
    method: string,
    body: unknown,
    token: string,
    signal?: AbortSignal,
  ): Promise<Outcome<{ response: Response; abort: AbortController; release: Release }>> {
    const json = JSON.stringify(body); // before the slot, as in call()
    const release = this.slots.take(signal) ?? (await this.slots.acquire(signal));
    const started = performance.now();
    let handedOver = false;
    try {
      return await this.tryEndpoints(
        method,
        async (endpoint) => {
          // follows the client's signal until the stream ends (the listener goes with the request)
          const call = new CallAbort(signal, this.timeoutMs);
          const abort = call.ctl;
          const sig = abort.signal;
          try {
            const res = await this.fetchImpl(`${endpoint}/v1internal:${method}?alt=sse`, {
              method: "POST",
              headers: this.headers(token, SSE, method),
              body: json,
              signal: sig,
              redirect: "manual",
              timeout: false,
            } as RequestInit);
            if (res.ok && res.body) {
              sig.addEventListener("abort", release, { once: true });
              if (sig.aborted) release();
              handedOver = true;
              return { ok: true, value: { response: res, abort, release }, endpoint };
            }
            const parsed = parseBody(await res.text());
            return { ok: false, failure: classify({ status: res.ok ? 502 : res.status, body: parsed, headers: res.headers }), endpoint };
          } finally {
            if (handedOver) call.clearDeadline();
            else call.end();
          }
        },
        signal,
      );
    } finally {
      // anything but a stream handed to the caller (a failure, an error, the signal) frees the slot here
      if (!handedOver) release();
      this.took(method, started);
    }
  }

  /** a call's time from its slot to its answer (a stream: its headers), failed or not */
  private took(method: string, started: number, end = performance.now()) {
    this.opts.metrics?.upstreamLatency.observe({ method }, (end - started) / 1000);
  }

  /**
   * The endpoints in order, those that waited out a deadline lately last. A generation call that waited
   * out its deadline goes to the next account, not the next endpoint (each endpoint would make the client
   * wait the whole deadline again: three times ten minutes with the defaults), and the endpoint that hung
   * goes last for a while, so a black-holed first endpoint costs one deadline, not every call; when its
   * time is up one call tries it again while the others keep it last. Other calls (project setup, quota)
   * go on to the next endpoint at once.
   */
  private async tryEndpoints<T>(
    method: string,
    attempt: (endpoint: string) => Promise<Outcome<T>>,
    signal?: AbortSignal,
  ): Promise<Outcome<T>> {
    let last: Outcome<T> | undefined;
    for (const endpoint of this.endpointOrder()) {
      try {
        last = await attempt(endpoint);
      } catch (e) {
        if (signal?.aborted) throw signal.reason ?? e; // the client went away: not the endpoint's fault
        last = {
          ok: false,
          failure: networkFailure(e, { host: hostOf(endpoint), timeoutSeconds: this.cfg.requestTimeoutSeconds }),
          endpoint,
        };
      }
      if (last.ok) {
        if (this.slowUntil.size) this.slowUntil.delete(endpoint);
        return last;
      }
      if (!NEXT_ENDPOINT.has(last.failure.class)) return last;
      if (last.failure.reason === "timeout") {
        this.slowUntil.set(endpoint, (this.opts.now ?? Date.now)() + Math.max(SLOW_ENDPOINT_MS, this.timeoutMs));
        if (GENERATION.has(method)) return last;
      }
    }
    return last!;
  }

  private endpointOrder(): string[] {
    const all = this.cfg.endpoints;
    if (this.slowUntil.size === 0) return all;
    const now = (this.opts.now ?? Date.now)();
    const fast: string[] = [];
    const slow: string[] = [];
    for (const e of all) {
      const until = this.slowUntil.get(e);
      if (until === undefined) fast.push(e);
      else if (until > now) slow.push(e);
      else {
        // its time is up: this call tries it first, the others keep it last until this one has an answer
        // (all of them trying it at once would each wait a deadline again if it still hangs)
        this.slowUntil.set(e, now + this.timeoutMs);
        fast.push(e);
      }
    }
    return slow.length || fast.length !== all.length ? [...fast, ...slow] : all;
  }
}
