// POST /v1/chat/completions: map the request, call the gateway (unary or stream), map the answer.
import type { AppContext } from "../protocol/context";
import { errorBody } from "../core/errors";
import { sseFrame, SSE_HEADERS, startReply } from "../protocol/stream";
import { fetchRemote } from "../protocol/remote";
import { inFlightHeaders, servedHeaders } from "../protocol/reply";
import { REMOTE_OFF, remoteImageSources, toGeminiRequest } from "./request";
import { newCompletionId, toChatCompletion } from "./response";
import { ChatStreamMapper } from "./stream";
import { callArgs, chooseModel, mapOptions } from "./model-choice";
import type { ChatRequest } from "./schemas";
import type { ToolCallMemory } from "./tool-memory";

const DONE = "data: [DONE]\n\n";
/** chat completion chunks as SSE frames */
const chunkFrames = (chunks: unknown[]) => chunks.map((c) => sseFrame(c)).join("");

export async function handleChat(ctx: AppContext, memory: ToolCallMemory, body: ChatRequest, request: Request): Promise<Response> {
  const requested = body.model;
  const choice = chooseModel(ctx.catalog, requested);
  const { image, claude } = choice;

  const fetched = await fetchRemote(remoteImageSources(body), ctx.config.openai, { signal: request.signal, disabled: () => REMOTE_OFF });
  const mapped = toGeminiRequest(body, mapOptions(choice, memory, fetched, ctx.config.server.maxJsonDepth));
  const args = callArgs(choice, mapped, request, (body as { prompt_cache_key?: unknown }).prompt_cache_key);
  const base = {
    id: newCompletionId(),
    model: requested,
    created: Math.floor(Date.now() / 1000),
    toolNames: mapped.toolNames,
    toolSchemas: mapped.toolSchemas,
    answerSchema: mapped.answerSchema,
    oneToolCall: body.parallel_tool_calls === false,
    legacyFunctions: !!body.functions?.length && !body.tools?.length,
    memory,
    claude,
  };

  if (!body.stream) {
    const r = await ctx.gateway.generate(args);
    return Response.json(toChatCompletion(r.response, base), { headers: servedHeaders(r) });
  }

  const mapper = new ChatStreamMapper({ ...base, includeUsage: body.stream_options?.include_usage === true });
  return startReply({
    pending: ctx.gateway.stream(args),
    keepAliveMs: Math.max(1, ctx.config.server.keepAliveSeconds * 1000),
    keepAlive: ": keep-alive\n\n",
    // the role chunk needs nothing from upstream: the client sees the reply begin at once
    head: chunkFrames(mapper.start()),
    mapper: () => ({
      push: (resp) => chunkFrames(mapper.push(resp)),
      finish: () => chunkFrames(mapper.finish()) + DONE,
    }),
    onError: (err) => {
      ctx.log.warn("chat stream failed after the first byte", { status: err.status, reason: err.reason, error: err.message });
      return sseFrame(errorBody("openai", err)) + DONE;
    },
    headers: SSE_HEADERS,
    inFlight: () => inFlightHeaders(ctx, request.signal),
  });
}
