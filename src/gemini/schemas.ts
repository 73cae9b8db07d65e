// TypeBox schemas for the Gemini-native routes. Bodies are validated loosely (real SDK bodies carry
// many optional fields we pass through) after snake_case → camelCase normalisation.
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { Type as T, type TSchema } from "@sinclair/typebox";
import { validationToApiError } from "../core/validation";

const Obj = (description?: string) => T.Object({}, { additionalProperties: true, description });

const Part = Obj("text, inlineData, fileData, functionCall, functionResponse, thought, thoughtSignature, …");
const Content = T.Object(
  { role: T.Optional(T.String({ description: '"user" or "model"' })), parts: T.Array(Part) },
  { additionalProperties: true },
);

const fields = {
  systemInstruction: T.Optional(T.Union([T.Partial(Content), T.String()])),
  tools: T.Optional(T.Array(Obj("functionDeclarations, googleSearch, codeExecution, …"))),
  toolConfig: T.Optional(Obj()),
  generationConfig: T.Optional(Obj("temperature, topP, topK, maxOutputTokens, thinkingConfig, responseMimeType, …")),
  safetySettings: T.Optional(T.Array(Obj())),
  cachedContent: T.Optional(T.String()),
};

/** generateContent / streamGenerateContent body (after normalisation). */
export const GenerateContentRequest = T.Object({ contents: T.Array(Content, { minItems: 1 }), ...fields }, { additionalProperties: true });

/** countTokens body: `contents`, or a whole `generateContentRequest`. */
export const CountTokensRequest = T.Object(
  {
    contents: T.Optional(T.Array(Content)),
    generateContentRequest: T.Optional(T.Object({ contents: T.Array(Content) }, { additionalProperties: true })),
  },
  { additionalProperties: true },
);

/**
 * The body as /swagger documents it; each action is checked precisely by the handler. The fields
 * have the types the server accepts, so Swagger's default body is a valid one.
 */
export const ModelActionBody = T.Object(
  {
    contents: T.Optional(T.Array(Content, { description: "the conversation (generateContent, streamGenerateContent, countTokens)" })),
    generateContentRequest: T.Optional(Obj("countTokens only: a whole GenerateContentRequest")),
    ...fields,
  },
  {
    additionalProperties: true,
    description: "A Gemini GenerateContentRequest; snake_case field names are accepted too",
    examples: [{ contents: [{ role: "user", parts: [{ text: "Hello" }] }] }],
  },
);

export const ListQuery = T.Object(
  {
    pageSize: T.Optional(T.String({ description: "items per page (max 1000); omit for the whole list" })),
    pageToken: T.Optional(T.String({ description: "nextPageToken from the previous page" })),
  },
  { additionalProperties: true },
);

export const ModelActionQuery = T.Object(
  { alt: T.Optional(T.String({ description: '"sse" → text/event-stream; otherwise a streamed JSON array' })) },
  { additionalProperties: true },
);

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

/** Throws a 400 naming the first offending field ("contents[0].parts"), like route validation does. */
export function check(schema: TSchema, value: unknown): void {
  let c = compiled.get(schema);
  if (!c) compiled.set(schema, (c = TypeCompiler.Compile(schema)));
  if (c.Check(value)) return; // the fast path: errors are only collected for bad input
  const first = c.Errors(value).First();
  if (first) throw validationToApiError({ valueError: first });
}
