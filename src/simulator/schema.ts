// Gemini's tool-parameter Schema accepts only a subset of JSON Schema. Anything else ($schema,
// additionalProperties, const, $ref, …) is rejected upstream with 400 "Unknown name", which is what
// the gateway's schema cleaner must prevent.
import { googleError, unknownName, fieldViolation } from "./errors";

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
