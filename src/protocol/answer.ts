// Reading a Gemini answer the same way for every protocol: token counts, filtered finishes and a
// blocked prompt. Each protocol shapes these into its own fields. Pure.
import type { GeminiResponse, GeminiUsage } from "../upstream/types";

export interface TokenCounts {
  prompt: number;
  /** the part of the prompt served from cache */
  cached: number;
  thoughts: number;
  /** the answer including thinking: every protocol we serve bills thinking as output */
  output: number;
  total: number;
}

export function tokenCounts(u: GeminiUsage | undefined): TokenCounts {
  const prompt = u?.promptTokenCount ?? 0;
  const thoughts = u?.thoughtsTokenCount ?? 0;
  const output = (u?.candidatesTokenCount ?? 0) + thoughts;
  return { prompt, cached: u?.cachedContentTokenCount ?? 0, thoughts, output, total: u?.totalTokenCount ?? prompt + output };
}

const FILTERED = /^(SAFETY|RECITATION|BLOCKLIST|PROHIBITED_CONTENT|SPII|IMAGE_SAFETY|IMAGE_PROHIBITED_CONTENT|IMAGE_RECITATION)$/;

/** a finishReason that means a content filter stopped the answer */
export const isFiltered = (finishReason: string | undefined): boolean => !!finishReason && FILTERED.test(finishReason);

/** why upstream refused the prompt itself (no candidates then), if it did */
export const blockReason = (resp: GeminiResponse): string | undefined =>
  (resp.promptFeedback as { blockReason?: string } | undefined)?.blockReason;
