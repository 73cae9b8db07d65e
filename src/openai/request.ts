// OpenAI Chat Completions request → Gemini GenerateContentRequest. Pure apart from reading the tool-call
// memory (signatures upstream attached to earlier tool calls). Remote images are fetched by the route
// beforehand and handed in; local paths are never read.
import { ApiError, badRequest } from "../core/errors";
import { jsonDepthOver } from "../core/validation";
import { SKIP_SIGNATURE, upstreamToolName } from "../protocol/function-calls";
import { cleanSchema, sendsValuesAsText } from "../upstream/json-schema";
import { isBase64, parseDataUri, textParts, type InlineData } from "../protocol/media";
import { AUDIO_FORMATS, audioMimeOf } from "./audio";
import type { RemoteSource } from "../protocol/remote";
import type { GeminiContent, GeminiPart, GeminiRequest } from "../upstream/types";
import { imageConfigFor, type ImageModel } from "./images";
import type { ChatMessage, ChatRequest } from "./schemas";
import type { ToolCallMemory } from "./tool-memory";

export interface ChatMapOptions {
  /** the upstream model after aliases: decides thinking and signature handling */
  upstreamModel: string;
  /** the catalogue marks the model as a thinking model: show its thoughts by default */
  thinkingModel?: boolean;
  claude?: boolean;
  /** set for image models: no tools or thinking, imageConfig from suffixes and size/quality */
  image?: ImageModel;
  memory: ToolCallMemory;
  /** remote image_url values the route fetched already */
  fetched?: Map<string, InlineData>;
  /** server.maxJsonDepth, for the JSON a tool call's `arguments` string holds (the body's check skips strings) */
  maxJsonDepth?: number;
}

export interface MappedChat {
  request: GeminiRequest;
  /** for the session fingerprint */
  system?: string;
  firstUserText?: string;
  /** Gemini function name → the client's name (names Gemini rejects are rewritten) */
  toolNames: Map<string, string>;
  /** client function name → its original parameters schema (to restore argument types in answers) */
  toolSchemas: Map<string, unknown>;
  /**
   * response_format's json_schema as the client wrote it, when some of its values travel upstream as
   * text: the answer's values get their types back
   */
  answerSchema?: unknown;
}

/** OpenAI reasoning_effort → thinking budget (tokens) */
export const EFFORT_BUDGET: Record<string, number> = { none: 0, minimal: 512, low: 1024, medium: 8192, high: 24576, xhigh: 32768 };
/** Claude rejects budgets under 1024; its thinking models need an explicit budget */
const CLAUDE_MIN_BUDGET = 1024;
const CLAUDE_DEFAULT_BUDGET = 8192;
const SEARCH_TOOLS = new Set(["web_search", "web_search_preview", "google_search", "google_search_retrieval", "builtin_web_search"]);

export const REMOTE_OFF = "remote image URLs are not fetched by this gateway (openai.fetchRemoteImages is off); send a data: URI";

