// Request validation as Google's protobuf-JSON front end does it: every key must be a known field
// (lowerCamel or snake_case spelling), scalar types must fit, and a few semantic rules the real API
// enforces (non-empty contents, roles, function names, schema keywords, search+functions, calling
// modes, signatures).
import { googleError, fieldViolation, invalidArgument, unknownName } from "./errors";
import { ASPECT_RATIOS, IMAGE_SIZES } from "./png";
import { checkJsonSchema, checkSchema, toCamel } from "./schema";

type Scalar = "string" | "number" | "int" | "bool" | "object" | "any";
type Field = Scalar | Spec | { list: Scalar | Spec };
interface Spec {
  [camelKey: string]: Field;
}

const PART: Spec = {
  text: "string",
  thought: "bool",
  thoughtSignature: "string",
  inlineData: { mimeType: "string", data: "string" },
  fileData: { mimeType: "string", fileUri: "string", displayName: "string" },
  functionCall: { name: "string", args: "object", id: "string" },
  functionResponse: { name: "string", response: "object", id: "string", willContinue: "bool", scheduling: "string", parts: "any" },
  executableCode: { language: "string", code: "string" },
  codeExecutionResult: { outcome: "string", output: "string" },
  videoMetadata: "object",
};
const CONTENT: Spec = { role: "string", parts: { list: PART } };
const FUNCTION: Spec = {
  name: "string",
  description: "string",
  parameters: "any",
  parametersJsonSchema: "any",
  response: "any",
  responseJsonSchema: "any",
  behavior: "string",
};
const TOOL: Spec = {
  functionDeclarations: { list: FUNCTION },
  googleSearch: "object",
  googleSearchRetrieval: "object",
  codeExecution: "object",
  urlContext: "object",
};
const GENERATION_CONFIG: Spec = {
  temperature: "number",
  topP: "number",
  topK: "number",
  candidateCount: "int",
  maxOutputTokens: "int",
  stopSequences: { list: "string" },
  seed: "int",
  presencePenalty: "number",
  frequencyPenalty: "number",
  responseLogprobs: "bool",
  logprobs: "int",
  responseMimeType: "string",
  responseSchema: "any",
  responseJsonSchema: "any",
  routingConfig: "object",
  modelSelectionConfig: "object",
  responseModalities: { list: "string" },
  mediaResolution: "string",
  speechConfig: "object",
  audioTimestamp: "bool",
  thinkingConfig: { includeThoughts: "bool", thinkingBudget: "int", thinkingLevel: "string" },
  imageConfig: { aspectRatio: "string", imageSize: "string" },
};
const REQUEST: Spec = {
  contents: { list: CONTENT },
  systemInstruction: CONTENT,
  tools: { list: TOOL },
  toolConfig: { functionCallingConfig: { mode: "string", allowedFunctionNames: { list: "string" } }, retrievalConfig: "object" },
  generationConfig: GENERATION_CONFIG,
  safetySettings: { list: { category: "string", threshold: "string", method: "string" } },
  sessionId: "string",
  cachedContent: "string",
  labels: "object",
};
const ENVELOPE: Spec = {
  model: "string",
  project: "string",
  requestId: "string",
  requestType: "string",
  userAgent: "string",
  userPromptId: "string",
  enabledCreditTypes: { list: "string" },
  request: REQUEST,
  metadata: "object",
};
const COUNT_ENVELOPE: Spec = {
  request: {
    model: "string",
    contents: { list: CONTENT },
    systemInstruction: CONTENT,
    tools: { list: TOOL },
    generationConfig: GENERATION_CONFIG,
  },
};

const PROTO_TYPE: Record<Scalar, string> = {
  string: "TYPE_STRING",
  number: "TYPE_FLOAT",
  int: "TYPE_INT32",
  bool: "TYPE_BOOL",
  object: "TYPE_MESSAGE",
  any: "TYPE_MESSAGE",
};

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
const join = (path: string, key: string) => (path ? `${path}.${snake(toCamel(key))}` : snake(toCamel(key)));

function badValue(path: string, type: string, value: unknown) {
  const message = `Invalid value at '${path}' (${type}), ${JSON.stringify(value)?.slice(0, 100)}`;
  return googleError(400, "INVALID_ARGUMENT", message, [fieldViolation(path, message)]);
}

function checkScalar(t: Scalar, v: unknown, path: string) {
  const ok =
    t === "any" ||
    (t === "string" && typeof v === "string") ||
    (t === "bool" && typeof v === "boolean") ||
    (t === "object" && typeof v === "object" && !Array.isArray(v)) ||
    (t === "number" && (typeof v === "number" || (typeof v === "string" && v.trim() !== "" && isFinite(Number(v))))) ||
    (t === "int" && (Number.isInteger(v) || (typeof v === "string" && /^-?\d+$/.test(v))));
  if (!ok) throw badValue(path, PROTO_TYPE[t], v);
}

function walk(value: unknown, field: Field, path: string): void {
  if (value === null) return; // protobuf JSON: null = default
  if (typeof field === "string") return checkScalar(field, value, path);
  if (isList(field)) {
    if (!Array.isArray(value)) throw badValue(path, "repeated field", value);
    value.forEach((v, i) => walk(v, field.list, `${path}[${i}]`));
    return;
  }
  if (typeof value !== "object" || Array.isArray(value)) throw badValue(path, "TYPE_MESSAGE", value);
  const spec = field as Spec;
  for (const [key, v] of Object.entries(value)) {
    const sub = spec[toCamel(key)];
    if (!sub) throw unknownName(key, path);
    walk(v, sub, join(path, key));
  }
}
// no Spec has a field named "list", so { list: … } always marks a repeated field
const isList = (f: Field): f is { list: Scalar | Spec } => typeof f === "object" && "list" in f;

