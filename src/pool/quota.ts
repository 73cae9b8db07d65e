// Per-model quota and model catalogue from fetchAvailableModels (upstream-protocol §7). A model
// without quotaInfo is unknown (left out), never a made-up 100 %.
import { isImageModel, type ModelInfo } from "../models/catalog";
import type { Failure } from "../upstream/classify";
import type { UpstreamClient } from "../upstream/client";
import type { QuotaEntry } from "./types";

export interface QuotaReport {
  quota: Record<string, QuotaEntry>;
  models: ModelInfo[];
}

/** internal entries the catalogue should not offer */
const OFFERED = /^(gemini|claude|gpt|image|imagen)/i;

export function parseAvailableModels(body: any, now: number): QuotaReport {
  const quota: Record<string, QuotaEntry> = {};
  const models: ModelInfo[] = [];
  const entries = body?.models && typeof body.models === "object" ? Object.entries<any>(body.models) : [];
  const imageIds = new Set<string>(Array.isArray(body?.imageGenerationModelIds) ? body.imageGenerationModelIds : []);
  for (const [id, m] of entries) {
    if (!OFFERED.test(id)) continue;
    const qi = m?.quotaInfo;
    if (qi && typeof qi === "object") {
      // protobuf JSON leaves out zero values: a quotaInfo without remainingFraction means 0
      let frac = typeof qi.remainingFraction === "number" ? qi.remainingFraction : Number(qi.remainingFraction ?? 0);
      if (qi.isExhausted === true || !Number.isFinite(frac)) frac = 0;
      const reset = typeof qi.resetTime === "string" ? Date.parse(qi.resetTime) : NaN;
      quota[id] = { remainingFraction: Math.min(1, Math.max(0, frac)), resetTime: Number.isNaN(reset) ? undefined : reset, fetchedAt: now };
    }
    const info: ModelInfo = { id, displayName: typeof m?.displayName === "string" ? m.displayName : id };
    if (typeof m?.maxTokens === "number") info.inputTokenLimit = m.maxTokens;
    if (typeof m?.maxOutputTokens === "number") info.outputTokenLimit = m.maxOutputTokens;
    if (imageIds.has(id) || isImageModel(id)) info.image = true;
    if (m?.supportsThinking === true) info.thinking = true;
    models.push(info);
  }
  return { quota, models };
}

export async function fetchQuota(
  client: UpstreamClient,
  token: string,
  projectId: string | undefined,
  signal?: AbortSignal,
): Promise<{ ok: true; report: QuotaReport } | { ok: false; failure: Failure }> {
  // leaving the project out can make Google report 100 % for an exhausted account: always send it
  const r = await client.unary("fetchAvailableModels", projectId ? { project: projectId } : {}, token, signal);
  if (!r.ok) return r;
  return { ok: true, report: parseAvailableModels(r.value, Date.now()) };
}
