// Tool schemas for Claude models served through Google: cleanSchema's output reduced to the keywords that route accepts.
import { inEvery, setOwn } from "../upstream/json-schema";

type Schema = Record<string, unknown>;

/** The schema keywords kept for Claude; everything else is dropped (constraints become description words). */
export const CLAUDE_SCHEMA_KEYS = ["type", "title", "description", "nullable", "enum", "properties", "required", "items"] as const;

/** numeric limits, said as "minimum 1" */
const LIMITS = ["minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"];
/** other dropped keywords worth telling the model, said as "format: date-time" */
const WORDED = ["pattern", "format", "default", "example"];
const MAX_DEPTH = 48;

const isObj = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);
const isNull = (s: Schema) => typeof s.type === "string" && s.type.toLowerCase() === "null";

// json-schema.ts has the same two helpers but does not export them
function brief(v: unknown): string {
  if (typeof v === "string") return v;
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

function joinText(...texts: unknown[]): string {
  return texts.filter((t): t is string => typeof t === "string" && t.trim() !== "").join(" ");
}

/** reductions made before, by the schema object (cleanSchema hands out the same object for the same tool) */
const reduced = new WeakMap<object, Schema>();

/**
 * Reduce a cleanSchema() result to Claude's subset. Never throws; never mutates its input. A schema
 * that needs no reduction comes back as itself.
 */
export function claudeSchema(schema: unknown): Schema {
  if (!isObj(schema)) return { type: "object", properties: {} };
  let out = reduced.get(schema);
  if (!out) {
    const r = reduce(schema, 0);
    out = Bun.deepEquals(r, schema) ? schema : r;
    reduced.set(schema, out);
  }
  return out;
}

/**
 * `anyOf` → one schema, with the parent's own words kept; a null branch → nullable. Branches that are
 * all enums → one enum; all objects → one object with every property (required: what all require);
 * scalars of different kinds → text that says which (the answer gets the client's types back:
 * restoreArgTypes); anything else → its first branch, the others said in words.
 */
function collapse(node: Schema): Schema {
  let s = node;
  let nullable = node.nullable === true;
  for (let hops = 0; Array.isArray(s.anyOf) && hops < MAX_DEPTH; hops++) {
    const { anyOf, ...parent } = s;
    const branches = (anyOf as unknown[]).filter(isObj);
    if (branches.some((b) => isNull(b) || b.nullable === true)) nullable = true;
    const first = oneOfBranches(branches.filter((b) => !isNull(b)));
    if (!first) {
      s = parent;
      break;
    }
    const merged: Schema = { ...first };
    for (const [k, v] of Object.entries(parent)) {
      if (k === "description") merged.description = joinText(v, first.description);
      else if (k === "title" || k === "default" || k === "example" || !(k in merged)) merged[k] = v;
    }
    s = merged;
  }
  return nullable ? { ...s, nullable: true } : s;
}

const SCALARS = new Set(["string", "integer", "number", "boolean"]);
const kindOf = (b: Schema) => (typeof b.type === "string" ? b.type.toLowerCase() : Array.isArray(b.enum) ? "string" : undefined);
const said = (b: Schema) =>
  Array.isArray(b.enum) ? `one of: ${b.enum.map(brief).join(", ")}` : `a${/^[aeiou]/.test(kindOf(b) ?? "") ? "n" : ""} ${kindOf(b)}`;

/** the one schema the non-null branches of an anyOf become (see collapse) */
function oneOfBranches(rest: Schema[]): Schema | undefined {
  if (rest.length <= 1) return rest[0];
  if (rest.every((b) => Array.isArray(b.enum) && kindOf(b) === "string"))
    return { ...rest[0], enum: [...new Set(rest.flatMap((b) => b.enum as unknown[]))] };
  if (rest.every((b) => kindOf(b) === "object")) {
    const properties: Schema = {};
    for (const b of rest)
      for (const [k, v] of Object.entries(isObj(b.properties) ? b.properties : {}))
        if (!Object.hasOwn(properties, k)) setOwn(properties, k, v);
    const required = inEvery(rest.map((b) => (Array.isArray(b.required) ? (b.required as unknown[]) : [])));
    return {
      type: "object",
      properties,
      ...(required.length ? { required } : {}),
      description: joinText(...rest.map((b) => b.description)),
    };
  }
  // scalars of several kinds travel as text: the string branch (its own limits kept, unless it is an enum
  // that would shut the others out), the other kinds said in words
  const base = rest.every((b) => SCALARS.has(kindOf(b) ?? ""))
    ? (rest.find((b) => kindOf(b) === "string" && !Array.isArray(b.enum)) ?? { type: "string" })
    : rest[0]!;
  const others = rest.filter((b) => b !== base);
  const words = others.map(said).join(", or ");
  return { ...base, description: joinText(base.description, rest.includes(base) ? `(or ${words})` : `(${words})`) };
}

function reduce(input: Schema, depth: number): Schema {
  const node = collapse(input);
  const notes: string[] = [];
  for (const k of LIMITS) if (typeof node[k] === "number") notes.push(`${k} ${node[k]}`);
  for (const k of WORDED) {
    const v = node[k];
    // format "enum" only restates the enum
    if (v === undefined || (k === "format" && v === "enum")) continue;
    notes.push(`${k}: ${brief(v)}`);
  }

  const type = typeof node.type === "string" ? node.type : isObj(node.properties) ? "object" : isObj(node.items) ? "array" : "string";
  const r: Schema = { type };
  if (typeof node.title === "string") r.title = node.title;
  const text = joinText(node.description, notes.length ? `(${notes.join("; ")})` : undefined);
  if (text) r.description = text;
  if (node.nullable === true) r.nullable = true;
  if (Array.isArray(node.enum)) r.enum = node.enum;
  if (isObj(node.properties)) {
    const props: Schema = {};
    for (const [name, ps] of Object.entries(node.properties)) setOwn(props, name, child(ps, depth));
    r.properties = props;
  }
  if (Array.isArray(node.required)) r.required = node.required;
  if (node.items !== undefined) r.items = child(node.items, depth);
  return r;
}

function child(s: unknown, depth: number): Schema {
  if (!isObj(s)) return { type: "string" };
  if (depth >= MAX_DEPTH) return { type: "string", description: "(schema nested too deeply; shape omitted)" };
  return reduce(s, depth + 1);
}
