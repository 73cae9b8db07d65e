// OpenAI Images ↔ Gemini image models : size → aspect ratio, quality → image size, model-name
// suffixes, the per-call Gemini request and the merged OpenAI answer. Pure functions.
import { blockReason, isFiltered, tokenCounts } from "../protocol/answer";
import { dataUri } from "../protocol/media";
import type { GeminiPart, GeminiRequest, GeminiResponse, GeminiUsage } from "../upstream/types";

/** the aspect ratios Gemini image models produce */
export const ASPECT_RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "5:4", "4:5", "21:9"] as const;
export const IMAGE_SIZES = ["1K", "2K", "4K"] as const;

const RATIO_VALUES = ASPECT_RATIOS.map((r) => {
  const [w, h] = r.split(":").map(Number) as [number, number];
  return { r, log: Math.log(w / h) };
});

/** the listed ratio nearest to w/h (compared on a log scale, so 2:1 and 1:2 are equally far from 1:1) */
export function nearestRatio(w: number, h: number): string {
  const target = Math.log(w / h);
  let best = RATIO_VALUES[0]!;
  for (const c of RATIO_VALUES) if (Math.abs(c.log - target) < Math.abs(best.log - target)) best = c;
  return best.r;
}

/**
 * OpenAI `size` → aspectRatio. "WxH" → the nearest listed ratio; a literal "W:H" is taken (nearest when
 * not listed); absent or "auto" → undefined (upstream default); anything unparsable → "1:1".
 */
export function aspectRatioFromSize(size: string | undefined): string | undefined {
  const s = size?.trim().toLowerCase();
  if (!s || s === "auto") return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([x×*:])\s*(\d+(?:\.\d+)?)$/.exec(s);
  if (!m) return "1:1";
  const w = Number(m[1]);
  const h = Number(m[3]);
  if (!(w > 0 && h > 0) || !Number.isFinite(w) || !Number.isFinite(h)) return "1:1";
  if (m[2] === ":" && (ASPECT_RATIOS as readonly string[]).includes(`${w}:${h}`)) return `${w}:${h}`;
  return nearestRatio(w, h);
}

/** OpenAI `quality` → imageSize: hd or high → 4K, medium → 2K, anything else → upstream default */
export function imageSizeFromQuality(quality: string | undefined): string | undefined {
  const q = quality?.trim().toLowerCase();
  if (q === "hd" || q === "high") return "4K"; // dall-e-3's and gpt-image-1's words for the best
  if (q === "medium") return "2K";
  return undefined;
}

export interface ImageModel {
  model: string;
  aspectRatio?: string;
  imageSize?: string;
}

const SIZE_SUFFIX: Record<string, string> = { "1k": "1K", "2k": "2K", "4k": "4K", hd: "4K" };

/** "gemini-3-pro-image-16x9-4k" → gemini-3-pro-image, 16:9, 4K (suffixes in any order, "-21-9" too) */
export function parseImageModel(name: string): ImageModel {
  let model = name.trim();
  const out: ImageModel = { model };
  for (;;) {
    const size = /-(1k|2k|4k|hd)$/i.exec(model);
    if (size) {
      out.imageSize ??= SIZE_SUFFIX[size[1]!.toLowerCase()];
      model = model.slice(0, size.index);
      continue;
    }
    const ratio = /-(\d{1,2})[x-](\d{1,2})$/i.exec(model);
    if (ratio && (ASPECT_RATIOS as readonly string[]).includes(`${ratio[1]}:${ratio[2]}`) && model.slice(0, ratio.index).length > 0) {
      out.aspectRatio ??= `${ratio[1]}:${ratio[2]}`;
      model = model.slice(0, ratio.index);
      continue;
    }
    break;
  }
  out.model = model;
  return out;
}

export interface ImageOptions {
  size?: string;
  quality?: string;
  /** "1K" | "2K" | "4K", wins over quality */
  image_size?: string;
}

/** the imageConfig for a request: explicit fields win over model-name suffixes */
export function imageConfigFor(model: ImageModel, opts: ImageOptions): Record<string, string> {
  const cfg: Record<string, string> = {};
  const ratio = aspectRatioFromSize(opts.size) ?? model.aspectRatio;
  if (ratio) cfg.aspectRatio = ratio;
  const explicit = opts.image_size?.trim().toUpperCase();
  const size =
    (explicit && (IMAGE_SIZES as readonly string[]).includes(explicit) ? explicit : undefined) ??
    imageSizeFromQuality(opts.quality) ??
    model.imageSize;
  if (size) cfg.imageSize = size;
  return cfg;
}

/** one upstream call's request: the prompt (plus input images for edits) and the imageConfig */
export function imageRequest(prompt: string, imageConfig: Record<string, string>, images: GeminiPart[] = []): GeminiRequest {
  const request: GeminiRequest = { contents: [{ role: "user", parts: [{ text: prompt }, ...images] }] };
  if (Object.keys(imageConfig).length) request.generationConfig = { imageConfig };
  return request;
}

export interface ImageItem {
  b64_json?: string;
  url?: string;
  revised_prompt?: string;
}

/** the images of one upstream answer, in the OpenAI shape; empty when upstream sent none */
export function imagesFromResponse(resp: GeminiResponse, format: "b64_json" | "url"): ImageItem[] {
  const parts = resp.candidates?.[0]?.content?.parts ?? [];
  const text = parts
    .filter((p) => typeof p.text === "string" && !p.thought)
    .map((p) => p.text)
    .join("")
    .trim();
  const out: ImageItem[] = [];
  for (const p of parts) {
    if (!p.inlineData?.data) continue;
    const item: ImageItem = format === "url" ? { url: dataUri(p.inlineData.mimeType, p.inlineData.data) } : { b64_json: p.inlineData.data };
    if (text) item.revised_prompt = text;
    out.push(item);
  }
  return out;
}

export interface ImagesUsage {
  total_tokens: number;
  input_tokens: number;
  output_tokens: number;
  input_tokens_details: { text_tokens: number; image_tokens: number };
}

/** summed usage of the calls that answered, in the Images API shape; undefined when upstream gave none */
export function imagesUsage(usages: (GeminiUsage | undefined)[]): ImagesUsage | undefined {
  const known = usages.filter((u): u is GeminiUsage => !!u);
  if (!known.length) return undefined;
  const counts = known.map(tokenCounts);
  const sum = (k: "prompt" | "output" | "total") => counts.reduce((s, t) => s + t[k], 0);
  const [input, output, total] = [sum("prompt"), sum("output"), sum("total")];
  return { total_tokens: total, input_tokens: input, output_tokens: output, input_tokens_details: { text_tokens: input, image_tokens: 0 } };
}

/** why an answer held no image: a safety block is the client's problem, anything else upstream's */
export function noImageReason(resp: GeminiResponse): { status: number; message: string } {
  const cand = resp.candidates?.[0];
  const finish = cand?.finishReason ?? "";
  const block = blockReason(resp);
  const text = (cand?.content?.parts ?? [])
    .filter((p) => typeof p.text === "string" && !p.thought)
    .map((p) => p.text)
    .join("")
    .trim();
  if (block || isFiltered(finish))
    return {
      status: 400,
      message: `the image request was refused by the upstream safety filter (${block ?? finish})${text ? `: ${text}` : ""}`,
    };
  return {
    status: 502,
    message: `upstream answered without an image${finish ? ` (finishReason ${finish})` : ""}${text ? `: ${text.slice(0, 300)}` : ""}`,
  };
}
