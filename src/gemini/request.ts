// Pure mappers for the Gemini-native surface: path parsing, snake_case → camelCase request
// normalisation, session keys and the stream frames.
import { stripModelsPrefix, type ModelInfo } from "../models/catalog";
import { ApiError, badRequest, errorBody } from "../core/errors";
import { sessionFromConversation } from "../protocol/session";
import type { GeminiContent, GeminiRequest, GeminiResponse } from "../upstream/types";

export const ACTIONS = ["generateContent", "streamGenerateContent", "countTokens"] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * The `{model}` path segment (e.g. "gemini-2.5-flash:generateContent") → model and action. Accepts a doubled "models/" prefix
 * and a URL-encoded colon. `tail` is the raw (still encoded) path segment. No action → action undefined.
 */
export function parseModelPath(tail: string): { model: string; action?: string } {
  let s: string;
  try {
    s = tail.includes("%") ? decodeURIComponent(tail) : tail; // once: "%2500" is "%00" as text, never a NUL
  } catch {
    throw badRequest("the model in the path is not valid percent-encoding", "model");
  }
  const colon = s.lastIndexOf(":");
  const model = stripModelsPrefix(colon >= 0 ? s.slice(0, colon) : s);
  const action = colon >= 0 ? s.slice(colon + 1) : undefined;
  if (!model || model.includes("/")) throw badRequest(`invalid model name "${s.slice(0, colon >= 0 ? colon : undefined)}"`, "model");
  return { model, action };
}

export function isAction(a: string | undefined): a is Action {
  return (ACTIONS as readonly string[]).includes(a ?? "");
}

// ---- snake_case → camelCase -------------------------------------------------------------------

const SNAKE = /_([a-z0-9])/g;
const upper = (_: string, c: string) => c.toUpperCase();
// most keys are camelCase already: no regex run for them
const camel = (k: string) => (k.includes("_") ? k.replace(SNAKE, upper) : k);

/** Values whose keys are the user's own names (or free JSON): copied as they are. */
const OPAQUE = new Set([
  "args",
  "response",
  "labels",
  "parametersJsonSchema",
  "responseJsonSchema",
  "example",
  "default",
  "enum",
  "metadata",
]);
/** Values that are Gemini `Schema` objects: keywords are converted, property names are not. */
const SCHEMA = new Set(["parameters", "responseSchema"]);

/**
 * Deep snake_case → camelCase of the field names Gemini defines, leaving user-named keys alone. Copy on
 * write: a part with nothing to rename is returned as it is (most bodies are camelCase already), so a
 * request's tree is not rebuilt for nothing.
 */
export function camelizeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return mapArray(value, camelizeKeys);
  if (!isPlainObject(value)) return value;
  return mapObject(value, (key, v) => (OPAQUE.has(key) ? v : SCHEMA.has(key) ? camelizeSchema(v) : camelizeKeys(v)));
}

function camelizeSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return mapArray(schema, camelizeSchema);
  if (!isPlainObject(schema)) return schema;
  return mapObject(schema, (key, v) => {
    if (key === "properties" && isPlainObject(v)) return mapObject(v, (_name, s) => camelizeSchema(s), false);
    if (key === "items" || key === "anyOf") return camelizeSchema(v);
    return v; // enum, required, propertyOrdering, example, default, …: values kept
  });
}

/** `f` over the items; the array itself when no item changed */
function mapArray(items: unknown[], f: (v: unknown) => unknown): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const v = f(items[i]);
    if (v !== items[i]) (out ??= items.slice())[i] = v;
  }
  return out ?? items;
}

/**
 * The object with its keys camelCased (when `rename`) and each value through `f`; the object itself when
 * nothing changed. When both spellings of a key are present the camelCase one wins.
 */
function mapObject(obj: Record<string, unknown>, f: (key: string, v: unknown) => unknown, rename = true): Record<string, unknown> {
  const keys = Object.keys(obj);
  let out: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const key = rename ? camel(k) : k;
    if (key !== k && Object.hasOwn(obj, key)) {
      out ??= copyOfFirst(obj, keys, i);
      continue;
    }
    const v = obj[k];
    const mapped = f(key, v);
    if (!out && (key !== k || mapped !== v)) out = copyOfFirst(obj, keys, i);
    if (out) out[key] = mapped;
  }
  return out ?? obj;
}

/** a new object holding the first `n` of `keys` (the ones already seen unchanged) */
function copyOfFirst(obj: Record<string, unknown>, keys: string[], n: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) out[keys[i]!] = obj[keys[i]!];
  return out;
}

/** The order upstream sees (stable so its prompt cache can match), then any other field by name. */
const FIELD_ORDER = ["systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings", "cachedContent", "contents"];

/** A client body (either spelling) → a camelCase GeminiRequest in a stable field order. */
export function normalizeRequest(body: Record<string, unknown>): GeminiRequest {
  const c = camelizeKeys(body) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of FIELD_ORDER) if (c[k] !== undefined) out[k] = c[k];
  for (const k of Object.keys(c).sort()) if (!(k in out) && c[k] !== undefined && k !== "model") out[k] = c[k];
  // a bare string systemInstruction is common in hand-written bodies
  if (typeof out.systemInstruction === "string") out.systemInstruction = { parts: [{ text: out.systemInstruction }] };
  return out as GeminiRequest;
}

/** The countTokens body: `{contents}` or `{generateContentRequest: {…}}` → the request to count. */
export function countTokensRequest(body: Record<string, unknown>): GeminiRequest {
  const c = camelizeKeys(body) as Record<string, unknown>;
  const inner = isPlainObject(c.generateContentRequest) ? c.generateContentRequest : c;
  const req = normalizeRequest(inner);
  delete req.safetySettings; // upstream countTokens rejects it (docs/upstream.md, "countTokens")
  if (!Array.isArray(req.contents)) {
    const field = isPlainObject(c.generateContentRequest) ? "generateContentRequest.contents" : "contents";
    throw badRequest(`${field} is required and must be an array`, field);
  }
  return req;
}

// ---- sessions ---------------------------------------------------------------------------------

/** a content's text, thoughts left out (a loop: this runs on every request) */
function textOf(c: GeminiContent | undefined): string {
  let text = "";
  for (const p of c?.parts ?? []) if (typeof p?.text === "string" && !p.thought) text += p.text;
  return text;
}

/** Sticky-session fingerprint: the system instruction and the first user turn's text. */
export function conversationSession(req: GeminiRequest): string | undefined {
  let firstUser: GeminiContent | undefined;
  for (const c of req.contents)
    if (c && (c.role === "user" || c.role === undefined)) {
      firstUser = c;
      break;
    }
  return sessionFromConversation(textOf(req.systemInstruction) || undefined, textOf(firstUser) || undefined);
}

// ---- stream frames ----------------------------------------------------------------------------

/** Google separates SSE events with CRLF CRLF. */
export const sseData = (data: unknown) => `data: ${JSON.stringify(data)}\r\n\r\n`;
export const SSE_KEEPALIVE = ": keep-alive\r\n\r\n";

export const errorPayload = (err: ApiError) => errorBody("gemini", err);

/** The frames of the JSON-array form ("[" prefix and "]" suffix are written by the stream). */
export function arrayFrame(chunk: GeminiResponse | unknown, first: boolean): string {
  return (first ? "" : ",\r\n") + JSON.stringify(chunk);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
