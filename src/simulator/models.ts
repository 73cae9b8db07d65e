// The simulated upstream's own model lineup (late 2026). It is kept apart from the gateway's built-in
// list on purpose: the simulator plays Google, so it must not move when the gateway's guesses move.
import { isClaudeModel, isImageModel, stripModelsPrefix, type ModelInfo } from "../models/catalog";

const G = { inputTokenLimit: 1048576, outputTokenLimit: 65536 };
const C = { inputTokenLimit: 200000, outputTokenLimit: 64000 };

export const SIM_MODELS: ModelInfo[] = [
  // the 2.5 series is gone upstream, but the gateway's tests lean on it
  { id: "gemini-2.5-flash", displayName: "Gemini 2.5 Flash", ...G, thinking: true, thinkingBudget: 24576 },
  { id: "gemini-2.5-flash-lite", displayName: "Gemini 2.5 Flash Lite", ...G },
  { id: "gemini-2.5-pro", displayName: "Gemini 2.5 Pro", ...G, thinking: true, thinkingBudget: 32768 },
  { id: "gemini-2.5-flash-thinking", displayName: "Gemini 2.5 Flash (Thinking)", ...G, thinking: true, thinkingBudget: 24576 },
  { id: "gemini-3-flash", displayName: "Gemini 3 Flash", ...G, thinking: true, thinkingBudget: 32768 },
  { id: "gemini-3.1-pro-high", displayName: "Gemini 3.1 Pro (High)", ...G, thinking: true, thinkingBudget: 32768 },
  { id: "gemini-3.1-pro-low", displayName: "Gemini 3.1 Pro (Low)", ...G, thinking: true, thinkingBudget: 32768 },
  { id: "gemini-pro-agent", displayName: "Gemini Pro Agent", ...G, thinking: true, thinkingBudget: 32768 },
  { id: "gemini-3.7-flash-tiered", displayName: "Gemini 3.7 Flash", ...G, thinking: true, thinkingBudget: 32768 },
  { id: "gemini-3.8-flash-high", displayName: "Gemini 3.8 Flash (High)", ...G, thinking: true, thinkingBudget: 32768 },
  { id: "gemini-3.8-flash-low", displayName: "Gemini 3.8 Flash (Low)", ...G, thinking: true, thinkingBudget: 32768 },
  { id: "gemini-3.1-flash-lite", displayName: "Gemini 3.1 Flash Lite", ...G },
  { id: "gemini-3.1-flash-image", displayName: "Gemini 3.1 Flash Image", inputTokenLimit: 65536, outputTokenLimit: 32768, image: true },
  { id: "claude-opus-4-6-thinking", displayName: "Claude Opus 4.6 (Thinking)", ...C, thinking: true, thinkingBudget: 24576 },
  { id: "claude-sonnet-4-6", displayName: "Claude Sonnet 4.6", ...C, thinking: true, thinkingBudget: 24576 },
  { id: "gpt-oss-120b-medium", displayName: "GPT-OSS 120B (Medium)", inputTokenLimit: 131072, outputTokenLimit: 32768 },
];

const BY_ID = new Map(SIM_MODELS.map((m) => [m.id, m]));

/** a served model (not a retired one) */
export const findModel = (id: unknown): ModelInfo | undefined => (typeof id === "string" ? BY_ID.get(stripModelsPrefix(id)) : undefined);

export const inputLimit = (m: ModelInfo) => m.inputTokenLimit ?? (m.image ? 65536 : 1048576);
export const outputLimit = (m: ModelInfo) => m.outputTokenLimit ?? (m.image ? 32768 : 65536);
export const isImage = (m: ModelInfo) => m.image === true || isImageModel(m.id);
export const isClaude = (m: ModelInfo) => isClaudeModel(m.id);
/** Gemini 3 rejects a functionCall in history without a thoughtSignature (spec §2.1) */
export const needsCallSignature = (m: ModelInfo) => /^gemini-3/.test(m.id);
/** Gemini 3 thinking models think even when the request does not ask them to */
export const thinksByDefault = (m: ModelInfo) => m.thinking === true && m.id.startsWith("gemini-3");
