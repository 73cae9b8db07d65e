// streamGenerateContent responses: SSE (`alt=sse`) or Google's incrementally written JSON array.
import type { AppContext } from "../protocol/context";
import type { ApiError } from "../core/errors";
import { servedHeaders } from "../protocol/reply";
import { SSE_HEADERS, streamingResponse, within } from "../protocol/stream";
import type { GenerateArgs, StreamResult } from "../upstream/types";
import { arrayFrame, errorPayload, SSE_KEEPALIVE, sseData } from "./mappers";

/**
 * Failures before upstream answers keep their HTTP status (429 with Retry-After, 404, …). If upstream
 * is silent for longer than the keep-alive interval before answering (long thinking), the response
 * starts anyway so keep-alives can flow; a later failure then becomes the final error event.
 */
export async function streamResponse(ctx: AppContext, args: GenerateArgs, sse: boolean): Promise<Response> {
  const keepAliveMs = Math.max(1, ctx.config.server.keepAliveSeconds * 1000);
  const pending = ctx.gateway.stream(args);
  const served: StreamResult | undefined = await within(pending, keepAliveMs);

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
      "content-type": sse ? SSE_HEADERS["content-type"] : "application/json; charset=utf-8",
      ...(served ? servedHeaders(served) : {}),
    },
  });
}
