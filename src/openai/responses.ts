// OpenAI Responses ↔ Gemini, pure apart from the tool-call memory handed in (as chat's mappers).
//
// Request: a Responses body (plus the history of its previous_response_id) becomes a Chat Completions
// body, which chat's own mapper (./request.ts toGeminiRequest) turns into Gemini's request — so tools,
// function names, thought signatures, images, JSON mode and thinking budgets map exactly as on
// /v1/chat/completions. What the chat mapper reports about a field is renamed to the Responses field.
//
// Answer: OutputBuilder groups Gemini's parts into Responses output items (reasoning, message,
// function_call) as they arrive, and says what changed; toResponse uses it for a whole answer,
// ./responses-stream.ts turns the changes into the SSE event sequence.
import { ApiError, badRequest } from "../core/errors";
import { blockReason, isFiltered, tokenCounts } from "../protocol/answer";
import type { RemoteSource } from "../protocol/remote";
import { randomId } from "../protocol/reply";
import type { GeminiPart, GeminiResponse, GeminiUsage } from "../upstream/types";
import { remoteImageSources, toGeminiRequest, type ChatMapOptions, type MappedChat } from "./request";
import { partText, signedThought, toolCallOf, type ResponseOptions, type ToolCall } from "./response";
import type { InputItem, InputPart, ResponsesRequest, ResponsesTool } from "./responses-schemas";
import type { ChatContentPart, ChatMessage, ChatRequest } from "./schemas";
import { ToolCallMemory, type Remembered } from "./tool-memory";

// ---------------------------------------------------------------------------------------------------
// Output shapes (as the openai SDK's types name them)

export interface OutputText {
  type: "output_text";
  text: string;
  annotations: unknown[];
  logprobs: unknown[];
}
export interface Refusal {
  type: "refusal";
  refusal: string;
}
export interface MessageItem {
  id: string;
  type: "message";
  role: "assistant";
  status: ItemStatus;
  content: (OutputText | Refusal)[];
}
export interface FunctionCallItem {
  id: string;
  type: "function_call";
  status: ItemStatus;
  call_id: string;
  name: string;
  arguments: string;
  namespace?: string;
}
export interface ReasoningItem {
  id: string;
  type: "reasoning";
  summary: { type: "summary_text"; text: string }[];
  encrypted_content: string | null;
}
export type OutputItem = MessageItem | FunctionCallItem | ReasoningItem;
export type ItemStatus = "in_progress" | "completed" | "incomplete";

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** what a response echoes of its request, fixed when it starts */
export interface ResponseBase {
  id: string;
  created_at: number;
  /** the model name the client asked for */
  model: string;
  background: false;
  instructions: string | null;
  max_output_tokens: number | null;
  metadata: Record<string, string>;
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: string | null };
  service_tier: "default";
  store: boolean;
  temperature: number;
  text: { format: unknown; verbosity?: string };
  tool_choice: unknown;
  tools: unknown[];
  top_p: number;
  truncation: "auto" | "disabled";
  user?: string;
}

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

export interface ResponseObject extends Omit<ResponseBase, "id" | "created_at" | "model"> {
  id: string;
  object: "response";
  created_at: number;
  status: ResponseStatus;
  completed_at: number | null;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: "max_output_tokens" | "content_filter" } | null;
  model: string;
  output: OutputItem[];
  usage: ResponsesUsage | null;
}

export const newResponseId = () => randomId("resp_", 32);
const newItemId = (prefix: "msg_" | "fc_" | "rs_") => randomId(prefix, 32);

export function responseBase(body: ResponsesRequest, id = newResponseId(), createdAt = Math.floor(Date.now() / 1000)): ResponseBase {
  const base: ResponseBase = {
    id,
    created_at: createdAt,
    model: body.model,
    background: false,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null },
    service_tier: "default",
    store: body.store !== false,
    temperature: body.temperature ?? 1,
    text: { format: body.text?.format ?? { type: "text" }, ...(body.text?.verbosity ? { verbosity: body.text.verbosity } : {}) },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: body.truncation ?? "disabled",
  };
  if (body.user !== undefined) base.user = body.user;
  return base;
}

