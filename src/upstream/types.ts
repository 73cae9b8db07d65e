// Types shared by the protocol routes and the pool: Gemini's GenerateContent shapes (loose — the
// protocol mappers own the details) and the Gateway, the one door from a route to Google.

export interface GeminiPart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType?: string; fileUri: string };
  functionCall?: { name: string; args?: Record<string, unknown>; id?: string };
  functionResponse?: { name: string; response: Record<string, unknown>; id?: string };
  [k: string]: unknown;
}

export interface GeminiContent {
  role?: "user" | "model" | string;
  parts: GeminiPart[];
}

export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: GeminiContent;
  tools?: Record<string, unknown>[];
  toolConfig?: Record<string, unknown>;
  generationConfig?: Record<string, unknown>;
  safetySettings?: unknown[];
  [k: string]: unknown;
}

export interface GeminiUsage {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  totalTokenCount?: number;
}

export interface GeminiCandidate {
  content?: GeminiContent;
  finishReason?: string;
  index?: number;
  [k: string]: unknown;
}

/** Google's GenerateContentResponse (the `response` inside the v1internal envelope). */
export interface GeminiResponse {
  candidates?: GeminiCandidate[];
  usageMetadata?: GeminiUsage;
  modelVersion?: string;
  responseId?: string;
  promptFeedback?: unknown;
  [k: string]: unknown;
}

export type RequestType = "agent" | "image_gen";

export interface GenerateArgs {
  /** the model the client asked for, before mapping (a leading "models/" is tolerated) */
  model: string;
  request: GeminiRequest;
  /** sticky-session key; undefined → no stickiness for this request */
  sessionKey?: string;
  /** client disconnect / deadline */
  signal?: AbortSignal;
  /** default: "image_gen" for image models, else "agent" */
  requestType?: RequestType;
}

export interface Served {
  accountId: string;
  accountEmail: string;
  /** the upstream model actually used (after aliases and the built-in table) */
  mappedModel: string;
}

export interface UnaryResult extends Served {
  response: GeminiResponse;
}

export interface StreamResult extends Served {
  /**
   * Unwrapped upstream chunks as they arrive. Throws ApiError if upstream fails mid-stream.
   * Breaking out of the loop (or the signal aborting) cancels the upstream request.
   */
  chunks: AsyncIterable<GeminiResponse>;
}

export interface CountResult extends Served {
  totalTokens: number;
}

/**
 * What a protocol route calls. Picks an account (scheduler), maps the model, wraps the v1internal
 * envelope, refreshes tokens, retries retryable failures on other accounts (before the first byte),
 * and throws ApiError (status, message, retryAfter, upstreamBody) when it cannot serve.
 */
export interface Gateway {
  generate(args: GenerateArgs): Promise<UnaryResult>;
  /** resolves once upstream answered 200 for the stream; failures before that are retried or thrown */
  stream(args: GenerateArgs): Promise<StreamResult>;
  countTokens(args: GenerateArgs): Promise<CountResult>;
}
