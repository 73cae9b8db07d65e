// Reading Google's answers before anything reaches the client: service notices dressed as answers, 200s
// that are not answers, and streams whose first chunks are read (and held back while they may be a
// notice) so that a failure there can still rotate to another account. Whole answers for unary
// requests that go upstream as streams are assembled here too.
import { answerFinished, assembleStream, StreamAssembler, UNFINISHED_ANSWER } from "../upstream/assemble";
import { classify, networkFailure, type Failure } from "../upstream/classify";
import type { Outcome, UpstreamClient } from "../upstream/client";
import { mayBeNotice, noticeOf } from "../upstream/notices";
import { sseEvents, sseJson, unwrapResponse } from "../upstream/sse";
import type { GeminiRequest, GeminiResponse } from "../upstream/types";
import { isClaudeModel, isImageModel } from "../models/catalog";
import { namesModel } from "../models/resolve";
import type { Logger } from "../core/log";

/** what reading needs of the runtime */
export interface Upstream {
  client: UpstreamClient;
  log: Logger;
  /** the gap allowed between chunks (upstream.requestTimeoutSeconds) */
  timeoutSeconds: number;
}

export function isErrorEnvelope(v: unknown): boolean {
  return !!v && typeof v === "object" && "error" in v && !("response" in v);
}

const assemble = (chunks: unknown[]) => assembleStream(chunks.map((c) => unwrapResponse<GeminiResponse>(c)));

const EMPTY_STREAM = "upstream stream ended without any data";

/** what a reply is checked against: the model it was asked of, and the request that asked */
export interface Asked {
  model: string;
  request: GeminiRequest;
}

/**
 * A reply that is a service notice, as the failure it stands for. A model can be made to write such a
 * sentence, and a retirement notice reroutes the model for every client, so it counts only when it names
 * the model it came from and the request did not hold its words (a client asking for them gets them).
 */
export function noticeFailure(resp: GeminiResponse, asked: Asked): Failure | undefined {
  const n = noticeOf(resp);
  if (!n) return undefined;
  if (n.kind === "model_retired" && !namesModel(n.subject, asked.model)) return undefined;
  if (requestHolds(asked.request, n.phrase)) return undefined;
  return { class: n.kind, status: 200, message: n.text, ...(n.kind === "model_retired" && n.successor ? { successor: n.successor } : {}) };
}

/**
 * An answer that is a model's slip, not an answer: no text, call or image, ended with a finish reason
 * that says the model broke off (a function call it could not write, say). Passed on it was an empty
 * "stop" a coding agent takes for the end of its turn; another account (or a second try) usually gets
 * a real answer, so it fails like a 5xx before anything reached the client.
 */
export function brokenAnswer(resp: GeminiResponse): Failure | undefined {
  const c = resp.candidates?.[0];
  const reason = c?.finishReason;
  if (!reason || !BROKEN_FINISH.has(reason)) return undefined;
  const said = (c.content?.parts ?? []).some(
    (p) => (typeof p.text === "string" && p.text !== "" && !p.thought) || p.functionCall || p.inlineData,
  );
  if (said) return undefined;
  const why = typeof c.finishMessage === "string" && c.finishMessage ? `: ${c.finishMessage.slice(0, 300)}` : "";
  return { class: "server_error", status: 502, message: `upstream ended the answer with ${reason}${why}` };
}

const BROKEN_FINISH = new Set([
  "MALFORMED_FUNCTION_CALL",
  "UNEXPECTED_TOOL_CALL",
  "TOO_MANY_TOOL_CALLS",
  "OTHER",
  "FINISH_REASON_UNSPECIFIED",
]);

/** what a whole answer read before the client got anything fails as, if it fails: a notice, or a slip */
export const answerFailure = (resp: GeminiResponse, asked: Asked): Failure | undefined => noticeFailure(resp, asked) ?? brokenAnswer(resp);

/** whether the request's own text (system and turns) holds `phrase`, ignoring case and spacing */
function requestHolds(request: GeminiRequest, phrase: string): boolean {
  const squash = (s: string) => s.toLowerCase().replace(/\s+/g, " ");
  const want = squash(phrase);
  const parts = [...(request.systemInstruction?.parts ?? []), ...(request.contents ?? []).flatMap((c) => c.parts ?? [])];
  return parts.some((p) => typeof p.text === "string" && squash(p.text).includes(want));
}

/** a body without events that is Google's error (`{"error":…}`, or one in a list): the failure it names */
function errorInBody(text: string): Failure | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const e = Array.isArray(body) ? body[0] : body;
  return isErrorEnvelope(e) ? classify({ status: 200, body: e }) : undefined;
}

/** a GenerateContentResponse has candidates, or says why the prompt was blocked */
export const isGeminiResponse = (r: unknown): r is GeminiResponse =>
  !!r && typeof r === "object" && (Array.isArray((r as GeminiResponse).candidates) || !!(r as GeminiResponse).promptFeedback);