export function responseObject(
  base: ResponseBase,
  state: Pick<ResponseObject, "status" | "output" | "usage"> & Partial<Pick<ResponseObject, "error" | "incomplete_details">>,
): ResponseObject {
  const { id, created_at, model, ...echo } = base;
  const done = state.status === "completed" || state.status === "incomplete";
  return {
    id,
    object: "response",
    created_at,
    status: state.status,
    completed_at: done ? Math.floor(Date.now() / 1000) : null,
    error: state.error ?? null,
    incomplete_details: state.incomplete_details ?? null,
    model,
    output: state.output,
    usage: state.usage,
    ...echo,
  };
}

/** Gemini's usage in the Responses shape: thinking counts as output, as OpenAI bills it */
export function responsesUsage(u: GeminiUsage | undefined): ResponsesUsage {
  const t = tokenCounts(u);
  return {
    input_tokens: t.prompt,
    input_tokens_details: { cached_tokens: t.cached },
    output_tokens: t.output,
    output_tokens_details: { reasoning_tokens: t.thoughts },
    total_tokens: t.total,
  };
}

/** ResponseError codes the SDK knows; anything else is a server_error */
export function failureCode(status: number): string {
  if (status === 429) return "rate_limit_exceeded";
  if (status >= 400 && status < 500) return "invalid_prompt";
  return "server_error";
}

// Claude's signed thinking travels in a reasoning item's encrypted_content (text and signature, so a
// client that drops the summary still replays what was signed). Ours carry a prefix: anything else
// (another provider's reasoning) is dropped, not forwarded.
const THOUGHT_PREFIX = "swy1.";

export function encodeThought(text: string, signature: string): string {
  return THOUGHT_PREFIX + Buffer.from(JSON.stringify({ t: text, s: signature })).toString("base64url");
}

export function decodeThought(value: string | null | undefined): { text: string; signature: string } | undefined {
  if (!value?.startsWith(THOUGHT_PREFIX)) return undefined;
  try {
    const v = JSON.parse(Buffer.from(value.slice(THOUGHT_PREFIX.length), "base64url").toString("utf8"));
    if (typeof v?.t === "string" && typeof v?.s === "string" && v.s) return { text: v.t, signature: v.s };
  } catch {
    // not ours after all
  }
  return undefined;
}

/** the item as the client sees it: encrypted_content only when it asked (include: reasoning.encrypted_content) */
export function clientItem(item: OutputItem, includeEncrypted: boolean): OutputItem {
  return item.type === "reasoning" && !includeEncrypted && item.encrypted_content !== null ? { ...item, encrypted_content: null } : item;
}

export function clientView(r: ResponseObject, includeEncrypted: boolean): ResponseObject {
  return includeEncrypted ? r : { ...r, output: r.output.map((i) => clientItem(i, false)) };
}

// ---------------------------------------------------------------------------------------------------
// Request: Responses → Chat Completions → Gemini

const ROLES = new Set(["user", "assistant", "system", "developer"]);
const ITEM_TYPES = "message, function_call, function_call_output, reasoning";
const TOOL_HINT =
  "this gateway forwards function tools only (and namespaces of them); built-in OpenAI tools such as web_search, " +
  "file_search, code_interpreter, computer_use, image_generation, mcp or local_shell run on OpenAI's side";

/** where a chat message's content part came from */
interface PartOrigin {
  index: number;
  /** the Responses field holding the file (chat names it file.file_data) */
  fileField?: string;
}

export interface PreparedResponses {
  chat: ChatRequest;
  /** the whole input as items (previous_response_id's history, then this request's input), for the store */
  input: InputItem[];
  /** signed thoughts the client sent back in reasoning items (Claude), by the id of the call they precede */
  thoughts: Map<string, GeminiPart[]>;
  /** a namespaced function's client-side name (namespace.name) → its namespace and name */
  namespaces: Map<string, { namespace: string; name: string }>;
  /** a chat request field (messages[2].content[0]…) → the Responses field it came from */
  rename: (param: string) => string;
  /** remote image and file URLs to fetch, named by their Responses field */
  remote: RemoteSource[];
}

