// Anthropic Messages request → Gemini GenerateContent request (pure). Every client field is mapped
// or rejected with a 400 naming it; nothing is silently dropped except thinking that the target
// model could not verify (see signature.ts).
import { badRequest } from "../core/errors";
import { SKIP_SIGNATURE, upstreamToolName } from "../protocol/function-calls";
import { parseDataUri, textParts, type InlineData } from "../protocol/media";
import type { RemoteSource } from "../protocol/remote";
import { cleanSchema, sendsValuesAsText } from "../upstream/json-schema";
import type { GeminiContent, GeminiPart, GeminiRequest } from "../upstream/types";
import type { AnyMessagesRequest } from "./schemas";
import { readSignature, splitToolId, type Family } from "./signature";
import { mapToolChoice, mapTools } from "./tools";

export interface MapOptions {
  /** family of the upstream model (after mapping) */
  family: Family;
  /** the upstream model's output limit; maxOutputTokens is capped to it */
  outputLimit?: number;
  /** URL sources fetched by the route (url → media); a URL missing here is a 400 */
  remote?: ReadonlyMap<string, InlineData>;
}

export interface Mapped {
  request: GeminiRequest;
  thinking: boolean;
  /** joined system text and first user text: the conversation fingerprint for sticky sessions */
  systemText?: string;
  firstUserText?: string;
  /** the client's structured-output schema when upstream got values of it as text (see restoreJsonText) */
  answerSchema?: unknown;
}

type Block = { type: string; [k: string]: unknown };

/** adaptive thinking has no budget of its own: effort picks one */
export const EFFORT_BUDGET: Record<string, number> = { low: 8192, medium: 16384, high: 24576, xhigh: 28672, max: 32768 };
const DEFAULT_LIMIT = 65536;
/** the smallest thinking budget Claude accepts; adaptive thinking squeezed below it thinks not at all */
const MIN_ADAPTIVE_BUDGET = 1024;

const str = (v: unknown): v is string => typeof v === "string";
const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

export function toGeminiRequest(body: AnyMessagesRequest, opts: MapOptions): Mapped {
  const thinking = body.thinking?.type === "enabled" || body.thinking?.type === "adaptive";
  const request: GeminiRequest = { contents: mapMessages(body, opts, thinking) };

  const systemText = mapSystem(body.system);
  if (systemText) request.systemInstruction = { role: "user", parts: [{ text: systemText }] };

  const tools = mapTools(body);
  if (tools.tools) request.tools = tools.tools;
  const toolConfig = mapToolChoice(body, tools.names);
  if (toolConfig) request.toolConfig = toolConfig;

  const gen = generationConfig(body, opts, thinking);
  const schema = outputSchema(body);
  if (schema) {
    gen.responseMimeType = "application/json";
    gen.responseSchema = cleanSchema(schema);
  }
  if (Object.keys(gen).length) request.generationConfig = gen;

  const answerSchema = schema && sendsValuesAsText(gen.responseSchema) ? schema : undefined;
  return { request, thinking, systemText, firstUserText: firstUserText(body), answerSchema };
}

/** structured outputs: `output_config.format` (or the beta's top-level `output_format`) → the answer's JSON schema */
function outputSchema(body: AnyMessagesRequest): Record<string, unknown> | undefined {
  const given = (body.output_config as { format?: unknown } | undefined)?.format;
  const [f, path] =
    given !== undefined ? [given, "output_config.format"] : [(body as { output_format?: unknown }).output_format, "output_format"];
  if (f === undefined || f === null) return undefined;
  if (!isObj(f) || f.type !== "json_schema") throw badRequest(`${path}.type: only "json_schema" is supported`, `${path}.type`);
  if (!isObj(f.schema)) throw badRequest(`${path}.schema: must be a JSON schema object`, `${path}.schema`);
  return f.schema;
}

function mapSystem(system: AnyMessagesRequest["system"]): string | undefined {
  if (system === undefined) return undefined;
  if (str(system)) return system || undefined;
  const texts = (system as Block[]).map((b, i) => {
    if (b.type !== "text" || !str(b.text)) throw badRequest(`system[${i}]: only text blocks are allowed in system`, `system[${i}]`);
    return b.text;
  });
  return texts.filter((t) => t && !BILLING.test(t)).join("\n\n") || undefined;
}

/**
 * Claude Code's attribution line for Anthropic's billing, not for the model: it changes with every
 * CLI version (breaking the cached prefix) and such attribution strings trip upstream filters.
 */
