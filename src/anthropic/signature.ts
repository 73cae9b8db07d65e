// Thinking signatures handed to Anthropic clients carry the model family that produced them, so a
// signature is only ever echoed to the family that can verify it (a Gemini signature sent to Claude,
// or the reverse, is a 400 upstream), and where upstream put it: on a thought part ("t") or on the
// answer part that follows (a call or text, "p"), so the echo puts it back in the same place.
// The tag is stateless: it survives restarts and account changes.
import { isClaudeModel } from "../models/catalog";

export type Family = "claude" | "gemini";

const PREFIX = "sy1.";

export const familyOfModel = (upstreamModel: string): Family => (isClaudeModel(upstreamModel) ? "claude" : "gemini");

export type Place = "thought" | "part";

/** upstream signature → the string the client sees */
export function tagSignature(family: Family, on: Place, signature: string): string {
  return `${PREFIX}${family}.${on === "thought" ? "t" : "p"}.${signature}`;
}

/** client signature → family, place and upstream signature; undefined when it is not one of ours */
export function readSignature(tagged: unknown): { family: Family; on: Place; signature: string } | undefined {
  if (typeof tagged !== "string" || !tagged.startsWith(PREFIX)) return undefined;
  const m = /^(claude|gemini)\.([tp])\.(.+)$/s.exec(tagged.slice(PREFIX.length));
  if (!m) return undefined;
  return { family: m[1] as Family, on: m[2] === "t" ? "thought" : "part", signature: m[3]! };
}

/** An upstream 400 caused by a thinking signature it will not accept. */
export function isSignatureError(status: number, message: string): boolean {
  if (status !== 400) return false;
  return /signature|thinking block|must be `?thinking`?|Found `text`/i.test(message);
}
