// TypeBox schemas of the OpenAI request bodies. Loose where clients differ (extra fields are allowed
// and ignored), strict where a wrong value would silently change the answer. Integers use TypeBox's
// own Integer: Elysia's t.Integer also accepts numeric strings ("10"), which OpenAI rejects, and its
// transform made Elysia decode (walk and copy) every request body of the route.
import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";

const open = { additionalProperties: true } as const;

const ContentPart = t.Object(
  {
    type: t.String({ description: "text | image_url | input_audio | file" }),
    text: t.Optional(t.String()),
    refusal: t.Optional(t.String()),
    image_url: t.Optional(t.Union([t.String(), t.Object({ url: t.String(), detail: t.Optional(t.String()) }, open)])),
    input_audio: t.Optional(t.Object({ data: t.String(), format: t.String() }, open)),
    file: t.Optional(
      t.Object({ file_data: t.Optional(t.String()), filename: t.Optional(t.String()), file_id: t.Optional(t.String()) }, open),
    ),
  },
  open,
);

const ToolCall = t.Object(
  {
    id: t.String(),
    type: t.Optional(t.String()),
    function: t.Object({ name: t.String({ minLength: 1 }), arguments: t.Optional(t.String()) }, open),
  },
  open,
);

const Message = t.Object(
  {
    role: t.Union([
      t.Literal("system"),
      t.Literal("developer"),
      t.Literal("user"),
      t.Literal("assistant"),
      t.Literal("tool"),
      t.Literal("function"),
    ]),
    content: t.Optional(t.Union([t.String(), t.Array(ContentPart), t.Null()])),
    name: t.Optional(t.String()),
    tool_calls: t.Optional(t.Union([t.Array(ToolCall), t.Null()])),
    tool_call_id: t.Optional(t.String()),
    function_call: t.Optional(t.Union([t.Object({ name: t.String(), arguments: t.Optional(t.String()) }, open), t.Null()])),
    reasoning_content: t.Optional(t.Union([t.String(), t.Null()])),
  },
  open,
);

const FunctionDef = t.Object(
  {
    name: t.String({ minLength: 1, maxLength: 128 }),
    description: t.Optional(t.String()),
    parameters: t.Optional(t.Unknown({ description: "JSON Schema; cleaned to what Gemini accepts" })),
    strict: t.Optional(t.Union([t.Boolean(), t.Null()])),
  },
  open,
);

const Tool = t.Object(
  {
    type: t.String({ description: "function; web_search / google_search turn on Google Search grounding" }),
    function: t.Optional(FunctionDef),
  },
  open,
);

const ToolChoice = t.Union([
  t.Literal("none"),
  t.Literal("auto"),
  t.Literal("required"),
  t.Object({ type: t.Optional(t.String()), function: t.Object({ name: t.String() }, open) }, open),
]);

const ResponseFormat = t.Object(
  {
    type: t.Union([t.Literal("text"), t.Literal("json_object"), t.Literal("json_schema")]),
    json_schema: t.Optional(
      t.Object(
        {
          name: t.Optional(t.String()),
          description: t.Optional(t.String()),
          schema: t.Optional(t.Object({}, { ...open, description: "a JSON Schema (an object)" })),
          strict: t.Optional(t.Union([t.Boolean(), t.Null()])),
        },
        open,
      ),
    ),
  },
  open,
);

/** reasoning effort, as chat's reasoning_effort and Responses' reasoning.effort name it */
export const Effort = t.Union([
  t.Literal("none"),
  t.Literal("minimal"),
  t.Literal("low"),
  t.Literal("medium"),
  t.Literal("high"),
  t.Literal("xhigh"),
]);

