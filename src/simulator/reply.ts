// Builds the simulated model's answer (pure apart from the ids/signatures it is handed):
//   - a functionResponse as the last turn → text naming the function and its response JSON;
//   - declared functions named in the last user text (or mode ANY) → functionCall parts;
//   - image models → a short text part + a real PNG whose size follows imageConfig.aspectRatio;
//   - audio in the last user turn → a deterministic transcript (./audio.ts);
//   - otherwise "Echo: <last user text>" (JSON when responseMimeType is application/json);
// plus thought parts when thinkingConfig.includeThoughts, and usage from the simulator's token count.
// Gemini 3 thinking models spend thought tokens unasked (./thinking.ts); what is left of
// maxOutputTokens bounds the answer, and nothing left means no answer at all (MAX_TOKENS).
import type { GeminiPart, GeminiUsage, GeminiRequest } from "../upstream/types";
import type { ModelInfo } from "../models/catalog";
import { isClaude, isImage } from "./models";
import { lastUserAudio, transcribe } from "./audio";
import { makeImage } from "./png";
import { thoughtsSpent } from "./thinking";
import { countTokens, textTokens } from "./tokens";
import { get } from "./validate";

export const IMAGE_TOKENS = 1290;
const ECHO_LIMIT = 1000;

export interface Reply {
  parts: GeminiPart[];
  finishReason: string;
  usage: GeminiUsage;
}

export interface Issuer {
  signature(): string;
  callId(): string;
}

export function planReply(req: GeminiRequest, model: ModelInfo, issue: Issuer): Reply {
  const contents: any[] = Array.isArray(req.contents) ? req.contents : [];
  const gen = get(req, "generationConfig") ?? {};
  const userText = lastUserText(contents);
  const parts: GeminiPart[] = [];
  let finishReason = "STOP";
  let answer = "";
  let extraTokens = 0;

  const thinking = get(gen, "thinkingConfig");
  const spent = thoughtsSpent(gen, model);
  const wantThoughts = get(thinking, "includeThoughts") === true && Number(get(thinking, "thinkingBudget") ?? -1) !== 0 && !isImage(model);
  let thoughtText = "";
  if (wantThoughts) {
    thoughtText = `**Reading the request**\n\nThe user wrote: "${snippet(userText, 80)}". I will answer briefly and deterministically.`;
    parts.push({ text: thoughtText, thought: true, thoughtSignature: issue.signature() });
  }
  // thoughts count against maxOutputTokens
  const maxOut = Number(get(gen, "maxOutputTokens"));
  const room = maxOut > 0 && spent ? maxOut - spent : maxOut;
  const noRoom = maxOut > 0 && room <= 0;

  const responses = noRoom ? [] : lastFunctionResponses(contents);
  const calls = responses.length || noRoom ? [] : functionsToCall(req, userText);
  if (noRoom) {
    finishReason = "MAX_TOKENS";
  } else if (responses.length) {
    answer = responses.map((r) => `Function ${r.name} returned ${JSON.stringify(r.response ?? {})}`).join("\n");
  } else if (calls.length) {
    calls.forEach((d, i) => {
      const call = {
        name: d.name,
        args: sampleObject(d.parameters ?? get(d, "parametersJsonSchema"), false),
        ...(isClaude(model) ? { id: issue.callId() } : {}),
      };
      extraTokens += textTokens(JSON.stringify(call));
      parts.push(i === 0 ? { functionCall: call, thoughtSignature: issue.signature() } : { functionCall: call });
    });
  } else if (isImage(model)) {
    const cfg = get(gen, "imageConfig") ?? {};
    const ratio: string = get(cfg, "aspectRatio") ?? "1:1";
    const img = makeImage(ratio, get(cfg, "imageSize"), Number(Bun.hash(userText) & 0xffffffn));
    answer = `Here is a ${img.width}x${img.height} image (${ratio}) of: ${snippet(userText, 80)}`;
    parts.push({ text: answer }, { inlineData: { mimeType: "image/png", data: Buffer.from(img.png).toString("base64") } });
    extraTokens += IMAGE_TOKENS;
  } else if (/json/i.test(get(gen, "responseMimeType") ?? "")) {
    const schema = get(gen, "responseSchema") ?? get(gen, "responseJsonSchema");
    answer = JSON.stringify(schema ? sampleValue(schema, "value", 0, true) : { echo: snippet(userText, ECHO_LIMIT) });
  } else {
    const audio = lastUserAudio(contents);
    answer = audio.length ? transcribe(audio, userText) : `Echo: ${snippet(userText, ECHO_LIMIT) || "(no text)"}`;
  }

  if (answer && !isImage(model)) {
    ({ answer, finishReason } = applyLimits(answer, gen, room));
    if (answer) parts.push({ text: answer });
  }
  const prompt = countTokens(req);
  const candidates = textTokens(answer) + extraTokens;
  const thoughts = spent ?? textTokens(thoughtText);
  return {
    parts,
    finishReason,
    usage: {
      promptTokenCount: prompt,
      candidatesTokenCount: candidates,
      thoughtsTokenCount: thoughts,
      totalTokenCount: prompt + candidates + thoughts,
    },
  };
}

