// Per-model quota and model catalogue from fetchAvailableModels (docs/upstream.md, "Quota and models"). A model
// without quotaInfo is unknown (left out), never a made-up 100 %.
import { isImageModel, type Lineup, type ModelInfo } from "../models/catalog";
import type { Failure } from "../upstream/classify";
import type { UpstreamClient } from "../upstream/client";
import type { QuotaEntry } from "./types";

export interface QuotaReport {
  quota: Record<string, QuotaEntry>;
  models: ModelInfo[];
  lineup: Lineup;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && x !== "") : []);

/** agentModelSorts, deprecatedModelIds, defaultAgentModelId, imageGenerationModelIds */
export function parseLineup(body: any): Lineup {
  const recommended: string[] = [];
  for (const sort of Array.isArray(body?.agentModelSorts) ? body.agentModelSorts : [])
    for (const g of Array.isArray(sort?.groups) ? sort.groups : [])
      for (const id of strings(g?.modelIds)) if (!recommended.includes(id)) recommended.push(id);
  const forwards: Record<string, string> = {};
  const dep = body?.deprecatedModelIds;
  if (dep && typeof dep === "object" && !Array.isArray(dep))
    for (const [old, v] of Object.entries<any>(dep))
      if (typeof v?.newModelId === "string" && v.newModelId && v.newModelId !== old) forwards[old] = v.newModelId;
  const def = typeof body?.defaultAgentModelId === "string" && body.defaultAgentModelId ? body.defaultAgentModelId : undefined;
  return { recommended, ...(def ? { defaultModel: def } : {}), forwards, imageModels: strings(body?.imageGenerationModelIds) };
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
    if (typeof m?.thinkingBudget === "number" && m.thinkingBudget > 0) info.thinkingBudget = m.thinkingBudget;
    models.push(info);
  }
  return { quota, models, lineup: parseLineup(body) };
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
