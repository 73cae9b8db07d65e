// The models the simulated upstream serves: the gateway's built-in list plus a few more ids seen
// upstream (spec §8), so the gateway's catalogue can learn models it does not know built-in.
import { BUILTIN_MODELS, isClaudeModel, isImageModel, stripModelsPrefix, type ModelInfo } from "../models/catalog";

const EXTRA: ModelInfo[] = [
  { id: "gemini-2.5-flash-thinking", displayName: "Gemini 2.5 Flash (Thinking)", thinking: true },
  { id: "gemini-3-flash-preview", displayName: "Gemini 3 Flash Preview", thinking: true },
  { id: "gemini-3-pro-preview", displayName: "Gemini 3 Pro Preview", thinking: true },
  { id: "gemini-3.1-pro-high", displayName: "Gemini 3.1 Pro (High)", thinking: true },
  { id: "gemini-3.1-pro-low", displayName: "Gemini 3.1 Pro (Low)", thinking: true },
  { id: "claude-sonnet-4-6", displayName: "Claude Sonnet 4.6", inputTokenLimit: 200000, outputTokenLimit: 64000 },
  { id: "claude-sonnet-4-6-thinking", displayName: "Claude Sonnet 4.6 (Thinking)", inputTokenLimit: 200000, outputTokenLimit: 64000, thinking: true },
  { id: "claude-opus-4-6-thinking", displayName: "Claude Opus 4.6 (Thinking)", inputTokenLimit: 200000, outputTokenLimit: 64000, thinking: true },
  { id: "gpt-oss-120b-medium", displayName: "GPT-OSS 120B (Medium)", inputTokenLimit: 131072, outputTokenLimit: 32768 },
];

export const SIM_MODELS: ModelInfo[] = (() => {
  const byId = new Map<string, ModelInfo>();
  for (const m of [...BUILTIN_MODELS, ...EXTRA]) if (!byId.has(m.id)) byId.set(m.id, m);
  return [...byId.values()];
})();

const BY_ID = new Map(SIM_MODELS.map((m) => [m.id, m]));

export const findModel = (id: unknown): ModelInfo | undefined =>
  typeof id === "string" ? BY_ID.get(stripModelsPrefix(id)) : undefined;

export const inputLimit = (m: ModelInfo) => m.inputTokenLimit ?? (m.image ? 65536 : 1048576);
export const outputLimit = (m: ModelInfo) => m.outputTokenLimit ?? (m.image ? 32768 : 65536);
export const isImage = (m: ModelInfo) => m.image === true || isImageModel(m.id);
export const isClaude = (m: ModelInfo) => isClaudeModel(m.id);
/** Gemini 3 rejects a functionCall in history without a thoughtSignature (spec §2.1) */
export const needsCallSignature = (m: ModelInfo) => /^gemini-3/.test(m.id);
