// The OpenAI Responses API: POST /v1/responses (unary and SSE), GET and DELETE /v1/responses/{id} for
// stored responses. The request goes through chat's mapping (./responses.ts), the answer back through
// the output builder; previous_response_id reads the in-memory store (./responses-store.ts).
import { Elysia, t } from "elysia";
import type { AppContext } from "../protocol/context";
import { fetchRemote } from "../protocol/remote";
import { inFlightHeaders, servedHeaders } from "../protocol/reply";
import { eventFrames, SSE_HEADERS, startReply } from "../protocol/stream";
import { callArgs, chooseModel, mapOptions } from "./model-choice";
import { REMOTE_OFF } from "./request";
import { clientView, responseBase, type ResponseObject } from "./responses";
import { prepareResponses, toGemini } from "./responses-input";
import { toResponse, type OutputOptions } from "./responses-output";
import { dropNullFields, ResponsesRequest } from "./responses-schemas";
import { notFound, ResponseStore } from "./responses-store";
import { ResponsesStreamMapper } from "./responses-stream";
import { ToolCallMemory } from "./tool-memory";

const detail = (summary: string, description: string) => ({ tags: ["OpenAI"], summary, description });
const ENCRYPTED = "reasoning.encrypted_content";

export async function handleResponses(
  ctx: AppContext,
  memory: ToolCallMemory,
  store: ResponseStore,
  body: ResponsesRequest,
  request: Request,
): Promise<Response> {
  const owner = ownerOf(ctx, request);
  const history = body.previous_response_id ? store.history(body.previous_response_id, owner) : [];
  const prepared = prepareResponses(body, history);

  const requested = body.model;
  const choice = chooseModel(ctx.catalog, requested);
  const { image, claude } = choice;

  const fetched = await fetchRemote(prepared.remote, ctx.config.openai, { signal: request.signal, disabled: () => REMOTE_OFF });
  const mapped = toGemini(prepared, mapOptions(choice, memory, fetched, ctx.config.server.maxJsonDepth));
  const args = callArgs(choice, mapped, request, (body as { prompt_cache_key?: unknown }).prompt_cache_key);
  const base = responseBase(body);
  const out: OutputOptions = {
    id: base.id,
    model: requested,
    created: base.created_at,
    toolNames: mapped.toolNames,
    toolSchemas: mapped.toolSchemas,
    answerSchema: mapped.answerSchema,
    oneToolCall: body.parallel_tool_calls === false,
    memory,
    claude,
    namespaces: prepared.namespaces,
  };
  const includeEncrypted = body.include?.includes(ENCRYPTED) ?? false;
  // the input's weight for the store: the body's declared length and the history's weight
  const declared = Number(request.headers.get("content-length") ?? NaN);
  const inputChars = declared > 0 ? declared + (body.previous_response_id ? store.weightOf(body.previous_response_id) : 0) : undefined;
  /** stores the response when asked to; one too large to keep says so in its `store` field */
  const keep = (response: ResponseObject | undefined) => {
    if (!response || body.store === false) return;
    if (store.put({ response, input: prepared.input }, { owner, inputChars, prev: body.previous_response_id ?? undefined })) return;
    response.store = false;
    ctx.log.warn("a response too large to keep was not stored", { id: response.id, chars: inputChars });
  };

  if (!body.stream) {
    const r = await ctx.gateway.generate(args);
    const response = toResponse(r.response, base, out);
    keep(response);
    return Response.json(clientView(response, includeEncrypted), { headers: servedHeaders(r) });
  }

  const mapper = new ResponsesStreamMapper(base, out, includeEncrypted);
  return startReply({
    pending: ctx.gateway.stream(args),
    keepAliveMs: Math.max(1, ctx.config.server.keepAliveSeconds * 1000),
    keepAlive: ": keep-alive\n\n",
    // response.created needs nothing from upstream: the client sees the response begin at once
    head: eventFrames(mapper.start()),
    mapper: () => ({
      push: (chunk) => eventFrames(mapper.push(chunk)),
      finish: () => {
        const end = mapper.finish();
        keep(mapper.response);
        // the last event's copy of the response says whether it was kept
        if (mapper.response?.store === false) for (const e of end) if (isFinal(e)) e.response.store = false;
        return eventFrames(end);
      },
    }),
    onError: (err) => {
      ctx.log.warn("responses stream failed after the first byte", { status: err.status, reason: err.reason, error: err.message });
      return eventFrames(mapper.fail(err));
    },
    headers: SSE_HEADERS,
    inFlight: () => inFlightHeaders(ctx, request.signal),
  });
}

/** a stored response belongs to the key that made it: no other key can read, continue or delete it */
const ownerOf = (ctx: AppContext, request: Request) => ctx.keys?.ownerOf(request.signal) ?? "anonymous";
const isFinal = (e: { type: string; response?: unknown }): e is { type: string; response: ResponseObject } =>
  (e.type === "response.completed" || e.type === "response.incomplete") && !!e.response;

const IdParams = t.Object({ id: t.String({ description: "a response id (resp_…) this gateway returned" }) });
const includeOf = (request: Request) => {
  const q = new URL(request.url).searchParams;
  return [...q.getAll("include"), ...q.getAll("include[]")].includes(ENCRYPTED);
};

export function responsesRoutes(ctx: AppContext) {
  const memory = new ToolCallMemory();
  const store = new ResponseStore();
  return new Elysia({ name: "openai-responses" })
    .post("/v1/responses", ({ body, request }) => handleResponses(ctx, memory, store, body, request), {
      body: ResponsesRequest,
      // clients that forget Content-Type still mean JSON
      parse: "json",
      transform: ({ body }) => dropNullFields(body),
      detail: detail(
        "Create a response",
        "OpenAI Responses on Gemini/Claude models, for the openai SDK's responses.create/stream and the Codex CLI " +
          '(wire_api = "responses"). Input as a string or items (messages with input_text / input_image / input_file / ' +
          "output_text parts, function_call, function_call_output, reasoning); instructions; function tools (and namespaces " +
          "of them; built-in OpenAI tools are a 400); tool_choice; text.format json_object / json_schema; reasoning.effort → " +
          "thinking budget; max_output_tokens, temperature, top_p. Streaming sends the Responses event sequence " +
          "(response.created … response.completed, response.failed after the first byte). store (default true) keeps the " +
          "response in memory (1000 responses, 1 hour), for the key that made it only, for previous_response_id; Claude's signed thinking travels in " +
          "reasoning.encrypted_content when include asks for it. X-Account-Email and X-Mapped-Model name the account and " +
          "upstream model; X-Session-Id pins a conversation.",
      ),
    })
    .get(
      "/v1/responses/:id",
      ({ params, request }) => {
        const found = store.get(params.id, ownerOf(ctx, request));
        if (!found) throw notFound(params.id, "id");
        return clientView(found.response, includeOf(request));
      },
      {
        params: IdParams,
        detail: detail("Retrieve a response", "A stored response (store was not false; kept in memory for an hour)."),
      },
    )
    .delete(
      "/v1/responses/:id",
      ({ params, request }) => {
        if (!store.delete(params.id, ownerOf(ctx, request))) throw notFound(params.id, "id");
        return { id: params.id, object: "response", deleted: true };
      },
      {
        params: IdParams,
        detail: detail("Delete a response", "Forgets a stored response; previous_response_id can no longer name it."),
      },
    );
}
