// streamGenerateContent responses: SSE (`alt=sse`) or Google's incrementally written JSON array.
import type { AppContext } from "../protocol/context";
import { ApiError } from "../core/errors";
import { answerFinished, UNFINISHED_ANSWER } from "../upstream/assemble";
import { SSE_HEADERS, startReply } from "../protocol/stream";
import { inFlightHeaders } from "../protocol/reply";
import type { GenerateArgs } from "../gateway/port";
import { arrayFrame, errorPayload, SSE_KEEPALIVE, sseData } from "./request";

/**
 * Failures before upstream answers keep their HTTP status (429 with Retry-After, 404, …). If upstream
 * is silent for longer than the keep-alive interval before answering (long thinking), the response
 * starts anyway so keep-alives can flow; a later failure then becomes the final error event.
 */
export async function streamResponse(ctx: AppContext, args: GenerateArgs, sse: boolean): Promise<Response> {
  let wrote = false;
  let finished = false;
  return startReply({
    pending: ctx.gateway.stream(args),
    keepAliveMs: Math.max(1, ctx.config.server.keepAliveSeconds * 1000),
    keepAlive: sse ? SSE_KEEPALIVE : "\n", // whitespace is valid between JSON array elements
    mapper: () => ({
      push: (chunk) => {
        const frame = sse ? sseData(chunk) : arrayFrame(chunk, !wrote);
        wrote = true;
        finished ||= answerFinished(chunk);
        return frame;
      },
      // upstream ended without a finish reason: cut short, which the client must hear (its final error event)
      finish: () => {
        if (!finished) throw new ApiError(502, UNFINISHED_ANSWER, { reason: "stream_truncated" });
        return "";
      },
    }),
    onError: (err: ApiError) => {
      ctx.log.warn("gemini stream failed after start", { status: err.status, error: err.message, model: args.model });
      const body = errorPayload(err);
      return sse ? sseData(body) : arrayFrame(body, !wrote) + "]";
    },
    // a late start has already been silent for a whole interval: a keep-alive goes first
    prefix: sse ? undefined : "[",
    latePrefix: sse ? SSE_KEEPALIVE : "[",
    suffix: sse ? undefined : "]",
    headers: { "content-type": sse ? SSE_HEADERS["content-type"] : "application/json; charset=utf-8" },
    inFlight: () => inFlightHeaders(ctx, args.signal),
  });
}
