// Anthropic Messages routes (/v1/messages, /v1/messages/count_tokens) and the `/` probe Claude Code
// sends before anything else. Query strings (`?beta=true`) and anthropic-* headers are accepted and
// ignored: the app's auth reads both x-api-key and Authorization: Bearer.
import { Elysia, t } from "elysia";
import type { AppContext } from "../protocol/context";
import { errorBody, type ApiError } from "../core/errors";
import { upstreamToolName } from "../protocol/function-calls";
import { fetchRemote, type RemoteSource } from "../protocol/remote";
import { inFlightHeaders, randomId, servedHeaders } from "../protocol/reply";
import { explicitSession, sessionFromConversation, sessionFromUser } from "../protocol/session";
import { eventFrames, SSE_HEADERS, sseFrame, startReply, within } from "../protocol/stream";
import type { Served } from "../gateway/port";
import { VERSION } from "../version";
import { toGeminiRequest, urlSources, type Mapped } from "./request";
import { toAnthropicMessage } from "./response";
import { CountTokensBody, CountTokensResult, MessagesBody, type AnyMessagesRequest, type MessagesRequest } from "./schemas";
import { withSignatureRepair } from "./repair";
import { familyOfModel, type Family } from "./signature";
import { MessageTranslator, messageStart, type TranslatorOptions } from "./stream";

const detail = (summary: string, description: string) => ({ tags: ["Anthropic"], summary, description });
const PING = sseFrame({ type: "ping" }, "ping");
const repairLog = (ctx: AppContext, model: string) => (error: string) =>
  ctx.log.warn("upstream rejected a thinking signature; retrying once without signatures", { model, error });

interface Prepared extends Mapped {
  /** the upstream model, resolved once here and handed to the gateway */
  upstream: string;
  family: Family;
  sessionKey?: string;
}

async function prepare(ctx: AppContext, body: AnyMessagesRequest, headers: Headers, signal: AbortSignal): Promise<Prepared> {
  const upstream = ctx.catalog.resolve(body.model).model;
  const family = familyOfModel(upstream);
  const remote = await fetchRemote(urlSources(body), ctx.config.openai, { signal, disabled: urlSourcesOff });
  const mapped = toGeminiRequest(body, { family, outputLimit: ctx.catalog.get(upstream)?.outputTokenLimit, remote });
  // X-Session-Id when given, else Anthropic's metadata.user_id, else the conversation's start (README, Scheduling)
  const userId = (body as MessagesRequest).metadata?.user_id;
  const sessionKey =
    explicitSession(headers) ?? (userId ? sessionFromUser(userId) : sessionFromConversation(mapped.systemText, mapped.firstUserText));
  return { ...mapped, upstream, family, sessionKey };
}

const urlSourcesOff = (s: RemoteSource) =>
  `URL ${s.kind} sources are disabled on this gateway (openai.fetchRemoteImages); send the ${s.kind} as base64`;

function translatorOptions(body: MessagesRequest, p: Prepared, s: Served, id = randomId("msg_")): TranslatorOptions {
  return {
    id,
    model: body.model,
    family: familyOfModel(s.mappedModel),
    thinking: p.thinking,
    stopSequences: body.stop_sequences,
    answerSchema: p.answerSchema,
    tools: new Map((body.tools ?? []).map((tool) => [upstreamToolName(tool.name), { name: tool.name, schema: tool.input_schema }])),
    oneToolCall: body.tool_choice?.disable_parallel_tool_use === true,
  };
}

/** how long a stream a stop sequence ended waits for its usage count before it ends without it */
const EARLY_USAGE_WAIT_MS = 2_000;

