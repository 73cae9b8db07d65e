// Admin API for virtual keys and the usage log (the same operations as `switchyard keys` and
// `switchyard usage`, one implementation in src/keys/). Listings never hold a key; create answers with
// the new key once.
import { Elysia, t } from "elysia";
import { Type } from "@sinclair/typebox";
import { ApiError } from "../core/errors";
import type { AppContext } from "../protocol/context";
import { KeyError } from "../keys/book";
import { dayStart } from "../keys/limiter";
import { NO_LIMITS, parseLimits, parseSince } from "../keys/limits-input";
import type { Keys } from "../keys/service";

/** ?key= is one of the ways to send the admin key (src/server/auth.ts): routes that check their query take it */
export const KEY_QUERY = { key: t.Optional(t.String({ description: "the admin key, when it is not sent as a header" })) };

const detail = (summary: string, description?: string) => ({ tags: ["Admin"], summary, description });

// TypeBox's own Integer: Elysia's t.Integer also takes "10" and converts it, where a wrong-typed field is a 400
const Limit = t.Optional(t.Union([Type.Integer({ minimum: 0 }), t.Null()], { description: "0 or null: no limit" }));
const LimitsBody = {
  models: t.Optional(
    t.Union([t.Array(t.String()), t.String(), t.Literal(0), t.Null()], {
      description: "model names with * wildcards (a list or a comma-separated string); 0 or null: any model",
    }),
  ),
  rpm: Limit,
  tpm: Limit,
  concurrency: Limit,
  dailyTokens: Limit,
  monthlyTokens: Limit,
  expires: t.Optional(
    t.Union([t.String(), t.Null()], {
      description:
        'an ISO date or date-time in the future (2027-01-31), or a duration from now up to 100 years (30d, 12h); "never" or null: never',
    }),
  ),
};
// TypeBox's integer, not Elysia's (which also takes "60" as text, and documents it so): this is an answer
const Nullable = (s: ReturnType<typeof Type.Integer>) => t.Union([s, t.Null()]);
const KeyView = t.Object(
  {
    id: t.String(),
    name: t.String(),
    prefix: t.String({ description: "the key's first characters, to recognise it" }),
    models: t.Union([t.Array(t.String()), t.Null()]),
    rpm: Nullable(Type.Integer()),
    tpm: Nullable(Type.Integer()),
    concurrency: Nullable(Type.Integer()),
    dailyTokens: Nullable(Type.Integer()),
    monthlyTokens: Nullable(Type.Integer()),
    expiresAt: t.Union([t.Number(), t.Null()], { description: "ms since epoch" }),
    createdAt: t.Number(),
    revokedAt: t.Union([t.Number(), t.Null()]),
  },
  { description: "A virtual key without its secret." },
);
const KeyCreated = t.Object(
  { key: t.String({ description: "the key (sk-sy-…): shown this once, stored only as its SHA-256" }), ...KeyView.properties },
  { description: "The new key with its secret." },
);
const KeyListed = t.Object(
  { ...KeyView.properties, tokensToday: t.Integer({ description: "input + output + thinking tokens since 00:00 UTC" }) },
  { description: "A virtual key without its secret, with today's tokens." },
);
const UsageRow = t.Object({
  group: t.String(),
  requests: t.Integer(),
  errors: t.Integer(),
  input: t.Integer(),
  output: t.Integer(),
  thinking: t.Integer(),
  cached: t.Integer(),
});

/** KeyError → the admin error shape, the field named */
function asApiError(e: unknown): unknown {
  if (e instanceof KeyError)
    return new ApiError(e.status, e.message, {
      param: e.param ?? (e.status === 404 ? "id" : undefined),
      reason: e.status === 404 ? "not_found" : e.status === 409 ? "conflict" : "invalid_request",
    });
  return e;
}

export function adminKeyRoutes(ctx: AppContext) {
  const keys = (): Keys => {
    if (!ctx.keys) throw new ApiError(503, "virtual keys are not available in this server", { reason: "unavailable" });
    return ctx.keys;
  };
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw asApiError(e);
    }
  };
  return new Elysia({ name: "admin-keys", prefix: "/admin" })
    .get(
      "/keys",
      async () => {
        const k = keys();
        const today = new Map((await k.report(dayStart(Date.now()), "key")).map((r) => [r.group, r.input + r.output + r.thinking]));
        return k.book.list().map((v) => ({ ...v, tokensToday: today.get(v.name) ?? 0 }));
      },
      {
        response: t.Array(KeyListed),
        detail: detail(
          "List virtual keys",
          "Every key with its limits, expiry, revocation and tokens used today (UTC). Never the key itself.",
        ),
      },
    )
    .post(
      "/keys",
      ({ body, set }) =>
        guard(() => {
          const { name, ...input } = body;
          const { key, secret } = keys().book.create(name, { ...NO_LIMITS, ...parseLimits(input, Date.now()) });
          set.status = 201;
          return { key: secret, ...key };
        }),
      {
        parse: "json",
        body: t.Object({ name: t.String({ minLength: 1, maxLength: 64 }), ...LimitsBody }),
        response: { 201: KeyCreated },
        detail: detail("Create a virtual key", "Answers with the new key (sk-sy-…) once: it is stored hashed and never shown again."),
      },
    )
    .patch(
      "/keys/:id",
      ({ params, body }) =>
        guard(() => keys().book.update(params.id, { ...parseLimits(body, Date.now()), ...(body.name ? { name: body.name } : {}) })),
      {
        params: t.Object({ id: t.String({ minLength: 1, description: "key id or name" }) }),
        parse: "json",
        body: t.Object({ name: t.Optional(t.String({ minLength: 1, maxLength: 64 })), ...LimitsBody }),
        response: KeyView,
        detail: detail("Change a virtual key", "Only the fields given change; 0 or null removes a limit."),
      },
    )
    .delete("/keys/:id", ({ params }) => guard(() => keys().book.revoke(params.id)), {
      params: t.Object({ id: t.String({ minLength: 1, description: "key id or name" }) }),
      response: KeyView,
      detail: detail("Revoke a virtual key", "The key answers 401 from now on; its usage stays."),
    })
    .get(
      "/usage",
      ({ query }) =>
        guard(() => {
          const now = Date.now();
          const since = (() => {
            try {
              return parseSince(query.since ?? "24h", now);
            } catch (e) {
              throw new ApiError(400, (e as Error).message, { param: "since", reason: "invalid_request" });
            }
          })();
          return keys().report(since, query.by ?? "key");
        }),
      {
        query: t.Object({
          ...KEY_QUERY,
          since: t.Optional(t.String({ description: "a duration back from now (30m, 24h, 7d) or a date; default 24h" })),
          by: t.Optional(t.Union([t.Literal("key"), t.Literal("account"), t.Literal("model"), t.Literal("day"), t.Literal("hour")])),
        }),
        response: t.Array(UsageRow),
        detail: detail("Usage", "Requests, errors and input / output / thinking / cached tokens since a time, grouped."),
      },
    );
}
