// The OpenAI-compatible surface: /v1/models, /v1/chat/completions, /v1/images/generations and edits.
import { Elysia, t } from "elysia";
import { isClaudeModel } from "../models/catalog";
import type { AppContext } from "../server/context";
import { ApiError, errorResponse } from "../core/errors";
import { anthropicModels, anthropicPage, isAnthropicClient } from "../anthropic/models";
import { handleChat } from "./handler";
import { handleImageEdit, handleImageGeneration, type ImageEditBody } from "./images-handler";
import { ChatRequest, ImagesRequest } from "./schemas";
import { ToolCallMemory } from "./tool-memory";
import { geminiModel, geminiModelList, isGoogleClient } from "../gemini/routes";

const detail = (summary: string, description: string) => ({ tags: ["OpenAI"], summary, description });

/** a fixed date: upstream does not say when a model was published */
const CREATED = 1735689600; // 2025-01-01
const CREATED_AT = new Date(CREATED * 1000).toISOString();

export interface OpenAIModel {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}

/** the catalogue (as on /v1beta/models) plus the configured aliases, in OpenAI's list shape */
export function modelList(ctx: AppContext): { object: "list"; data: OpenAIModel[] } {
  const aliases = new Set(ctx.catalog.aliasNames());
  const ids = [...new Set([...ctx.catalog.list().map((m) => m.id), ...aliases])];
  const owner = (id: string) => (aliases.has(id) ? "switchyard" : isClaudeModel(id) ? "anthropic" : "google");
  return { object: "list", data: ids.map((id) => ({ id, object: "model", created: CREATED, owned_by: owner(id) })) };
}

const ImageEditRequest = t.Object(
  {
    prompt: t.String({ minLength: 1, maxLength: 32000 }),
    image: t.Optional(t.Files({ description: "the image(s) to edit (PNG, JPEG, WebP)" })),
    "image[]": t.Optional(t.Files({ description: "several images, as the OpenAI SDK sends an array" })),
    mask: t.Optional(t.File({ description: "optional mask; sent to the model as a further image with an instruction" })),
    model: t.Optional(t.String({ minLength: 1 })),
    n: t.Optional(t.Numeric({ minimum: 1, maximum: 10 })),
    size: t.Optional(t.String()),
    quality: t.Optional(t.String()),
    image_size: t.Optional(t.String()),
    response_format: t.Optional(t.Union([t.Literal("b64_json"), t.Literal("url")])),
    user: t.Optional(t.String()),
  },
  { additionalProperties: true, description: "multipart/form-data" },
);

export function openaiRoutes(ctx: AppContext) {
  const memory = new ToolCallMemory();
  return new Elysia({ name: "openai" })
    // @google/genai 3.x lists models at /v1/models: Google clients get Gemini's shape there
    .get(
      "/v1/models",
      ({ request, query }) => {
        if (isGoogleClient(request.headers)) return geminiModelList(ctx, query);
        const list = modelList(ctx);
        if (isAnthropicClient(request.headers)) return anthropicPage(anthropicModels(ctx, list.data.map((m) => m.id), CREATED_AT), query);
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
      "/v1/models/:id",
      ({ params, request }) => {
        if (isGoogleClient(request.headers)) return geminiModel(ctx, params.id);
        const m = modelList(ctx).data.find((x) => x.id === params.id);
        if (isAnthropicClient(request.headers)) {
          // the path is OpenAI's family, but an Anthropic SDK expects its own error shape
          if (!m) return errorResponse("anthropic", new ApiError(404, `model ${params.id} does not exist; see GET /v1/models`, { reason: "model_not_found" }));
          return anthropicModels(ctx, [m.id], CREATED_AT)[0];
        }
        if (!m) throw new ApiError(404, `model ${params.id} does not exist; see GET /v1/models`, { param: "model", reason: "model_not_found" });
        return m;
      },
      { params: t.Object({ id: t.String() }), detail: detail("Retrieve a model", "One entry of GET /v1/models.") },
    )
    .post("/v1/chat/completions", ({ body, request }) => handleChat(ctx, memory, body, request), {
      body: ChatRequest,
      // clients that forget Content-Type (curl -d sends a form type) still mean JSON
      parse: "json",
      detail: detail(
        "Chat completion",
        "OpenAI Chat Completions on Gemini/Claude models: streaming (SSE, keep-alive comments, final usage chunk with " +
          "stream_options.include_usage, then [DONE]) and non-streaming; tools, JSON mode, images as data URIs, reasoning_effort. " +
          "Headers X-Account-Email and X-Mapped-Model name the account and upstream model; X-Session-Id pins a conversation.",
      ),
    })
    .post("/v1/images/generations", ({ body, request }) => handleImageGeneration(ctx, body, request.signal), {
      body: ImagesRequest,
      parse: "json",
      detail: detail(
        "Generate images",
        "OpenAI Images on Gemini image models. size WxH → nearest aspect ratio (1:1 16:9 9:16 4:3 3:4 3:2 2:3 5:4 4:5 21:9) " +
          "or a literal W:H; quality hd → 4K, medium → 2K; model suffixes like -16x9 or -4k; n parallel calls; " +
          "response_format url gives a data: URI. X-Account-Email lists the accounts used.",
      ),
    })
    .post("/v1/images/edits", ({ body, request }) => handleImageEdit(ctx, body as ImageEditBody, request.signal), {
      body: ImageEditRequest,
      detail: detail("Edit images", "Multipart: image (one or more), prompt, optional mask; the images go to the model with the prompt."),
    });
}
