// Tool and response schemas (JSON Schema as MCP servers and agents write it) → the OpenAPI-style subset
// Gemini accepts. Upstream answers 400 "Unknown name" for any other keyword, so everything else is
// dropped; constraints a client relied on are kept as words in `description` so the model still sees them.
type Schema = Record<string, unknown>;

/** The schema keywords Gemini accepts; anything else is a 400 upstream. */
export const GEMINI_SCHEMA_KEYS = [
  "type",
  "format",
  "title",
  "description",
  "nullable",
  "enum",
  "default",
  "example",
  "properties",
  "required",
  "propertyOrdering",
  "items",
  "minItems",
  "maxItems",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "pattern",
  "anyOf",
] as const;

const TYPES = new Set(["string", "number", "integer", "boolean", "object", "array"]);
/** the only `format` values Gemini takes, per type; others become a description note */
const FORMATS: Record<string, Set<string>> = {
  string: new Set(["enum", "date-time"]),
  number: new Set(["float", "double"]),
  integer: new Set(["int32", "int64"]),
};
/** dropped keywords whose meaning is worth telling the model */
const NOTED = [
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "contains",
  "minContains",
  "maxContains",
  "contentEncoding",
  "contentMediaType",
  "dependentRequired",
  "deprecated",
];
/** keywords that give a schema its shape (a branch without any of them only adds constraints) */
const SHAPE = ["type", "properties", "items", "prefixItems", "enum", "const", "$ref", "anyOf", "oneOf", "allOf", "format"];
/** the numeric limits Gemini keeps, per type */
const LIMITS: Record<string, string[]> = {
  array: ["minItems", "maxItems"],
  number: ["minimum", "maximum"],
  integer: ["minimum", "maximum"],
  string: ["minLength", "maxLength"],
};
/** keywords that only make sense on an object (used to infer a missing type) */
const OBJECT_HINTS = ["additionalProperties", "patternProperties", "propertyNames", "required", "minProperties", "maxProperties"];
const MAX_DEPTH = 48;
/** schema nodes one cleaning writes at most: far more than any real tool's, far less than a $ref bomb's */
const MAX_NODES = 5_000;
const MAX_REF_HOPS = 16;
/**
 * characters of text (descriptions, titles, enums, defaults, examples) one cleaning writes at most: this
 * many, or four times the schema's own text if more. A $ref expands its target's text at every use: a
 * 58 KB tool whose 30 KB description 1,000 properties point at became a 30 MB schema (and a 30 MB upstream
 * body) within the node budget.
 */
const MIN_TEXT_BUDGET = 64 * 1024;

interface Ctx {
  root: unknown;
  defs: Map<string, unknown>;
  /** cleaning only: set once some value of the client's schema has to travel as text */
  asText?: { seen: boolean };
  /** cleaning only: schema nodes and characters of text still to be written (shared $refs expand in full each time they are used) */
  budget?: { left: number; chars: number };
}

const isObj = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

/** cleaning: some value of the client's schema travels as text (the answer needs restoreJsonText) */
const markAsText = (ctx: Ctx) => {
  if (ctx.asText) ctx.asText.seen = true;
};

/** cleaning: one more node written; true once the budget (nodes or text) is spent */
const overBudget = (ctx: Ctx) => ctx.budget !== undefined && (--ctx.budget.left < 0 || ctx.budget.chars < 0);

/** cleaning: the text a written node carries, charged to the budget; returns the node */
function charged(ctx: Ctx, r: Schema): Schema {
  if (!ctx.budget) return r;
  let n = 0;
  for (const k of ["description", "title", "default", "example"]) {
    const v = r[k];
    if (v !== undefined) n += typeof v === "string" ? v.length : (JSON.stringify(v)?.length ?? 0);
  }
  if (Array.isArray(r.enum)) for (const v of r.enum) n += typeof v === "string" ? v.length : 8;
  ctx.budget.chars -= n;
  return r;
}

