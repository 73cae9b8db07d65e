// What the inference routes answer, as documented in /swagger/json: TypeBox schemas (JSON Schema) of
// each protocol's success and error bodies, with one example each. Documentation only: the routes do
// not validate their answers against these (that would cost time on every request); the OpenAPI test
// checks real answers against them instead.
import { Type as T, type TSchema } from "@sinclair/typebox";
import { ApiError, errorBody, type Family } from "../core/errors";

const open = { additionalProperties: true } as const;
const Int = T.Integer();
const Str = T.String();
const Opt = T.Optional;
const Nullable = (s: TSchema) => T.Union([s, T.Null()]);

// ---- errors: the shape of the protocol the path speaks (core/errors.ts renders them) ----

const ERRORS: Record<Family, TSchema> = {
  openai: T.Object(
    { error: T.Object({ message: Str, type: Str, param: Nullable(Str), code: Nullable(Str) }, open) },
    { description: "OpenAI's error shape" },
  ),
  anthropic: T.Object(
    { type: T.Literal("error"), error: T.Object({ type: Str, message: Str }, open) },
    { description: "Anthropic's error shape" },
  ),
  gemini: T.Object(
    { error: T.Object({ code: Int, message: Str, status: Str, details: Opt(T.Array(T.Unknown())) }, open) },
    { description: "Google's error shape (an upstream error body is passed on as Google sent it)" },
  ),
  plain: T.Object({ error: T.Object({ message: Str, code: Str }, open) }, { description: "the gateway's own error shape" }),
};

export const ERROR_SCHEMA_NAMES: Record<Family, string> = {
  openai: "OpenAIError",
  anthropic: "AnthropicError",
  gemini: "GeminiError",
  plain: "Error",
};

/** an error body as the gateway renders it (the example is produced by the same code as the answers) */
export function errorExample(family: Family, status: number): unknown {
  const message = status === 401 ? "missing or invalid API key" : status === 429 ? "all accounts are cooling down" : "invalid request";
  return errorBody(family, new ApiError(status, message, status === 400 ? { param: "messages", reason: "invalid_request" } : {}));
}

// ---- success bodies ----

const GeminiPart = T.Object({ text: Opt(Str), thought: Opt(T.Boolean()), thoughtSignature: Opt(Str) }, open);
const GeminiUsage = T.Object(
  { promptTokenCount: Int, candidatesTokenCount: Opt(Int), thoughtsTokenCount: Opt(Int), totalTokenCount: Int },
  open,
);
const GeminiResponse = T.Object(
  {
    candidates: T.Array(
      T.Object(
        {
          content: T.Object({ role: Opt(Str), parts: T.Array(GeminiPart) }, open),
          finishReason: Opt(Str),
          index: Opt(Int),
        },
        open,
      ),
    ),
    usageMetadata: Opt(GeminiUsage),
    modelVersion: Opt(Str),
    responseId: Opt(Str),
  },
  { ...open, description: "GenerateContentResponse; streamed as SSE `data:` frames (?alt=sse) or one JSON array of them" },
);
const GeminiModel = T.Object(
  {
    name: Str,
    version: Opt(Str),
    displayName: Opt(Str),
    description: Opt(Str),
    inputTokenLimit: Opt(Int),
    outputTokenLimit: Opt(Int),
    supportedGenerationMethods: Opt(T.Array(Str)),
  },
  open,
);

const OpenAIModel = T.Object({ id: Str, object: T.Literal("model"), created: Int, owned_by: Str }, open);
const ChatCompletion = T.Object(
  {
    id: Str,
    object: T.Literal("chat.completion"),
    created: Int,
    model: Str,
    choices: T.Array(
      T.Object(
        {
          index: Int,
          message: T.Object({ role: T.Literal("assistant"), content: Nullable(Str), reasoning_content: Opt(Nullable(Str)) }, open),
          finish_reason: Nullable(Str),
        },
        open,
      ),
    ),
    usage: Opt(T.Object({ prompt_tokens: Int, completion_tokens: Int, total_tokens: Int }, open)),
  },
  { ...open, description: "with `stream: true`: text/event-stream of chat.completion.chunk objects, then `data: [DONE]`" },
);
const OpenAIResponse = T.Object(
  {
    id: Str,
    object: T.Literal("response"),
    created_at: Int,
    status: Str,
    model: Str,
    output: T.Array(T.Object({ type: Str, id: Opt(Str) }, open)),
    usage: Opt(Nullable(T.Object({ input_tokens: Int, output_tokens: Int, total_tokens: Int }, open))),
  },
  { ...open, description: "with `stream: true`: text/event-stream of response.* events" },
);

const AnthropicMessage = T.Object(
  {
    id: Str,
    type: T.Literal("message"),
    role: T.Literal("assistant"),
    model: Str,
    content: T.Array(T.Object({ type: Str }, open)),
    stop_reason: Nullable(Str),
    stop_sequence: Opt(Nullable(Str)),
    usage: T.Object({ input_tokens: Int, output_tokens: Int }, open),
  },
  { ...open, description: "with `stream: true`: text/event-stream of message_start … message_stop events" },
);

