// POST /v1/images/generations and /v1/images/edits: n parallel upstream calls (each scheduled on its
// own), merged in order; the images that came back are returned even when some calls failed.
import { isImageModel } from "../models/catalog";
import type { AppContext } from "../protocol/context";
import { ApiError, badRequest, toApiError } from "../core/errors";
import type { GeminiPart, GeminiRequest, GeminiUsage } from "../upstream/types";
import { sniffImageType } from "../protocol/media";
import { servedHeaders } from "../protocol/reply";
import {
  imageConfigFor,
  imageRequest,
  imagesFromResponse,
  imagesUsage,
  noImageReason,
  parseImageModel,
  type ImageItem,
  type ImageModel,
} from "./images";
import type { ImagesRequest } from "./schemas";

type Format = "b64_json" | "url";

/** n as the client sent it (multipart fields arrive as text): an integer from 1 to 10, else a 400 naming n */
function countOf(n: unknown): number {
  if (n === undefined || n === null || n === "") return 1;
  const v = typeof n === "number" ? n : Number(n);
  if (!Number.isInteger(v) || v < 1 || v > 10) throw badRequest(`n must be an integer from 1 to 10, got ${JSON.stringify(n)}`, "n");
  return v;
}

async function run(
  ctx: AppContext,
  model: string,
  request: GeminiRequest,
  n: number,
  format: Format,
  signal: AbortSignal,
): Promise<Response> {
  const calls = await Promise.allSettled(
    Array.from({ length: n }, () => ctx.gateway.generate({ model, request, requestType: "image_gen", signal })),
  );
  const data: ImageItem[] = [];
  const accounts: string[] = [];
  const usages: (GeminiUsage | undefined)[] = [];
  const failures: ApiError[] = [];
  let mappedModel: string | undefined;
  calls.forEach((c, i) => {
    let err: ApiError | undefined;
    if (c.status === "rejected") err = toApiError(c.reason);
    else {
      const items = imagesFromResponse(c.value.response, format);
      if (items.length) {
        data.push(...items);
        if (!accounts.includes(c.value.accountEmail)) accounts.push(c.value.accountEmail);
        usages.push(c.value.response.usageMetadata);
        mappedModel ??= c.value.mappedModel;
        return;
      }
      const why = noImageReason(c.value.response);
      err = new ApiError(why.status, why.message, {
        reason: why.status === 400 ? "content_policy_violation" : "no_image",
        headers: servedHeaders(c.value),
      });
    }
    failures.push(err);
    ctx.log.warn("image call failed", { call: i + 1, of: n, model, status: err.status, reason: err.reason, error: err.message });
  });
  if (!data.length) throw failures[0]!;
  const body: Record<string, unknown> = { created: Math.floor(Date.now() / 1000), data };
  const usage = imagesUsage(usages);
  if (usage) body.usage = usage;
  const headers = servedHeaders({ accountEmail: accounts.join(", "), mappedModel: mappedModel ?? model });
  if (failures.length) headers["x-images-failed"] = String(failures.length);
  return Response.json(body, { headers });
}

/** OpenAI image model names (SDK and tool defaults) mean the configured default image model */
const OPENAI_IMAGE_MODEL = /^(dall-e-|gpt-image-)/i;

/**
 * The image model for a request; a text model is refused here, before any upstream call (it would
 * spend a call and answer without an image).
 */
export function imageModelFor(ctx: AppContext, requested: string | undefined): ImageModel {
  const defaultModel = ctx.catalog.defaultImageModel();
  const name = requested === undefined || OPENAI_IMAGE_MODEL.test(requested.trim()) ? defaultModel : requested;
  const model = parseImageModel(name);
  const mapped = ctx.catalog.resolve(model.model).model;
  if (!isImageModel(mapped)) {
    const images = ctx.catalog
      .list()
      .filter((m) => m.image || isImageModel(m.id))
      .map((m) => m.id);
    const via = mapped === name ? "" : ` (mapped to "${mapped}")`;
    throw badRequest(
      `model "${requested ?? name}"${via} is not an image model; use one of ${images.join(", ") || defaultModel}, or leave model out for ${defaultModel}`,
      "model",
    );
  }
  return model;
}

/** the SDKs' image streams (partial images as SSE) are not offered: said, rather than a JSON answer their reader would drop */
function refuseStream(stream: unknown): void {
  if (stream === true || stream === "true")
    throw badRequest("stream is not supported for images: ask without stream (the answer comes whole)", "stream");
}

export function handleImageGeneration(ctx: AppContext, body: ImagesRequest, signal: AbortSignal): Promise<Response> {
  refuseStream((body as { stream?: unknown }).stream);
  const model = imageModelFor(ctx, body.model);
  const cfg = imageConfigFor(model, { size: body.size ?? undefined, quality: body.quality ?? undefined, image_size: body.image_size });
  return run(ctx, model.model, imageRequest(body.prompt, cfg), countOf(body.n), body.response_format ?? "b64_json", signal);
}

export interface ImageEditBody {
  prompt: string;
  image?: File[];
  "image[]"?: File[];
  mask?: File;
  model?: string;
  n?: number;
  size?: string;
  quality?: string;
  image_size?: string;
  response_format?: Format;
}

async function filePart(file: File, param: string): Promise<GeminiPart> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (!bytes.length) throw badRequest(`${param} is empty`, param);
  const declared = file.type?.split(";")[0]?.trim().toLowerCase();
  const mimeType = declared?.startsWith("image/") ? declared : sniffImageType(bytes);
  if (!mimeType) throw badRequest(`${param} is not an image (PNG, JPEG, WebP or GIF)`, param);
  return { inlineData: { mimeType, data: Buffer.from(bytes).toString("base64") } };
}

const MASK_NOTE =
  "The last image is a mask for the edit: change only the areas where the mask is transparent (or white) and keep everything else as it is.";

export async function handleImageEdit(ctx: AppContext, body: ImageEditBody, signal: AbortSignal): Promise<Response> {
  refuseStream((body as { stream?: unknown }).stream);
  const files = [...(body.image ?? []), ...(body["image[]"] ?? [])];
  if (!files.length) throw badRequest("image is required: one or more image files (multipart field image or image[])", "image");
  if (files.length > 16) throw badRequest("at most 16 images per edit", "image");
  const parts = await Promise.all(files.map((f, i) => filePart(f, files.length > 1 ? `image[${i}]` : "image")));
  let prompt = body.prompt;
  if (body.mask) {
    parts.push(await filePart(body.mask, "mask"));
    prompt = `${prompt}\n\n${MASK_NOTE}`;
  }
  const model = imageModelFor(ctx, body.model);
  const cfg = imageConfigFor(model, { size: body.size, quality: body.quality, image_size: body.image_size });
  return run(ctx, model.model, imageRequest(prompt, cfg, parts), countOf(body.n), body.response_format ?? "b64_json", signal);
}