/** `o[k] = v` that also works for a property named __proto__ (a tool may name one so) */
export function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** schemas cleaned before, by their JSON text (every caller gets the same object: nobody changes it) */
const cleaned = new Map<string, Schema>();
/** a coding agent sends a few dozen tools on every turn; past this many the cache starts over */
const MAX_CLEANED = 512;
/**
 * characters of schema text kept (the keys; the results are about as large): past this the cache starts
 * over, so clients sending many large schemas cannot make it hold more than a few MB
 */
const MAX_CLEANED_CHARS = 4 * 1024 * 1024;
/** a schema larger than this is cleaned every time, not kept */
const MAX_KEPT_SCHEMA = 64 * 1024;
let cleanedChars = 0;

/**
 * Clean a JSON Schema to what Gemini accepts. Never throws; a non-object input gives an empty object
 * schema. A schema seen before is not cleaned again: an agent sends the same tools on every turn, and
 * cleaning them was a sixth of the CPU of such a turn (docs/performance.md). The result is shared and
 * must not be changed (no caller does: the tests passed with it frozen; it is not frozen because
 * JSON.stringify of frozen objects is four times slower); it never holds the caller's own objects.
 */
export function cleanSchema(schema: unknown): Schema {
  if (!isObj(schema)) return { type: "object", properties: {} };
  const key = JSON.stringify(schema);
  let out = cleaned.get(key);
  if (!out) {
    const made = cleanNow(JSON.parse(key) as Schema, key.length);
    out = made.out;
    // what is kept is weighed by the schema's text and the text its result wrote
    const weight = key.length + made.textWritten;
    if (key.length > MAX_KEPT_SCHEMA) return out;
    if (cleaned.size >= MAX_CLEANED || cleanedChars + weight > MAX_CLEANED_CHARS) {
      cleaned.clear();
      cleanedChars = 0;
    }
    cleaned.set(key, out);
    cleanedChars += weight;
  }
  return out;
}

/** cleaned schemas under which some of the client's values travel as text (see restoreJsonText) */
const textValued = new WeakSet<object>();

/**
 * Whether an answer written against this cleaned schema needs restoreJsonText to match the client's
 * schema: a stream must then hold the text back until it is whole.
 */
export function sendsValuesAsText(cleaned: unknown): boolean {
  return isObj(cleaned) && textValued.has(cleaned);
}

function cleanNow(schema: Schema, size: number): { out: Schema; textWritten: number } {
  const chars = Math.max(MIN_TEXT_BUDGET, 4 * size);
  const ctx: Ctx = { root: schema, defs: collectDefs(schema), asText: { seen: false }, budget: { left: MAX_NODES, chars } };
  // a root without any shape (`{}`, only a description) is an argument object, not a scalar
  const root = SHAPE.some((k) => k in schema) ? schema : { ...schema, type: "object" };
  const cleaned = clean(root, ctx, ["#"], 0);
  const out = Array.isArray(cleaned.anyOf) ? mergeRootBranches(cleaned) : cleaned;
  if (ctx.asText!.seen) textValued.add(out);
  return { out, textWritten: chars - ctx.budget!.chars };
}

/**
 * Function parameters must be one OBJECT upstream: a root union of object shapes (zod discriminated
 * unions, pydantic Union models) becomes one object with every property; only what all shapes require
 * stays required, and same-named enums are united.
 */