/** documented success bodies, by component name, each with an example */
export const SUCCESS: Record<string, { schema: TSchema; example: unknown }> = {
  GeminiGenerateContentResponse: {
    schema: GeminiResponse,
    example: {
      candidates: [{ content: { role: "model", parts: [{ text: "Hello!" }] }, finishReason: "STOP", index: 0 }],
      usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 2, totalTokenCount: 3 },
      modelVersion: "gemini-2.5-flash",
      responseId: "97b579757c585c53ae63baa4",
    },
  },
  GeminiCountTokensResponse: {
    schema: T.Object({ totalTokens: Int }, open),
    example: { totalTokens: 12 },
  },
  GeminiModel: {
    schema: GeminiModel,
    example: {
      name: "models/gemini-2.5-flash",
      displayName: "gemini-2.5-flash",
      inputTokenLimit: 1048576,
      outputTokenLimit: 65536,
      supportedGenerationMethods: ["generateContent", "streamGenerateContent", "countTokens"],
    },
  },
  GeminiModelList: {
    schema: T.Object({ models: T.Array(GeminiModel), nextPageToken: Opt(Str) }, open),
    example: { models: [{ name: "models/gemini-2.5-flash", displayName: "gemini-2.5-flash" }] },
  },
  OpenAIModel: {
    schema: OpenAIModel,
    example: { id: "gemini-2.5-flash", object: "model", created: 1735689600, owned_by: "google" },
  },
  OpenAIModelList: {
    schema: T.Object({ object: T.Literal("list"), data: T.Array(OpenAIModel) }, open),
    example: { object: "list", data: [{ id: "gemini-2.5-flash", object: "model", created: 1735689600, owned_by: "google" }] },
  },
  ChatCompletion: {
    schema: ChatCompletion,
    example: {
      id: "chatcmpl-6711",
      object: "chat.completion",
      created: 1764374400,
      model: "gemini-2.5-flash",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello!" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    },
  },
  ImagesResponse: {
    schema: T.Object(
      { created: Int, data: T.Array(T.Object({ b64_json: Opt(Str), url: Opt(Str), revised_prompt: Opt(Str) }, open)) },
      open,
    ),
    example: { created: 1764374400, data: [{ b64_json: "iVBORw0KGgo…", revised_prompt: "a lighthouse at dusk" }] },
  },
  OpenAIResponse: {
    schema: OpenAIResponse,
    example: {
      id: "resp_d5abf8bb",
      object: "response",
      created_at: 1764374400,
      status: "completed",
      model: "gemini-2.5-flash",
      output: [{ id: "msg_56d9", type: "message", role: "assistant", content: [{ type: "output_text", text: "Hello!" }] }],
      usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 },
    },
  },
  OpenAIResponseDeleted: {
    schema: T.Object({ id: Str, object: T.Literal("response"), deleted: T.Literal(true) }),
    example: { id: "resp_d5abf8bb", object: "response", deleted: true },
  },
  Transcription: {
    schema: T.Object({ text: Str }, { ...open, description: "json; verbose_json adds task, language, duration, segments" }),
    example: { text: "Hello from the recording." },
  },
  AnthropicMessage: {
    schema: AnthropicMessage,
    example: {
      id: "msg_db3a171e",
      type: "message",
      role: "assistant",
      model: "gemini-2.5-flash",
      content: [{ type: "text", text: "Hello!" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 1, output_tokens: 2 },
    },
  },
  AccountsExport: {
    schema: T.Object(
      {
        version: Int,
        exportedAt: Str,
        accounts: T.Array(T.Object({ email: Str, refreshToken: Str, name: Opt(Str), projectId: Opt(Str) }, open)),
      },
      { ...open, description: "the accounts file `accounts import` and POST /admin/accounts/import read (it holds refresh tokens)" },
    ),
    example: { version: 1, exportedAt: "2026-11-29T02:04:32.818Z", accounts: [{ email: "you@example.com", refreshToken: "1//0g…" }] },
  },
  Health: {
    schema: T.Object({
      status: T.Literal("ok"),
      version: Str,
      accounts: T.Object({ total: Int, available: Int }),
      state: Opt(
        T.Union([T.Literal("shared"), T.Literal("degraded")], {
          description: "with shared state (Redis) only: degraded = Redis unreachable, serving from the last known state",
        }),
      ),
      client: T.Object(
        {
          userAgent: Str,
          version: Str,
          source: T.Union([T.Literal("configured"), T.Literal("discovered"), T.Literal("fallback")]),
          versionUrl: Opt(Str),
          checkedAt: Opt(Str),
          note: Opt(Str),
        },
        { description: "the client identity sent to Google and where its version came from" },
      ),
    }),
    example: {
      status: "ok",
      version: "0.1.0",
      accounts: { total: 2, available: 2 },
      client: { userAgent: "antigravity/1.15.8 linux/amd64", version: "1.15.8", source: "discovered" },
    },
  },
};

export const ERROR_SCHEMAS: Record<string, TSchema> = Object.fromEntries(
  (Object.keys(ERRORS) as Family[]).map((f) => [ERROR_SCHEMA_NAMES[f], ERRORS[f]]),
);