const BILLING = /^x-anthropic-billing-header:/;

function firstUserText(body: AnyMessagesRequest): string | undefined {
  const m = body.messages.find((x) => x.role === "user");
  if (!m) return undefined;
  if (str(m.content)) return m.content;
  return (m.content as Block[]).map((b) => (b.type === "text" && str(b.text) ? b.text : "")).join("");
}

function mapMessages(body: AnyMessagesRequest, opts: MapOptions, thinking: boolean): GeminiContent[] {
  const toolNames = new Map<string, string>();
  const contents: GeminiContent[] = [];
  body.messages.forEach((msg, i) => {
    const role = msg.role === "assistant" ? "model" : "user";
    const blocks: Block[] = str(msg.content) ? [{ type: "text", text: msg.content }] : (msg.content as Block[]);
    const parts =
      msg.role === "system" ? systemTurn(blocks, i) : mapBlocks(blocks, `messages[${i}]`, role, { ...opts, thinking, toolNames });
    if (!parts.length) return;
    const prev = contents[contents.length - 1];
    // Anthropic allows consecutive same-role messages; upstream wants turns to alternate
    if (prev && prev.role === role) prev.parts.push(...parts);
    else contents.push({ role, parts });
  });
  if (!contents.length) throw badRequest("messages: every message is empty", "messages");
  if (opts.family === "gemini") for (const c of contents) if (c.role === "model") signFirstCall(c.parts);
  return contents;
}

/**
 * A mid-conversation system message keeps its place: upstream has no such role, so it becomes
 * marked text in the user turn (moving it into systemInstruction would change the cached prefix).
 */
function systemTurn(blocks: Block[], i: number): GeminiPart[] {
  const text = blocks
    .map((b, j) => {
      if (b.type !== "text" || !str(b.text))
        throw badRequest(`messages[${i}].content[${j}]: system messages may hold text blocks only`, `messages[${i}].content[${j}]`);
      return b.text;
    })
    .filter(Boolean)
    .join("\n\n");
  return text ? [{ text: `<system>\n${text}\n</system>` }] : [];
}

/** Gemini rejects a model turn whose first functionCall has no signature; the skip value is accepted */
function signFirstCall(parts: GeminiPart[]) {
  const first = parts.find((p) => p.functionCall);
  if (first && !first.thoughtSignature) first.thoughtSignature = SKIP_SIGNATURE;
}

interface BlockCtx extends MapOptions {
  thinking: boolean;
  toolNames: Map<string, string>;
}

function mapBlocks(blocks: Block[], at: string, role: "user" | "model", ctx: BlockCtx): GeminiPart[] {
  const parts: GeminiPart[] = [];
  // a "part" signature rides on the part that follows its thinking block
  let pending: string | undefined;
  const push = (p: GeminiPart) => {
    if (pending && !p.thought) {
      p.thoughtSignature = pending;
      pending = undefined;
    }
    parts.push(p);
  };
  blocks.forEach((b, j) => {
    const path = `${at}.content[${j}]`;
    if (!isObj(b) || !str(b.type)) throw badRequest(`${path}.type: required`, `${path}.type`);
    switch (b.type) {
      case "text":
        if (!str(b.text)) throw badRequest(`${path}.text: must be a string`, `${path}.text`);
        // an image this gateway answered (markdown with a data: URI) goes back as the image it was
        if (b.text) for (const p of role === "model" ? textParts(b.text) : [{ text: b.text }]) push(p);
        return;
      case "image":
      case "document":
        for (const p of mediaParts(b, path, ctx.remote)) push(p);
        return;
      case "tool_use": {
        if (role !== "model") throw badRequest(`${path}: tool_use blocks belong in assistant messages`, path);
        if (!str(b.id) || !b.id) throw badRequest(`${path}.id: required`, `${path}.id`);
        if (!str(b.name) || !b.name) throw badRequest(`${path}.name: required`, `${path}.name`);
        if (b.input !== undefined && !isObj(b.input)) throw badRequest(`${path}.input: must be an object`, `${path}.input`);
        const name = upstreamToolName(b.name);
        ctx.toolNames.set(b.id, name);
        // a call signature may ride in the id (see signToolId); upstream gets the plain id
        const { id, tagged } = splitToolId(b.id);
        const part: GeminiPart = { functionCall: { name, args: (b.input as Record<string, unknown>) ?? {}, id } };
        const sig = readSignature(tagged);
        if (sig?.family === ctx.family && sig.on === "part" && !pending) part.thoughtSignature = sig.signature;
        push(part);
        return;
      }
      case "tool_result":
        if (role !== "user") throw badRequest(`${path}: tool_result blocks belong in user messages`, path);
        for (const p of toolResultParts(b, path, ctx)) push(p);
        return;
      case "thinking":
      case "redacted_thinking": {
        if (role !== "model") throw badRequest(`${path}: ${b.type} blocks belong in assistant messages`, path);
        const sig = readSignature(b.type === "thinking" ? b.signature : b.data);
        // unsigned, foreign, or for the other family: upstream would reject it, so it is not sent.
        // Claude verifies signatures only with thinking on; Gemini gets no thought parts back.
        if (!sig || sig.family !== ctx.family || (ctx.family === "claude" && !ctx.thinking)) return;
        if (sig.on === "part") pending = sig.signature;
        else if (ctx.family === "claude") {
          const text = b.type === "thinking" && str(b.thinking) ? b.thinking : "";
          parts.push({ text, thought: true, thoughtSignature: sig.signature });
        }
        return;
      }
      default:
        throw badRequest(`${path}.type: unsupported content block type "${b.type}"`, `${path}.type`);
    }
  });
  return parts;
}

