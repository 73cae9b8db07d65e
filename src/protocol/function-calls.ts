// What upstream asks of function calls, whichever protocol the client speaks: the names it accepts
// (others get a stable alias) and the sentinel that stands in for a lost thought signature. Pure.
import { sha256Hex } from "../core/hash";

/** upstream function names: at most 64 characters, starting with a letter or underscore */
export const FUNCTION_NAME = /^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$/;

/**
 * A name upstream accepts is kept; any other (long MCP names, slashes, spaces) gets a stable alias:
 * a readable prefix plus a hash, so history maps the same way every turn without any state, and two
 * client names never share one. The response maps the alias back.
 */
export function upstreamToolName(name: string): string {
  if (FUNCTION_NAME.test(name)) return name;
  const h = sha256Hex(name).slice(0, 8);
  const safe = name.replace(/[^a-zA-Z0-9_.:-]/g, "_").replace(/^(?![a-zA-Z_])/, "_");
  return `${safe.slice(0, 55)}_${h}`;
}

/** Gemini accepts this in place of a lost functionCall signature (it skips the check). */
export const SKIP_SIGNATURE = "skip_thought_signature_validator";
