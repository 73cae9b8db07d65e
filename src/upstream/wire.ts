// The Cloud Code wire format around a Gemini request: the v1internal envelope, the countTokens body
// and the stable upstream session id (docs/upstream.md).
import { randomUUID } from "node:crypto";
import type { GeminiRequest } from "./types";

/** the envelope's userAgent field names the client family, not our HTTP User-Agent */
const ENVELOPE_USER_AGENT = "antigravity";

/** Stable upstream sessionId: same conversation → same id (prompt caching), never random per request. */
export function upstreamSessionId(sessionKey: string | undefined, accountId: string): string {
  const h = new Bun.CryptoHasher("sha256");
  h.update(sessionKey ?? `account:${accountId}`);
  return "-" + BigInt("0x" + h.digest("hex").slice(0, 15)).toString();
}

export function buildEnvelope(model: string, project: string, requestType: string, request: GeminiRequest, sessionId: string) {
  return {
    model,
    project,
    requestId: `agent-${randomUUID()}`,
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