function mergeRootBranches(s: Schema): Schema {
  const branches = (s.anyOf as Schema[]).filter((b) => b.type === "object");
  if (branches.length !== (s.anyOf as Schema[]).length) return s;
  const properties: Record<string, Schema> = {};
  // same-named enums are united in sets, and written once: rebuilding them per branch was quadratic
  const enums = new Map<string, Set<unknown>>();
  for (const b of branches)
    for (const [k, v] of Object.entries((b.properties as Record<string, Schema>) ?? {})) {
      const prev = Object.hasOwn(properties, k) ? properties[k] : undefined;
      if (!prev) setOwn(properties, k, v);
      else if (Array.isArray(prev.enum) && Array.isArray(v.enum)) {
        let set = enums.get(k);
        if (!set) enums.set(k, (set = new Set(prev.enum)));
        for (const e of v.enum) set.add(e);
      }
    }
  for (const [k, set] of enums) setOwn(properties, k, { ...properties[k], enum: [...set] });
  const requireds = branches.map((b) => (Array.isArray(b.required) ? (b.required as string[]) : []));
  const required = inEvery(requireds);
  const shapes = branches.map((b, i) => (requireds[i]!.length ? requireds[i]! : Object.keys(b.properties ?? {})).join(" + ")).join(" | ");
  const r: Schema = { type: "object" };
  if (s.title) r.title = s.title;
  r.description = withNotes(s.description, [`one of these shapes: ${shapes}`]);
  if (s.nullable) r.nullable = true;
  r.properties = properties;
  if (required.length) r.required = required;
  return r;
}

/** the names every list holds, in the first list's order (sets: a list against a list was quadratic) */
export function inEvery<T>(lists: T[][]): T[] {
  const sets = lists.slice(1).map((l) => new Set(l));
  return [...new Set(lists[0] ?? [])].filter((x) => sets.every((s) => s.has(x)));
}

/** `$defs` / `definitions` at every level, by pointer and by bare name (the first one wins). */
function collectDefs(root: Schema): Map<string, unknown> {
  const defs = new Map<string, unknown>();
  const seen = new WeakSet<object>();
  const walk = (node: unknown, depth: number) => {
    if (typeof node !== "object" || node === null || seen.has(node) || depth > MAX_DEPTH) return;
    seen.add(node);
    if (Array.isArray(node)) return node.forEach((n) => walk(n, depth + 1));
    for (const key of ["$defs", "definitions"]) {
      const group = (node as Schema)[key];
      if (!isObj(group)) continue;
      for (const [name, def] of Object.entries(group)) {
        if (!defs.has(name)) defs.set(name, def);
        if (depth === 0 && !defs.has(`#/${key}/${name}`)) defs.set(`#/${key}/${name}`, def);
      }
    }
    for (const v of Object.values(node)) walk(v, depth + 1);
  };
  walk(root, 0);
  return defs;
}

function resolveRef(ref: string, ctx: Ctx): unknown {
  const hash = ref.indexOf("#");
  const fragment = hash >= 0 ? ref.slice(hash) : ref;
  if (ctx.defs.has(fragment)) return ctx.defs.get(fragment);
  if (fragment === "#") return ctx.root;
  if (fragment.startsWith("#/")) {
    let cur: unknown = ctx.root;
    for (const raw of fragment.slice(2).split("/")) {
      const seg = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
      cur = isObj(cur) || Array.isArray(cur) ? (cur as Schema)[seg] : undefined;
      if (cur === undefined) break;
    }
    if (cur !== undefined) return cur;
  }
  const last = fragment.split("/").pop() ?? "";
  return ctx.defs.get(last);
}

const refName = (ref: string) => ref.split("/").pop() || ref;

/** follow a top-level `$ref` chain; sibling keywords override the target (2019-09+ semantics) */
function derefTop(node: unknown, ctx: Ctx): { schema: unknown; refs: string[]; unresolved?: string; cycle?: string } {
  let cur = node;
  const refs: string[] = [];
  while (isObj(cur) && typeof cur.$ref === "string") {
    const ref = cur.$ref;
    if (refs.includes(ref) || refs.length >= MAX_REF_HOPS) return { schema: omit(cur, ["$ref"]), refs, cycle: ref };
    const target = resolveRef(ref, ctx);
    const { $ref: _, ...siblings } = cur;
    if (target === undefined) return { schema: siblings, refs, unresolved: ref };
    refs.push(ref);
    cur = isObj(target) ? { ...target, ...siblings } : target === true || target === undefined ? siblings : target;
  }
  return { schema: cur, refs };
}

function omit(s: Schema, keys: string[]): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) if (!keys.includes(k)) out[k] = v;
  return out;
}

