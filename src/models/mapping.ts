// Client model name → upstream model. Config aliases (exact, then `*` wildcards, most specific
// first) win over the built-in table; anything else passes through unchanged (upstream says 404
// for names it does not serve).
import { stripModelsPrefix } from "./catalog";

/**
 * Built-in rewrites for names clients commonly send that upstream does not serve under that name
 * (preview names, legacy OpenAI/Anthropic ids that SDKs and tools default to). Keys may use `*`.
 */
export const BUILTIN_ALIASES: Record<string, string> = {
  "gemini-3-pro": "gemini-3-pro-high",
  "gemini-3-pro-preview": "gemini-3-pro-high",
  "gemini-3-flash-preview": "gemini-3-flash",
  "gemini-3-pro-image-preview": "gemini-3-pro-image",
  "gemini-2.5-flash-thinking": "gemini-2.5-flash",
  "gpt-4": "gemini-2.5-flash",
  "gpt-4-turbo": "gemini-2.5-flash",
  "gpt-4o": "gemini-2.5-flash",
  "gpt-4o-mini": "gemini-2.5-flash",
  "gpt-3.5-turbo": "gemini-2.5-flash",
  // Anthropic names. Upstream serves claude-sonnet-4-5[-thinking], claude-opus-4-5-thinking and (on
  // newer accounts) claude-sonnet-4-6[-thinking], claude-opus-4-6-thinking; every other family name a
  // client may send (dated, "-latest", 3.x, 4.0, 4.1) goes to the nearest of those. The more specific
  // keys map the served ids to themselves, so the family catch-alls never rewrite them.
  "claude-opus-*": "claude-opus-4-5-thinking",
  "claude-opus-4-6*": "claude-opus-4-6-thinking",
  "claude-3-opus*": "claude-opus-4-5-thinking",
  "claude-sonnet-*": "claude-sonnet-4-5",
  "claude-sonnet-*thinking*": "claude-sonnet-4-5-thinking",
  "claude-sonnet-4-6*": "claude-sonnet-4-6",
  "claude-sonnet-4-6*thinking*": "claude-sonnet-4-6-thinking",
  "claude-3-*sonnet*": "claude-sonnet-4-5",
  "claude-3-*sonnet*thinking*": "claude-sonnet-4-5-thinking",
  // upstream serves no Haiku; Claude Code uses it for background work
  "claude-haiku-*": "claude-sonnet-4-5",
  "claude-3-*haiku*": "claude-sonnet-4-5",
};

interface Wildcard {
  key: string;
  re: RegExp;
  specificity: number;
  stars: number;
}

// Compiled wildcard lists, keyed by the alias table object (config tables are long-lived).
const compiled = new WeakMap<Record<string, string>, Wildcard[]>();

function wildcards(aliases: Record<string, string>): Wildcard[] {
  let list = compiled.get(aliases);
  if (list) return list;
  list = Object.keys(aliases)
    .filter((k) => k.includes("*"))
    .map((key) => ({
      key,
      re: new RegExp("^" + key.split("*").map(escapeRe).join(".*") + "$", "s"),
      specificity: key.replace(/\*/g, "").length,
      stars: key.split("*").length - 1,
    }))
    // most literal characters first; then fewer stars; then by key so ties are deterministic
    .sort((a, b) => b.specificity - a.specificity || a.stars - b.stars || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  compiled.set(aliases, list);
  return list;
}

const escapeRe = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");

/** The alias target for `name` (case-sensitive): an exact key, else the most specific matching wildcard. */
export function resolveAlias(name: string, aliases: Record<string, string>): string | undefined {
  if (Object.hasOwn(aliases, name)) return aliases[name];
  for (const w of wildcards(aliases)) if (w.re.test(name)) return aliases[w.key];
  return undefined;
}

export function mapModel(requested: string, aliases: Record<string, string> = {}): string {
  const name = stripModelsPrefix(requested);
  const fromConfig = resolveAlias(name, aliases);
  if (fromConfig !== undefined && fromConfig.trim() !== "") return stripModelsPrefix(fromConfig);
  const builtin = resolveAlias(name, BUILTIN_ALIASES);
  return builtin ?? name;
}
