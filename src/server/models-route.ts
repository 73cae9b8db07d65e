// GET /v1/models and /v1/models/{id}: one path, three protocols. The client's headers say which shape it
// expects (Google's SDKs send x-goog-api-key or x-goog-api-client; Anthropic's send anthropic-version);
// everyone else gets OpenAI's.
import { Elysia, t } from "elysia";
import { anthropicModels, anthropicPage } from "../anthropic/models";
import { ApiError, isAnthropicClient, isGoogleClient } from "../core/errors";
import { geminiModel, geminiModelList } from "../gemini/models";
import { CREATED_AT, modelList } from "../openai/models";
import type { AppContext } from "../protocol/context";

const detail = (summary: string, description: string) => ({ tags: ["OpenAI"], summary, description });

export function modelsRoute(ctx: AppContext) {
  return (
    new Elysia({ name: "models" })
      // @google/genai 3.x lists models at /v1/models: Google clients get Gemini's shape there
      .get(
        "/v1/models",
        ({ request, query }) => {
          if (isGoogleClient(request.headers)) return geminiModelList(ctx, query);
          const list = modelList(ctx);
          if (isAnthropicClient(request.headers))
            return anthropicPage(
              anthropicModels(
                ctx,
                list.data.map((m) => m.id),
                CREATED_AT,
              ),
              query,
            );
          return list;
        },
        {
          query: t.Object(
            {
              pageSize: t.Optional(t.String()),
              pageToken: t.Optional(t.String()),
              limit: t.Optional(t.String()),
              after_id: t.Optional(t.String()),
              before_id: t.Optional(t.String()),
            },
            { additionalProperties: true },
          ),
          detail: detail(
            "List models",
            "The gateway's model catalogue and configured aliases, in OpenAI's list shape (in Gemini's shape for Google SDKs, which send " +
              "x-goog-api-key or x-goog-api-client; in Anthropic's paged shape for Anthropic SDKs, which send anthropic-version).",
          ),
        },
      )
      .get(
        "/v1/models/:model",
        ({ params, request }) => {
          if (isGoogleClient(request.headers)) return geminiModel(ctx, params.model);
          const m = modelList(ctx).data.find((x) => x.id === params.model);
          // the error takes the client's shape (familyOf reads the same headers)
          if (!m)
            throw new ApiError(404, `model ${params.model} does not exist; see GET /v1/models`, {
              param: "model",
              reason: "model_not_found",
            });
          return isAnthropicClient(request.headers) ? anthropicModels(ctx, [m.id], CREATED_AT)[0] : m;
        },
        { params: t.Object({ model: t.String() }), detail: detail("Retrieve a model", "One entry of GET /v1/models.") },
      )
  );
}
