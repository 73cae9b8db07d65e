// Gemini-native routes (/v1beta/models…, and the /v1/models/{model}:{action} spelling some SDKs use).
import { Elysia } from "elysia";
import { stripModelsPrefix } from "../models/catalog";
import type { AppContext } from "../protocol/context";
import { ApiError, badRequest } from "../core/errors";
import { servedHeaders } from "../protocol/reply";
import { explicitSession } from "../protocol/session";
import type { GenerateArgs } from "../gateway/port";
import { ACTIONS, conversationSession, countTokensRequest, isAction, normalizeRequest, parseModelPath } from "./request";
import { geminiModel, geminiModelList } from "./models";
import { check, CountTokensRequest, GenerateContentRequest, ListQuery, ModelActionBody, ModelActionQuery } from "./schemas";
import { streamResponse } from "./stream";

const detail = (summary: string, description: string) => ({ tags: ["Gemini"], summary, description });

/** the `{model}` segment as the client sent it (the router has decoded it once already; we decode exactly once) */
const rawSegment = (request: Request) => {
  const url = request.url; // absolute: scheme://host/path?query — the first "/models/" is in the path
  const start = url.indexOf("/models/") + "/models/".length;
  const query = url.indexOf("?", start);
  return url.slice(start, query < 0 ? undefined : query);
};

export function geminiRoutes(ctx: AppContext) {
  type Set = { headers: Record<string, string | number> };
  const handleAction = async (segment: string, body: unknown, alt: string | undefined, request: Request, set: Set, v1: boolean) => {
    const { model, action } = parseModelPath(segment);
    if (action === undefined) {
      if (v1) throw new ApiError(404, `no route for POST ${new URL(request.url).pathname}`, { reason: "not_found" });
      throw badRequest(`missing action: POST /v1beta/models/${model}:{${ACTIONS.join("|")}}`, "action");
    }
    if (!isAction(action)) throw badRequest(`unknown action "${action}"; expected one of ${ACTIONS.join(", ")}`, "action");
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("the body must be a JSON object", "body");
    const raw = body as Record<string, unknown>;

    if (action === "countTokens") {
      check(CountTokensRequest, raw);
      const req = countTokensRequest(raw);
      const res = await ctx.gateway.countTokens({ model, request: req, signal: request.signal });
      Object.assign(set.headers, servedHeaders(res));
      return { totalTokens: res.totalTokens };
    }

    const req = normalizeRequest(raw);
    check(GenerateContentRequest, req);
    const args: GenerateArgs = {
      model,
      request: req,
      sessionKey: explicitSession(request.headers) ?? conversationSession(req),
      signal: request.signal,
    };
    if (action === "streamGenerateContent") return streamResponse(ctx, args, alt === "sse");
    const res = await ctx.gateway.generate(args);
    Object.assign(set.headers, servedHeaders(res));
    return res.response;
  };

  const actionDetail = detail(
    "Generate content, stream it, or count tokens",
    "`{model}:generateContent`, `{model}:streamGenerateContent` (`?alt=sse` → text/event-stream, otherwise a streamed JSON array) " +
      "or `{model}:countTokens` (`contents` or `generateContentRequest`). A doubled `models/` prefix is tolerated; " +
      "camelCase and snake_case field names are accepted. Served by a pooled account, named in `X-Account-Email`; " +
      "the upstream model is in `X-Mapped-Model`.",
  );

  const getOne = ({ request }: { request: Request }) => {
    const { model, action } = parseModelPath(rawSegment(request));
    if (action !== undefined) throw badRequest(`:${action} needs POST`, "action");
    return geminiModel(ctx, model);
  };
  type PostContext = { params: { model: string }; body: unknown; query: { alt?: string }; request: Request; set: Set };
  const post = (v1: boolean) => (c: PostContext) => handleAction(rawSegment(c.request), c.body, c.query.alt, c.request, c.set, v1);
  // The body is documented, not declared: which schema applies depends on the action in the path
  // (generateContent or countTokens), so the handler checks it, per action.
  const requestBody = { required: true, content: { "application/json": { schema: ModelActionBody } } };
  const postOptions = (summary?: string) => ({
    parse: "json" as const,
    query: ModelActionQuery,
    detail: { ...actionDetail, ...(summary ? { summary } : {}), requestBody },
  });
  // the doubled prefix (a list entry's `name` pasted as the model) routes the same way, undocumented
  const hidden = { detail: { hide: true } };

  return new Elysia({ name: "gemini" })
    .get("/v1beta/models", ({ query }) => geminiModelList(ctx, query), {
      query: ListQuery,
      detail: detail(
        "List models",
        "The models the pooled accounts offer (built-in defaults until an account reports its list), plus configured aliases. `pageSize`/`pageToken` page through it.",
      ),
    })
    .get("/v1beta/models/:model", getOne, { detail: detail("Get one model", "One entry of the model list, or 404 NOT_FOUND.") })
    .get("/v1beta/models/models/:model", getOne, hidden)
    .post("/v1beta/models/:model", post(false), postOptions())
    .post("/v1beta/models/models/:model", post(false), { ...postOptions(), ...hidden })
    .post("/v1/models/:model", post(true), postOptions("Same as /v1beta/models/{model}:{action} (the /v1 spelling some SDKs use)"))
    .post("/v1/models/models/:model", post(true), { ...postOptions(), ...hidden });
}
