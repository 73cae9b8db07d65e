// A tool's `parameters` is Google's own Schema message, a subset of JSON Schema: anything else
// ($schema, additionalProperties, const, $ref, …) is rejected upstream with 400 "Unknown name", which is
// what the gateway's schema cleaner must prevent. `parametersJsonSchema` is a free JSON value that
// Google reads as JSON Schema (Gemini CLI sends MCP servers' schemas there as they are): any keyword
// passes, but a `$ref` must point inside the schema (docs/upstream.md, "Tool schemas").
import { googleError, invalidArgument, unknownName, fieldViolation } from "./errors";

export const SUPPORTED_SCHEMA_KEYS = [
  "type",
  "format",
  "description",
  "nullable",
  "enum",
  "items",
  "properties",
  "required",
  "minItems",
  "maxItems",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "pattern",
  "anyOf",
  "title",
  "default",
  "propertyOrdering",
  "example",
] as const;

const KEYS = new Set<string>(SUPPORTED_SCHEMA_KEYS);
const TYPES = new Set(["STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL", "TYPE_UNSPECIFIED"]);

export const toCamel = (k: string) => k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function invalid(path: string, what: string, value: unknown) {
  const message = `Invalid value at '${path}' (${what}), ${JSON.stringify(value)}`;
  return googleError(400, "INVALID_ARGUMENT", message, [fieldViolation(path, message)]);
}

/** throws HttpError 400 at the first unsupported keyword or malformed value, naming its path */
export function checkSchema(schema: unknown, path: string): void {
  if (schema === null || schema === undefined) return;
  if (typeof schema !== "object" || Array.isArray(schema)) throw invalid(path, "type.googleapis.com/google.rpc.Schema", schema);
  for (const [key, value] of Object.entries(schema)) {
    const k = toCamel(key);
    if (!KEYS.has(k)) throw unknownName(key, path);
    if (value === null) continue;
    switch (k) {
      case "type":
        if (typeof value !== "string" || !TYPES.has(value.toUpperCase()))
          throw invalid(`${path}.type`, "type.googleapis.com/google.ai.generativelanguage.v1beta.Type", value);
        break;
      case "properties":
        if (typeof value !== "object" || Array.isArray(value)) throw invalid(`${path}.properties`, "map<string, Schema>", value);
        for (const [name, sub] of Object.entries(value)) checkSchema(sub, `${path}.properties.${name}`);
        break;
      case "items":
        checkSchema(value, `${path}.items`);
        break;
      case "anyOf":
        if (!Array.isArray(value)) throw invalid(`${path}.any_of`, "repeated Schema", value);
        value.forEach((sub, i) => checkSchema(sub, `${path}.any_of[${i}]`));
        break;
      case "required":
      case "enum":
      case "propertyOrdering":
        if (!Array.isArray(value) || value.some((v) => typeof v !== "string"))
          throw invalid(`${path}.${key}`, "repeated TYPE_STRING", value);
        break;
    }
  }
}

/**
 * `parametersJsonSchema`: a JSON Schema (an object, or true/false), whose local `$ref`s ("#/…") must
 * resolve within it — Google answers "reference to undefined schema at <where>" otherwise.
 */
export function checkJsonSchema(schema: unknown, path: string): void {
  if (typeof schema === "boolean") return;
  if (schema === null || typeof schema !== "object" || Array.isArray(schema))
    throw invalidArgument(`Invalid JSON schema at '${path}': a schema is an object`, path);
  const walk = (node: unknown, at: string[]) => {
    if (Array.isArray(node)) return node.forEach((v, i) => walk(v, [...at, String(i)]));
    if (node === null || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string" && value.startsWith("#") && resolvePointer(schema, value) === undefined)
        throw invalidArgument(`reference to undefined schema at ${at.join(".") || "the root"}`, path);
      walk(value, [...at, key]);
    }
  };
  walk(schema, []);
}

/** the value a JSON pointer fragment ("#/$defs/a", "#") names in `root`, or undefined */
function resolvePointer(root: unknown, ref: string): unknown {
  let node = root;
  for (const raw of ref.slice(1).split("/").slice(1)) {
    let key: string;
    try {
      key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    } catch {
      return undefined; // a malformed %-escape names nothing
    }
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