/** The Responses body (and the conversation before it) as a chat request. Throws 400s naming Responses fields. */
export function prepareResponses(body: ResponsesRequest, history: InputItem[] = []): PreparedResponses {
  if (body.background === true) throw badRequest("background responses are not supported by this gateway", "background");
  for (const field of ["conversation", "prompt"] as const) {
    const v = (body as Record<string, unknown>)[field];
    if (v !== undefined && v !== null)
      throw badRequest(`${field} is not supported by this gateway (send the conversation as input or use previous_response_id)`, field);
  }

  const messages: ChatMessage[] = [];
  const msgPaths: string[] = [];
  const partOrigins: (PartOrigin[] | undefined)[] = [];
  const contentKeys: string[] = [];
  const callPaths: string[][] = [];
  const thoughts = new Map<string, GeminiPart[]>();
  const namespaces = new Map<string, { namespace: string; name: string }>();

  const add = (m: ChatMessage, path: string, origins?: PartOrigin[], key = "content") => {
    messages.push(m);
    msgPaths.push(path);
    partOrigins.push(origins);
    contentKeys.push(key);
    callPaths.push([]);
  };

  if (body.instructions) add({ role: "system", content: body.instructions }, "instructions");

  const own: InputItem[] = typeof body.input === "string" ? [{ type: "message", role: "user", content: body.input }] : (body.input ?? []);
  const all = [...history, ...own];
  /** the assistant turn being assembled (text, then its calls); any other item ends it */
  let turn: ChatMessage | undefined;
  let pendingThought: GeminiPart[] | undefined;

  all.forEach((item, k) => {
    const fromHistory = k < history.length;
    const path = fromHistory ? "previous_response_id" : typeof body.input === "string" ? "input" : `input[${k - history.length}]`;
    const type = item.type ?? (item.role !== undefined ? "message" : undefined);
    switch (type) {
      case "message": {
        const role = item.role;
        if (!role || !ROLES.has(role))
          throw badRequest(`${path}.role must be one of user, assistant, system, developer (got ${JSON.stringify(role)})`, `${path}.role`);
        const { content, origins } = messageContent(item, path, role === "assistant");
        if (role === "assistant") {
          const m: ChatMessage = { role: "assistant", content };
          add(m, path, origins);
          turn = m;
        } else {
          add({ role: role as "user" | "system" | "developer", content }, path, origins);
          turn = undefined;
          pendingThought = undefined;
        }
        break;
      }
      case "function_call": {
        if (typeof item.call_id !== "string" || !item.call_id) throw badRequest(`${path}.call_id is required`, `${path}.call_id`);
        if (typeof item.name !== "string" || !item.name) throw badRequest(`${path}.name is required`, `${path}.name`);
        const name = item.namespace ? `${item.namespace}.${item.name}` : item.name;
        if (item.namespace) namespaces.set(name, { namespace: item.namespace, name: item.name });
        if (!turn) {
          turn = { role: "assistant", content: null, tool_calls: [] };
          add(turn, path);
        }
        (turn.tool_calls ??= []).push({ id: item.call_id, type: "function", function: { name, arguments: item.arguments ?? "" } });
        callPaths[messages.indexOf(turn)]!.push(path);
        if (pendingThought) thoughts.set(item.call_id, pendingThought);
        pendingThought = undefined;
        break;
      }
      case "function_call_output": {
        if (typeof item.call_id !== "string" || !item.call_id) throw badRequest(`${path}.call_id is required`, `${path}.call_id`);
        if (item.output === undefined) throw badRequest(`${path}.output is required`, `${path}.output`);
        const { content, origins } = toolOutput(item.output, path);
        add({ role: "tool", tool_call_id: item.call_id, content }, path, origins, "output");
        turn = undefined;
        pendingThought = undefined;
        break;
      }
      case "reasoning": {
        // Claude's signed thinking goes back before the calls it led to; other reasoning has no
        // upstream form (Gemini keeps its signatures on the calls themselves)
        const t = decodeThought(item.encrypted_content);
        pendingThought = t ? signedThought(t.text, t.signature) : undefined;
        break;
      }
      default:
        throw badRequest(
          type === undefined ? `${path} needs a type (${ITEM_TYPES}) or a role` : `${path}.type "${type}" is not supported (${ITEM_TYPES})`,
          `${path}.type`,
        );
    }
  });
  if (!messages.some((m) => m.role !== "system" && m.role !== "developer"))
    throw badRequest(body.previous_response_id ? "input is empty" : "input is required", "input");

  const { tools, toolPaths } = chatTools(body.tools ?? [], namespaces);
  const chat: ChatRequest = { model: body.model, messages };
  if (tools.length) chat.tools = tools;
  if (body.tool_choice !== undefined) chat.tool_choice = chatToolChoice(body.tool_choice);
  if (body.temperature != null) chat.temperature = body.temperature;
  if (body.top_p != null) chat.top_p = body.top_p;
  if (body.max_output_tokens != null) chat.max_completion_tokens = body.max_output_tokens;
  if (body.reasoning?.effort) chat.reasoning_effort = body.reasoning.effort;
  if (body.user !== undefined) chat.user = body.user;
  const format = body.text?.format;
  if (format?.type === "json_object") chat.response_format = { type: "json_object" };
  else if (format?.type === "json_schema") {
    if (format.schema === undefined || format.schema === null)
      throw badRequest("text.format.schema is required for json_schema", "text.format.schema");
    chat.response_format = {
      type: "json_schema",
      json_schema: { name: format.name, description: format.description, schema: format.schema, strict: format.strict },
    };
  }

  const rename = (param: string): string => {
    let m = /^messages\[(\d+)\]\.tool_calls\[(\d+)\]\.function\.arguments(.*)$/.exec(param);
    if (m) return `${callPaths[+m[1]!]?.[+m[2]!] ?? "input"}.arguments${m[3]}`;
    m = /^messages\[(\d+)\]\.content\[(\d+)\](.*)$/.exec(param);
    if (m) {
      const i = +m[1]!;
      const origin = partOrigins[i]?.[+m[2]!];
      let rest = m[3]!;
      if (origin?.fileField) rest = rest.replace(/^\.file(\.file_data)?/, `.${origin.fileField}`);
      rest = rest.replace(/^\.image_url\.url/, ".image_url");
      return `${msgPaths[i]}.${contentKeys[i]}[${origin?.index ?? +m[2]!}]${rest}`;
    }
    m = /^messages\[(\d+)\](.*)$/.exec(param);
    if (m) return `${msgPaths[+m[1]!] ?? "input"}${m[2]}`;
    if (param === "messages") return "input";
    m = /^tools\[(\d+)\](?:\.function)?(.*)$/.exec(param);
    if (m) return `${toolPaths[+m[1]!] ?? "tools"}${m[2]}`;
    if (param.startsWith("tool_choice.function.name")) return "tool_choice.name";
    if (param.startsWith("response_format")) return "text.format";
    return param;
  };
  const remote = remoteImageSources(chat).map((s) => ({ ...s, param: rename(s.param) }));
  return { chat, input: all, thoughts, namespaces, rename, remote };
}

