// A notice answer: HTTP 200 whose only candidate text is Google's message and whose token counts are
// zero. Google answers retired models and outdated clients this way, in unary, JSON-array and SSE alike,
// so a client that only checks the status shows the notice as if the model had said it.
import type { Call } from "./call";
import { json } from "./errors";
import { frame, sse } from "./sse";
import { randomHex } from "./state";

export const ZERO_USAGE = { promptTokenCount: 0, candidatesTokenCount: 0, totalTokenCount: 0 };

export function noticeAnswer(call: Call, modelVersion: string, text: string, stream: boolean): Response {
  const traceId = randomHex(8);
  const headers = { "x-cloudaicompanion-trace-id": traceId };
  const response = {
    candidates: [{ content: { role: "model", parts: [{ text }] }, finishReason: "STOP", index: 0 }],
    usageMetadata: ZERO_USAGE,
    modelVersion,
    responseId: randomHex(12),
  };
  const body = { response, traceId };
  if (!stream) return json(body, 200, headers);
  if (call.url.searchParams.get("alt") !== "sse") return json([body], 200, headers);
  return sse([frame(body)], 0, false, headers);
}
