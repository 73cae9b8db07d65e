// Gemini GenerateContentResponse → OpenAI chat.completion (and the pieces the stream mapper shares:
// finish reasons, usage, tool calls, images as markdown). Pure apart from recording tool-call
// signatures in the memory handed in.
import { ApiError } from "../core/errors";
import { blockReason, isFiltered, tokenCounts } from "../protocol/answer";
import { restoreArgTypes, restoreJsonText } from "../upstream/json-schema";
import { markdownImage } from "../protocol/media";
import { randomId } from "../protocol/reply";
import type { GeminiPart, GeminiResponse, GeminiUsage } from "../upstream/types";
import type { ToolCallMemory } from "./tool-memory";

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

export interface ResponseOptions {
  id: string;
  /** the model name the client asked for */
  model: string;
  created: number;
  toolNames: Map<string, string>;
  toolSchemas: Map<string, unknown>;
  /** the client's json_schema for the answer (upstream got a cleaned one: see restoreJsonText) */
  answerSchema?: unknown;
  /** parallel_tool_calls: false — the first tool call of an answer only (Google has no such switch) */
  oneToolCall?: boolean;
  /**
   * the request declared `functions` (the API before tools): its one call is answered as
   * message.function_call with finish_reason "function_call", as such clients read it
   */
  legacyFunctions?: boolean;
  memory: ToolCallMemory;
  /** Claude: remember the signed thoughts of a turn that made tool calls */
  claude?: boolean;
  newCallId?: () => string;
}

export const newCallId = () => randomId("call_");
export const newCompletionId = () => randomId("chatcmpl-", 32);

/** Gemini finishReason → OpenAI finish_reason (a tool call always wins; a legacy function call says so) */
export function finishReason(
  reason: string | undefined,
  sawToolCall: boolean,
  legacy = false,
): "stop" | "length" | "tool_calls" | "function_call" | "content_filter" {
  if (sawToolCall) return legacy ? "function_call" : "tool_calls";
  if (reason === "MAX_TOKENS") return "length";
  if (isFiltered(reason)) return "content_filter";
  return "stop";
}

/** OpenAI counts reasoning inside completion_tokens; Gemini reports thoughts apart */
export function chatUsage(u: GeminiUsage | undefined): ChatUsage {
  const t = tokenCounts(u);
  return {
    prompt_tokens: t.prompt,
    completion_tokens: t.output,
    total_tokens: t.total,
    prompt_tokens_details: { cached_tokens: t.cached },
    completion_tokens_details: { reasoning_tokens: t.thoughts },
  };
}

/** visible text of a non-thought part: text, an image as markdown, code and its result as blocks */
export function partText(p: GeminiPart): string | undefined {
  if (typeof p.text === "string" && !p.thought) return p.text;
  if (p.inlineData?.data) return markdownImage(p.inlineData.mimeType, p.inlineData.data);
  const code = p.executableCode as { language?: string; code?: string } | undefined;
  if (code?.code) return `\n\`\`\`${(code.language ?? "").toLowerCase().replace("language_unspecified", "")}\n${code.code}\n\`\`\`\n`;
  const result = p.codeExecutionResult as { output?: string } | undefined;
  if (result?.output !== undefined) return `\n\`\`\`\n${result.output}\n\`\`\`\n`;
  return undefined;
}

/** join visible pieces; an image gets its own paragraph */
export function appendText(acc: string, piece: string, isImage: boolean): string {
  if (!acc) return piece;
  return isImage && !acc.endsWith("\n") ? `${acc}\n\n${piece}` : acc + piece;
}

/** functionCall part → OpenAI tool call, remembering its signature under the call id */
export function toolCallOf(p: GeminiPart, o: ResponseOptions): ToolCall | undefined {
  const fc = p.functionCall;
  if (!fc) return undefined;
  const id = fc.id || (o.newCallId ?? newCallId)();
  const name = o.toolNames.get(fc.name) ?? fc.name;
  const schema = o.toolSchemas.get(name);
  const args = schema === undefined ? (fc.args ?? {}) : restoreArgTypes(fc.args ?? {}, schema);
  const sig = p.thoughtSignature ?? (p.thought_signature as string | undefined);
  if (sig) o.memory.remember(id, { signature: sig });
  return { id, type: "function", function: { name, arguments: JSON.stringify(args) } };
}

/** Claude's signed thinking, as one part to replay before the turn's tool calls */
export function signedThought(text: string, signature: string | undefined): GeminiPart[] {
  return signature ? [{ text, thought: true, thoughtSignature: signature }] : [];
}

export function toChatCompletion(resp: GeminiResponse, o: ResponseOptions) {
  const candidates = resp.candidates ?? [];
  const block = blockReason(resp);
  if (!candidates.length && !block) throw new ApiError(502, "upstream returned no candidates", { reason: "empty_response" });

  const choices = candidates.map((c, i) => {
    let content = "";
    let reasoning = "";
    let thoughtSig: string | undefined;
    const toolCalls: ToolCall[] = [];
    for (const p of c.content?.parts ?? []) {
      if (p.thought) {
        if (typeof p.text === "string") reasoning += p.text;
        if (p.thoughtSignature) thoughtSig = p.thoughtSignature;
        continue;
      }
      const call = toolCallOf(p, o);
      if (call) {
        if ((!o.oneToolCall && !o.legacyFunctions) || !toolCalls.length) toolCalls.push(call);
        continue;
      }
      const piece = partText(p);
      if (piece !== undefined) content = appendText(content, piece, !!p.inlineData);
    }
    if (o.claude && toolCalls.length && thoughtSig) o.memory.remember(toolCalls[0]!.id, { thoughts: signedThought(reasoning, thoughtSig) });
    if (content && o.answerSchema !== undefined) content = restoreJsonText(content, o.answerSchema);
    const message: Record<string, unknown> = { role: "assistant", content: content || (toolCalls.length ? null : "") };
    if (reasoning) message.reasoning_content = reasoning;
    if (toolCalls.length && o.legacyFunctions) message.function_call = toolCalls[0]!.function;
    else if (toolCalls.length) message.tool_calls = toolCalls;
    message.refusal = null;
    const finish = finishReason(c.finishReason, toolCalls.length > 0, o.legacyFunctions);
    return { index: c.index ?? i, message, logprobs: null, finish_reason: finish };
  });
  if (!choices.length) {
    choices.push({
      index: 0,
      message: { role: "assistant", content: null, refusal: `The prompt was blocked by the upstream safety filter (${block}).` },
      logprobs: null,
      finish_reason: "content_filter",
    });
  }
  return {
    id: o.id,
    object: "chat.completion" as const,
    created: o.created,
    model: o.model,
    choices,
    usage: chatUsage(resp.usageMetadata),
  };
}