const CHAT_FIELD = /\b(messages\[\d+\](?:\.[a-z_]+|\[\d+\])*|tools\[\d+\](?:\.[a-z_]+|\[\d+\])*|tool_choice\.function\.name)/g;

/** a chat mapper's 400 about messages[…] or tools[…], reworded for the Responses field */
export function renameError(e: unknown, rename: (param: string) => string): unknown {
  if (!(e instanceof ApiError) || !e.param) return e;
  const param = rename(e.param);
  if (param === e.param) return e;
  // chat's only error about the messages as a whole: nothing left to send
  const message = e.param === "messages" ? "input holds no content to send" : e.message.replace(CHAT_FIELD, (s) => rename(s));
  return new ApiError(e.status, message, { ...e.options, param });
}

/** Claude's thoughts the client sent back win over what the gateway remembers; everything else is the shared memory */
class ReplayMemory extends ToolCallMemory {
  constructor(
    private readonly base: ToolCallMemory,
    private readonly thoughts: Map<string, GeminiPart[]>,
  ) {
    super(0, 0);
  }
  override remember(id: string, value: Remembered): void {
    this.base.remember(id, value);
  }
  override recall(id: string | undefined): Remembered | undefined {
    const remembered = this.base.recall(id);
    const sent = id === undefined ? undefined : this.thoughts.get(id);
    return sent ? { ...remembered, thoughts: sent } : remembered;
  }
}

/** the prepared request → Gemini's, through chat's mapper (its 400s renamed to Responses fields) */
export function toGemini(p: PreparedResponses, opts: ChatMapOptions): MappedChat {
  const memory = p.thoughts.size ? new ReplayMemory(opts.memory, p.thoughts) : opts.memory;
  try {
    return toGeminiRequest(p.chat, { ...opts, memory });
  } catch (e) {
    throw renameError(e, p.rename);
  }
}