/** every http(s) image_url in the conversation, with the field that holds it (the route fetches them) */
export function remoteImageSources(body: ChatRequest): RemoteSource[] {
  const out: RemoteSource[] = [];
  body.messages.forEach((m, i) => {
    if (!Array.isArray(m.content)) return;
    m.content.forEach((p, j) => {
      const url = typeof p.image_url === "string" ? p.image_url : p.image_url?.url;
      if (url && /^https?:\/\//i.test(url)) out.push({ url, param: `messages[${i}].content[${j}].image_url`, kind: "image_url" });
      const file = p.file?.file_data;
      if (file && /^https?:\/\//i.test(file))
        out.push({ url: file, param: `messages[${i}].content[${j}].file.file_data`, kind: "image_url" });
    });
  });
  return out;
}

/** the request's function names both ways (the response maps upstream's names back) */
class ToolNames {
  readonly toGemini = new Map<string, string>();
  readonly toClient = new Map<string, string>();
  get(client: string): string {
    const g = upstreamToolName(client);
    this.toGemini.set(client, g);
    this.toClient.set(g, client);
    return g;
  }
}

/** chat's input_audio (base64 and a format name) → inlineData; a 400 naming the field when either is wrong */
function audioPart(a: { data?: string; format: string } | undefined, param: string): GeminiPart {
  if (!a?.data) throw badRequest(`${param}.data is required`, param);
  const data = a.data.replace(/\s+/g, "");
  if (!isBase64(data)) throw badRequest(`${param}.data must be base64`, `${param}.data`);
  const mimeType = audioMimeOf(a.format);
  if (!mimeType) throw badRequest(`${param}.format "${a.format}" is not one of ${AUDIO_FORMATS.join(", ")}`, `${param}.format`);
  return { inlineData: { mimeType, data } };
}

/** server.maxJsonDepth's default, for callers that give none */
const DEFAULT_MAX_DEPTH = 128;

function parseArgs(raw: string | undefined, param: string, maxDepth: number): Record<string, unknown> {
  if (raw === undefined || raw.trim() === "") return {};
  if (raw.length > maxDepth && jsonDepthOver(raw, maxDepth))
    throw new ApiError(400, `${param} nests deeper than ${maxDepth} levels (server.maxJsonDepth)`, { param, reason: "json_too_deep" });
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw badRequest(`${param} is not valid JSON`, param);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { value: v };
  return v as Record<string, unknown>;
}

/** the text of a system/developer/tool message */
function plainText(content: ChatMessage["content"]): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter((p) => typeof p.text === "string")
    .map((p) => p.text)
    .join("\n");
}

export function toGeminiRequest(body: ChatRequest, opts: ChatMapOptions): MappedChat {
  const names = new ToolNames();
  const contents: GeminiContent[] = [];
  const system: string[] = [];
  const callNames = new Map<string, string>(); // tool call id → client function name
  let firstUserText: string | undefined;

  const push = (role: "user" | "model", parts: GeminiPart[]) => {
    if (!parts.length) return;
    const last = contents[contents.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };

  const mediaPart = (url: string, param: string): GeminiPart => {
    if (/^data:/i.test(url)) {
      const img = parseDataUri(url);
      if (!img) throw badRequest(`${param} is not a valid data: URI (expected data:<mime>;base64,<data>)`, param);
      return { inlineData: img };
    }
    if (/^https?:\/\//i.test(url)) {
      const got = opts.fetched?.get(url);
      if (!got) throw badRequest(`${param}: ${REMOTE_OFF}`, param);
      return { inlineData: got };
    }
    throw badRequest(`${param} must be a data: URI or an http(s) URL (local files are never read)`, param);
  };

  const contentParts = (content: ChatMessage["content"], at: string): GeminiPart[] => {
    if (content == null) return [];
    if (typeof content === "string") return textParts(content);
    const parts: GeminiPart[] = [];
    content.forEach((p, j) => {
      const param = `${at}.content[${j}]`;
      switch (p.type) {
        case "text":
        case "input_text":
        case "refusal":
          if (typeof p.text === "string") parts.push(...textParts(p.text));
          else if (typeof p.refusal === "string") parts.push({ text: p.refusal });
          else throw badRequest(`${param}.text is required for a ${p.type} part`, `${param}.text`);
          break;
        case "image_url":
        case "input_image": {
          const url = typeof p.image_url === "string" ? p.image_url : p.image_url?.url;
          if (!url) throw badRequest(`${param}.image_url.url is required`, `${param}.image_url`);
          parts.push(mediaPart(url, `${param}.image_url`));
          break;
        }
        case "input_audio":
          parts.push(audioPart(p.input_audio, `${param}.input_audio`));
          break;
        case "file":
          if (!p.file?.file_data) throw badRequest(`${param}.file.file_data is required (file ids are not supported)`, `${param}.file`);
          parts.push(mediaPart(p.file.file_data, `${param}.file.file_data`));
          break;
        default:
          throw badRequest(`${param}.type "${p.type}" is not supported (text, image_url, input_audio, file)`, `${param}.type`);
      }
    });
    return parts;
  };

  body.messages.forEach((m, i) => {
    const at = `messages[${i}]`;
    switch (m.role) {
      case "system":
      case "developer": {
        const text = plainText(m.content);
        if (text.trim()) system.push(text);
        break;
      }
      case "user": {
        const parts = contentParts(m.content, at);
        if (firstUserText === undefined && parts.length) firstUserText = parts.map((p) => p.text ?? "").join("\n");
        push("user", parts);
        break;
      }
      case "assistant":
        push("model", assistantParts(m, at));
        break;
      case "tool":
      case "function": {
        const id = m.tool_call_id;
        const name = (id && callNames.get(id)) || m.name;
        const media = Array.isArray(m.content)
          ? contentParts(
              m.content.filter((p) => p.type !== "text"),
              at,
            )
          : [];
        const output = plainText(m.content);
        if (!name) push("user", [{ text: `Result of tool call ${id ?? "(no id)"}:\n${output}` }, ...media]);
        else push("user", [{ functionResponse: { name: names.get(name), response: { output }, ...(id ? { id } : {}) } }, ...media]);
        break;
      }
    }
  });

  function assistantParts(m: ChatMessage, at: string): GeminiPart[] {
    const parts: GeminiPart[] = [];
    const calls = m.tool_calls?.length ? m.tool_calls : m.function_call ? [{ id: undefined, function: m.function_call }] : [];
    if (calls.length && opts.claude) parts.push(...(opts.memory.recall(calls[0]!.id)?.thoughts ?? []));
    parts.push(...contentParts(m.content, at));
    calls.forEach((c, j) => {
      const id = c.id;
      const name = c.function.name;
      const part: GeminiPart = {
        functionCall: {
          name: names.get(name),
          args: parseArgs(c.function.arguments, `${at}.tool_calls[${j}].function.arguments`, opts.maxJsonDepth ?? DEFAULT_MAX_DEPTH),
          ...(id ? { id } : {}),
        },
      };
      const sig = opts.memory.recall(id)?.signature;
      if (sig) part.thoughtSignature = sig;
      else if (j === 0 && !opts.claude) part.thoughtSignature = SKIP_SIGNATURE;
      if (id) callNames.set(id, name);
      parts.push(part);
    });
    return parts;
  }

  const systemText = system.join("\n\n");
  const request: GeminiRequest = { contents };
  if (opts.image) {
    // image models take neither a system instruction nor tools: the instructions travel as text
    if (systemText) {
      const firstUser = contents.find((c) => c.role === "user");
      if (firstUser) firstUser.parts.unshift({ text: systemText });
      else contents.unshift({ role: "user", parts: [{ text: systemText }] });
    }
  } else if (systemText) {
    if (contents.length === 0) contents.push({ role: "user", parts: [{ text: systemText }] });
    else request.systemInstruction = { role: "user", parts: [{ text: systemText }] };
  }
  if (contents.length === 0) throw badRequest("messages hold no content to send", "messages");

  const toolSchemas = new Map<string, unknown>();
  if (!opts.image) {
    const tools = toolsFor(body, names, toolSchemas);
    if (tools) request.tools = tools;
    const toolConfig = toolConfigFor(body, names, !!tools?.some((t) => "functionDeclarations" in t));
    if (toolConfig) request.toolConfig = toolConfig;
  }
  const generationConfig = generationConfigFor(body, opts);
  if (Object.keys(generationConfig).length) request.generationConfig = generationConfig;

  const rf = body.response_format;
  // only a schema whose values partly travel as text needs the answer restored (and a stream held back)
  const answerSchema =
    rf?.type === "json_schema" && sendsValuesAsText(generationConfig.responseSchema) ? rf.json_schema?.schema : undefined;
  return { request, system: systemText || undefined, firstUserText, toolNames: names.toClient, toolSchemas, answerSchema };
}

function toolsFor(body: ChatRequest, names: ToolNames, schemas: Map<string, unknown>): Record<string, unknown>[] | undefined {
  const decls: Record<string, unknown>[] = [];
  let search = false;
  const declare = (f: { name: string; description?: string; parameters?: unknown }) => {
    const d: Record<string, unknown> = { name: names.get(f.name) };
    if (f.description) d.description = f.description;
    if (f.parameters !== undefined && f.parameters !== null) {
      schemas.set(f.name, f.parameters);
      const params = cleanSchema(f.parameters);
      // Gemini rejects an object schema without properties: a tool without arguments has no parameters
      if (params.type !== "object" || Object.keys((params.properties as object) ?? {}).length > 0) d.parameters = params;
    }
    decls.push(d);
  };
  (body.tools ?? []).forEach((tool, i) => {
    if (tool.type === "function") {
      if (!tool.function) throw badRequest(`tools[${i}].function is required for a function tool`, `tools[${i}].function`);
      declare(tool.function);
    } else if (SEARCH_TOOLS.has(tool.type)) search = true;
    else throw badRequest(`tools[${i}].type "${tool.type}" is not supported (function, web_search)`, `tools[${i}].type`);
  });
  (body.functions ?? []).forEach(declare);
  // upstream refuses search mixed with functions; the declared functions win
  if (decls.length) return [{ functionDeclarations: decls }];
  return search ? [{ googleSearch: {} }] : undefined;
}

function toolConfigFor(body: ChatRequest, names: ToolNames, hasFunctions: boolean): Record<string, unknown> | undefined {
  const choice = body.tool_choice ?? body.function_call ?? undefined;
  if (choice === undefined) return undefined;
  if (!hasFunctions) {
    // "none" and "auto" mean nothing without tools; a call demanded of no function is the client's mistake
    if (choice === "none" || choice === "auto") return undefined;
    const param = body.tool_choice ? "tool_choice" : "function_call";
    throw badRequest(`${param} asks for a function call, but no function tools are declared`, param);
  }
  if (choice === "none") return { functionCallingConfig: { mode: "NONE" } };
  if (choice === "auto") return { functionCallingConfig: { mode: "AUTO" } };
  if (choice === "required") return { functionCallingConfig: { mode: "ANY" } };
  const name = "function" in choice ? choice.function.name : (choice as { name: string }).name;
  const param = body.tool_choice ? "tool_choice.function.name" : "function_call.name";
  if (!names.toGemini.has(name)) throw badRequest(`${param} "${name}" is not one of the declared tools`, param);
  return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [names.get(name)] } };
}

