// Admin API under /admin: the account commands over HTTP, plus OAuth for a remote browser and a pool
// view. The app checks the admin key before these run (docs/contract.md §5). Listings never hold secrets; only
// the export does, and it is marked no-store.
import { Elysia, t } from "elysia";
import type { AppContext } from "../protocol/context";
import { ApiError, badRequest } from "../core/errors";
import type { Pool } from "../pool/index";
import { exchangeCode, OAuthError } from "../accounts/oauth";
import { PoolError } from "../accounts/types";
import { StorageError, toApiError } from "../core/errors";
import { importTokens, parseImportText, safeReason } from "../accounts/import";
import { CALLBACK_PATH, htmlPage, parsePastedInput, PendingLogins } from "../accounts/login";
import { adminKeyRoutes, KEY_QUERY } from "./keys";

const detail = (summary: string, description?: string) => ({ tags: ["Admin"], summary, description });

// a union with null, not `nullable` (OpenAPI 3.1 has no such keyword)
const Quota = t.Union([
  t.Record(t.String(), t.Object({ remainingFraction: t.Number(), resetTime: t.Optional(t.String()), fetchedAt: t.String() })),
  t.Null(),
]);
const AccountView = t.Object(
  {
    id: t.String(),
    email: t.String(),
    name: t.Optional(t.String()),
    state: t.Union([t.Literal("active"), t.Literal("disabled"), t.Literal("needs_verification")]),
    disabledReason: t.Optional(t.String()),
    disabledAt: t.Optional(t.String()),
    verificationUrl: t.Optional(t.String()),
    tier: t.Optional(t.String()),
    projectId: t.Optional(t.String()),
    quota: Quota,
    cooldowns: t.Array(t.Object({ model: t.String(), until: t.String(), reason: t.String() })),
    lastUsedAt: t.Optional(t.String()),
    requests: t.Integer(),
    failures: t.Integer(),
  },
  { description: "An account without secrets. quota null = never fetched (unknown)." },
);
const RefreshResult = t.Object({ email: t.String(), ok: t.Boolean(), error: t.Optional(t.String()) });
const ImportSummary = t.Object({
  format: t.Optional(t.String()),
  total: t.Integer(),
  added: t.Integer(),
  updated: t.Integer(),
  rejected: t.Integer(),
  results: t.Array(
    t.Object({
      index: t.Integer({ description: "1-based position among the unique tokens" }),
      token: t.String({ description: "masked prefix and a short SHA-256 fingerprint, never the whole token" }),
      status: t.Union([t.Literal("added"), t.Literal("updated"), t.Literal("rejected")]),
      email: t.Optional(t.String()),
      reason: t.Optional(t.String()),
    }),
  ),
});
const IdParam = t.Object({ id: t.String({ minLength: 1, description: "account id or email" }) });

/** A bad token is the caller's problem (400 with Google's reason); Google unreachable or failing is a 502. */
function addError(e: unknown, token: string): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof StorageError) return toApiError(e);
  if (e instanceof OAuthError && (e.code === "network" || e.status >= 500))
    return new ApiError(502, `could not reach Google to validate the token: ${safeReason(e, token)}`, { reason: "upstream_error" });
  if (e instanceof PoolError)
    return new ApiError(400, `Google refused the refresh token: ${safeReason(e, token)}`, {
      param: "refreshToken",
      reason: "invalid_token",
    });
  return new ApiError(502, `could not validate the token with Google: ${safeReason(e, token)}`, { reason: "upstream_error" });
}

