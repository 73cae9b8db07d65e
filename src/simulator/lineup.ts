// How the lineup moves: retired ids (answered with a 200 notice, or a plain 404 when absent here), the
// retired ids Google still lists, and the lineup metadata fetchAvailableModels carries.
import type { ModelInfo } from "../models/catalog";
import { stripModelsPrefix } from "../models/catalog";
import { SIM_MODELS } from "./models";

export interface RetiredModel {
  /** the only candidate text of a generate/stream answer */
  notice: string;
  /** the successor's display name, as the notice names it */
  successor: string;
}

const retired = (name: string, successor: string): RetiredModel => ({
  notice: `${name} is no longer available. Please switch to ${successor}.`,
  successor,
});

// gemini-3-flash-agent is retired too, but with a plain 404, so it is simply not known here
export const RETIRED_MODELS: Record<string, RetiredModel> = {
  "claude-opus-4-5-thinking": retired("Claude Opus 4.5", "Claude Opus 4.6"),
  "claude-opus-4-5": retired("Claude Opus 4.5", "Claude Opus 4.6"),
  "claude-sonnet-4-5": retired("Claude Sonnet 4.5", "Claude Sonnet 4.6"),
  "claude-sonnet-4-5-thinking": retired("Claude Sonnet 4.5", "Claude Sonnet 4.6"),
  "claude-sonnet-4-6-thinking": retired("Claude Sonnet 4.6 Thinking", "Claude Sonnet 4.6"),
  "gemini-3-pro-high": retired("Gemini 3 Pro", "Gemini 3.1 Pro"),
  "gemini-3-pro-low": retired("Gemini 3 Pro", "Gemini 3.1 Pro"),
  "gemini-3-pro-image": retired("Gemini 3 Pro Image", "Gemini 3.1 Flash Image"),
  "gemini-3.5-flash": retired("Gemini 3.5 Flash", "Gemini 3.7 Flash"),
};

export const findRetired = (id: unknown): RetiredModel | undefined =>
  typeof id === "string" ? RETIRED_MODELS[stripModelsPrefix(id)] : undefined;

/** the served model a successor display name means: exact, else "<name> (…)" (the first tier) */
export function successorModel(r: RetiredModel): ModelInfo | undefined {
  return SIM_MODELS.find((m) => m.displayName === r.successor) ?? SIM_MODELS.find((m) => m.displayName.startsWith(r.successor + " ("));
}

/** retired ids fetchAvailableModels still lists, as Google does */
export const LISTED_RETIRED: ModelInfo[] = [
  { id: "claude-sonnet-4-5", displayName: "Claude Sonnet 4.5", inputTokenLimit: 200000, outputTokenLimit: 64000 },
  {
    id: "gemini-3-pro-high",
    displayName: "Gemini 3 Pro (High)",
    inputTokenLimit: 1048576,
    outputTokenLimit: 65536,
    thinking: true,
    thinkingBudget: 32768,
  },
];

export const DEFAULT_AGENT_MODEL = "gemini-3-flash";
export const RECOMMENDED = [
  "gemini-3-flash",
  "gemini-3.1-pro-high",
  "claude-opus-4-6-thinking",
  "claude-sonnet-4-6",
  "gemini-3.8-flash-high",
];
export const IMAGE_GENERATION_MODELS = ["gemini-3.1-flash-image"];
// deliberately only these: a gateway must learn the other retirements from the notice text
export const DEPRECATED_MODEL_IDS: Record<string, { newModelId: string }> = {
  "claude-sonnet-4-5": { newModelId: "claude-sonnet-4-6" },
  "claude-sonnet-4-5-thinking": { newModelId: "claude-sonnet-4-6" },
};