function generationConfigFor(body: ChatRequest, opts: ChatMapOptions): Record<string, unknown> {
  const g: Record<string, unknown> = {};
  if (body.temperature != null) g.temperature = body.temperature;
  if (body.top_p != null) g.topP = body.top_p;
  let maxOut = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const stop = typeof body.stop === "string" ? [body.stop] : (body.stop ?? []);
  if (stop.filter(Boolean).length) g.stopSequences = stop.filter(Boolean);
  if (body.seed != null) g.seed = body.seed;
  if (body.presence_penalty != null) g.presencePenalty = body.presence_penalty;
  if (body.frequency_penalty != null) g.frequencyPenalty = body.frequency_penalty;
  if (body.n != null && body.n > 1) g.candidateCount = body.n;

  const rf = body.response_format;
  if (rf?.type === "json_object") g.responseMimeType = "application/json";
  else if (rf?.type === "json_schema") {
    g.responseMimeType = "application/json";
    if (rf.json_schema?.schema !== undefined) g.responseSchema = cleanSchema(rf.json_schema.schema);
  }

  if (opts.image) {
    const imageConfig = imageConfigFor(opts.image, { size: body.size, quality: body.quality });
    if (Object.keys(imageConfig).length) g.imageConfig = imageConfig;
  } else {
    const thinking = thinkingFor(body.reasoning_effort ?? undefined, opts);
    if (thinking) {
      g.thinkingConfig = thinking;
      // upstream needs room for the answer beyond the thinking budget
      const budget = thinking.thinkingBudget ?? 0;
      if (maxOut !== undefined && budget > 0 && maxOut <= budget) maxOut = budget + maxOut;
    }
  }
  if (maxOut !== undefined) g.maxOutputTokens = maxOut;
  return g;
}

function thinkingFor(effort: string | undefined, opts: ChatMapOptions): { includeThoughts: boolean; thinkingBudget?: number } | undefined {
  if (effort !== undefined) {
    let budget = EFFORT_BUDGET[effort] ?? 8192;
    if (budget === 0) return { includeThoughts: false, thinkingBudget: 0 };
    if (opts.claude) budget = Math.max(budget, CLAUDE_MIN_BUDGET);
    return { includeThoughts: true, thinkingBudget: budget };
  }
  if (opts.claude && opts.thinkingModel) return { includeThoughts: true, thinkingBudget: CLAUDE_DEFAULT_BUDGET };
  if (opts.thinkingModel) return { includeThoughts: true };
  return undefined;
}
