// TypeBox schemas of the OpenAI Responses request (POST /v1/responses). Loose where clients differ
// (extra fields are accepted and ignored: Codex sends client_metadata, prompt_cache_key …), strict where
// a wrong value would silently change the answer. Item and tool types are checked by the mapper
// (./responses.ts), which names the offending field: a TypeBox union over dozens of item kinds would
// only say "expected union value".
import { Type, type TSchema } from "@sinclair/typebox";
import { t, type Static } from "elysia";
import { Effort } from "./schemas";

const open = { additionalProperties: true } as const;
const nullable = <T extends TSchema>(s: T) => t.Optional(t.Union([s, t.Null()]));

const ContentPart = t.Object(
  {
    type: t.String({ description: "input_text | input_image | input_file | input_audio (user); output_text | refusal (assistant)" }),
    text: t.Optional(t.String()),
    refusal: t.Optional(t.String()),
    image_url: t.Optional(t.Union([t.String(), t.Null()], { description: "a data: URI or an http(s) URL" })),
    file_id: t.Optional(t.Union([t.String(), t.Null()])),
    file_data: t.Optional(t.Union([t.String(), t.Null()], { description: "a data: URI" })),
    file_url: t.Optional(t.Union([t.String(), t.Null()])),
    filename: t.Optional(t.Union([t.String(), t.Null()])),
    detail: t.Optional(t.Union([t.String(), t.Null()])),
    input_audio: t.Optional(t.Object({ data: t.String(), format: t.String() }, open)),
  },
  open,
);

const InputItem = t.Object(
  {
    type: t.Optional(
      t.String({ description: "message (the default when role is set) | function_call | function_call_output | reasoning" }),
    ),
    id: t.Optional(t.Union([t.String(), t.Null()])),
    role: t.Optional(t.String({ description: "user | assistant | system | developer" })),
    content: t.Optional(t.Union([t.String(), t.Array(ContentPart), t.Null()])),
    status: t.Optional(t.Union([t.String(), t.Null()])),
    call_id: t.Optional(t.String()),
    name: t.Optional(t.String()),
    namespace: t.Optional(t.Union([t.String(), t.Null()])),
    arguments: t.Optional(t.String()),
    output: t.Optional(t.Union([t.String(), t.Array(ContentPart)])),
    summary: t.Optional(t.Array(t.Object({ type: t.Optional(t.String()), text: t.String() }, open))),
    encrypted_content: t.Optional(t.Union([t.String(), t.Null()])),
  },
  open,
);

const Tool = t.Object(
  {
    type: t.String({ description: "function, or namespace (a group of functions); built-in OpenAI tools are refused" }),
    name: t.Optional(t.String({ minLength: 1, maxLength: 128 })),
    description: t.Optional(t.Union([t.String(), t.Null()])),
    parameters: t.Optional(t.Unknown({ description: "JSON Schema; cleaned to what Gemini accepts" })),
    strict: t.Optional(t.Union([t.Boolean(), t.Null()])),
    tools: t.Optional(t.Array(t.Unknown(), { description: "namespace only: its function tools" })),
  },
  open,
);

const ToolChoice = t.Union([
  t.Literal("none"),
  t.Literal("auto"),
  t.Literal("required"),
  t.Object({ type: t.String(), name: t.Optional(t.String()), namespace: t.Optional(t.String()) }, open),
]);

const TextFormat = t.Object(
  {
    type: t.Union([t.Literal("text"), t.Literal("json_object"), t.Literal("json_schema")]),
    name: t.Optional(t.String()),
    description: t.Optional(t.String()),
    schema: t.Optional(t.Object({}, { ...open, description: "a JSON Schema (an object)" })),
    strict: t.Optional(t.Union([t.Boolean(), t.Null()])),
  },
  open,
);

export const ResponsesRequest = t.Object(
  {
    model: t.String({ minLength: 1, description: "any model from GET /v1/models, an alias, or a Gemini/Claude id" }),
    input: t.Optional(t.Union([t.String(), t.Array(InputItem)], { description: "a string (one user message) or a list of items" })),
    instructions: nullable(t.String({ description: "the system instruction (not carried over from previous_response_id)" })),
    previous_response_id: nullable(t.String({ minLength: 1 })),
    stream: nullable(t.Boolean()),
    store: nullable(t.Boolean({ description: "default true: kept in memory (bounded) for previous_response_id" })),
    tools: t.Optional(t.Array(Tool)),
    tool_choice: t.Optional(ToolChoice),
    parallel_tool_calls: nullable(t.Boolean()),
    max_output_tokens: nullable(Type.Integer({ minimum: 1 })),
    temperature: nullable(t.Number({ minimum: 0, maximum: 2 })),
    top_p: nullable(t.Number({ minimum: 0, maximum: 1 })),
    // a top-level null means absent (the route drops it before validation), so a bad nested field is
    // named by its own path rather than by a union with null
    reasoning: t.Optional(
      t.Object(
        {
          effort: nullable(Effort),
          summary: t.Optional(t.Union([t.String(), t.Null()])),
          generate_summary: t.Optional(t.Union([t.String(), t.Null()])),
        },
        open,
      ),
    ),
    text: t.Optional(t.Object({ format: t.Optional(TextFormat), verbosity: t.Optional(t.Union([t.String(), t.Null()])) }, open)),
    include: nullable(t.Array(t.String())),
    metadata: t.Optional(t.Record(t.String(), t.String({ maxLength: 512 }), { maxProperties: 16 })),
    user: t.Optional(t.String()),
    background: nullable(t.Boolean()),
    truncation: nullable(t.Union([t.Literal("auto"), t.Literal("disabled")])),
  },
  {
    ...open,
    description: "OpenAI Responses request. Unlisted fields are accepted and ignored.",
    examples: [{ model: "gemini-3-flash", input: "Hello" }],
  },
);
export type ResponsesRequest = Static<typeof ResponsesRequest>;

/** before validation: a top-level field sent as null is treated as absent (OpenAI's SDKs accept null for every optional field) */
export function dropNullFields(body: unknown): void {
  if (!body || typeof body !== "object" || Array.isArray(body)) return;
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (b[k] === null) delete b[k];
}
export type InputItem = Static<typeof InputItem>;
export type InputPart = Static<typeof ContentPart>;
export type ResponsesTool = Static<typeof Tool>;