/** allOf semantics, approximately: union of properties and required, otherwise the first value wins */
function mergeRaw(a: Schema, b: Schema): Schema {
  return new AllOfMerge({ ...a }).add(b).result();
}

/**
 * allOf's branches merged into one schema. A $ref met again within the same merge adds nothing (allOf of a
 * schema with itself is that schema): skipping it keeps `dN: allOf [dN+1, dN+1]` linear, where expanding
 * every use doubled the work per level (20 levels took 6 s). Each branch also counts against the budget.
 */
function flattenAllOf(node: Schema, ctx: Ctx, seen: string[], depth: number, done: Set<string> = new Set()): Schema {
  const merged = new AllOfMerge(omit(node, ["allOf"]));
  for (const branch of node.allOf as unknown[]) {
    const d = derefTop(branch, ctx);
    if (d.cycle || d.refs.some((r) => seen.includes(r) || done.has(r)) || !isObj(d.schema)) continue;
    if (overBudget(ctx)) break;
    for (const r of d.refs) done.add(r);
    const b =
      Array.isArray(d.schema.allOf) && depth < MAX_DEPTH ? flattenAllOf(d.schema, ctx, [...seen, ...d.refs], depth + 1, done) : d.schema;
    merged.add(b);
  }
  return merged.result();
}

/**
 * mergeRaw's rule, one branch at a time into `out` (which it owns): each branch is read once. Copying
 * everything merged so far for every branch was quadratic (5,000 one-property branches: 2 s of the thread).
 */
class AllOfMerge {
  private props: Schema | undefined;
  private required: Set<unknown> | undefined;
  /** a property several branches define: one allOf of them all, grown in place */
  private joined = new WeakSet<object>();

  constructor(private out: Schema) {}

  add(b: Schema): this {
    const out = this.out;
    for (const [k, v] of Object.entries(b)) {
      if (!(k in out)) out[k] = v;
      else if (k === "properties" && isObj(out[k]) && isObj(v)) {
        const props = (this.props ??= out.properties = { ...(out.properties as Schema) });
        for (const [name, ps] of Object.entries(v)) {
          const prev = Object.hasOwn(props, name) ? props[name] : undefined;
          if (prev === undefined) setOwn(props, name, ps);
          else if (this.joined.has(prev as object)) ((prev as Schema).allOf as unknown[]).push(ps);
          else {
            const all = { allOf: [prev, ps] };
            this.joined.add(all);
            setOwn(props, name, all);
          }
        }
      } else if (k === "required" && Array.isArray(out[k]) && Array.isArray(v)) {
        const req = (this.required ??= new Set(out.required as unknown[]));
        for (const r of v) req.add(r);
      }
    }
    return this;
  }

  result(): Schema {
    if (this.required) this.out.required = [...this.required];
    return this.out;
  }
}

