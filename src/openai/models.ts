// The model list in OpenAI's shape: the catalogue plus the configured exact aliases.
import { isClaudeModel } from "../models/catalog";
import type { AppContext } from "../protocol/context";

/** a fixed date: upstream does not say when a model was published */
export const CREATED = 1735689600; // 2025-01-01
export const CREATED_AT = new Date(CREATED * 1000).toISOString();

export interface OpenAIModel {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}

/** the catalogue (as on /v1beta/models) plus the configured aliases, in OpenAI's list shape */
export function modelList(ctx: AppContext): { object: "list"; data: OpenAIModel[] } {
  const aliases = new Set(ctx.catalog.aliasNames());
  const ids = [...new Set([...ctx.catalog.list().map((m) => m.id), ...aliases])];
  const owner = (id: string) => (aliases.has(id) ? "switchyard" : isClaudeModel(id) ? "anthropic" : "google");
  return { object: "list", data: ids.map((id) => ({ id, object: "model", created: CREATED, owned_by: owner(id) })) };
}
