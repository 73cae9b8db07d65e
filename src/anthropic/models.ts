// GET /v1/models in the Anthropic SDK's shape: the Anthropic and OpenAI APIs share the path, and
// `anthropic-version` (sent by every Anthropic SDK) tells them apart.
import type { AppContext } from "../protocol/context";

export interface AnthropicModel {
  type: "model";
  id: string;
  display_name: string;
  created_at: string;
}

export interface AnthropicPage {
  data: AnthropicModel[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

/** `ids` in list order; display names from the catalogue, else the id */
export function anthropicModels(ctx: AppContext, ids: string[], createdAt: string): AnthropicModel[] {
  return ids.map((id) => ({ type: "model", id, display_name: ctx.catalog.get(id)?.displayName ?? id, created_at: createdAt }));
}

/** One page (Anthropic's cursor paging: after_id / before_id / limit, default 20, at most 1000). */
export function anthropicPage(all: AnthropicModel[], q: { limit?: string; after_id?: string; before_id?: string }): AnthropicPage {
  const n = Number(q.limit);
  const limit = Number.isInteger(n) && n >= 1 ? Math.min(n, 1000) : 20;
  let start = 0;
  let end = all.length;
  if (q.after_id) start = all.findIndex((m) => m.id === q.after_id) + 1 || all.length;
  if (q.before_id) {
    const i = all.findIndex((m) => m.id === q.before_id);
    end = i < 0 ? 0 : i;
    start = Math.max(0, end - limit);
  }
  const data = q.before_id ? all.slice(start, end) : all.slice(start, Math.min(end, start + limit));
  const more = q.before_id ? start > 0 : start + data.length < end;
  return { data, has_more: more, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}
