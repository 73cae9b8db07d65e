// Operations routes: health and Prometheus metrics.
import { Elysia, t } from "elysia";
import type { AppContext } from "../protocol/context";
import { VERSION } from "../version";

const Ready = t.Object({
  status: t.Union([t.Literal("ready"), t.Literal("not_ready")]),
  accounts: t.Object({ total: t.Integer(), available: t.Integer() }),
  reason: t.Optional(t.String()),
});

export function operationsRoutes(ctx: AppContext) {
  const health = () => {
    const state = ctx.pool.stateStatus?.();
    return {
      status: "ok" as const,
      version: VERSION,
      accounts: ctx.pool.counts(),
      ...(state ? { state } : {}),
      client: ctx.identity.info(),
    };
  };
  const detail = (summary: string) => ({ tags: ["Operations"], summary, security: [] });
  return (
    new Elysia({ name: "operations" })
      // no `response` schema: Elysia would compile it on the first probe (~8 ms of start-up) and check
      // every answer; the document gets it from server/doc-responses.ts
      .get("/healthz", health, { detail: detail("Liveness and account counts") })
      .get("/health", health, { detail: detail("Same as /healthz") })
      .get(
        "/readyz",
        ({ set }) => {
          const accounts = ctx.pool.counts();
          const ready = accounts.available > 0;
          if (!ready) set.status = 503;
          return {
            status: ready ? ("ready" as const) : ("not_ready" as const),
            accounts,
            ...(ready ? {} : { reason: accounts.total ? "no account can serve right now" : "no accounts configured" }),
          };
        },
        {
          response: {
            200: Ready,
            503: Ready,
          },
          detail: detail("Readiness: 200 when at least one account can serve, else 503 (/healthz stays a liveness check)"),
        },
      )
      .get(
        "/metrics",
        async () => new Response(await ctx.metrics.registry.metrics(), { headers: { "content-type": ctx.metrics.registry.contentType } }),
        { detail: { tags: ["Operations"], summary: "Prometheus metrics (text format)" } },
      )
  );
}