function brief(v: unknown): string {
  if (typeof v === "string") return v;
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

function withNotes(description: unknown, notes: string[]): string | undefined {
  const d = typeof description === "string" && description.trim() ? description : undefined;
  if (notes.length === 0) return d;
  const n = `(${notes.join("; ")})`;
  return d ? `${d} ${n}` : n;
}

const DESCRIPTIVE = ["description", "title", "default", "example", "examples", "$comment", "$id", "$schema"];

function typeList(node: Schema): string[] {
  const raw = Array.isArray(node.type) ? node.type : node.type === undefined ? [] : [node.type];
  return raw.map((t) => String(t).toLowerCase());
}

const isNullSchema = (s: Schema) => {
  const types = typeList(s);
  if (types.length > 0 && types.every((t) => t === "null")) return true;
  if ("const" in s && s.const === null) return true;
  return Array.isArray(s.enum) && s.enum.length > 0 && s.enum.every((v) => v === null);
};

function clean(input: unknown, ctx: Ctx, seen: string[], depth: number): Schema {
  if (!isObj(input)) return { type: "string" }; // `true`: accept anything → the freest scalar
  if (depth > MAX_DEPTH) return { type: "string", description: "(schema nested too deeply; shape omitted)" };
  // $defs that each use the next several times grow the cleaned schema exponentially (8 levels of 8 took
  // a 2 KB request 30 s and 600 MB): past the budget a node is sent as JSON text, restored on the way back
  if (overBudget(ctx)) {
    markAsText(ctx);
    return { type: "string", description: "(a JSON value: the schema is too large to send in full)" };
  }

  const notes: string[] = [];
  let node: Schema = input;
  if (typeof node.$ref === "string") {
    const d = derefTop(node, ctx);
    const loop = d.cycle ?? d.refs.find((r) => seen.includes(r));
    if (loop) return recursiveStub(node, loop, ctx, depth);
    if (d.unresolved) notes.push(`unresolved $ref: ${d.unresolved}`);
    node = isObj(d.schema) ? d.schema : {};
    seen = [...seen, ...d.refs];
  }
  if (Array.isArray(node.allOf)) node = flattenAllOf(node, ctx, seen, depth);

  const alt = alternatives(node, ctx, seen, depth, notes);
  if (alt.branches.length > 1) {
    const r: Schema = { anyOf: alt.branches };
    if (typeof node.title === "string") r.title = node.title;
    const description = withNotes(node.description, notes);
    if (description) r.description = description;
    if (alt.nullable) r.nullable = true;
    if (node.default !== undefined) r.default = node.default;
    return charged(ctx, r);
  }
  if (alt.branches.length === 1) return charged(ctx, single(alt.branches[0]!, node, notes, alt.nullable));
  return plain(node, ctx, seen, depth, notes, alt.nullable);
}

/** anyOf / oneOf / `type: [a, b]` → cleaned branches; null branches become `nullable` */
function alternatives(node: Schema, ctx: Ctx, seen: string[], depth: number, notes: string[]) {
  let nullable = false;
  const types = [...new Set(typeList(node).filter((t) => TYPES.has(t)))];
  let raw: unknown[] | undefined;
  let parent: Schema = {};
  if (types.length > 1) raw = types.map((t) => ({ ...omit(node, [...DESCRIPTIVE, "type", "anyOf", "oneOf", "nullable"]), type: t }));
  else {
    raw = Array.isArray(node.anyOf) ? node.anyOf : Array.isArray(node.oneOf) ? node.oneOf : undefined;
    if (Array.isArray(node.anyOf) && Array.isArray(node.oneOf)) notes.push("also one of: " + brief(node.oneOf));
    // JSON Schema ANDs the parent with each branch: give every branch the parent's own keywords
    parent = omit(node, [...DESCRIPTIVE, "anyOf", "oneOf", "nullable"]);
  }
  const branches: Schema[] = [];
  if (!raw) return { branches, nullable };
  const requiredSets = raw.filter((b): b is Schema => isObj(b) && !SHAPE.some((k) => k in b) && Array.isArray(b.required));
  if (requiredSets.length) notes.push("requires one of: " + requiredSets.map((b) => (b.required as unknown[]).join(" + ")).join(" | "));
  const keys = new Set<string>();
  for (const b of raw) {
    if (!isObj(b) || !SHAPE.some((k) => k in b)) continue;
    const d = derefTop(b, ctx);
    const loop = d.cycle ?? d.refs.find((r) => seen.includes(r));
    let c: Schema;
    if (loop) c = recursiveStub(b, loop, ctx, depth);
    else if (d.unresolved || !isObj(d.schema)) c = clean(b, ctx, seen, depth + 1);
    else if (isNullSchema(d.schema)) {
      nullable = true;
      continue;
    } else c = clean(Object.keys(parent).length ? mergeRaw(d.schema, parent) : d.schema, ctx, [...seen, ...d.refs], depth + 1);
    const key = JSON.stringify(c);
    if (!keys.has(key)) (keys.add(key), branches.push(c));
  }
  return { branches, nullable };
}

/** one real branch (typically `X | null`): inline it; the parent's own words come first */
function single(only: Schema, node: Schema, notes: string[], nullable: boolean): Schema {
  const r: Schema = { ...only };
  if (typeof node.title === "string") r.title = node.title;
  const text = [node.description, only.description].filter((d): d is string => typeof d === "string" && d.trim() !== "").join(" ");
  const description = withNotes(text, notes);
  if (description) r.description = description;
  if (nullable) r.nullable = true;
  if (node.default !== undefined)
    r.default = Array.isArray(r.enum) && node.default !== null && typeof node.default !== "string" ? brief(node.default) : node.default;
  if ("example" in node) r.example = node.example;
  return r;
}

/** a node without alternatives */
function plain(node: Schema, ctx: Ctx, seen: string[], depth: number, notes: string[], nullableIn: boolean): Schema {
  const types = typeList(node);
  let nullable = nullableIn || node.nullable === true || types.includes("null");
  let t = types.find((x) => TYPES.has(x));

  // enum / const: strings only upstream; null → nullable
  let values = Array.isArray(node.enum) ? node.enum : "const" in node ? [node.const] : undefined;
  let stringified = false;
  if (values) {
    if (values.includes(null)) nullable = true;
    values = values.filter((v) => v !== null);
    stringified = values.some((v) => typeof v !== "string");
    values = [...new Set(values.map((v) => (typeof v === "string" ? v : brief(v))))];
    if (values.length === 0) values = undefined;
  }

  let properties: Schema | undefined;
  if (isObj(node.properties)) {
    properties = {};
    for (const [name, ps] of Object.entries(node.properties)) if (ps !== false) setOwn(properties, name, clean(ps, ctx, seen, depth + 1));
  }
  if (isObj(node.patternProperties)) notes.push("patternProperties: " + Object.keys(node.patternProperties).join(", "));
  if (isObj(node.additionalProperties) && !properties) {
    const ap = derefTop(node.additionalProperties, ctx).schema;
    notes.push("additionalProperties: " + (isObj(ap) && typeof ap.type === "string" ? ap.type : brief(ap)));
  }
  if (node.propertyNames !== undefined) {
    const pn = node.propertyNames;
    notes.push("propertyNames: " + (isObj(pn) && typeof pn.pattern === "string" ? pn.pattern : brief(pn)));
  }

  // a tuple (prefixItems, or draft-4 `items: [...]`) becomes anyOf of its item types
  let items: Schema | undefined;
  const tuple = Array.isArray(node.prefixItems) ? node.prefixItems : Array.isArray(node.items) ? node.items : undefined;
  if (isObj(node.items) || node.items === true) items = clean(node.items, ctx, seen, depth + 1);
  else if (tuple && tuple.length > 0) {
    const cleaned = tuple.map((x) => clean(x, ctx, seen, depth + 1));
    const uniq = [...new Map(cleaned.map((i) => [JSON.stringify(i), i])).values()];
    items = uniq.length === 1 ? uniq[0] : { anyOf: uniq };
    notes.push(`tuple of ${tuple.length} items`);
  }

  for (const k of NOTED) {
    const v = node[k];
    if (v !== undefined && v !== false) notes.push(v === true ? k : `${k}: ${brief(v)}`);
  }
  if (Array.isArray(node.enumDescriptions) && values) {
    const descs = node.enumDescriptions;
    const pairs = values.map((v, i) => [v, descs[i]] as const).filter(([, d]) => typeof d === "string" && d);
    if (pairs.length) notes.push(pairs.map(([v, d]) => `${v}: ${d}`).join(", "));
  }

  if (values) t = "string";
  else if (!t) t = properties || OBJECT_HINTS.some((k) => k in node) ? "object" : items ? "array" : "string";
  // Gemini rejects an OBJECT without properties below the root ("should be non-empty for OBJECT type"):
  // a free-form object travels as JSON text, and restoreArgTypes parses it back
  if (t === "object" && depth > 0 && Object.keys(properties ?? {}).length === 0) {
    t = "string";
    notes.push("a JSON object, written as a string");
    markAsText(ctx);
  }
  let format: string | undefined;
  if (typeof node.format === "string") {
    if (FORMATS[t]?.has(node.format)) format = node.format;
    else notes.push(`format: ${node.format}`);
  }
  if (stringified) {
    notes.push("send the value as text");
    markAsText(ctx);
  }

  const r: Schema = { type: t };
  if (format) r.format = format;
  if (typeof node.title === "string") r.title = node.title;
  const description = withNotes(node.description, notes);
  if (description) r.description = description;
  if (nullable) r.nullable = true;
  if (values) r.enum = values;
  if (node.default !== undefined) r.default = stringified && node.default !== null ? brief(node.default) : node.default;
  if ("example" in node) r.example = node.example;
  else if (Array.isArray(node.examples) && node.examples.length > 0) r.example = node.examples[0];
  if (t === "object") {
    const props = properties ?? {};
    r.properties = props;
    const req = Array.isArray(node.required)
      ? [...new Set(node.required.filter((x): x is string => typeof x === "string" && Object.hasOwn(props, x)))]
      : [];
    if (req.length) r.required = req;
    if (Array.isArray(node.propertyOrdering)) {
      const order = node.propertyOrdering.filter((p): p is string => typeof p === "string" && Object.hasOwn(props, p));
      if (order.length) r.propertyOrdering = order;
    }
  }
  if (t === "array") r.items = items ?? { type: "string" };
  for (const k of LIMITS[t] ?? []) if (typeof node[k] === "number" && Number.isFinite(node[k])) r[k] = node[k];
  if (t === "string" && typeof node.pattern === "string") r.pattern = node.pattern;
  return charged(ctx, r);
}

/** a reference back into itself: keep the type and say so, instead of expanding forever */
function recursiveStub(node: Schema, ref: string, ctx: Ctx, depth: number): Schema {
  const target = derefTop({ $ref: ref }, ctx).schema;
  const shallow = isObj(target)
    ? omit(target, ["properties", "items", "prefixItems", "anyOf", "oneOf", "allOf", "$ref", "additionalProperties", "required"])
    : {};
  if (isObj(target) && shallow.type === undefined) shallow.type = target.properties ? "object" : target.items ? "array" : undefined;
  if (typeof node.description === "string") shallow.description = node.description;
  const name = ref === "#" ? "the whole schema" : refName(ref);
  return plain(shallow, { ...ctx, defs: new Map() }, [], depth + 1, [`recursive: same shape as ${name}`], false);
}

/**
 * Tool-call arguments from the model → the types the client's original schema declares. Cleaning turns
 * numeric and boolean enums into strings, so the model may answer "2" where the tool expects 2.
 */
/**
 * An answer written as JSON against the cleaned schema (response_format json_schema), with the client's
 * value types back: the numbers of an enum, free-form objects. Text that is not JSON, or that needs
 * nothing back, is returned as it came.
 */
export function restoreJsonText(text: string, schema: unknown): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  const restored = restoreArgTypes(parsed, schema);
  const out = JSON.stringify(restored);
  return out === JSON.stringify(parsed) ? text : out;
}

