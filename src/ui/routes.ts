// /ui: the dashboard. Pages and scripts are files embedded in the binary and read when asked for (no
// memory until a browser opens it). The session cookie is the credential (the server's key check lets
// /ui through: src/server/auth.ts); the page's data calls are the admin API's own routes, forwarded
// in-process after the session check, so there is one implementation of every action.
import { Elysia, t, type AnyElysia } from "elysia";
import { ApiError } from "../core/errors";
import { peerOf } from "../core/peer";
import type { AppContext } from "../protocol/context";
import type { Pool } from "../pool/index";
import { dayStart } from "../keys/limiter";
import { LiveLog } from "./live";
import { cookieValue, SESSION_TTL_MS, Sessions, SignInThrottle } from "./sessions";
import indexBundle from "./assets/index.html" with { type: "file" };
import loginBundle from "./assets/login.html" with { type: "file" };
import appCss from "./assets/app.css" with { type: "file" };
import appJs from "./assets/app.js" with { type: "file" };
import loginJs from "./assets/login.js" with { type: "file" };

export const COOKIE = "switchyard_ui";

// Bun types *.html imports as HTML bundles; imported `with { type: "file" }` they are paths like the rest
const indexHtml = indexBundle as unknown as string;
const loginHtml = loginBundle as unknown as string;

/** what the dashboard needs from the server that mounts it */
export interface UiHost {
  /** the whole app, to forward the page's calls to /admin routes (after the session check) */
  app(): AnyElysia;
  /** throws a 401 ApiError unless the key opens /admin */
  checkAdminKey(key: string): void;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CSP,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

const JS = "text/javascript; charset=utf-8";
/** the assets; `public` ones are what the sign-in form needs */
const ASSETS: Record<string, { path: string; type: string; public: boolean }> = {
  "app.css": { path: appCss, type: "text/css; charset=utf-8", public: true },
  "login.js": { path: loginJs, type: JS, public: true },
  "app.js": { path: appJs, type: JS, public: false },
};

/** the admin routes the page may call (method, path under /admin/); never the export, which holds secrets */
const FORWARDED: [string, RegExp][] = [
  ["GET", /^(accounts|pool|keys|usage|oauth\/status)$/],
  ["POST", /^(accounts|accounts\/refresh|keys|oauth\/start|oauth\/complete)$/],
  ["POST", /^accounts\/[^/]+\/(enable|disable|refresh)$/],
  ["DELETE", /^(accounts|keys)\/[^/]+$/],
  ["PATCH", /^keys\/[^/]+$/],
];

const RANGES = { "24h": 24 * 3_600_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000 } as const;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** every bucket's label from `since` to `now`, as the usage query names them */
export function bucketLabels(since: number, now: number, bucket: "hour" | "day"): string[] {
  const step = bucket === "hour" ? HOUR : DAY;
  const out: string[] = [];
  for (let t = Math.floor(since / step) * step; t <= now; t += step) {
    const iso = new Date(t).toISOString();
    out.push(bucket === "hour" ? `${iso.slice(0, 13)}:00Z` : iso.slice(0, 10));
  }
  return out;
}

// SECURITY_HEADERS go on every answer under /ui, errors included, where the server's handler stamps
// its request id (src/server/app.ts): the routes here set only their own headers

const file = (path: string, type: string, status = 200) => new Response(Bun.file(path), { status, headers: { "content-type": type } });

const json = (body: unknown, status = 200, extra?: Record<string, string>) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...extra } });

/** a state-changing call must come from a page of this very origin (a missing Origin is refused too) */
function checkOrigin(request: Request): void {
  const origin = request.headers.get("origin");
  const host = request.headers.get("host");
  let same = false;
  try {
    same = !!origin && !!host && new URL(origin).host.toLowerCase() === host.trim().toLowerCase();
  } catch {}
  if (!same)
    throw new ApiError(403, "this dashboard call must come from the dashboard's own page (Origin header)", {
      reason: "origin_not_allowed",
    });
}

