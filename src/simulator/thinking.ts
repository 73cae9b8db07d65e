// Thinking limits: a budget above the model's maximum is refused, and Gemini 3 thinking models spend
// thought tokens even unasked. Those count against maxOutputTokens, so a small maxOutputTokens can leave
// no room for an answer at all (MAX_TOKENS with no text), which gateways must handle.
import type { ModelInfo } from "../models/catalog";
import { invalidArgument } from "./errors";
import { thinksByDefault } from "./models";
import { get } from "./validate";

/** what a Gemini 3 model thinks when not told otherwise (and the most it spends here) */
export const DEFAULT_THOUGHT_TOKENS = 1024;

const budgetOf = (gen: any): number | undefined => {
  const b = get(get(gen, "thinkingConfig"), "thinkingBudget");
  return b == null ? undefined : Number(b);
};

export function checkThinkingBudget(req: any, model: ModelInfo) {
  const budget = budgetOf(get(req, "generationConfig"));
  const max = model.thinkingBudget;
  if (budget === undefined || !max || budget <= max) return;
  throw invalidArgument(
    `thinking budget ${budget} exceeds the maximum of ${max} for ${model.id}`,
    "generation_config.thinking_config.thinking_budget",
  );
}

/** thought tokens a default-thinking model spends; undefined for models that think only when shown */
export function thoughtsSpent(gen: any, model: ModelInfo): number | undefined {
  if (!thinksByDefault(model)) return undefined;
  const budget = budgetOf(gen);
  // -1 is "dynamic": the same as no budget
  if (budget !== undefined && budget >= 0) return Math.min(budget, DEFAULT_THOUGHT_TOKENS);
  const max = Number(get(gen, "maxOutputTokens"));
  return max > 0 ? Math.min(DEFAULT_THOUGHT_TOKENS, max) : DEFAULT_THOUGHT_TOKENS;
}