export function adminRoutes(ctx: AppContext, pool: Pool) {
  const pending = new PendingLogins();
  const mustGet = (id: string) => {
    const a = pool.get(id);
    if (!a) throw new ApiError(404, `no account matches "${id}"`, { param: "id", reason: "not_found" });
    return a;
  };
  // Google only accepts loopback redirects for installed-app clients. The port the admin used (the Host
  // header) is right both on this machine and through an `ssh -L` tunnel.
  const defaultRedirect = (request: Request) => `http://127.0.0.1:${new URL(request.url).port || ctx.config.server.port}${CALLBACK_PATH}`;

  /** enable or disable; an account the CLI removed meanwhile is a 404 like one never there */
  const toggle = async (id: string, enabled: boolean) => {
    try {
      return await pool.setEnabled(mustGet(id).id, enabled);
    } catch (e) {
      if (e instanceof PoolError) throw new ApiError(404, `no account matches "${id}"`, { param: "id", reason: "not_found" });
      throw e;
    }
  };

  /** exchange a login's code (PKCE) and add the account */
  const exchangeAndAdd = async (login: { redirectUri: string; verifier: string }, code: string) => {
    let refreshToken: string | undefined;
    try {
      refreshToken = (await exchangeCode(ctx.config, code, login.redirectUri, login.verifier)).refreshToken;
    } catch (e) {
      if (e instanceof OAuthError && (e.code === "network" || e.status >= 500))
        throw new ApiError(502, `could not reach Google to exchange the code: ${e.message}`, { reason: "upstream_error" });
      throw new ApiError(400, `Google refused the authorization code: ${(e as Error).message}`, { param: "code", reason: "invalid_code" });
    }
    if (!refreshToken)
      throw new ApiError(400, "Google returned no refresh token for this login (revoke the app's access and log in again)", {
        reason: "no_refresh_token",
      });
    try {
      return await pool.addByRefreshToken(refreshToken);
    } catch (e) {
      throw addError(e, refreshToken);
    }
  };

  /** exchange a pending login's code and add the account; the outcome is kept for /admin/oauth/status */
  const complete = async (state: string, code: string) => {
    const login = pending.take(state);
    if (!login) throw badRequest("unknown or expired login state; start again with POST /admin/oauth/start", "state");
    try {
      const r = await exchangeAndAdd(login, code);
      pending.finished(state, { ok: true, email: r.account.email, created: r.created });
      return r;
    } catch (e) {
      pending.finished(state, { ok: false, error: e instanceof ApiError ? e.message : "internal error" });
      throw e;
    }
  };

  const admin = new Elysia({ name: "admin-api", prefix: "/admin" })
    // a Response: Elysia checks a returned object against the route's `response` schema, which stays for
    // the document — for 10,000 accounts that check took most of a listing's ~0.5 s of the server's thread
    .get("/accounts", () => Response.json(pool.list()), {
      response: t.Array(AccountView),
      detail: detail("List accounts", "Every account with state, tier, project, quota per model and active cooldowns. No secrets."),
    })
    .post(
      "/accounts",
      async ({ body, set }) => {
        const token = body.refreshToken.trim();
        try {
          const { account, created } = await pool.addByRefreshToken(token);
          set.status = created ? 201 : 200;
          return { account, created };
        } catch (e) {
          throw addError(e, token);
        }
      },
      {
        parse: "json",
        body: t.Object({ refreshToken: t.String({ minLength: 1, description: "a Google OAuth refresh token (1//…)" }) }),
        response: {
          200: t.Object({ account: AccountView, created: t.Boolean() }),
          201: t.Object({ account: AccountView, created: t.Boolean() }),
        },
        detail: detail(
          "Add or update an account",
          "Validates the token with Google (refresh, userinfo, project, quota), then upserts by email. 400 carries Google's reason.",
        ),
      },
    )
    .post("/accounts/refresh", async () => ({ results: await pool.refresh() }), {
      response: t.Object({ results: t.Array(RefreshResult) }),
      detail: detail("Refresh every account", "Token, project and quota, now."),
    })
    .post(
      "/accounts/import",
      async ({ body }) => {
        const parsed = body.tokens ? { format: undefined, tokens: body.tokens } : parseImportText(body.text ?? "");
        if (parsed.tokens.length === 0) throw badRequest("no refresh tokens found in the request", body.tokens ? "tokens" : "text");
        const summary = await importTokens(pool, parsed.tokens);
        return { ...summary, format: parsed.format };
      },
      {
        parse: "json",
        body: t.Object(
          {
            text: t.Optional(
              t.String({
                description:
                  "any import format: our export, an Antigravity-Manager account file, a JSON array of {refresh_token|refreshToken}, or text holding 1//… tokens",
              }),
            ),
            tokens: t.Optional(t.Array(t.String(), { minItems: 1 })),
          },
          { additionalProperties: false },
        ),
        beforeHandle: ({ body }) => {
          if ((body.text === undefined) === (body.tokens === undefined)) throw badRequest("send exactly one of `text` or `tokens`", "text");
        },
        response: ImportSummary,
        detail: detail(
          "Import many refresh tokens",
          "Each token is validated like a single add. The summary counts added, updated and rejected (with reasons; tokens masked).",
        ),
      },
    )
    .get(
      "/accounts/export",
      ({ set }) => {
        set.headers["cache-control"] = "no-store";
        return pool.exportAccounts();
      },
      {
        detail: detail(
          "Export accounts with refresh tokens",
          "The same JSON as `switchyard accounts export`; `accounts import` and POST /admin/accounts/import read it back. Holds secrets.",
        ),
      },
    )
    .delete(
      "/accounts/:id",
      async ({ params }) => {
        const a = mustGet(params.id);
        if (!(await pool.remove(a.id))) throw new ApiError(404, `no account matches "${params.id}"`, { param: "id", reason: "not_found" });
        return { removed: true, id: a.id, email: a.email };
      },
      {
        params: IdParam,
        response: t.Object({ removed: t.Boolean(), id: t.String(), email: t.String() }),
        detail: detail("Remove an account"),
      },
    )
    .post("/accounts/:id/enable", async ({ params }) => toggle(params.id, true), {
      params: IdParam,
      response: AccountView,
      detail: detail("Enable an account", "Also clears a disabled state set after invalid_grant or a 403."),
    })
    .post("/accounts/:id/disable", async ({ params }) => toggle(params.id, false), {
      params: IdParam,
      response: AccountView,
      detail: detail("Disable an account", "It is never picked until enabled again."),
    })
    .post(
      "/accounts/:id/refresh",
      async ({ params }) => {
        const a = mustGet(params.id);
        const [result] = await pool.refresh(a.id);
        return { result: result ?? { email: a.email, ok: false, error: "not refreshed" }, account: pool.get(a.id) ?? a };
      },
      {
        params: IdParam,
        response: t.Object({ result: RefreshResult, account: AccountView }),
        detail: detail("Refresh one account", "Token, project and quota, now."),
      },
    )
    .post(
      "/oauth/start",
      ({ body, request }) => {
        const redirectUri = body?.redirectUri ?? defaultRedirect(request);
        return pending.start(ctx.config.oauth, redirectUri, body?.loginHint);
      },
      {
        parse: "json",
        body: t.Optional(
          t.Object(
            {
              redirectUri: t.Optional(
                t.String({
                  pattern: "^https?://",
                  description: `where Google sends the browser (default http://127.0.0.1:<port>${CALLBACK_PATH})`,
                }),
              ),
              loginHint: t.Optional(t.String({ description: "the email to preselect" })),
            },
            { additionalProperties: false },
          ),
        ),
        response: t.Object({ url: t.String(), state: t.String(), redirectUri: t.String(), expiresAt: t.String() }),
        detail: detail(
          "Start a Google login for a remote browser",
          "Open `url` in any browser. Google then redirects to `redirectUri`; that page need not load: send its full URL (or the `code`) to POST /admin/oauth/complete. Pending logins expire after 10 minutes.",
        ),
      },
    )
    .post(
      "/oauth/complete",
      async ({ body, set }) => {
        const parsed = parsePastedInput(body.redirectUrl ?? body.code!, body.state);
        if ("error" in parsed) throw badRequest(parsed.error, body.redirectUrl ? "redirectUrl" : "code");
        const state = body.state ?? parsed.state ?? pending.only();
        if (!state) throw badRequest("`state` is required when more than one login is pending", "state");
        const { account, created } = await complete(state, parsed.code);
        set.status = created ? 201 : 200;
        return { account, created };
      },
      {
        parse: "json",
        body: t.Object(
          {
            state: t.Optional(t.String({ description: "from /admin/oauth/start; may be left out when redirectUrl carries it" })),
            code: t.Optional(t.String({ minLength: 1 })),
            redirectUrl: t.Optional(t.String({ minLength: 1, description: "the whole URL the browser was sent to" })),
          },
          { additionalProperties: false },
        ),
        beforeHandle: ({ body }) => {
          if (!body.code && !body.redirectUrl) throw badRequest("send `code` or `redirectUrl`", "code");
        },
        response: {
          200: t.Object({ account: AccountView, created: t.Boolean() }),
          201: t.Object({ account: AccountView, created: t.Boolean() }),
        },
        detail: detail("Finish a Google login", "Exchanges the code (PKCE), then adds the account like POST /admin/accounts."),
      },
    )
    .get("/oauth/status", ({ query }) => pending.status(query.state), {
      query: t.Object({ ...KEY_QUERY, state: t.String({ minLength: 1, description: "from /admin/oauth/start" }) }),
      response: t.Object({
        status: t.Union([t.Literal("pending"), t.Literal("done"), t.Literal("failed"), t.Literal("unknown")]),
        expiresAt: t.Optional(t.String()),
        email: t.Optional(t.String()),
        created: t.Optional(t.Boolean()),
        error: t.Optional(t.String()),
      }),
      detail: detail(
        "Where a Google login stands",
        "pending (waiting for Google's redirect), done (the account added or updated), failed (why), or unknown (expired, or never started here). A login finished by the browser's redirect to /oauth-callback is seen here too; outcomes are kept 10 minutes.",
      ),
    })
    .get(
      "/pool",
      ({ query }) =>
        Response.json(
          pool.poolView({
            offset: query.offset === undefined ? undefined : Number(query.offset),
            limit: query.limit === undefined ? undefined : Number(query.limit),
            q: query.q,
          }),
        ),
      {
        query: t.Object({
          ...KEY_QUERY,
          offset: t.Optional(t.String({ pattern: "^[0-9]{1,9}$", description: "skip this many matching accounts (default 0)" })),
          limit: t.Optional(t.String({ pattern: "^[0-9]{1,9}$", description: "at most this many accounts (default: all)" })),
          q: t.Optional(t.String({ maxLength: 200, description: "only accounts whose email, name or state contains this (any case)" })),
        }),
        response: t.Object({
          accounts: t.Array(t.Composite([AccountView, t.Object({ sessionBindings: t.Integer() })])),
          total: t.Integer({ description: "how many accounts match q (all of them without it)" }),
          sessions: t.Integer(),
          mode: t.String(),
        }),
        detail: detail(
          "Pool state",
          "Each account's state and cooldowns, how many sessions are bound to it, and the scheduling mode; a page of them with offset and limit, those matching q.",
        ),
      },
    );

  // Where Google sends the browser after /admin/oauth/start with the default redirect. No key: a browser
  // redirect cannot carry one; the single-use, unguessable `state` issued to an admin is the credential.
  const callback = new Elysia({ name: "oauth-callback" }).get(
    CALLBACK_PATH,
    async ({ query }) => {
      const url = `http://x/?${new URLSearchParams(query as Record<string, string>)}`;
      const parsed = parsePastedInput(url);
      try {
        if ("error" in parsed) {
          // a sign-in cancelled or refused in the browser ends its login (the dashboard asks how it ended)
          const state = (query as { state?: string }).state;
          if (state && pending.take(state)) pending.finished(state, { ok: false, error: parsed.error });
          throw badRequest(parsed.error, "code");
        }
        if (!parsed.state) throw badRequest("the redirect has no state", "state");
        const { account, created } = await complete(parsed.state, parsed.code);
        return htmlPage(200, `Account ${account.email} ${created ? "added" : "updated"}. You can close this tab.`);
      } catch (e) {
        return htmlPage(e instanceof ApiError ? e.status : 500, `Login failed: ${e instanceof ApiError ? e.message : "internal error"}`);
      }
    },
    {
      query: t.Object(
        { code: t.Optional(t.String()), state: t.Optional(t.String()), error: t.Optional(t.String()) },
        { additionalProperties: true },
      ),
      detail: {
        ...detail(
          "Google's redirect after a login started with POST /admin/oauth/start",
          "Opened by the browser, not called by scripts. Finishes the login and shows the result.",
        ),
        security: [],
      },
    },
  );

  return new Elysia({ name: "admin" }).use(admin).use(adminKeyRoutes(ctx)).use(callback);
}
