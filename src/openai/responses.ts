// OpenAI Responses: the response object's shapes and the small pieces both directions share.
// The request mapping is ./responses-input.ts, the answer mapping ./responses-output.ts, the SSE event
// sequence ./responses-stream.ts.
import { tokenCounts } from "../protocol/answer";
import { randomId } from "../protocol/reply";
import type { GeminiUsage } from "../upstream/types";
import type { ResponsesRequest } from "./responses-schemas";

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
export const newItemId = (prefix: "msg_" | "fc_" | "rs_") => randomId(prefix, 32);

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
