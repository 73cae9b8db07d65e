// The server shell: one Elysia app with docs, operations routes and the protocol plugins, wrapped by
// `handle` which does what must happen before routing (request id, body limit, auth) and after
// (request log line, metrics; for a stream, once its body ends).
import { Elysia, type AnyElysia } from "elysia";
import { Gauge } from "../core/prom";
import type { AppContext } from "../protocol/context";
import { ApiError, errorResponse, familyOf, toApiError } from "../core/errors";
import { checkAuth } from "./auth";
import { checkBrowser } from "./guard";
import { docs, DOCS_HEADERS } from "./docs";
import { SECURITY_HEADERS } from "../ui/routes";
import { operationsRoutes } from "./health";
import { jsonDepthOver, validationToApiError } from "../core/validation";
import { observeStream } from "../protocol/stream";
import { EventLoopLag } from "../core/metrics";
import { noteRequest, startIdleGc } from "./idle-gc";
import { COMMIT, VERSION } from "../version";
import { scopeOf, withCaller, withScope, type RequestScope } from "../keys/scope";
import { notePeer } from "../core/peer";

export function buildApp(ctx: AppContext, plugins: AnyElysia[]): AnyElysia {
  // normalize off: a wrong-typed field is a 400, never silently rewritten (Elysia turned {"m": 3} into {"m": {}})
  const app = new Elysia({ name: "switchyard", normalize: false })
    // a body the handler already read is parsed from its text: JSON routes take JSON whatever the
    // content type says (curl -d sends a form type)
    .onParse({ as: "global" }, ({ request }) => {
      const text = readBodies.get(request);
      if (text === undefined) return;
      try {
        return JSON.parse(text);
      } catch {
        throw new ApiError(400, "malformed JSON in the request body", { param: "body", reason: "malformed_json" });
      }
    })
    .onError({ as: "global" }, ({ code, error, request }) => {
      const path = new URL(request.url).pathname;
      let err: ApiError;
      if (code === "VALIDATION") err = validationToApiError(error);
      else if (code === "PARSE") err = parseError(request);
      else if (code === "NOT_FOUND") err = notFound(app, request.method, path);
      else {
        err = toApiError(error);
        if (!(error instanceof ApiError) && err.status >= 500)
          ctx.log.error("unhandled error", { path, error: String((error as Error)?.stack ?? error) });
      }
      const scope = scopeOf(request.signal);
      if (scope) scope.errorClass ??= err.reason;
      return errorResponse(familyOf(path, request.headers), err);
    })
    .use(docs())
    .use(operationsRoutes(ctx));
  for (const p of plugins) app.use(p);
  return app;
}

function routePattern(path: string): RegExp {
  const esc = path
    .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
    .replace(/:[^/]+/g, "[^/]+")
    .replace(/\*/g, ".*");
  return new RegExp(`^${esc}$`);
}

/** 405 when the path exists under another method, else 404 */
function notFound(app: AnyElysia, method: string, path: string): ApiError {
  const allowed = new Set<string>();
  for (const r of app.routes) if (r.method !== method && routePattern(r.path).test(path)) allowed.add(r.method);
  if (allowed.size > 0)
    return new ApiError(405, `method ${method} is not allowed on ${path}; use ${[...allowed].join(", ")}`, {
      reason: "method_not_allowed",
      headers: { allow: [...allowed].join(", ") },
    });
  return new ApiError(404, `no route for ${method} ${path}`, { reason: "not_found" });
}

const SAFE_ID = /^[\w.\-:]{1,128}$/;

/**
 * The dashboard's bodies (a key's limits, a refresh token, the sign-in key) are small, and /ui is open
 * before its session check: without this cap anyone could make the server read and parse
 * server.maxBodyBytes (100 MiB) at /ui/login.
 */
const UI_MAX_BODY_BYTES = 64 * 1024;

/** a body limit and where it comes from (for the 413's message) */
interface BodyLimit {
  bytes: number;
  name: string;
}

const tooLarge = (what: string, max: BodyLimit) =>
  new ApiError(413, `${what}; the limit is ${max.bytes} bytes (${max.name})`, { param: "body", reason: "payload_too_large" });

