// Sticky-session keys. A client may name its session with X-Session-Id or (Anthropic) metadata.user_id;
// otherwise each protocol derives one from the conversation (see sessionFromConversation).
import { sha256Hex } from "../core/hash";

const MAX_ID = 200;

export function explicitSession(headers: Headers): string | undefined {
  const v = headers.get("x-session-id")?.trim();
  return v ? v.slice(0, MAX_ID) : undefined;
}

/**
 * OpenAI's `prompt_cache_key` (a client's name for a conversation's shared prefix; Codex sends its thread
 * id there), hashed like a user id. Codex's first user message is its environment (directory, date), the
 * same for every conversation started there: without this they all fell on one account.
 */
export function sessionFromCacheKey(key: unknown): string | undefined {
  return typeof key === "string" && key.trim() ? "pck-" + sha256Hex(key).slice(0, 32) : undefined;
}

/** A client's own user id (Anthropic metadata.user_id), hashed: it may be an email and must not show up as a key. */
export function sessionFromUser(userId: string): string {
  return "user-" + sha256Hex(userId).slice(0, 32);
}

/** A stable fingerprint of a conversation: its system prompt and first user message. */
export function sessionFromConversation(system: string | undefined, firstUserText: string | undefined): string | undefined {
  if (!system && !firstUserText) return undefined;
  return "conv-" + sha256Hex(`${system ?? ""}\u0000${firstUserText ?? ""}`).slice(0, 32);
}
