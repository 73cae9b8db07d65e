// generateContent, streamGenerateContent (?alt=sse) and countTokens: validate the envelope like
// Google does, check the client gate, account, project and model (retired ids get a notice), then
// quota, and answer with the deterministic reply wrapped in {"response": …, "traceId": …}.
import type { GeminiPart, GeminiRequest } from "../upstream/types";
import { stripModelsPrefix } from "../models/catalog";
import type { Call } from "./call";
import { iamDenied, quotaFraction, validationUrl } from "./codeassist";
import { errorIn200Body, quota429, validationRequired } from "./faults";
import { checkAgentSdk } from "./gate";
import { invalidArgument, json, notFound } from "./errors";
import { findRetired, successorModel } from "./lineup";
import { findModel, isClaude, needsCallSignature } from "./models";
import { noticeAnswer } from "./notice";
import { planReply, toChunks, type Reply } from "./reply";
import { frame, sse } from "./sse";
import { entitled, randomHex, type AccountState } from "./state";
import { checkThinkingBudget } from "./thinking";
import { countTokens } from "./tokens";
import { checkCountEnvelope, checkEnvelope, checkSignatures, get } from "./validate";

/** gap between stream chunks when delays are on, so clients see them arrive one by one */
export const CHUNK_GAP_MS = 25;

export interface GenerateOptions {
  stream: boolean;
  /** stream_cut fault: send the first chunk, then drop the connection */
  cut?: boolean;
  /** stream_end fault: a stream ends cleanly after its first chunk, with no finish reason */
  endEarly?: boolean;
  /** error_in_200 fault */
  errorIn200?: boolean;
}

export function generate(call: Call, acc: AccountState, body: any, opts: GenerateOptions): Response {
  const traceId = randomHex(8);
  const headers = { "x-cloudaicompanion-trace-id": traceId };
  if (opts.errorIn200) {
    if (!opts.stream || call.url.searchParams.get("alt") !== "sse") return json(errorIn200Body(), 200, headers);
    return sse([frame(errorIn200Body())], 0, false, headers);
  }
  checkEnvelope(body);
  const modelId = get(body, "model");
  const gate = call.state.gate.notice(call.req.headers.get("user-agent"));
  if (gate) return noticeAnswer(call, typeof modelId === "string" ? modelId : "", gate, opts.stream);
  if (acc.validationRequired) throw validationRequired(validationUrl(call.state, acc.email));
  if (typeof modelId !== "string" || !modelId) throw invalidArgument("* model: model is required", "model");
  const project = get(body, "project");
  if (!project) throw invalidArgument("Invalid project resource name projects/", "project");
  if (project !== acc.project) throw iamDenied(project);
  const retired = findRetired(modelId);
  if (retired) return noticeAnswer(call, modelId, retired.notice, opts.stream);
  const model = findModel(modelId);
  if (!model || !entitled(acc, model.id)) throw notFound();
  const request: GeminiRequest = get(body, "request");
  checkThinkingBudget(request, model);
  if (isClaude(model)) checkAgentSdk(request);
  if (quotaFraction(acc, model.id) <= 0)
    throw quota429("QUOTA_EXHAUSTED", model.id, Math.max(1, (call.state.quotaResetAt - Date.now()) / 1000));
  checkSignatures(request, (s) => call.state.knownSignature(s), needsCallSignature(model));

  const reply = planReply(request, model, {
    signature: () => call.state.issueSignature(),
    callId: () => `toolu_sim_${randomHex(12)}`,
  });
  const base = { modelVersion: modelId, responseId: randomHex(12) };
  // what we report, summed (tests compare a gateway's usage accounting with it; a cut stream counts too)
  call.state.reported(reply.usage);
  if (!opts.stream) {
    // Claude's unary answers lack thinking upstream (why gateways stream Claude instead)
    const parts = isClaude(model) ? withoutThinking(reply.parts) : reply.parts;
    const response = {
      candidates: [{ content: content(parts), finishReason: reply.finishReason, index: 0 }],
      usageMetadata: reply.usage,
      ...base,
    };
    return json({ response, traceId }, 200, headers);
  }
  let chunks = streamChunks(reply, base, traceId);
  if (opts.endEarly) chunks = chunks.slice(0, 1).map(withoutFinish);
  // without ?alt=sse Google streams one JSON array of the same chunks
  if (call.url.searchParams.get("alt") !== "sse") return json(chunks, 200, headers);
  return sse(chunks.map(frame), call.state.delays ? CHUNK_GAP_MS : 0, opts.cut === true, headers);
}

function streamChunks(reply: Reply, base: { modelVersion: string; responseId: string }, traceId: string) {
  const chunks: GeminiPart[][] = toChunks(reply.parts);
  if (!chunks.length) chunks.push([]);
  return chunks.map((parts, i) => {
    const last = i === chunks.length - 1;
    const candidate = { content: content(parts), ...(last ? { finishReason: reply.finishReason } : {}), index: 0 };
    return { response: { candidates: [candidate], ...(last ? { usageMetadata: reply.usage } : {}), ...base }, traceId };
  });
}

// a model that wrote nothing (its whole budget went on thoughts) gets a content without parts
const content = (parts: GeminiPart[]) => (parts.length ? { role: "model", parts } : { role: "model" });

function withoutThinking(parts: GeminiPart[]): GeminiPart[] {
  return parts.filter((p) => !p.thought).map(({ thoughtSignature: _sig, ...p }) => p);
}

/** countTokens: body {"request":{"model":"models/<id>","contents":…}} → {"totalTokens":N} */
export function countTokensCall(call: Call, acc: AccountState, body: any): Response {
  checkCountEnvelope(body);
  const req = get(body, "request");
  // only generation answers retired ids with a notice; counting goes on as for the successor
  const retired = findRetired(req.model);
  const model = retired ? successorModel(retired) : findModel(req.model);
  if (!model || (!retired && !entitled(acc, model.id))) throw notFound();
  call.model = stripModelsPrefix(req.model);
  return json({ totalTokens: countTokens(req) });
}

/** a response whose body stops half way and whose connection then drops (stream_cut on a unary call) */
export async function cutResponse(res: Response): Promise<Response> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  const half = bytes.subarray(0, Math.ceil(bytes.length / 2));
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      if (half.length) c.enqueue(half);
      setTimeout(() => c.error(), 10);
    },
  });
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  return new Response(body, { status: res.status, headers });
}

/** a stream chunk without its candidates' finish reasons (for the stream_end fault) */
function withoutFinish(chunk: ReturnType<typeof streamChunks>[number]) {
  const candidates = chunk.response.candidates.map(({ finishReason: _, ...c }) => c);
  return { ...chunk, response: { ...chunk.response, candidates } };
}
