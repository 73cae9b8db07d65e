// One unary GenerateContentResponse from the unwrapped delta chunks of a streamGenerateContent.
import type { GeminiCandidate, GeminiPart, GeminiResponse } from "./types";

interface Candidate {
  index?: number;
  role?: string;
  hasContent: boolean;
  parts: GeminiPart[];
  /** finishReason, safetyRatings, citationMetadata, …: the last chunk that has one wins */
  fields: Record<string, unknown>;
}

/** keys a plain text part may have; anything else makes it a part of its own */
const TEXT_KEYS = new Set(["text", "thought", "thoughtSignature"]);
const isText = (p: GeminiPart) => {
  if (typeof p.text !== "string") return false;
  for (const k in p) if (!TEXT_KEYS.has(k)) return false;
  return true;
};
const kind = (p: GeminiPart) => p.thought === true;

/** Feed chunks in arrival order; result() may be called at any time and does not disturb later pushes. */
export class StreamAssembler {
  private candidates = new Map<number, Candidate>();
  private top: Record<string, unknown> = {};

  push(chunk: GeminiResponse): void {
    // for…in, not Object.entries: no array of pairs per chunk (chunks are parsed JSON: own keys only)
    for (const k in chunk) {
      const v = (chunk as Record<string, unknown>)[k];
      if (k === "candidates" || v === undefined || v === null) continue;
      // an empty id or version says nothing; keep the last real one
      if ((k === "modelVersion" || k === "responseId") && v === "") continue;
      this.top[k] = v;
    }
    const cands = chunk.candidates ?? [];
    for (let i = 0; i < cands.length; i++) this.pushCandidate(cands[i]!, i);
  }

  result(): GeminiResponse {
    const candidates: GeminiCandidate[] = [...this.candidates.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, c]) => {
        const out: GeminiCandidate = {};
        if (c.hasContent) out.content = { ...(c.role ? { role: c.role } : {}), parts: c.parts.map((p) => ({ ...p })) };
        Object.assign(out, c.fields);
        if (c.index !== undefined) out.index = c.index;
        return out;
      });
    return { candidates, ...this.top };
  }

  private pushCandidate(c: GeminiCandidate, position: number): void {
    const index = typeof c.index === "number" ? c.index : position;
    let cand = this.candidates.get(index);
    if (!cand) this.candidates.set(index, (cand = { hasContent: false, parts: [], fields: {} }));
    if (typeof c.index === "number") cand.index = c.index;
    for (const k in c) {
      const v = (c as Record<string, unknown>)[k];
      if (k !== "content" && k !== "index" && v !== undefined) cand.fields[k] = v;
    }
    if (!c.content) return;
    cand.hasContent = true;
    if (!cand.role && c.content.role) cand.role = c.content.role;
    for (const p of c.content.parts ?? []) addPart(cand.parts, p);
  }
}

/** Append one delta part: text runs of the same kind (thought / answer) grow; everything else stays separate. */
function addPart(parts: GeminiPart[], p: GeminiPart): void {
  if (!p || typeof p !== "object") return;
  if (!isText(p)) {
    parts.push({ ...p });
    return;
  }
  const last = parts.at(-1);
  if (last && isText(last) && kind(last) === kind(p)) {
    // the parts here are our own copies (result() copies them again): the run grows in place
    last.text += p.text!;
    // the signature closes the run; the last one is the one upstream wants back
    if (p.thoughtSignature !== undefined) last.thoughtSignature = p.thoughtSignature;
    return;
  }
  // an empty text without a signature carries nothing
  if (p.text === "" && p.thoughtSignature === undefined) return;
  parts.push({ ...p });
}

/** The whole stream at once. Empty input → `{ candidates: [] }`. */
export function assembleStream(chunks: GeminiResponse[]): GeminiResponse {
  const a = new StreamAssembler();
  for (const c of chunks) a.push(c);
  return a.result();
}

/** what a client is told of an answer upstream ended without finishing (see answerFinished) */
export const UNFINISHED_ANSWER = "upstream stream ended before the answer was finished";

/**
 * Whether an answer says it is complete: a candidate with a finish reason, or a prompt upstream
 * blocked. A stream that ends cleanly without either was cut short (a dropped connection upstream
 * closed politely) and must not pass for a whole answer.
 */
export function answerFinished(r: GeminiResponse | undefined): boolean {
  if (!r) return false;
  if ((r.promptFeedback as { blockReason?: string } | undefined)?.blockReason) return true;
  return (r.candidates ?? []).some((c) => !!c.finishReason);
}