/** reads a body of unknown length, failing with 413 as soon as it passes `max` bytes */
async function readCapped(body: ReadableStream<Uint8Array>, max: BodyLimit): Promise<ArrayBuffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max.bytes) {
      void reader.cancel();
      throw tooLarge(`request body is over ${max.bytes} bytes`, max);
    }
    chunks.push(value);
  }
  const all = Buffer.concat(chunks);
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
}

/** bodies read (and depth-checked) by the handler, for the app's parser (see buildApp's onParse) */
const readBodies = new WeakMap<Request, string>();
const textDecoder = new TextDecoder();

const tooDeep = (max: number) =>
  new ApiError(400, `the JSON body nests deeper than ${max} levels (server.maxJsonDepth)`, { param: "body", reason: "json_too_deep" });

/**
 * Reads the body here (a chunked one under the size cap) and refuses JSON nested deeper than the limit
 * before anything parses or validates it: a small deep body would otherwise cost seconds of CPU.
 */
async function withCheckedBody(req: Request, chunked: boolean, max: BodyLimit, maxDepth: number, timeoutMs: number): Promise<Request> {
  const multipart = (req.headers.get("content-type") ?? "").toLowerCase().startsWith("multipart/");
  // a client that stops sending its body must not hold the connection forever (the listener puts no
  // idle limit on a request being handled, for long streams): the body has this long to arrive
  const late = () => {
    void req.body?.cancel().catch(() => {});
    return new ApiError(408, `the request body did not arrive within ${timeoutMs / 1000} s (server.bodyTimeoutSeconds)`, {
      param: "body",
      reason: "body_timeout",
    });
  };
  if (multipart) {
    const body = await deadline(chunked ? readCapped(req.body!, max) : req.arrayBuffer(), timeoutMs, late);
    return new Request(req, { body, signal: req.signal });
  }
  // as text at once: Bun makes it from the bytes several times faster than a TextDecoder does (56
  // against ~200 µs for a 270 KB agent's turn, docs/performance.md)
  const text = await deadline(chunked ? readCapped(req.body!, max).then((b) => textDecoder.decode(b)) : req.text(), timeoutMs, late);
  if (text === "") return new Request(req, { body: "", signal: req.signal });
  if (jsonDepthOver(text, maxDepth)) throw tooDeep(maxDepth);
  // the body was read once here: the app's parser takes the text from here (no second Request, no copy)
  readBodies.set(req, text);
  return req;
}

/** `p`, or the error `onTimeout` makes when it takes longer than `ms` */
function deadline<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  // one promise and a timer (a race with a timeout promise and a finally make three)
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

