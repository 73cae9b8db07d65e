// Sticky-session keys. A client may name its session with X-Session-Id; otherwise each protocol
// derives one from the conversation (see sessionFromConversation).
const MAX_ID = 200;

export function explicitSession(headers: Headers): string | undefined {
  const v = headers.get("x-session-id")?.trim();
  return v ? v.slice(0, MAX_ID) : undefined;
}

/** A stable fingerprint of a conversation: its system prompt and first user message. */
export function sessionFromConversation(system: string | undefined, firstUserText: string | undefined): string | undefined {
  if (!system && !firstUserText) return undefined;
  const h = new Bun.CryptoHasher("sha256");
  h.update(system ?? "");
  h.update("\u0000");
  h.update(firstUserText ?? "");
  return "conv-" + h.digest("hex").slice(0, 32);
}
