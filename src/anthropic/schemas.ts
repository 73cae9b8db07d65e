// TypeBox schemas for the Anthropic Messages surface. They check the envelope (types, required
// fields, enums); content blocks are checked by the request mapper, which names the exact block.
// Unknown fields are allowed: Claude Code sends newer keys (context_management, output_config, …).
// Integers use TypeBox's own Integer: Elysia's t.Integer also accepts numeric strings ("10"), which
// Anthropic rejects.
import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";

const Block = t.Object({ type: t.String({ minLength: 1 }) }, { additionalProperties: true });

const Message = t.Object(
  {
    // "system" mid-conversation: Claude Code sends it (anthropic-beta mid-conversation-system)
    role: t.Union([t.Literal("user"), t.Literal("assistant"), t.Literal("system")], { description: "user, assistant or system" }),
    content: t.Union([t.String(), t.Array(Block)], { description: "a string or an array of content blocks" }),
  },
  { additionalProperties: true },
);

const Tool = t.Object(
  {
    name: t.String({ minLength: 1 }),
    type: t.Optional(t.String()),
    description: t.Optional(t.String()),
    input_schema: t.Optional(t.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: true },
);

const ToolChoice = t.Object(
  {
    type: t.Union([t.Literal("auto"), t.Literal("any"), t.Literal("tool"), t.Literal("none")]),
    name: t.Optional(t.String({ minLength: 1 })),
    disable_parallel_tool_use: t.Optional(t.Boolean()),
  },
  { additionalProperties: true },
);

const Thinking = t.Object(
  {
    type: t.Union([t.Literal("enabled"), t.Literal("disabled"), t.Literal("adaptive")]),
    budget_tokens: t.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: true },
);

const common = {
  model: t.String({ minLength: 1, description: "a Claude or Gemini model id, or a configured alias" }),
  messages: t.Array(Message, { minItems: 1 }),
  system: t.Optional(t.Union([t.String(), t.Array(Block)])),
  tools: t.Optional(t.Array(Tool)),
  tool_choice: t.Optional(ToolChoice),
  thinking: t.Optional(Thinking),
  output_config: t.Optional(t.Object({ effort: t.Optional(t.String()) }, { additionalProperties: true })),
};

export const MessagesBody = t.Object(
  {
    ...common,
    max_tokens: Type.Integer({ minimum: 1 }),
    stream: t.Optional(t.Boolean()),
    temperature: t.Optional(t.Number({ minimum: 0, maximum: 2 })),
    top_p: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
    top_k: t.Optional(Type.Integer({ minimum: 0 })),
    stop_sequences: t.Optional(t.Array(t.String())),
    metadata: t.Optional(t.Object({ user_id: t.Optional(t.Union([t.String(), t.Null()])) }, { additionalProperties: true })),
  },
  // the body Swagger's "Try it out" starts from
  {
    additionalProperties: true,
    examples: [{ model: "claude-sonnet-4-6", max_tokens: 256, messages: [{ role: "user", content: "Hello" }] }],
  },
);

export const CountTokensBody = t.Object(common, {
  additionalProperties: true,
  examples: [{ model: "claude-sonnet-4-6", messages: [{ role: "user", content: "Hello" }] }],
});

export type MessagesRequest = Static<typeof MessagesBody>;
export type CountTokensRequest = Static<typeof CountTokensBody>;
/** what the mapper needs: both bodies fit */
export type AnyMessagesRequest = CountTokensRequest & Partial<Omit<MessagesRequest, keyof CountTokensRequest>>;

export const CountTokensResult = t.Object({ input_tokens: Type.Integer() });
