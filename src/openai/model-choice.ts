// Which upstream model a chat or Responses request means, and how it is called: one decision for both.
import { isClaudeModel, isImageModel, type ModelCatalog } from "../models/catalog";
import { explicitSession, sessionFromCacheKey, sessionFromConversation } from "../protocol/session";
import { parseImageModel, type ImageModel } from "./images";
import type { ChatMapOptions, MappedChat } from "./request";
import type { ToolCallMemory } from "./tool-memory";
import type { InlineData } from "../protocol/media";

export interface ModelChoice {
  /** the name the client asked for, without image options */
  clientModel: string;
  upstream: string;
  image: ImageModel | undefined;
  claude: boolean;
  thinkingModel: boolean;
}

export function chooseModel(catalog: ModelCatalog, requested: string): ModelChoice {
  const resolved = catalog.resolve(requested).model;
  const image = isImageModel(requested) || isImageModel(resolved) ? parseImageModel(requested) : undefined;
  const clientModel = image?.model ?? requested;
  // an image name's suffixes (-16x9, -4k) are options, not part of the model: resolve the bare name
  const upstream = image && clientModel !== requested ? catalog.resolve(clientModel).model : resolved;
  const claude = isClaudeModel(upstream);
  // thinks unless told otherwise: a Claude "-thinking" id, or a Gemini model that supports thinking
  // (claude-sonnet-4-6 supports thinking but answers plainly unless asked)
  const thinkingModel = /thinking/i.test(upstream) || (!claude && !!catalog.get(upstream)?.thinking);
  return { clientModel, upstream, image, claude, thinkingModel };
}

/**
 * the gateway call for a mapped request: the model names, and the session (X-Session-Id, else the
 * body's prompt_cache_key, else the conversation's fingerprint)
 */
export function callArgs(choice: ModelChoice, mapped: MappedChat, request: Request, promptCacheKey?: unknown) {
  return {
    model: choice.clientModel,
    upstreamModel: choice.upstream,
    request: mapped.request,
    sessionKey:
      explicitSession(request.headers) ??
      sessionFromCacheKey(promptCacheKey) ??
      sessionFromConversation(mapped.system, mapped.firstUserText),
    signal: request.signal,
    requestType: choice.image ? ("image_gen" as const) : undefined,
  };
}

/** how the chosen model's request is mapped (chat and Responses alike) */
export function mapOptions(
  choice: ModelChoice,
  memory: ToolCallMemory,
  fetched: Map<string, InlineData> | undefined,
  maxJsonDepth: number,
): ChatMapOptions {
  const { upstream, image, claude, thinkingModel } = choice;
  return { upstreamModel: upstream, thinkingModel, claude, image, memory, fetched, maxJsonDepth };
}