/** prepareResponses then toGemini: the whole pure request mapping (remote URLs already fetched into opts.fetched) */
export function toGeminiFromResponses(
  body: ResponsesRequest,
  opts: ChatMapOptions & { history?: InputItem[] },
): MappedChat & { prepared: PreparedResponses } {
  const prepared = prepareResponses(body, opts.history);
  return { ...toGemini(prepared, opts), prepared };
}

function messageContent(
  item: InputItem,
  path: string,
  assistant: boolean,
): { content: string | ChatContentPart[] | null; origins?: PartOrigin[] } {
  const c = item.content;
  if (c === undefined || c === null) return { content: assistant ? null : "" };
  if (typeof c === "string") return { content: c };
  const out: ChatContentPart[] = [];
  const origins: PartOrigin[] = [];
  c.forEach((part, j) => {
    const converted = inputPart(part, `${path}.content[${j}]`);
    out.push(converted.part);
    origins.push({ index: j, fileField: converted.fileField });
  });
  return { content: out, origins };
}

function toolOutput(output: string | InputPart[], path: string): { content: string | ChatContentPart[]; origins?: PartOrigin[] } {
  if (typeof output === "string") return { content: output };
  const out: ChatContentPart[] = [];
  const origins: PartOrigin[] = []; // chat names a tool result's media by its index among the non-text parts
  output.forEach((part, j) => {
    const converted = inputPart(part, `${path}.output[${j}]`);
    out.push(converted.part);
    if (converted.part.type !== "text") origins.push({ index: j, fileField: converted.fileField });
  });
  return { content: out, origins };
}

/** one Responses content part → chat's (which maps it on to Gemini) */
function inputPart(p: InputPart, at: string): { part: ChatContentPart; fileField?: string } {
  switch (p.type) {
    case "input_text":
    case "output_text":
    case "text":
      if (typeof p.text !== "string") throw badRequest(`${at}.text is required for a ${p.type} part`, `${at}.text`);
      return { part: { type: "text", text: p.text } };
    case "refusal":
      if (typeof p.refusal !== "string") throw badRequest(`${at}.refusal is required for a refusal part`, `${at}.refusal`);
      return { part: { type: "refusal", refusal: p.refusal } };
    case "input_image":
      if (typeof p.image_url !== "string" || !p.image_url)
        throw badRequest(
          p.file_id
            ? `${at}.file_id: file ids are not supported; send image_url as a data: URI or an http(s) URL`
            : `${at}.image_url is required`,
          p.file_id ? `${at}.file_id` : `${at}.image_url`,
        );
      return { part: { type: "image_url", image_url: { url: p.image_url } } };
    case "input_file": {
      const field = p.file_data ? "file_data" : p.file_url ? "file_url" : undefined;
      if (!field)
        throw badRequest(
          p.file_id ? `${at}.file_id: file ids are not supported; send file_data as a data: URI` : `${at}.file_data is required`,
          p.file_id ? `${at}.file_id` : `${at}.file_data`,
        );
      return {
        part: { type: "file", file: { file_data: (p.file_data || p.file_url)!, filename: p.filename ?? undefined } },
        fileField: field,
      };
    }
    case "input_audio":
      if (!p.input_audio?.data) throw badRequest(`${at}.input_audio.data is required`, `${at}.input_audio`);
      return { part: { type: "input_audio", input_audio: p.input_audio } };
    default:
      throw badRequest(
        `${at}.type "${p.type}" is not supported (input_text, input_image, input_file, input_audio; output_text, refusal for assistant messages)`,
        `${at}.type`,
      );
  }
}

