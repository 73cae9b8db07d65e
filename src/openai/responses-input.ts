// Request: a Responses body (plus the history of its previous_response_id) becomes a Chat Completions
// body, which chat's own mapper (./request.ts toGeminiRequest) turns into Gemini's request — so tools,
// function names, thought signatures, images, JSON mode and thinking budgets map exactly as on
// /v1/chat/completions. What the chat mapper reports about a field is renamed to the Responses field.
// Pure apart from the tool-call memory handed in.
import { ApiError, badRequest } from "../core/errors";
import type { RemoteSource } from "../protocol/remote";
import type { GeminiPart } from "../upstream/types";
import { remoteImageSources, toGeminiRequest, type ChatMapOptions, type MappedChat } from "./request";
import { signedThought } from "./response";
import type { InputItem, InputPart, ResponsesRequest, ResponsesTool } from "./responses-schemas";
import type { ChatContentPart, ChatMessage, ChatRequest } from "./schemas";
import { ToolCallMemory, type Remembered } from "./tool-memory";
import { decodeThought } from "./responses";

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
