// The OpenAI-compatible surface: /v1/chat/completions, /v1/images/generations and edits (GET /v1/models,
// shared by three protocols, is assembled in src/server/models-route.ts).
import { Elysia, t } from "elysia";
import type { AppContext } from "../protocol/context";
import { handleChat } from "./handler";
import { handleImageEdit, handleImageGeneration, type ImageEditBody } from "./images-handler";
import { ChatRequest, ImagesRequest } from "./schemas";
import { ToolCallMemory } from "./tool-memory";

const detail = (summary: string, description: string) => ({ tags: ["OpenAI"], summary, description });

const ImageEditRequest = t.Object(
  {
    prompt: t.String({ minLength: 1, maxLength: 32000 }),
    image: t.Optional(t.Files({ description: "the image(s) to edit (PNG, JPEG, WebP)" })),
    "image[]": t.Optional(t.Files({ description: "several images, as the OpenAI SDK sends an array" })),
    mask: t.Optional(t.File({ description: "optional mask; sent to the model as a further image with an instruction" })),
    model: t.Optional(t.String({ minLength: 1 })),
    // checked by the handler (a form field is text; a property-level check here would not name n)
    n: t.Optional(t.String({ description: "how many images, 1 to 10" })),
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
          "or a literal W:H; quality hd or high → 4K, medium → 2K; model suffixes like -16x9 or -4k; n parallel calls; " +
          "response_format url gives a data: URI. X-Account-Email lists the accounts used.",
      ),
    })
    .post("/v1/images/edits", ({ body, request }) => handleImageEdit(ctx, body as ImageEditBody, request.signal), {
      parse: "formdata",
      body: ImageEditRequest,
      detail: detail("Edit images", "Multipart: image (one or more), prompt, optional mask; the images go to the model with the prompt."),
    });
}
