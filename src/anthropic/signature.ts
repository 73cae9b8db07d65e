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

/**
 * Without thinking requested there is no thinking block to carry a call's signature, yet Gemini 3
 * wants it back on that call: it rides in the tool_use id, the one field every client echoes
 * (tool_result refers to it too). base64url keeps the id within Anthropic's [A-Za-z0-9_-] pattern.
 */
const ID_MARK = "__sy1_";

export function signToolId(id: string, tagged: string): string {
  return `${id}${ID_MARK}${Buffer.from(tagged).toString("base64url")}`;
}

/** a client tool id → the id upstream knows and the tagged signature it carried, if any */
export function splitToolId(id: string): { id: string; tagged?: string } {
  const at = id.lastIndexOf(ID_MARK);
  if (at < 0) return { id };
  return { id: id.slice(0, at), tagged: Buffer.from(id.slice(at + ID_MARK.length), "base64url").toString() };
}
