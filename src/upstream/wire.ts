// The Cloud Code wire format around a Gemini request: the v1internal envelope, the countTokens body
// and the stable upstream session id (docs/upstream.md).
import type { GeminiRequest } from "./types";

/** the envelope's userAgent field names the client family, not our HTTP User-Agent */
const ENVELOPE_USER_AGENT = "antigravity";

const SIXTY_BITS = (1n << 60n) - 1n;

/**
 * Stable upstream sessionId: same conversation → same id (prompt caching), never random per request.
 * A negative decimal number as the working clients send; a fast non-cryptographic hash is enough, since
 * the key is already a digest (or the client's own session id, or the account's id).
 */
export function upstreamSessionId(sessionKey: string | undefined, accountId: string): string {
  return "-" + (BigInt(Bun.hash(sessionKey ?? `account:${accountId}`)) & SIXTY_BITS).toString();
}

export function buildEnvelope(model: string, project: string, requestType: string, request: GeminiRequest, sessionId: string) {
  return {
    model,
    project,
    requestId: `agent-${crypto.randomUUID()}`,
    requestType,
    userAgent: ENVELOPE_USER_AGENT,
    request: { ...request, sessionId },
  };
}

export function countTokensBody(model: string, request: GeminiRequest) {
  const r: Record<string, unknown> = { model: `models/${model}`, contents: request.contents };
  if (request.systemInstruction) r.systemInstruction = request.systemInstruction;
  if (request.tools) r.tools = request.tools;
  return { request: r };
}