export const notAnAnswer = (): Failure => ({
  class: "server_error",
  status: 502,
  message: "upstream answered 200 without a Gemini response",
});

/** Claude and Gemini 3 unary calls can come back without thinking and its signatures: stream and assemble */
export const streamsForUnary = (model: string) =>
  !isImageModel(model) && (isClaudeModel(model) || /^gemini-3/.test(model) || model === "gemini-pro-agent");

/** the text of a chunk's answer so far, or undefined when it holds more than text */
function textOf(chunk: unknown): string | undefined {
  const resp = unwrapResponse<GeminiResponse>(chunk);
  let text = "";
  for (const c of resp?.candidates ?? [])
    for (const p of c.content?.parts ?? []) {
      if (p.thought || typeof p.text !== "string" || p.functionCall || p.inlineData) return undefined;
      text += p.text;
    }
  return text;
}

/** an opened upstream stream whose first chunks were read (held back while they may be a notice) */
export interface Opened {
  held: unknown[];
  events: AsyncGenerator<unknown>;
  abort: AbortController;
}

/**
 * Open a stream and read its first chunk here, so a failure before anything reached the client can
 * still rotate. Chunks that may be a service notice are held back until the stream tells.
 */
export async function openStream(u: Upstream, body: unknown, asked: Asked, token: string, signal?: AbortSignal): Promise<Outcome<Opened>> {
  const timeoutSeconds = u.timeoutSeconds;
  const opened = await u.client.stream("streamGenerateContent", body, token, signal);
  if (!opened.ok) return opened;
  const { response, abort, release } = opened.value;
  // a 200 that is one JSON error, not events (a front end answering for the stream call): the error it is
  if (/json/i.test(response.headers.get("content-type") ?? "")) {
    const text = await response.text().catch(() => "");
    release();
    return { ok: false, failure: errorInBody(text) ?? { class: "server_error", status: 502, message: EMPTY_STREAM } };
  }
  const events = sseEvents(response.body!, {
    idleTimeoutMs: timeoutSeconds * 1000,
    signal,
    onMalformed: () => u.log.debug("skipped a malformed upstream event"),
    onEnd: release, // the call's slot (the abort listener gives it back too)
  });
  const fail = (failure: Failure): Outcome<never> => {
    void events.return(undefined);
    abort.abort();
    return { ok: false, failure };
  };
  const held: unknown[] = [];
  let text: string | undefined = "";
  for (;;) {
    let next: IteratorResult<unknown>;
    try {
      next = await events.next();
    } catch (e) {
      abort.abort();
      if (signal?.aborted) throw e;
      return { ok: false, failure: networkFailure(e, { timeoutSeconds }) };
    }
    if (next.done) {
      if (!held.length) return fail({ class: "server_error", status: 502, message: EMPTY_STREAM });
      const notice = answerFailure(assemble(held), asked);
      if (notice) return fail(notice);
      break;
    }
    if (isErrorEnvelope(next.value)) return fail(classify({ status: 200, body: next.value }));
    held.push(next.value);
    const t = textOf(next.value);
    text = t === undefined || text === undefined ? undefined : text + t;
    if (text === undefined || !mayBeNotice(text)) break;
  }
  return { ok: true, value: { held, events, abort }, endpoint: opened.endpoint };
}

/**
 * A whole answer through the stream call (see streamsForUnary), read to its end as one text and
 * assembled: failures anywhere in it can rotate, as nothing reached the client. A notice is checked on
 * the whole answer, as for a unary call.
 */
export async function streamWhole(
  u: Upstream,
  body: unknown,
  asked: Asked,
  token: string,
  signal?: AbortSignal,
): Promise<Outcome<unknown>> {
  const got = await u.client.sseText("streamGenerateContent", body, token, signal);
  if (!got.ok) return got;
  const endpoint = got.endpoint;
  const chunks = sseJson(got.value, () => u.log.debug("skipped a malformed upstream event"));
  if (!chunks.length)
    return { ok: false, failure: errorInBody(got.value) ?? { class: "server_error", status: 502, message: EMPTY_STREAM }, endpoint };
  const asm = new StreamAssembler();
  for (const c of chunks) {
    if (isErrorEnvelope(c)) return { ok: false, failure: classify({ status: 200, body: c }), endpoint };
    asm.push(unwrapResponse<GeminiResponse>(c));
  }
  const response = asm.result();
  const notice = answerFailure(response, asked);
  if (notice) return { ok: false, failure: notice, endpoint };
  // nothing has reached the client yet: a cut-short answer is a failure another account may retry
  if (!answerFinished(response))
    return { ok: false, failure: { class: "server_error", status: 502, message: UNFINISHED_ANSWER }, endpoint };
  return { ok: true, value: { response }, endpoint };
}
