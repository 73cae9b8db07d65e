// Service notices dressed as answers (pure). Google answers some refusals with HTTP 200 whose only text
// is a notice: the client-version gate ("This version of Antigravity is no longer supported…") and
// retired models ("Claude Opus 4.5 is no longer available. Please switch to Claude Opus 4.6.").
// Such a reply is a failure, never an answer. docs/upstream.md lists the wordings.
import type { GeminiResponse } from "./types";

/**
 * `phrase` is the part that makes it a notice (a client asking the model to repeat it is answered, not
 * failed: reading.ts); a retirement notice's `subject` is the model it names.
 */
export type Notice =
  | { kind: "client_outdated"; text: string; phrase: string }
  | { kind: "model_retired"; text: string; phrase: string; subject: string; successor?: string };

const OUTDATED = /^(this version of antigravity is no longer supported|your current version of antigravity is out of date)/i;
const RETIRED = /^(.{1,100}?) is no longer available\.?(?:\s*please switch to (.{1,100}?)\.?)?\s*$/i;
/** a notice is short; a longer text is a real answer that happens to start alike */
const MAX_NOTICE = 400;

/** the text of a reply that holds only text (no thoughts, calls or media); undefined otherwise */
function onlyText(resp: GeminiResponse): string | undefined {
  const cands = resp.candidates ?? [];
  if (cands.length !== 1) return undefined;
  let text = "";
  for (const p of cands[0]!.content?.parts ?? []) {
    // a part with anything but its text (and a signature) is not a notice
    for (const k in p) if (k !== "text" && k !== "thoughtSignature") return undefined;
    if (typeof p.text !== "string") return undefined;
    text += p.text;
  }
  return text.trim() || undefined;
}

/** the notice this whole reply is, if it is one */
export function noticeOf(resp: GeminiResponse): Notice | undefined {
  const text = onlyText(resp);
  if (!text || text.length > MAX_NOTICE) return undefined;
  const o = OUTDATED.exec(text);
  if (o) return { kind: "client_outdated", text, phrase: o[0] };
  const m = RETIRED.exec(text);
  if (m) {
    const subject = m[1]!.trim();
    return {
      kind: "model_retired",
      text,
      phrase: `${subject} is no longer available`,
      subject,
      ...(m[2] ? { successor: m[2].trim() } : {}),
    };
  }
  return undefined;
}

/** whether a stream's text so far could still turn out to be a notice (it is then held back until the stream ends) */
export function mayBeNotice(textSoFar: string): boolean {
  const t = textSoFar.trimStart();
  if (t.length > MAX_NOTICE) return false;
  if (!t) return true;
  const lower = t.toLowerCase();
  const starts = ["this version of antigravity", "your current version of antigravity"];
  if (starts.some((s) => s.startsWith(lower) || lower.startsWith(s))) return true;
  // Google sends a retirement notice in one piece: the first chunk already names it
  const i = lower.indexOf(" is no longer available");
  return i >= 0 && i <= 100;
}
