// Completes the generated OpenAPI document (/swagger/json): every operation gets its success answer
// where its route declares none, and its error answers (4XX, 5XX) in the shape of the protocol its path
// speaks. Done on the document rather than as route `response` schemas, which Elysia would check on
// every request.
import { familyOf, type Family } from "../core/errors";
import { ERROR_SCHEMA_NAMES, ERROR_SCHEMAS, SUCCESS, errorExample } from "./doc-schemas";

type Doc = { paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>; components?: Record<string, any> };
type Media = Record<string, { schema: object; example?: unknown }>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string): Media => ({ "application/json": { schema: ref(name), example: SUCCESS[name]!.example } });
const stream = (example: string): Media => ({ "text/event-stream": { schema: { type: "string" }, example } });
const answer = (description: string, content?: Media) => ({ description, ...(content ? { content } : {}) });

const GEMINI_ACTION: Media = {
  "application/json": {
    schema: { oneOf: [ref("GeminiGenerateContentResponse"), ref("GeminiCountTokensResponse")] },
    example: SUCCESS.GeminiGenerateContentResponse!.example,
  },
  ...stream('data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Hello!"}]},"finishReason":"STOP","index":0}]}\n\n'),
};

/** success answers of the routes that declare none, by "method path" as the document names them */
const SUCCESS_OF: Record<string, object> = {
  "get /healthz": answer("liveness and account counts", json("Health")),
  "get /health": answer("liveness and account counts", json("Health")),
  "get /metrics": answer("Prometheus text exposition format", {
    "text/plain": { schema: { type: "string" }, example: 'switchyard_open_streams 0\nswitchyard_accounts{state="active"} 2\n' },
  }),
  "head /": answer("the gateway is there (no body)"),
  "get /oauth-callback": answer("an HTML page saying whether the account was added", { "text/html": { schema: { type: "string" } } }),
  "get /admin/accounts/export": answer("every account with its refresh token", json("AccountsExport")),
  "get /v1beta/models": answer("the models the pool can serve", json("GeminiModelList")),
  "get /v1beta/models/{model}": answer("one model", json("GeminiModel")),
  "post /v1beta/models/{model}": answer("the answer (countTokens: the count; ?alt=sse: a stream)", GEMINI_ACTION),
  "post /v1/models/{model}": answer("the answer (countTokens: the count; ?alt=sse: a stream)", GEMINI_ACTION),
  "get /v1/models": answer("the models the pool can serve", json("OpenAIModelList")),
  "get /v1/models/{model}": answer("one model", json("OpenAIModel")),
  "post /v1/chat/completions": answer("the completion, or with stream: true its chunks", {
    ...json("ChatCompletion"),
    ...stream('data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello!"}}]}\n\ndata: [DONE]\n\n'),
  }),
  "post /v1/images/generations": answer("the images", json("ImagesResponse")),
  "post /v1/images/edits": answer("the images", json("ImagesResponse")),
  "post /v1/responses": answer("the response, or with stream: true its events", {
    ...json("OpenAIResponse"),
    ...stream('event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"Hello!"}\n\n'),
  }),
  "get /v1/responses/{id}": answer("a stored response", json("OpenAIResponse")),
  "delete /v1/responses/{id}": answer("the response was deleted", json("OpenAIResponseDeleted")),
  "post /v1/audio/transcriptions": answer("the transcript (text, srt and vtt formats: text/plain)", {
    ...json("Transcription"),
    "text/plain": { schema: { type: "string" }, example: "Hello from the recording." },
  }),
  "post /v1/messages": answer("the message, or with stream: true its events", {
    ...json("AnthropicMessage"),
    ...stream(
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello!"}}\n\n',
    ),
  }),
};

/** examples for success answers the routes declare themselves */
const EXAMPLE_OF: Record<string, unknown> = {
  "post /v1/messages/count_tokens": { input_tokens: 12 },
  "get /": { name: "switchyard", version: "0.1.0", docs: "/swagger", health: "/healthz" },
  "get /readyz": { status: "ready", accounts: { total: 2, available: 2 } },
};

const FAMILIES: Family[] = ["openai", "anthropic", "gemini", "plain"];

/** components.responses: one 4XX and one 5XX answer per error shape, with examples the error code renders */
function errorResponses() {
  const out: Record<string, object> = {};
  for (const f of FAMILIES) {
    const name = ERROR_SCHEMA_NAMES[f];
    const media = (statuses: number[]) => ({
      "application/json": {
        schema: ref(name),
        examples: Object.fromEntries(statuses.map((s) => [`status${s}`, { summary: `HTTP ${s}`, value: errorExample(f, s) }])),
      },
    });
    out[`${name}4XX`] = {
      description: "a client error: bad request, missing key, unknown model, rate limit (Retry-After)",
      content: media([400, 401, 429]),
    };
    out[`${name}5XX`] = { description: "the gateway or every account upstream failed", content: media([503]) };
  }
  return out;
}

const done = new WeakSet<object>();

/** adds the answers above to `doc` in place (once per document object) */
export function completeResponses(doc: Doc): void {
  if (done.has(doc)) return;
  done.add(doc);
  const components = (doc.components ??= {});
  components.schemas = { ...components.schemas, ...ERROR_SCHEMAS, ...schemasOf(SUCCESS) };
  components.responses = { ...components.responses, ...errorResponses() };
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!op || typeof op !== "object" || !("operationId" in op)) continue;
      tidyFileFields((op as { requestBody?: unknown }).requestBody);
      // the error shape is chosen by the request's path as the client sends it: a POST to a model is
      // a Gemini action (`{model}:generateContent`), also under /v1/models
      const name = ERROR_SCHEMA_NAMES[familyOf(path.replace("{model}", method === "post" ? "m:action" : "m"))];
      const responses = (op.responses ??= {});
      const codes = Object.keys(responses);
      const success = SUCCESS_OF[`${method} ${path}`];
      if (!codes.some((c) => c.startsWith("2")) && success) responses["200"] = success;
      const declared = (responses["200"] as { content?: Media } | undefined)?.content?.["application/json"];
      if (declared && declared.example === undefined && `${method} ${path}` in EXAMPLE_OF)
        declared.example = EXAMPLE_OF[`${method} ${path}`];
      if (!codes.some((c) => c.startsWith("4"))) responses["4XX"] = { $ref: `#/components/responses/${name}4XX` };
      if (!codes.some((c) => c.startsWith("5"))) responses["5XX"] = { $ref: `#/components/responses/${name}5XX` };
    }
  }
}

const schemasOf = (m: Record<string, { schema: object }>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.schema]));

/**
 * Elysia marks its File schemas with `elysiaMeta` and a `default` naming the kind ("File", "Files"):
 * neither is OpenAPI (the lint refuses the first), and the fields already say `format: binary`.
 */
function tidyFileFields(node: unknown): void {
  if (!node || typeof node !== "object") return;
  const o = node as Record<string, unknown>;
  if ("elysiaMeta" in o || o.format === "binary") {
    delete o.elysiaMeta;
    if (o.default === "File" || o.default === "Files") delete o.default;
  }
  for (const v of Object.values(o)) tidyFileFields(v);
}
