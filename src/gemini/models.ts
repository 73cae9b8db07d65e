// The model list in Gemini's shape: the catalogue plus configured exact aliases, paged as Google pages.
import { badRequest, ApiError } from "../core/errors";
import { stripModelsPrefix, type ModelInfo } from "../models/catalog";
import type { AppContext } from "../protocol/context";

export interface GeminiModel {
  name: string;
  version: string;
  displayName: string;
  description: string;
  inputTokenLimit?: number;
  outputTokenLimit?: number;
  supportedGenerationMethods: string[];
  thinking?: boolean;
}

/** One catalogue entry in Gemini's shape; displayName is the bare id (what clients send back). */
export function toGeminiModel(m: ModelInfo): GeminiModel {
  const out: GeminiModel = {
    name: `models/${m.id}`,
    version: "001",
    displayName: m.id,
    description: m.description ?? (m.displayName && m.displayName !== m.id ? m.displayName : ""),
    inputTokenLimit: m.inputTokenLimit,
    outputTokenLimit: m.outputTokenLimit,
    supportedGenerationMethods: ["generateContent", "streamGenerateContent", "countTokens"],
  };
  if (m.thinking) out.thinking = true;
  return JSON.parse(JSON.stringify(out));
}

/** A configured alias as a list entry (clients may call it by that name). */
export function aliasModel(name: string, target: string, base?: ModelInfo): ModelInfo {
  return { ...base, id: name, displayName: name, description: `alias of ${target}` };
}

export const MAX_PAGE_SIZE = 1000;

/** Paging over the list: no pageSize → everything; the token is an opaque offset. */
export function pageModels<T>(items: T[], pageSize?: string, pageToken?: string): { page: T[]; nextPageToken?: string } {
  let start = 0;
  if (pageToken) {
    const m = /^o(\d+)$/.exec(decodeToken(pageToken));
    if (!m) throw badRequest("invalid pageToken", "pageToken");
    start = Number(m[1]);
  }
  if (pageSize === undefined || pageSize === "") return { page: items.slice(start) };
  const size = Number(pageSize);
  if (!Number.isInteger(size) || size < 0) throw badRequest("pageSize must be a non-negative integer", "pageSize");
  const n = size === 0 ? 50 : Math.min(size, MAX_PAGE_SIZE); // Google: 0 → server default
  const page = items.slice(start, start + n);
  return start + n < items.length ? { page, nextPageToken: encodeToken(`o${start + n}`) } : { page };
}

const encodeToken = (s: string) => Buffer.from(s).toString("base64url");
function decodeToken(t: string): string {
  try {
    return Buffer.from(t, "base64url").toString("utf8");
  } catch {
    return "";
  }
}

/** The catalogue plus configured exact aliases, as the Gemini list offers them. */
function catalogue(ctx: AppContext) {
  const models = ctx.catalog.list();
  const ids = new Set(models.map((m) => m.id));
  const aliases = ctx.catalog
    .aliasNames()
    .filter((a) => !ids.has(a))
    .map((a) => {
      const target = ctx.catalog.aliasTarget(a) ?? "";
      return aliasModel(a, target, ctx.catalog.get(target));
    });
  return [...models, ...aliases];
}

/** `{models, nextPageToken?}` in Gemini's shape (also on GET /v1/models for Google's SDKs). */
export function geminiModelList(ctx: AppContext, query: { pageSize?: string; pageToken?: string }) {
  const { page, nextPageToken } = pageModels(catalogue(ctx), query.pageSize, query.pageToken);
  const models = page.map(toGeminiModel);
  return nextPageToken ? { models, nextPageToken } : { models };
}

/** One model in Gemini's shape, or ApiError 404. */
export function geminiModel(ctx: AppContext, id: string) {
  const model = stripModelsPrefix(id);
  const found = catalogue(ctx).find((m) => m.id === model);
  if (!found) throw new ApiError(404, `models/${model} is not found`, { reason: "not_found" });
  return toGeminiModel(found);
}

/** Google's SDKs identify themselves (x-goog-api-client) or send their key as x-goog-api-key. */