/** The request handler behind Bun.serve. */
export function createHandler(ctx: AppContext, app: AnyElysia) {
  const { config, metrics, log } = ctx;
  const apiLimit: BodyLimit = { bytes: config.server.maxBodyBytes, name: "server.maxBodyBytes" };
  const uiLimit: BodyLimit = { bytes: Math.min(apiLimit.bytes, UI_MAX_BODY_BYTES), name: "the dashboard's" };
  const keys = ctx.keys;
  const identify = keys && ((k: string | undefined) => keys.identify(k));
  return async function handle(req: Request, server?: { requestIP(req: Request): { address: string } | null }): Promise<Response> {
    const t0 = performance.now();
    const received = req;
    noteRequest();
    let url: URL;
    try {
      if (req.method === "CONNECT") throw new Error("not a proxy");
      url = new URL(req.url);
    } catch {
      // HTTP/1.0 without a Host, or a request target that is not a path
      return early(
        new ApiError(400, "the request has no Host header or no valid target (CONNECT is not served: this is not a proxy)", {
          reason: "invalid_request",
        }),
      );
    }
    // Elysia finds the path by the first "/" from the 12th character on (it assumes a host of four or more
    // characters), and keeps a "#" the URL parser drops: with `Host: a` and `/##/admin/…`, auth saw "/"
    // while the router ran /admin/…. The router gets the same path as every check here.
    const raw = req.url;
    if (url.hash || raw.indexOf("/", 11) !== raw.indexOf("/", raw.indexOf("://") + 3)) {
      if (url.hash) return early(new ApiError(400, "the request target holds a '#'", { reason: "invalid_request" }));
      req = new Request(`${SHORT_HOST_ORIGIN}${url.pathname}${url.search}`, req);
    }
    const path = url.pathname;
    const family = familyOf(path, req.headers);
    const max = path === "/ui" || path.startsWith("/ui/") ? uiLimit : apiLimit;
    // the dashboard's sign-in throttle counts wrong keys per address
    // Bun knows the peer of the request it handed us only (not of one rebuilt for a short host)
    if (path === "/ui/login" && server) notePeer(req, server.requestIP(received)?.address ?? "");
    const given = req.headers.get("x-request-id");
    const requestId = given && SAFE_ID.test(given) ? given : crypto.randomUUID();
    // the UI loads its spec from the relative URL "swagger/json": a trailing slash breaks it
    if (path === "/swagger/")
      return new Response(null, { status: 301, headers: { location: `/swagger${url.search}`, "x-request-id": requestId } });
    metrics.inflight.inc();
    let res: Response;
    // a client request (not health, docs, admin): who made it and what it used, for limits and the usage log
    let scope: RequestScope | undefined;
    try {
      const declared = req.headers.get("content-length");
      if (declared !== null && Number(declared) > max.bytes) throw tooLarge(`request body is ${declared} bytes`, max);
      checkBrowser(config, req);
      const caller = checkAuth(config, req, url, identify);
      if (keys && family !== "plain" && req.method === "POST") scope = keys.begin(caller, family, path);
      if (req.body)
        req = await withCheckedBody(req, declared === null, max, config.server.maxJsonDepth, config.server.bodyTimeoutSeconds * 1000);
      if (scope) withScope(req, scope);
      else if (keys && family !== "plain") withCaller(req, caller);
      res = await app.handle(req);
    } catch (e) {
      const err = toApiError(e);
      if (scope) scope.errorClass ??= err.reason;
      res = errorResponse(family, err);
    }
    const ttfb = performance.now() - t0;
    const status = res.status;
    metrics.requests.inc({ family, status: String(status) });
    const level = status >= 500 ? "error" : status >= 400 ? "warn" : "info";
    const account = res.headers.get("x-account-email") ?? undefined;
    const model = res.headers.get("x-mapped-model") ?? undefined;
    // never the query in `path`: it may carry ?key=
    const line = (ms: number, more?: object) => ({ method: req.method, path, status, ms: round(ms), ...more, requestId, account, model });
    // a stream is logged when its body ends, so `ms` is its whole duration and a failure after the
    // first byte (already the stream's final error frame) is tied to this request id
    // a stream is in flight until its body ends, not just until its headers went out
    const streamed = observeStream(res, (stream, failure) => {
      metrics.inflight.dec();
      metrics.openStreams.dec();
      const ms = performance.now() - t0;
      // a stream the client left is recorded as a unary request the client left is: 499, cancelled
      const left = !failure && stream === "cancelled";
      if (scope)
        ctx.keys!.end(
          scope,
          { status: left ? 499 : (failure?.status ?? status), latencyMs: ms, ttfbMs: ttfb, streamed: true },
          left ? "cancelled" : failure?.reason,
        );
      metrics.latency.observe({ family }, ms / 1000);
      const lvl = failure ? (failure.status >= 500 ? "error" : "warn") : level;
      log[lvl]("request", line(ms, { ttfbMs: round(ttfb), stream, error: failure?.message, errorStatus: failure?.status }));
    });
    if (streamed) {
      metrics.openStreams.inc();
      metrics.ttfb.observe({ family }, ttfb / 1000);
    }
    const limits = scope?.admission?.headers;
    // the pages' own headers on every answer under them, errors included (those come from onError)
    const page = path === "/ui" || path.startsWith("/ui/") ? SECURITY_HEADERS : path.startsWith("/swagger") ? DOCS_HEADERS : undefined;
    try {
      stamp(res, requestId, limits, page);
    } catch {
      res = new Response(res.body, res);
      stamp(res, requestId, limits, page);
    }
    if (!streamed) {
      metrics.inflight.dec();
      // the key's hold ends before the answer goes out (the client may send its next request at once)
      if (scope) ctx.keys!.end(scope, { status, latencyMs: ttfb, ttfbMs: null, streamed: false });
      // the latency and the log line after it went out: Bun writes it once this function's promise resolves
      afterReply(() => {
        metrics.latency.observe({ family }, ttfb / 1000);
        log[level]("request", line(ttfb));
      });
    }
    return res;
  };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** a request refused before it is known enough to be logged: still an answer with a request id */
function early(e: ApiError): Response {
  const r = errorResponse("plain", e);
  r.headers.set("x-request-id", crypto.randomUUID());
  return r;
}

/** the headers every answer gets here: its request id, a key's limits, a page's own (those it lacks) */
function stamp(r: Response, requestId: string, limits?: Record<string, string>, page?: Record<string, string>): void {
  r.headers.set("x-request-id", requestId);
  if (limits) for (const h in limits) r.headers.set(h, limits[h]!);
  if (page) for (const h in page) if (!r.headers.has(h)) r.headers.set(h, page[h]!);
}

/** work run after the current answers were written: one immediate per event-loop turn for all of them */
let pending: (() => void)[] = [];
function afterReply(work: () => void) {
  if (pending.push(work) === 1) setImmediate(runPending);
}
function runPending() {
  const all = pending;
  pending = [];
  for (const work of all)
    try {
      work();
    } catch {
      // one request's books failing must not skip the others' (each writes its own log line)
    }
}

/** pool series for /metrics, read at scrape time */
export function registerPoolMetrics(ctx: AppContext) {
  new Gauge({
    name: "switchyard_pool_accounts",
    help: "accounts in the pool (total, and available = eligible for some model now)",
    labelNames: ["kind"] as const,
    registers: [ctx.metrics.registry],
    collect() {
      const c = ctx.pool.counts();
      this.set({ kind: "total" }, c.total);
      this.set({ kind: "available" }, c.available);
    },
  });
  const list = ctx.pool.accountStates?.bind(ctx.pool);
  if (!list) return;
  // per account and model, read at scrape time: bounded by the pool (accounts by email)
  const registers = [ctx.metrics.registry];
  new Gauge({
    name: "switchyard_accounts",
    help: "accounts by state (active, disabled, needs_verification)",
    labelNames: ["state"] as const,
    registers,
    collect() {
      const by: Record<string, number> = { active: 0, disabled: 0, needs_verification: 0 };
      for (const a of list()) by[a.state] = (by[a.state] ?? 0) + 1;
      for (const [state, n] of Object.entries(by)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: "switchyard_account_quota_remaining_ratio",
    help: "quota left as Google last reported it (0..1), per account and model; absent = unknown",
    labelNames: ["account", "model"] as const,
    registers,
    collect() {
      this.reset();
      for (const a of list()) {
        const quota = a.quota;
        if (quota) for (const model in quota) this.set({ account: a.email, model }, quota[model]!.remainingFraction);
      }
    },
  });
  new Gauge({
    name: "switchyard_account_cooldown_seconds",
    help: "seconds until an account may serve a model again ('*' = every model), with the reason",
    labelNames: ["account", "model", "reason"] as const,
    registers,
    collect() {
      this.reset();
      const now = Date.now();
      for (const a of list())
        for (const c of a.cooldowns)
          if (c.until > now) this.set({ account: a.email, model: c.model, reason: c.reason }, (c.until - now) / 1000);
    },
  });
}

/**
 * the server's own series: the upstream limit, and the event-loop lag timer; and the idle collection
 * (src/server/idle-gc.ts). Both timers start here and stop with the returned function.
 */
export function registerServerMetrics(ctx: AppContext): () => void {
  ctx.metrics.upstreamMaxConcurrent.set(ctx.config.upstream.maxConcurrentRequests);
  new Gauge({
    name: "switchyard_build_info",
    help: "always 1; the labels say which build is running",
    labelNames: ["version", "commit", "bun"] as const,
    registers: [ctx.metrics.registry],
  }).set({ version: VERSION, commit: COMMIT, bun: Bun.version }, 1);
  const lag = new EventLoopLag(ctx.metrics.eventLoopLag).start();
  const stopIdleGc = startIdleGc();
  return () => {
    lag.stop();
    stopIdleGc();
  };
}

/** the origin a request with a host shorter than Elysia assumes is handed on with (its Host header is kept) */
const SHORT_HOST_ORIGIN = "http://short-host.invalid";

/** a body that did not parse, named by what it claimed to be */
function parseError(request: Request): ApiError {
  if (request.headers.get("content-type")?.toLowerCase().startsWith("multipart/"))
    return new ApiError(400, "malformed multipart/form-data body", { param: "body", reason: "malformed_form" });
  return new ApiError(400, "malformed JSON in the request body", { param: "body", reason: "malformed_json" });
}