export function uiRoutes(ctx: AppContext, pool: Pool, host: UiHost) {
  const sessions = new Sessions();
  const throttle = new SignInThrottle();
  const live = new LiveLog();
  ctx.keys?.onRecord((r) => live.push(r));

  const sessionOf = (request: Request) => cookieValue(request.headers.get("cookie"), COOKIE);
  const signedIn = (request: Request) => sessions.valid(sessionOf(request));
  const mustSignIn = (request: Request) => {
    if (!signedIn(request)) throw new ApiError(401, "sign in at /ui first (no valid session)", { reason: "no_session" });
  };
  const cookie = (request: Request, value: string, maxAge: number) => {
    const url = new URL(request.url);
    const secure = url.protocol === "https:" || request.headers.get("x-forwarded-proto") === "https" ? "; Secure" : "";
    return `${COOKIE}=${value}; Path=/ui; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure}`;
  };

  return (
    new Elysia({ name: "ui", prefix: "/ui" })
      // every call but the sign-in needs a session; every state change needs this origin
      .onBeforeHandle(({ request }) => {
        const path = new URL(request.url).pathname;
        if (request.method !== "GET" && request.method !== "HEAD") checkOrigin(request);
        if (path === "/ui" || path === "/ui/" || path === "/ui/login" || path.startsWith("/ui/assets/")) return;
        mustSignIn(request);
      })
      .get(
        "",
        ({ request }) => (signedIn(request) ? file(indexHtml, "text/html; charset=utf-8") : file(loginHtml, "text/html; charset=utf-8")),
        {
          detail: { hide: true },
        },
      )
      .get(
        "/assets/:file",
        ({ params, request }) => {
          const a = Object.hasOwn(ASSETS, params.file) ? ASSETS[params.file] : undefined; // not __proto__, toString…
          if (!a) throw new ApiError(404, `no asset ${params.file}`, { reason: "not_found" });
          if (!a.public) mustSignIn(request);
          return file(a.path, a.type);
        },
        { detail: { hide: true } },
      )
      .post(
        "/login",
        ({ body, request }) => {
          const peer = peerOf(request) ?? "";
          const wait = throttle.wait(peer);
          if (wait > 0)
            throw new ApiError(429, `too many wrong keys: try again in ${Math.ceil(wait / 1000)} s`, {
              reason: "rate_limited",
              headers: { "retry-after": String(Math.ceil(wait / 1000)) },
            });
          try {
            host.checkAdminKey(body.key.trim());
          } catch (e) {
            if (e instanceof ApiError && e.reason !== "no_key_configured") throttle.failed(peer);
            throw e;
          }
          throttle.succeeded(peer);
          const s = sessions.create();
          return json({ signedIn: true, expiresAt: new Date(s.expiresAt).toISOString() }, 200, {
            "set-cookie": cookie(request, s.id, SESSION_TTL_MS / 1000),
          });
        },
        { body: t.Object({ key: t.String({ minLength: 1, maxLength: 1024 }) }), detail: { hide: true } },
      )
      .post(
        "/logout",
        ({ request }) => {
          sessions.end(sessionOf(request));
          return json({ signedIn: false }, 200, { "set-cookie": cookie(request, "", 0) });
        },
        { detail: { hide: true } },
      )
      .get(
        "/api/overview",
        async () => {
          const view = pool.schedulingView();
          const today = ctx.keys ? await ctx.keys.report(dayStart(Date.now()), "model") : [];
          return json({
            accounts: pool.counts(),
            mode: view.mode,
            sessions: view.sessions,
            perMinute: live.perMinute(),
            tokensToday: today,
            serving: live.serving(),
          });
        },
        { detail: { hide: true } },
      )
      .get(
        "/api/usage",
        async ({ query }) => {
          if (!ctx.keys) throw new ApiError(503, "the usage log is not available in this server", { reason: "unavailable" });
          const now = Date.now();
          const range = query.range ?? "24h";
          const bucket = query.bucket ?? (range === "24h" ? "hour" : "day");
          const split = query.split ?? "model";
          const since = now - RANGES[range];
          const from = Math.floor(since / (bucket === "hour" ? HOUR : DAY)) * (bucket === "hour" ? HOUR : DAY);
          return json({
            range,
            bucket,
            split,
            buckets: bucketLabels(since, now, bucket),
            rows: await ctx.keys.report(from, bucket, split),
          });
        },
        {
          query: t.Object({
            range: t.Optional(t.Union([t.Literal("24h"), t.Literal("7d"), t.Literal("30d")])),
            bucket: t.Optional(t.Union([t.Literal("hour"), t.Literal("day")])),
            split: t.Optional(t.Union([t.Literal("model"), t.Literal("key"), t.Literal("account")])),
          }),
          detail: { hide: true },
        },
      )
      .get("/api/live", ({ request }) => liveStream(live, () => signedIn(request), request.signal), { detail: { hide: true } })
      .all(
        "/api/admin/*",
        async ({ request, body }) => {
          const url = new URL(request.url);
          const rest = url.pathname.slice("/ui/api/admin/".length);
          if (!FORWARDED.some(([m, re]) => m === request.method && re.test(rest)))
            throw new ApiError(404, `the dashboard does not call ${request.method} /admin/${rest}`, { reason: "not_found" });
          const forwarded = new Request(`${url.origin}/admin/${rest}${url.search}`, {
            method: request.method,
            headers: { "content-type": "application/json", host: request.headers.get("host") ?? url.host },
            body: body === undefined || body === null || body === "" ? undefined : JSON.stringify(body),
          });
          return host.app().handle(forwarded);
        },
        { detail: { hide: true } },
      )
  );
}

const encoder = new TextEncoder();
const PING_MS = 15_000;

/** the live log as server-sent events: the recent records, then each new one; ends with the session */
function liveStream(live: LiveLog, stillSignedIn: () => boolean, signal: AbortSignal): Response {
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      const send = (s: string) => {
        if (!stillSignedIn()) return stop();
        try {
          c.enqueue(encoder.encode(s));
        } catch {
          stop();
        }
      };
      const unwatch = live.watch((r) => send(`event: request\ndata: ${JSON.stringify(r)}\n\n`));
      const timer = setInterval(() => send(": ping\n\n"), PING_MS);
      stop = () => {
        unwatch();
        clearInterval(timer);
        try {
          c.close();
        } catch {}
      };
      signal.addEventListener("abort", () => stop());
      send(`event: recent\ndata: ${JSON.stringify(live.recent())}\n\n`);
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream; charset=utf-8", "x-accel-buffering": "no" } });
}