function toolResultParts(b: Block, path: string, ctx: BlockCtx): GeminiPart[] {
  if (!str(b.tool_use_id) || !b.tool_use_id) throw badRequest(`${path}.tool_use_id: required`, `${path}.tool_use_id`);
  const name = ctx.toolNames.get(b.tool_use_id);
  if (!name)
    throw badRequest(`${path}.tool_use_id: no tool_use with id "${b.tool_use_id}" earlier in the conversation`, `${path}.tool_use_id`);
  const texts: string[] = [];
  const extra: GeminiPart[] = [];
  const content = b.content ?? "";
  if (str(content)) texts.push(content);
  else if (Array.isArray(content))
    content.forEach((c: Block, k) => {
      const cpath = `${path}.content[${k}]`;
      if (isObj(c) && c.type === "text" && str(c.text)) texts.push(c.text);
      else if (isObj(c) && (c.type === "image" || c.type === "document")) extra.push(...mediaParts(c, cpath, ctx.remote));
      else throw badRequest(`${cpath}: tool results may hold text, image and document blocks`, cpath);
    });
  else throw badRequest(`${path}.content: must be a string or an array of blocks`, `${path}.content`);
  const text = texts.join("\n");
  const response = b.is_error === true ? { error: text } : { output: text };
  return [{ functionResponse: { name, response, id: splitToolId(b.tool_use_id).id } }, ...extra];
}

function mediaParts(b: Block, path: string, remote: ReadonlyMap<string, InlineData> | undefined): GeminiPart[] {
  const src = b.source;
  if (!isObj(src) || !str(src.type)) throw badRequest(`${path}.source: required`, `${path}.source`);
  // text and content sources are a document's only: an image names its allowed sources
  if (b.type !== "document" && (src.type === "text" || src.type === "content"))
    throw badRequest(`${path}.source.type: "${src.type}" is for documents; an ${b.type} takes base64 or url`, `${path}.source.type`);
  switch (src.type) {
    case "base64":
      if (!str(src.media_type) || !src.media_type) throw badRequest(`${path}.source.media_type: required`, `${path}.source.media_type`);
      if (!str(src.data) || !src.data) throw badRequest(`${path}.source.data: required`, `${path}.source.data`);
      // the data: URI parser is the one base64 check every protocol uses
      const media = parseDataUri(`data:;base64,${src.data}`);
      if (!media) throw badRequest(`${path}.source.data: not valid base64`, `${path}.source.data`);
      return [{ inlineData: { mimeType: src.media_type, data: media.data } }];
    case "url": {
      const media = str(src.url) ? remote?.get(src.url) : undefined;
      if (!media)
        throw badRequest(`${path}.source: URL sources are not fetched by this gateway; send the ${b.type} as base64`, `${path}.source`);
      return [{ inlineData: { ...media } }];
    }
    case "text":
      if (!str(src.data)) throw badRequest(`${path}.source.data: must be a string`, `${path}.source.data`);
      return src.data ? [{ text: src.data }] : [];
    case "content":
      if (!Array.isArray(src.content)) throw badRequest(`${path}.source.content: must be an array`, `${path}.source.content`);
      return (src.content as Block[]).flatMap((c, k) => {
        if (isObj(c) && c.type === "text" && str(c.text)) return c.text ? [{ text: c.text }] : [];
        if (isObj(c) && c.type === "image") return mediaParts(c, `${path}.source.content[${k}]`, remote);
        throw badRequest(`${path}.source.content[${k}]: text or image blocks only`, `${path}.source.content[${k}]`);
      });
    default:
      throw badRequest(
        `${path}.source.type: unsupported source type "${src.type}" (use base64${b.type === "document" ? ", text" : ""} or url)`,
        `${path}.source.type`,
      );
  }
}