async function streamMessage(ctx: AppContext, body: MessagesRequest, p: Prepared, signal: AbortSignal): Promise<Response> {
  const keepAliveMs = Math.max(1, ctx.config.server.keepAliveSeconds * 1000);
  const pending = withSignatureRepair(p, repairLog(ctx, body.model), (request) =>
    ctx.gateway.stream({ model: body.model, upstreamModel: p.upstream, request, sessionKey: p.sessionKey, signal }),
  );
  const id = randomId("msg_");
  return startReply({
    pending,
    keepAliveMs,
    keepAlive: PING,
    // the SDK wants message_start before anything else, pings included: sent at once (usage is a
    // placeholder; message_delta carries the real counts)
    head: sseFrame(messageStart(id, body.model), "message_start"),
    mapper: (res) => {
      const tr = new MessageTranslator({ ...translatorOptions(body, p, res, id), started: true });
      return {
        push: (chunk) => eventFrames(tr.push(chunk)),
        finish: async () => {
          // a stop sequence ended it before upstream's usage came: counted upstream, so message_delta
          // carries real counts (Claude Code keeps its context size by them)
          // (waited for at most EARLY_USAGE_WAIT_MS: the answer is complete, only its count is late)
          if (tr.done && !tr.hasUsage && res.usageOfEarlyEnd)
            tr.usageIs(await within(res.usageOfEarlyEnd(), EARLY_USAGE_WAIT_MS).catch(() => undefined));
          return eventFrames(tr.end(true));
        },
        get done() {
          return tr.done;
        },
      };
    },
    onError: (err: ApiError) => {
      ctx.log.warn("anthropic stream failed after start", { status: err.status, error: err.message, model: body.model });
      return sseFrame(errorBody("anthropic", err), "error");
    },
    headers: SSE_HEADERS,
    inFlight: () => inFlightHeaders(ctx, signal),
  });
}

export function anthropicRoutes(ctx: AppContext) {
  return new Elysia({ name: "anthropic" })
    .get("/", () => ({ name: "switchyard", version: VERSION, docs: "/swagger", health: "/healthz" }), {
      response: t.Object({ name: t.String(), version: t.String(), docs: t.String(), health: t.String() }),
      detail: {
        tags: ["Operations"],
        summary: "Identify the gateway",
        description: "A small JSON answer; Claude Code probes `HEAD /` before its first request.",
      },
    })
    .head("/", () => new Response(null, { status: 200 }), {
      detail: { tags: ["Operations"], summary: "Connectivity probe (Claude Code)", description: "200 with no body." },
    })
    .post(
      "/v1/messages",
      async ({ body, request, set }) => {
        const p = await prepare(ctx, body, request.headers, request.signal);
        if (body.stream) return streamMessage(ctx, body, p, request.signal);
        const res = await withSignatureRepair(p, repairLog(ctx, body.model), (request_) =>
          ctx.gateway.generate({
            model: body.model,
            upstreamModel: p.upstream,
            request: request_,
            sessionKey: p.sessionKey,
            signal: request.signal,
          }),
        );
        Object.assign(set.headers, servedHeaders(res));
        return toAnthropicMessage(res.response, translatorOptions(body, p, res));
      },
      {
        // curl -d sends JSON as a form type: the body is JSON whatever the content type says
        parse: "json",
        body: MessagesBody,
        detail: detail(
          "Create a message (stream or not)",
          "Anthropic Messages API. `stream: true` gives the SSE event sequence (message_start, content_block_*, message_delta, " +
            "message_stop, with `ping` during quiet periods). Claude and Gemini models are both served; thinking signatures are " +
            "only ever echoed to the model family that made them. `?beta=true` and anthropic-* headers are accepted.",
        ),
      },
    )
    .post(
      "/v1/messages/count_tokens",
      async ({ body, request, set }) => {
        const p = await prepare(ctx, body, request.headers, request.signal);
        const res = await ctx.gateway.countTokens({
          model: body.model,
          upstreamModel: p.upstream,
          request: p.request,
          signal: request.signal,
        });
        Object.assign(set.headers, servedHeaders(res));
        return { input_tokens: res.totalTokens };
      },
      {
        parse: "json",
        body: CountTokensBody,
        response: CountTokensResult,
        detail: detail("Count input tokens", "The real count from upstream for the mapped request (system, tools and messages included)."),
      },
    );
}