export const ChatRequest = t.Object(
  {
    model: t.String({ minLength: 1, description: "any model from GET /v1/models, an alias, or a Gemini/Claude id" }),
    messages: t.Array(Message, { minItems: 1 }),
    stream: t.Optional(t.Union([t.Boolean(), t.Null()])),
    stream_options: t.Optional(t.Union([t.Object({ include_usage: t.Optional(t.Boolean()) }, open), t.Null()])),
    temperature: t.Optional(t.Union([t.Number({ minimum: 0, maximum: 2 }), t.Null()])),
    top_p: t.Optional(t.Union([t.Number({ minimum: 0, maximum: 1 }), t.Null()])),
    max_tokens: t.Optional(t.Union([Type.Integer({ minimum: 1 }), t.Null()])),
    max_completion_tokens: t.Optional(t.Union([Type.Integer({ minimum: 1 }), t.Null()])),
    n: t.Optional(t.Union([Type.Integer({ minimum: 1, maximum: 8 }), t.Null()])),
    stop: t.Optional(t.Union([t.String(), t.Array(t.String(), { maxItems: 5 }), t.Null()])),
    seed: t.Optional(t.Union([Type.Integer(), t.Null()])),
    presence_penalty: t.Optional(t.Union([t.Number({ minimum: -2, maximum: 2 }), t.Null()])),
    frequency_penalty: t.Optional(t.Union([t.Number({ minimum: -2, maximum: 2 }), t.Null()])),
    reasoning_effort: t.Optional(t.Union([...Effort.anyOf, t.Null()])),
    tools: t.Optional(t.Union([t.Array(Tool), t.Null()])),
    tool_choice: t.Optional(t.Union([ToolChoice, t.Null()])),
    functions: t.Optional(t.Union([t.Array(FunctionDef), t.Null()])),
    function_call: t.Optional(t.Union([t.Literal("none"), t.Literal("auto"), t.Object({ name: t.String() }, open), t.Null()])),
    response_format: t.Optional(t.Union([ResponseFormat, t.Null()])),
    parallel_tool_calls: t.Optional(t.Union([t.Boolean(), t.Null()])),
    user: t.Optional(t.String()),
    size: t.Optional(t.String({ description: "image models only: WxH or W:H → aspect ratio" })),
    quality: t.Optional(t.String({ description: "image models only: hd or high → 4K, medium → 2K" })),
  },
  {
    ...open,
    description: "OpenAI Chat Completions request. Unlisted fields are accepted and ignored.",
    // Swagger UI's "Try it out" starts from the first example
    examples: [{ model: "gemini-3-flash", messages: [{ role: "user", content: "Hello" }] }],
  },
);
export type ChatRequest = Static<typeof ChatRequest>;
export type ChatMessage = Static<typeof Message>;
export type ChatContentPart = Static<typeof ContentPart>;

export const ImagesRequest = t.Object(
  {
    prompt: t.String({ minLength: 1, maxLength: 32000 }),
    model: t.Optional(
      t.String({ minLength: 1, description: "default models.defaultImageModel; suffixes like -16x9, -4k set ratio and size" }),
    ),
    n: t.Optional(t.Union([Type.Integer({ minimum: 1, maximum: 10 }), t.Null()])),
    size: t.Optional(
      t.Union([
        t.String({ description: "WxH → nearest of 1:1 16:9 9:16 4:3 3:4 3:2 2:3 5:4 4:5 21:9; or W:H; unparsable → 1:1" }),
        t.Null(),
      ]),
    ),
    quality: t.Optional(t.Union([t.String({ description: "hd or high → 4K, medium → 2K, other → upstream default" }), t.Null()])),
    image_size: t.Optional(t.String({ description: "1K | 2K | 4K (wins over quality)" })),
    style: t.Optional(t.Union([t.String(), t.Null()])),
    response_format: t.Optional(t.Union([t.Literal("b64_json"), t.Literal("url"), t.Null()])),
    user: t.Optional(t.String()),
  },
  { ...open, description: "OpenAI Images request", examples: [{ prompt: "A lighthouse on a cliff at sunset", size: "1920x1080" }] },
);
export type ImagesRequest = Static<typeof ImagesRequest>;