export function restoreArgTypes(value: unknown, schema: unknown): unknown {
  if (!isObj(schema)) return value;
  return restore(value, schema, { root: schema, defs: collectDefs(schema) }, 0);
}

function restore(value: unknown, schema: unknown, ctx: Ctx, depth: number): unknown {
  if (depth > MAX_DEPTH) return value;
  const d = derefTop(schema, ctx).schema;
  if (!isObj(d)) return value;
  const s: Schema = Array.isArray(d.allOf) ? flattenAllOf(d, ctx, [], depth) : d;
  const types = Array.isArray(s.type) ? s.type : s.type !== undefined ? [s.type] : [];
  const branches = Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : undefined;
  if (branches) return restoreUnion(value, branches, ctx, depth);
  const enumVals = Array.isArray(s.enum) ? s.enum : "const" in s ? [s.const] : undefined;
  if (typeof value === "string") {
    if (enumVals && !enumVals.includes(value)) {
      const hit = enumVals.find((v) => typeof v !== "string" && brief(v) === value);
      if (hit !== undefined) return hit;
    }
    if (types.includes("object") && !types.includes("string") && value.trim().startsWith("{")) {
      try {
        const parsed: unknown = JSON.parse(value);
        if (isObj(parsed)) return restore(parsed, s, ctx, depth + 1);
      } catch {
        return value;
      }
    }
    if (types.length > 0 && !types.includes("string")) {
      if ((types.includes("number") || types.includes("integer")) && value.trim() !== "" && Number.isFinite(Number(value)))
        return Number(value);
      if (types.includes("boolean") && (value === "true" || value === "false")) return value === "true";
    }
    return value;
  }
  if ((typeof value === "number" || typeof value === "boolean") && types.length === 1 && types[0] === "string") return String(value);
  if (Array.isArray(value) && (isObj(s.items) || s.items === true)) return value.map((v) => restore(v, s.items, ctx, depth + 1));
  if (isObj(value) && isObj(s.properties)) {
    const props = s.properties;
    // fromEntries and hasOwn: a property named __proto__ stays a property
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, Object.hasOwn(props, k) ? restore(v, props[k], ctx, depth + 1) : v]),
    );
  }
  return value;
}

