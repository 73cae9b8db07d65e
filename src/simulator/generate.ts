// generateContent, streamGenerateContent (?alt=sse) and countTokens: validate the envelope like
// Google does, check account/project/model/quota, then answer with the deterministic reply wrapped in
// {"response": …, "traceId": …}. SSE frames are `data: <json>\r\n\r\n`, deltas only, no [DONE].
import type { GeminiPart, GeminiRequest } from "../upstream/types";
import type { Call } from "./call";
import { iamDenied, quotaFraction, validationUrl } from "./codeassist";
import { errorIn200Body, quota429, validationRequired } from "./faults";
import { invalidArgument, json, notFound } from "./errors";
import { findModel, needsCallSignature } from "./models";
import { planReply, toChunks, type Reply } from "./reply";
import { randomHex, type AccountState } from "./state";
import { countTokens } from "./tokens";
import { checkCountEnvelope, checkEnvelope, checkSignatures, get } from "./validate";

/** gap between stream chunks when delays are on, so clients see them arrive one by one */
export const CHUNK_GAP_MS = 25;
const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache" };
const enc = new TextEncoder();

export interface GenerateOptions {
  stream: boolean;
  /** stream_cut fault: send the first chunk, then drop the connection */
  cut?: boolean;
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
  if (acc.validationRequired) throw validationRequired(validationUrl(call.state, acc.email));
  if (typeof modelId !== "string" || !modelId) throw invalidArgument("* model: model is required", "model");
  const project = get(body, "project");
  if (!project) throw invalidArgument("Invalid project resource name projects/", "project");
  if (project !== acc.project) throw iamDenied(project);
  const model = findModel(modelId);
  if (!model) throw notFound();
  if (quotaFraction(acc, model.id) <= 0)
    throw quota429("QUOTA_EXHAUSTED", model.id, Math.max(1, (call.state.quotaResetAt - Date.now()) / 1000));
  const request: GeminiRequest = get(body, "request");
  checkSignatures(request, (s) => call.state.knownSignature(s), needsCallSignature(model));

  const reply = planReply(request, model, {
    signature: () => call.state.issueSignature(),
    callId: () => `toolu_sim_${randomHex(12)}`,
  });
  const base = { modelVersion: modelId, responseId: randomHex(12) };
  if (!opts.stream) {
    const response = {
      candidates: [{ content: { role: "model", parts: reply.parts }, finishReason: reply.finishReason, index: 0 }],
      usageMetadata: reply.usage,
      ...base,
    };
    return json({ response, traceId }, 200, headers);
  }
  const chunks = streamChunks(reply, base, traceId);
  // without ?alt=sse Google streams one JSON array of the same chunks
  if (call.url.searchParams.get("alt") !== "sse") return json(chunks, 200, headers);
  return sse(chunks.map(frame), call.state.delays ? CHUNK_GAP_MS : 0, opts.cut === true, headers);
}

function streamChunks(reply: Reply, base: { modelVersion: string; responseId: string }, traceId: string) {
  const chunks: GeminiPart[][] = toChunks(reply.parts);
  if (!chunks.length) chunks.push([{ text: "" }]);
  return chunks.map((parts, i) => {
    const last = i === chunks.length - 1;
    const candidate = { content: { role: "model", parts }, ...(last ? { finishReason: reply.finishReason } : {}), index: 0 };
    return { response: { candidates: [candidate], ...(last ? { usageMetadata: reply.usage } : {}), ...base }, traceId };
  });
}

const frame = (obj: unknown) => `data: ${JSON.stringify(obj)}\r\n\r\n`;

/** frames as an SSE response; paced when gapMs > 0; `cut` drops the connection after the first frame */
function sse(frames: string[], gapMs: number, cut: boolean, headers: Record<string, string>): Response {
  const all = { ...SSE_HEADERS, ...headers };
  if (!gapMs && !cut) return new Response(frames.join(""), { headers: all });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      let i = 0;
      const next = () => {
        try {
          c.enqueue(enc.encode(frames[i++]!));
          // error() without a reason drops the socket without Bun printing a stack trace
          if (cut) timer = setTimeout(() => c.error(), Math.max(gapMs, 10));
          else if (i >= frames.length) c.close();
          else timer = setTimeout(next, gapMs);
        } catch {
          // the client went away
        }
      };
      next();
    },
    cancel() {
      clearTimeout(timer);
    },
  });
  return new Response(body, { headers: all });
}

/** countTokens: body {"request":{"model":"models/<id>","contents":…}} → {"totalTokens":N} */
export function countTokensCall(call: Call, body: any): Response {
  checkCountEnvelope(body);
  const req = get(body, "request");
  const model = findModel(req.model);
  if (!model) throw notFound();
  call.model = model.id;
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