function chatTools(
  tools: ResponsesTool[],
  namespaces: Map<string, { namespace: string; name: string }>,
): { tools: NonNullable<ChatRequest["tools"]>; toolPaths: string[] } {
  const out: NonNullable<ChatRequest["tools"]> = [];
  const toolPaths: string[] = [];
  const fn = (t: Record<string, unknown>, at: string, namespace?: string) => {
    if (typeof t.name !== "string" || !t.name) throw badRequest(`${at}.name is required for a function tool`, `${at}.name`);
    const name = namespace ? `${namespace}.${t.name}` : t.name;
    if (namespace) namespaces.set(name, { namespace, name: t.name });
    const description = typeof t.description === "string" ? t.description : undefined;
    out.push({ type: "function", function: { name, description, parameters: t.parameters } });
    toolPaths.push(at);
  };
  tools.forEach((tool, i) => {
    const at = `tools[${i}]`;
    if (tool.type === "function") return fn(tool, at);
    if (tool.type === "namespace") {
      if (!tool.name) throw badRequest(`${at}.name is required for a namespace`, `${at}.name`);
      (tool.tools ?? []).forEach((inner, j) => {
        const t = (inner ?? {}) as Record<string, unknown>;
        if (t.type !== "function")
          throw badRequest(`${at}.tools[${j}].type "${String(t.type)}" is not supported: ${TOOL_HINT}`, `${at}.tools[${j}].type`);
        fn(t, `${at}.tools[${j}]`, tool.name);
      });
      return;
    }
    // Codex CLI declares its hosted web_search by default: say how to turn it off
    const codex = tool.type.startsWith("web_search") ? ' (Codex CLI: set web_search = "disabled" in config.toml)' : "";
    throw badRequest(`${at}.type "${tool.type}" is not supported: ${TOOL_HINT}${codex}`, `${at}.type`);
  });
  return { tools: out, toolPaths };
}

function chatToolChoice(choice: NonNullable<ResponsesRequest["tool_choice"]>): ChatRequest["tool_choice"] {
  if (typeof choice === "string") return choice;
  if (choice.type === "function") {
    if (!choice.name) throw badRequest("tool_choice.name is required for a function tool choice", "tool_choice.name");
    return { type: "function", function: { name: choice.namespace ? `${choice.namespace}.${choice.name}` : choice.name } };
  }
  throw badRequest(
    `tool_choice.type "${choice.type}" is not supported (auto, none, required, or {"type": "function", "name": …})`,
    "tool_choice.type",
  );
}

// ---------------------------------------------------------------------------------------------------
// Answer: Gemini parts → output items

export interface OutputOptions extends ResponseOptions {
  namespaces: Map<string, { namespace: string; name: string }>;
}

/** what changed in the output, in order (./responses-stream.ts turns each into events) */
export type OutputChange =
  | { kind: "added"; index: number; item: OutputItem }
  | { kind: "summary"; index: number; delta: string }
  | { kind: "text"; index: number; delta: string }
  | { kind: "refusal"; index: number; delta: string }
  | { kind: "arguments"; index: number; delta: string }
  | { kind: "done"; index: number; item: OutputItem };

interface Open {
  index: number;
  kind: "reasoning" | "message";
  text: string;
  signature?: string;
}

const blockedText = (reason: string) => `The prompt was blocked by the upstream safety filter (${reason}).`;

export class OutputBuilder {
  readonly items: OutputItem[] = [];
  private open?: Open;
  /** Claude: the last signed reasoning, remembered for the first call that follows it */
  private signed?: { text: string; signature: string };
  private sawCall = false;
  private sawCandidate = false;
  private finishReason?: string;
  private blocked?: string;
  private usage?: GeminiUsage;
  private ended = false;

  constructor(private readonly o: OutputOptions) {}

  push(resp: GeminiResponse): OutputChange[] {
    const out: OutputChange[] = [];
    if (resp.usageMetadata) this.usage = resp.usageMetadata;
    const block = blockReason(resp);
    if (block) this.blocked = block;
    // Responses has one answer: the first candidate
    const cand = (resp.candidates ?? []).find((c, i) => (c.index ?? i) === 0);
    if (!cand) return out;
    this.sawCandidate = true;
    for (const p of cand.content?.parts ?? []) this.part(p, out);
    if (cand.finishReason) this.finishReason = cand.finishReason;
    return out;
  }

  private part(p: GeminiPart, out: OutputChange[]) {
    if (p.thought) {
      const text = typeof p.text === "string" ? p.text : "";
      if (!text && !p.thoughtSignature) return;
      const r = this.openAs("reasoning", out);
      if (text) {
        r.text += text;
        out.push({ kind: "summary", index: r.index, delta: text });
      }
      if (p.thoughtSignature) r.signature = p.thoughtSignature;
      return;
    }
    const call = toolCallOf(p, this.o);
    if (call) {
      this.close(out, "completed");
      this.addCall(call, out);
      return;
    }
    let piece = partText(p);
    if (piece === undefined || piece === "") return;
    const m = this.openAs("message", out);
    // an image gets its own paragraph (as in chat's appendText)
    if (p.inlineData && m.text && !m.text.endsWith("\n")) piece = "\n\n" + piece;
    m.text += piece;
    out.push({ kind: "text", index: m.index, delta: piece });
  }