/**
 * A value under anyOf / oneOf. A scalar the value already is (its kind, and its enum if it has one) stays;
 * otherwise the first branch that gives it a type back wins. An object or array may need its insides
 * restored: from the branch whose own enums and consts the restored value then matches (a discriminated
 * union picks its member by them), else from the first branch of its kind.
 */
function restoreUnion(value: unknown, raw: unknown[], ctx: Ctx, depth: number): unknown {
  const branches = raw.map((b) => derefTop(b, ctx).schema).filter(isObj);
  const same = branches.filter((b) => fits(value, b));
  if (typeof value !== "object" || value === null) {
    if (same.length) return value;
    for (const b of branches) {
      const r = restore(value, b, ctx, depth + 1);
      if (r !== value) return r;
    }
    return value;
  }
  // the member is chosen before restoring, by the value as it came (its discriminators as the model wrote
  // them, text or not): restoring each member in turn to see which fits cost k^depth for a recursive union
  const member = same.find((b) => matchesConstants(value, b, ctx)) ?? same[0];
  return member ? restore(value, member, ctx, depth + 1) : value;
}

/** the object's properties that the schema pins to an enum or a const hold one of those values (or its text) */
function matchesConstants(value: unknown, s: Schema, ctx: Ctx): boolean {
  if (!isObj(value) || !isObj(s.properties)) return true;
  for (const [k, ps] of Object.entries(s.properties)) {
    const p = derefTop(ps, ctx).schema;
    if (!isObj(p) || !Object.hasOwn(value, k)) continue;
    const allowed = Array.isArray(p.enum) ? p.enum : "const" in p ? [p.const] : undefined;
    const v = value[k];
    if (allowed && !allowed.includes(v) && !allowed.some((a) => typeof a !== "string" && brief(a) === v)) return false;
  }
  return true;
}

/** does the value already have a type this (raw) schema declares, and a value of its enum or const if it has one? */
function fits(value: unknown, s: Schema): boolean {
  const allowed = Array.isArray(s.enum) ? s.enum : "const" in s ? [s.const] : undefined;
  if (allowed) {
    if (value === null || typeof value !== "object") return allowed.includes(value);
    return allowed.some((v) => v !== null && typeof v === "object");
  }
  const types = typeList(s);
  if (types.length === 0) return !("$ref" in s);
  const kind = value === null ? "null" : Array.isArray(value) ? "array" : typeof value === "object" ? "object" : typeof value;
  if (kind === "number") return types.includes("number") || (types.includes("integer") && Number.isInteger(value));
  return types.includes(kind);
}