/** a key in either spelling: get(obj, "systemInstruction") also finds system_instruction */
export function get(obj: any, camel: string): any {
  if (!obj || typeof obj !== "object") return undefined;
  return obj[camel] ?? obj[snake(camel)];
}

export function checkEnvelope(body: unknown) {
  walk(body, ENVELOPE, "");
  if (!get(body, "request")) throw invalidArgument("Invalid JSON payload received. Missing required field 'request'.", "request");
  checkRequest(get(body, "request"), "request");
}

export function checkCountEnvelope(body: unknown) {
  walk(body, COUNT_ENVELOPE, "");
  const req = get(body, "request");
  if (!req) throw invalidArgument("Invalid JSON payload received. Missing required field 'request'.", "request");
  if (typeof req.model !== "string" || !req.model) throw invalidArgument("* CountTokensRequest.model: model is required", "request.model");
  checkRequest(req, "request");
}

// protobuf enums are case-sensitive; VALIDATED is what peers send for Claude with tools
const CALLING_MODES = ["AUTO", "ANY", "NONE", "VALIDATED"];
const FUNCTION_NAME = /^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$/;

function checkRequest(req: any, at: string) {
  const contents = get(req, "contents");
  if (!Array.isArray(contents) || contents.length === 0)
    throw invalidArgument("* GenerateContentRequest.contents: contents is not specified", `${at}.contents`);
  contents.forEach((c: any, i: number) => {
    if (c === null || typeof c !== "object") throw badValue(`${at}.contents[${i}]`, "TYPE_MESSAGE", c);
    const parts = get(c, "parts");
    if (!Array.isArray(parts) || parts.length === 0)
      throw invalidArgument(
        `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.`,
        `${at}.contents[${i}].parts`,
      );
    if (c.role != null && c.role !== "user" && c.role !== "model")
      throw invalidArgument(`Please use a valid role: user, model.`, `${at}.contents[${i}].role`);
  });
  checkTools(get(req, "tools"), at);
  const mode = get(get(get(req, "toolConfig"), "functionCallingConfig"), "mode");
  if (mode != null && !CALLING_MODES.includes(mode)) throw badValue(`${at}.tool_config.function_calling_config.mode`, "TYPE_ENUM", mode);
  const img = get(get(req, "generationConfig"), "imageConfig");
  const ratio = get(img, "aspectRatio");
  if (ratio != null && !ASPECT_RATIOS.includes(ratio))
    throw badValue(`${at}.generation_config.image_config.aspect_ratio`, "TYPE_STRING", ratio);
  const size = get(img, "imageSize");
  if (size != null && !IMAGE_SIZES.includes(size)) throw badValue(`${at}.generation_config.image_config.image_size`, "TYPE_STRING", size);
}

function checkTools(tools: unknown, at: string) {
  if (!Array.isArray(tools)) return;
  let search = false;
  let functions = false;
  tools.forEach((tool: any, t: number) => {
    if (!tool) return;
    if (get(tool, "googleSearch") || get(tool, "googleSearchRetrieval")) search = true;
    const decls = get(tool, "functionDeclarations");
    if (!Array.isArray(decls)) return;
    if (decls.length) functions = true;
    decls.forEach((d: any, i: number) => {
      const path = `${at}.tools[${t}].function_declarations[${i}]`;
      if (typeof d?.name !== "string" || !FUNCTION_NAME.test(d.name))
        throw invalidArgument(
          `* GenerateContentRequest.tools[${t}].function_declarations[${i}].name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 64.`,
          `${path}.name`,
        );
      if (d.parameters !== undefined) checkSchema(d.parameters, `${path}.parameters`);
      const js = get(d, "parametersJsonSchema");
      if (js !== undefined) checkJsonSchema(js, `${path}.parameters_json_schema`);
    });
  });
  if (search && functions) throw invalidArgument("Multiple tools are supported only when they are all search tools.", `${at}.tools`);
}

export const SKIP_SIGNATURE = "skip_thought_signature_validator";

/**
 * Every thoughtSignature in history must be one this simulator issued (or the documented sentinel);
 * Gemini 3 models also need one on the first functionCall of each model turn.
 */
export function checkSignatures(req: any, known: (s: string) => boolean, requireOnCalls: boolean) {
  const contents: any[] = get(req, "contents") ?? [];
  contents.forEach((c, i) => {
    let firstCall = true;
    (get(c, "parts") ?? []).forEach((p: any, j: number) => {
      if (!p || typeof p !== "object") return;
      const sig = p.thoughtSignature ?? p.thought_signature;
      if (sig !== undefined && sig !== null && sig !== SKIP_SIGNATURE && !known(sig))
        throw googleError(400, "INVALID_ARGUMENT", "Invalid signature in thinking block", [
          fieldViolation(`request.contents[${i}].parts[${j}].thought_signature`, "Invalid signature in thinking block"),
        ]);
      const call = get(p, "functionCall");
      if (call && c.role === "model" && firstCall) {
        firstCall = false;
        if (requireOnCalls && (sig === undefined || sig === null))
          throw invalidArgument(
            `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${call.name}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`,
            `request.contents[${i}].parts[${j}]`,
          );
      }
    });
  });
}