/** stopSequences cut the answer (finish STOP); maxOutputTokens truncates it (finish MAX_TOKENS) */
function applyLimits(answer: string, gen: any, max: number): { answer: string; finishReason: string } {
  for (const stop of get(gen, "stopSequences") ?? []) {
    const at = typeof stop === "string" && stop ? answer.indexOf(stop) : -1;
    if (at >= 0) answer = answer.slice(0, at);
  }
  if (max > 0 && textTokens(answer) > max) return { answer: answer.slice(0, max * 4), finishReason: "MAX_TOKENS" };
  return { answer, finishReason: "STOP" };
}

const snippet = (s: string, n: number) => (s.length > n ? s.slice(0, n) + "…" : s);

/** text of the last user turn that has any (non-thought) text */
export function lastUserText(contents: any[]): string {
  for (let i = contents.length - 1; i >= 0; i--) {
    const c = contents[i];
    if (!c || c.role === "model" || !Array.isArray(c.parts)) continue;
    const text = c.parts
      .filter((p: any) => typeof p?.text === "string" && !p.thought)
      .map((p: any) => p.text)
      .join("\n");
    if (text) return text;
  }
  return "";
}

function lastFunctionResponses(contents: any[]): { name: string; response: unknown }[] {
  const last = contents[contents.length - 1];
  if (!last || last.role === "model" || !Array.isArray(last.parts)) return [];
  return last.parts.map((p: any) => get(p, "functionResponse")).filter((r: any) => r && typeof r.name === "string");
}

function functionsToCall(req: GeminiRequest, text: string): any[] {
  const decls: any[] = (Array.isArray(req.tools) ? req.tools : []).flatMap((t: any) => get(t, "functionDeclarations") ?? []);
  if (!decls.length) return [];
  const fc = get(get(req, "toolConfig"), "functionCallingConfig") ?? {};
  const mode = String(fc.mode ?? "AUTO").toUpperCase();
  if (mode === "NONE") return [];
  const allowed: string[] | undefined = get(fc, "allowedFunctionNames");
  const usable = allowed?.length ? decls.filter((d) => allowed.includes(d.name)) : decls;
  const named = usable.filter((d) => mentions(text, d.name));
  if (named.length) return named;
  return mode === "ANY" && usable.length ? [usable[0]] : [];
}

function mentions(text: string, name: string) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![A-Za-z0-9_])${escaped}(?![A-Za-z0-9_])`).test(text);
}

/** an object holding the schema's required properties (all properties when `all`) */
function sampleObject(schema: any, all: boolean, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!schema || typeof schema !== "object") return out;
  const props = schema.properties ?? {};
  const keys: string[] = all ? Object.keys(props) : Array.isArray(schema.required) ? schema.required : [];
  for (const k of keys) out[k] = sampleValue(props[k], k, depth + 1, all);
  return out;
}

function sampleValue(schema: any, name: string, depth: number, all: boolean): unknown {
  if (!schema || typeof schema !== "object" || depth > 6) return `${name}-value`;
  if (schema.example !== undefined) return schema.example;
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  if (Array.isArray(schema.anyOf) && schema.anyOf.length) return sampleValue(schema.anyOf[0], name, depth + 1, all);
  const type = String(schema.type ?? (schema.properties ? "object" : "string")).toLowerCase();
  switch (type) {
    case "integer":
      return Math.ceil(Number(schema.minimum ?? 1));
    case "number":
      return Number(schema.minimum ?? 1);
    case "boolean":
      return true;
    case "null":
      return null;
    case "array":
      return Array.from({ length: Math.max(1, Number(schema.minItems ?? 1)) }, () => sampleValue(schema.items, name, depth + 1, all));
    case "object":
      return sampleObject(schema, all, depth);
    default: {
      const s = `${name}-value`;
      return s.padEnd(Number(schema.minLength ?? 0), "x");
    }
  }
}

/** split parts into stream chunks: thoughts in 2 pieces, answer text in ≥3, other parts whole */
export function toChunks(parts: GeminiPart[]): GeminiPart[][] {
  const chunks: GeminiPart[][] = [];
  for (const p of parts) {
    if (typeof p.text !== "string" || !p.text) {
      chunks.push([p]);
      continue;
    }
    const pieces = splitText(p.text, p.thought ? 2 : 3);
    pieces.forEach((text, i) => {
      const part: GeminiPart = { text, ...(p.thought ? { thought: true } : {}) };
      if (p.thoughtSignature && i === pieces.length - 1) part.thoughtSignature = p.thoughtSignature;
      chunks.push([part]);
    });
  }
  return chunks;
}

const MAX_CHUNKS = 16;

function splitText(text: string, min: number): string[] {
  const words = text.split(/(?<=\s)(?=\S)/);
  if (words.length < min) {
    if (text.length < min) return [text];
    const size = Math.ceil(text.length / min);
    return Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));
  }
  const per = Math.ceil(words.length / MAX_CHUNKS);
  const out: string[] = [];
  for (let i = 0; i < words.length; i += per) out.push(words.slice(i, i + per).join(""));
  return out;
}