/** URL sources anywhere in the request (the route fetches them, or refuses), with their paths */
export function urlSources(body: AnyMessagesRequest): RemoteSource[] {
  const out: RemoteSource[] = [];
  const visit = (b: unknown, path: string) => {
    if (!isObj(b)) return;
    const src = b.source;
    if ((b.type === "image" || b.type === "document") && isObj(src) && src.type === "url" && str(src.url))
      out.push({ url: src.url, param: `${path}.source`, kind: b.type });
    if (b.type === "tool_result" && Array.isArray(b.content)) b.content.forEach((c, k) => visit(c, `${path}.content[${k}]`));
  };
  body.messages.forEach((m, i) => {
    if (Array.isArray(m.content)) m.content.forEach((b, j) => visit(b, `messages[${i}].content[${j}]`));
  });
  return out;
}

function generationConfig(body: AnyMessagesRequest, opts: MapOptions, thinking: boolean): Record<string, unknown> {
  const gen: Record<string, unknown> = {};
  const limit = opts.outputLimit ?? DEFAULT_LIMIT;
  if (body.max_tokens !== undefined) gen.maxOutputTokens = Math.min(body.max_tokens, limit);
  if (body.temperature !== undefined) gen.temperature = body.temperature;
  if (body.top_p !== undefined) gen.topP = body.top_p;
  if (body.top_k !== undefined) gen.topK = body.top_k;
  // stop_sequences are matched by the response translator: upstream would report them as a plain STOP
  if (thinking) {
    const t = body.thinking!;
    const effort = body.output_config?.effort;
    let budget =
      t.type === "enabled" ? (t.budget_tokens ?? EFFORT_BUDGET.medium!) : (EFFORT_BUDGET[effort ?? "high"] ?? EFFORT_BUDGET.high!);
    // upstream rejects maxOutputTokens <= thinkingBudget: keep room for the answer
    budget = Math.min(budget, limit - 1024);
    const max = (gen.maxOutputTokens as number | undefined) ?? limit;
    if (t.type === "adaptive" && max <= budget) {
      // the gateway chose this budget, not the client: its max_tokens stays the cap on everything, the
      // budget takes half of it (no thinking when that is under what a model accepts)
      budget = Math.floor(max / 2);
      if (budget < MIN_ADAPTIVE_BUDGET) return gen;
    }
    gen.maxOutputTokens = max > budget ? max : Math.min(budget + 8192, limit);
    gen.thinkingConfig = { includeThoughts: true, thinkingBudget: budget };
  }
  return gen;
}

/**
 * The one repair for a 400 caused by a thinking signature: drop every thought part and signature
 * (and, for Gemini, put the accepted skip value on each turn's first call). Claude with thinking on
 * also wants the last tool-calling turn to start with signed thinking, which is now gone: thinking
 * is turned off for that request. Returns undefined when there was nothing to change, so the caller
 * does not retry an identical request.
 */
export function withoutSignatures(request: GeminiRequest, family: Family): GeminiRequest | undefined {
  let changed = false;
  const contents = request.contents.map((c) => {
    const parts: GeminiPart[] = [];
    for (const p of c.parts) {
      if (p.thought) {
        changed = true;
        continue;
      }
      if (p.thoughtSignature !== undefined && p.thoughtSignature !== SKIP_SIGNATURE) {
        const { thoughtSignature: _drop, ...rest } = p;
        parts.push(rest);
        changed = true;
      } else parts.push(p);
    }
    return { ...c, parts: parts.length ? parts : [{ text: "." }] };
  });
  let generationConfig = request.generationConfig;
  const calls = contents.some((c) => c.role === "model" && c.parts.some((p) => p.functionCall));
  if (family === "claude" && calls && generationConfig?.thinkingConfig) {
    const { thinkingConfig: _off, ...rest } = generationConfig;
    generationConfig = rest;
    changed = true;
  }
  if (!changed) return undefined;
  if (family === "gemini") for (const c of contents) if (c.role === "model") signFirstCall(c.parts);
  return { ...request, contents, ...(generationConfig ? { generationConfig } : {}) };
}