  private addCall(call: ToolCall, out: OutputChange[]) {
    this.sawCall = true;
    if (this.o.claude && this.signed) {
      this.o.memory.remember(call.id, { thoughts: signedThought(this.signed.text, this.signed.signature) });
      this.signed = undefined;
    }
    const ns = this.o.namespaces.get(call.function.name);
    const item: FunctionCallItem = {
      id: newItemId("fc_"),
      type: "function_call",
      status: "in_progress",
      call_id: call.id,
      name: ns?.name ?? call.function.name,
      arguments: "",
      ...(ns ? { namespace: ns.namespace } : {}),
    };
    const index = this.items.push(item) - 1;
    out.push({ kind: "added", index, item: { ...item } });
    item.arguments = call.function.arguments;
    item.status = "completed";
    out.push({ kind: "arguments", index, delta: item.arguments });
    out.push({ kind: "done", index, item });
  }

  private openAs(kind: Open["kind"], out: OutputChange[]): Open {
    if (this.open?.kind === kind) return this.open;
    this.close(out, "completed");
    const item: OutputItem =
      kind === "reasoning"
        ? { id: newItemId("rs_"), type: "reasoning", summary: [], encrypted_content: null }
        : { id: newItemId("msg_"), type: "message", role: "assistant", status: "in_progress", content: [] };
    const index = this.items.push(item) - 1;
    out.push({ kind: "added", index, item: structuredClone(item) });
    this.open = { index, kind, text: "" };
    return this.open;
  }

  private close(out: OutputChange[], status: ItemStatus) {
    const o = this.open;
    if (!o) return;
    this.open = undefined;
    const item = this.items[o.index]!;
    if (item.type === "reasoning") {
      if (o.text) item.summary = [{ type: "summary_text", text: o.text }];
      if (this.o.claude && o.signature) {
        item.encrypted_content = encodeThought(o.text, o.signature);
        this.signed = { text: o.text, signature: o.signature };
      }
    } else if (item.type === "message") {
      item.status = status;
      item.content = [{ type: "output_text", text: o.text, annotations: [], logprobs: [] }];
    }
    out.push({ kind: "done", index: o.index, item });
  }

  /**
   * Closes the open item. A stream that ended without a finish reason throws (the route sends
   * response.failed); a whole answer without any candidate is upstream's fault too.
   */
  finish(stream: boolean): OutputChange[] {
    if (this.ended) return [];
    this.ended = true;
    const out: OutputChange[] = [];
    if (this.blocked && !this.finishReason && !this.sawCall) {
      this.close(out, "completed");
      const text = blockedText(this.blocked);
      const item: MessageItem = { id: newItemId("msg_"), type: "message", role: "assistant", status: "in_progress", content: [] };
      const index = this.items.push(item) - 1;
      out.push({ kind: "added", index, item: structuredClone(item) });
      out.push({ kind: "refusal", index, delta: text });
      item.status = "incomplete";
      item.content = [{ type: "refusal", refusal: text }];
      out.push({ kind: "done", index, item });
      return out;
    }
    if (!this.sawCandidate && !stream) throw new ApiError(502, "upstream returned no candidates", { reason: "empty_response" });
    if (stream && !this.finishReason)
      throw new ApiError(502, "upstream stream ended before the answer was finished", { reason: "stream_truncated" });
    this.close(out, this.outcome().status === "incomplete" ? "incomplete" : "completed");
    return out;
  }

  outcome(): Pick<ResponseObject, "status" | "incomplete_details"> {
    if (this.sawCall) return { status: "completed", incomplete_details: null };
    if (this.blocked && !this.finishReason) return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
    if (this.finishReason === "MAX_TOKENS") return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
    if (isFiltered(this.finishReason)) return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
    return { status: "completed", incomplete_details: null };
  }

  get tokens(): ResponsesUsage {
    return responsesUsage(this.usage);
  }
}

/** a whole Gemini answer → the Responses object (reasoning items keep encrypted_content: see clientView) */
export function toResponse(resp: GeminiResponse, base: ResponseBase, o: OutputOptions): ResponseObject {
  const b = new OutputBuilder(o);
  b.push(resp);
  b.finish(false);
  return responseObject(base, { ...b.outcome(), output: b.items, usage: b.tokens });
}
