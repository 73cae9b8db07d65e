// Alias tables: exact names and `*` wildcards, most specific first (the user's models.aliases and
// the built-in last-resort table). ./resolve.ts decides the order of all the rules.
import { globMatch } from "../core/glob";
import { stripModelsPrefix } from "./names";

/**
 * The last resort (./resolve.ts runs it after the live catalogue's rules): ids Google retired in 2026
 * and the successors it named, for when no account has reported its models yet.
 */
export const BUILTIN_ALIASES: Record<string, string> = {
  "claude-opus-4-5-thinking": "claude-opus-4-6-thinking",
  "claude-opus-4-5": "claude-opus-4-6-thinking",
  "claude-sonnet-4-5": "claude-sonnet-4-6",
  "claude-sonnet-4-5-thinking": "claude-sonnet-4-6",
  "claude-sonnet-4-6-thinking": "claude-sonnet-4-6",
  "gemini-3-pro-high": "gemini-3.1-pro-high",
  "gemini-3-pro-low": "gemini-3.1-pro-low",
  "gemini-3-pro-image": "gemini-3.1-flash-image",
};

interface Wildcard {
  key: string;
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
      specificity: key.replace(/\*/g, "").length,
      stars: key.split("*").length - 1,
    }))
    // most literal characters first; then fewer stars; then by key so ties are deterministic
    .sort((a, b) => b.specificity - a.specificity || a.stars - b.stars || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  compiled.set(aliases, list);
  return list;
}

/** The alias target for `name` (case-sensitive): an exact key, else the most specific matching wildcard. */
export function resolveAlias(name: string, aliases: Record<string, string>): string | undefined {
  if (Object.hasOwn(aliases, name)) return aliases[name];
  for (const w of wildcards(aliases)) if (globMatch(w.key, name)) return aliases[w.key];
  return undefined;
}
