// streamGenerateContent responses: SSE (`alt=sse`) or Google's incrementally written JSON array.
import type { AppContext } from "../server/context";
import type { ApiError } from "../server/errors";
import { streamingResponse } from "../shared/stream";
import type { GenerateArgs, StreamResult } from "../upstream/types";
import { arrayFrame, errorPayload, SSE_KEEPALIVE, sseData } from "./mappers";

type Settled<T> = { state: "fulfilled"; value: T } | { state: "rejected"; error: unknown } | { state: "pending" };

/** Waits up to `ms` for a promise; a rejection after that stays handled (the caller awaits it later). */
function settleWithin<T>(p: Promise<T>, ms: number): Promise<Settled<T>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ state: "pending" }), ms);
    p.then(
      (value) => (clearTimeout(timer), resolve({ state: "fulfilled", value })),
      (error) => (clearTimeout(timer), resolve({ state: "rejected", error })),
    );
  });
}

export function servedHeaders(s: { accountEmail: string; mappedModel: string }): Record<string, string> {
  return { "x-account-email": s.accountEmail, "x-mapped-model": s.mappedModel };
}

/**
 * Failures before upstream answers keep their HTTP status (429 with Retry-After, 404, …). If upstream
 * is silent for longer than the keep-alive interval before answering (long thinking), the response
 * starts anyway so keep-alives can flow; a later failure then becomes the final error event.
 */
export async function streamResponse(ctx: AppContext, args: GenerateArgs, sse: boolean): Promise<Response> {
  const keepAliveMs = Math.max(1, ctx.config.server.keepAliveSeconds * 1000);
  const pending = ctx.gateway.stream(args);
  const early = await settleWithin(pending, keepAliveMs);
  if (early.state === "rejected") throw early.error;
  const served: StreamResult | undefined = early.state === "fulfilled" ? early.value : undefined;

  let wrote = false;
  const frames = (async function* () {
    const res = served ?? (await pending);
    for await (const chunk of res.chunks) {
      yield sse ? sseData(chunk) : arrayFrame(chunk, !wrote);
      wrote = true;
    }
  })();

  const onError = (err: ApiError) => {
    ctx.log.warn("gemini stream failed after start", { status: err.status, error: err.message, model: args.model });
    const body = errorPayload(err);
    return sse ? sseData(body) : arrayFrame(body, !wrote) + "]";
  };

  return streamingResponse({
    frames,
    keepAlive: sse ? SSE_KEEPALIVE : "\n", // whitespace is valid between JSON array elements
    keepAliveMs,
    onError,
    // already silent for a whole interval when upstream has not answered yet
    prefix: sse ? (served ? undefined : SSE_KEEPALIVE) : "[",
    suffix: sse ? undefined : "]",
    headers: {
      "content-type": sse ? "text/event-stream; charset=utf-8" : "application/json; charset=utf-8",
      ...(served ? servedHeaders(served) : {}),
    },
  });
}
