// Elysia's validation error → a short 400 naming the offending field (its own body is verbose and
// never reaches a client).
import { Value } from "@sinclair/typebox/value";
import type { TSchema } from "@sinclair/typebox";
import { ApiError } from "./errors";

/** "/messages/0/content" → "messages[0].content" */
export function fieldName(pointer: string): string {
  const parts = pointer
    .split("/")
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  let out = "";
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

interface ValueErrorLike {
  path?: string;
  message?: string;
  summary?: string;
  value?: unknown;
  schema?: unknown;
}

export function validationToApiError(error: unknown): ApiError {
  const e = error as { type?: string; all?: ValueErrorLike[]; valueError?: ValueErrorLike };
  // an answer of ours that does not fit its documented shape is our fault, never the client's
  if (e.type === "response") return new ApiError(500, "internal error", { reason: "internal" });
  let first: ValueErrorLike | undefined;
  try {
    first = e.valueError ?? e.all?.[0];
  } catch {
    first = undefined;
  }
  const where = e.type && e.type !== "body" ? e.type : "";
  first = intoUnion(first);
  let field = fieldName(first?.path ?? "");
  let message = first?.message ?? "invalid value";
  // a missing required property is reported on the parent: name the property itself
  const m = /property '?([\w$-]+)'?/i.exec(first?.summary ?? "") ?? /Expected required property (\S+)/i.exec(first?.message ?? "");
  if (message.toLowerCase().includes("required") && m) field = field ? `${field}.${m[1]}` : m[1]!;
  if (message === "Unexpected property") message = "unknown field";
  if (/required property/i.test(message)) message = "required field is missing";
  if (/union/i.test(message)) message = describeExpected(first?.schema) ?? message;
  const name = field || where || "body";
  const label = where && field ? `${where} parameter ${field}` : name;
  return new ApiError(400, `invalid request: ${label}: ${message.replace(/^Expected/, "expected")}`, {
    param: name,
    reason: "invalid_request",
  });
}

/** "expected union value" says nothing: list what a union accepts ("one of: off, strict" / "number or null") */
export function describeExpected(schema: unknown): string | undefined {
  const s = schema as { anyOf?: unknown[]; const?: unknown; type?: unknown; enum?: unknown[] } | undefined;
  if (!s || !Array.isArray(s.anyOf)) return undefined;
  const parts = s.anyOf.map((m) => {
    const x = m as { const?: unknown; type?: unknown; enum?: unknown[] };
    if (x.const !== undefined) return { lit: JSON.stringify(x.const) };
    if (Array.isArray(x.enum)) return { lit: x.enum.map((v) => JSON.stringify(v)).join(", ") };
    return { type: typeof x.type === "string" ? x.type : "value" };
  });
  if (parts.every((p) => "lit" in p)) return `expected one of: ${parts.map((p) => (p as { lit: string }).lit).join(", ")}`;
  const names = [...new Set(parts.map((p) => ("lit" in p ? p.lit : p.type)))];
  return `expected ${names.join(" or ")}`;
}

/**
 * A union that failed names the union's field only ("integer or null"); the fault is in the one branch of
 * the value's own kind (`response_format`: the object's inner field; `max_tokens: -5`: the integer's
 * minimum). That branch's first error, with its full path, says where and what.
 */
function intoUnion(e: ValueErrorLike | undefined): ValueErrorLike | undefined {
  const branches = (e?.schema as { anyOf?: unknown[] } | undefined)?.anyOf;
  const v = e?.value;
  if (!e || !Array.isArray(branches) || v === null || v === undefined) return e;
  const kinds = kindsOf(v);
  const same = branches.filter((b) => kinds.includes((b as { type?: unknown }).type as string));
  if (same.length !== 1) return e;
  try {
    const inner = Value.Errors(same[0] as TSchema, v).First();
    return inner ? intoUnion({ ...inner, path: (e.path ?? "") + inner.path }) : e;
  } catch {
    return e;
  }
}

/** the schema types a value could belong to (a whole number is an integer and a number) */
function kindsOf(v: unknown): string[] {
  if (Array.isArray(v)) return ["array"];
  if (typeof v === "number") return Number.isInteger(v) ? ["integer", "number"] : ["number"];
  return [typeof v];
}

const OPEN = 0x5b; // [
const OPEN_OBJ = 0x7b; // {
const CLOSE = 0x5d;
const CLOSE_OBJ = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * how deep the JSON text nests (arrays and objects), stopping as soon as it passes `max`. Linear, no
 * recursion. A string is skipped to its closing quote with indexOf (an agent's request is mostly text:
 * a character-by-character loop took as long as JSON.parse on a 276 KB body, this a tenth of it).
 */
export function jsonDepthOver(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // the closing quote: the next one not escaped, i.e. not after an odd run of backslashes
      for (;;) {
        const q = text.indexOf('"', i + 1);
        if (q < 0) return false; // never closed: the parser refuses it
        let k = q - 1;
        while (k > i && text.charCodeAt(k) === BACKSLASH) k--;
        i = q;
        if ((q - 1 - k) % 2 === 0) break;
      }
    } else if (c === OPEN || c === OPEN_OBJ) {
      if (++depth > max) return true;
    } else if (c === CLOSE || c === CLOSE_OBJ) depth--;
  }
  return false;
}
