// Client model name → the upstream model to call, from what Google serves today (pure). In order:
// the user's aliases; forwarding rules (Google's deprecatedModelIds and rules learned from retirement
// notices); the name itself when it is served; family rules that pick the current served model of a
// family; the built-in table; the name unchanged. docs/models.md explains each step.
import type { Lineup, ModelInfo } from "./catalog";
import { isClaudeModel, isImageModel, stripModelsPrefix } from "./names";
import { BUILTIN_ALIASES, resolveAlias } from "./mapping";

export type Rule = "alias" | "forward" | "served" | "family" | "builtin" | "passthrough";

export interface Resolved {
  model: string;
  rule: Rule;
}

export interface ResolveInput {
  aliases: Record<string, string>;
  /** what is served today (retired ids already left out) */
  served: readonly ModelInfo[];
  lineup: Lineup;
}

const MAX_HOPS = 8;

/** follow forwarding rules (old → new), guarding against cycles */
export function forward(id: string, forwards: Record<string, string>): string {
  let cur = id;
  for (let i = 0; i < MAX_HOPS && Object.hasOwn(forwards, cur); i++) cur = forwards[cur]!;
  return cur;
}

export function resolveModel(requested: string, input: ResolveInput): Resolved {
  const name = stripModelsPrefix(requested);
  const fwd = input.lineup.forwards;
  const alias = resolveAlias(name, input.aliases);
  if (alias !== undefined && alias.trim() !== "") return { model: forward(stripModelsPrefix(alias), fwd), rule: "alias" };
  if (Object.hasOwn(fwd, name)) return { model: forward(name, fwd), rule: "forward" };
  if (input.served.some((m) => m.id === name)) return { model: name, rule: "served" };
  const fam = familyPick(name, input.served, input.lineup);
  if (fam) return { model: fam, rule: "family" };
  const builtin = resolveAlias(name, BUILTIN_ALIASES);
  if (builtin !== undefined) return { model: forward(builtin, fwd), rule: "builtin" };
  return { model: name, rule: "passthrough" };
}

/** the numbers in an id, as a version to compare ("claude-opus-4-6-thinking" → [4, 6], "gemini-3.1-pro-high" → [3, 1]) */
export function versionOf(id: string): number[] {
  const m = /(\d+(?:[.-]\d+)*)/.exec(id.replace(/-\d{8}$/, ""));
  return m ? m[1]!.split(/[.-]/).map(Number) : [];
}

function cmpVersion(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d) return d;
  }
  return 0;
}

/** the best of `ids`: newest version, then the preference, then Google's recommended order */
function best(ids: string[], lineup: Lineup, prefer: (id: string) => number = () => 0): string | undefined {
  const rec = (id: string) => {
    const i = lineup.recommended.indexOf(id);
    return i < 0 ? Infinity : i;
  };
  return [...ids].sort((x, y) => cmpVersion(versionOf(y), versionOf(x)) || prefer(y) - prefer(x) || rec(x) - rec(y) || (x < y ? -1 : 1))[0];
}

const CLAUDE_FAMILIES: Record<string, string[]> = {
  opus: ["opus", "sonnet"],
  sonnet: ["sonnet", "opus"],
  // Google serves no Haiku; Claude Code uses it for background work
  haiku: ["haiku", "sonnet", "opus"],
};
const GPT = /^(gpt-|chatgpt-|o\d|text-|davinci)/i;

/** the current served model of the family `name` belongs to, if a family rule applies */
export function familyPick(name: string, served: readonly ModelInfo[], lineup: Lineup): string | undefined {
  const ids = served.map((m) => m.id);
  const lower = name.toLowerCase();
  const text = ids.filter((id) => !isImageModel(id));
  if (isImageModel(lower)) {
    const images = ids.filter(isImageModel);
    return lineup.imageModels.find((id) => images.includes(id)) ?? best(images, lineup);
  }
  if (isClaudeModel(lower)) {
    const fam = ["opus", "haiku", "sonnet"].find((f) => lower.includes(f));
    const claude = text.filter(isClaudeModel);
    const wantThinking = lower.includes("thinking");
    const prefer = (id: string) => (id.includes("thinking") === wantThinking ? 1 : 0);
    for (const f of fam ? CLAUDE_FAMILIES[fam]! : []) {
      const pick = best(
        claude.filter((id) => id.includes(f)),
        lineup,
        prefer,
      );
      if (pick) return pick;
    }
    return best(claude, lineup, prefer);
  }
  if (GPT.test(lower)) return recommendedGemini(text, lineup);
  if (lower.startsWith("gemini-") && lower.includes("pro")) {
    const pros = text.filter((id) => /^gemini-.*pro/.test(id));
    const tier = lower.includes("low") ? "-low" : "-high";
    return best(pros, lineup, (id) => (id.endsWith(tier) ? 2 : /\d/.test(id) ? 1 : 0));
  }
  if (lower.startsWith("gemini-") && lower.includes("flash")) {
    const bare = lower.replace(/-(preview|latest|exp)(-[\w.-]*)?$/, "");
    if (text.includes(bare)) return bare;
    const lite = lower.includes("lite");
    const flashes = text.filter((id) => /^gemini-.*flash/.test(id) && id.includes("lite") === lite);
    return best(flashes, lineup, (id) => (id.endsWith("-high") ? 1 : 0));
  }
  return undefined;
}

/** Google's recommended Gemini model: its default agent model, else the first recommended Gemini */
export function recommendedGemini(ids: string[], lineup: Lineup): string | undefined {
  const gem = (id: string) => id.startsWith("gemini-") && !isImageModel(id) && ids.includes(id);
  if (lineup.defaultModel && gem(lineup.defaultModel)) return lineup.defaultModel;
  return lineup.recommended.find(gem) ?? best(ids.filter(gem), lineup);
}

const norm = (s: string) =>
  s
    .toLowerCase()
    .replace(/\(.*?\)/g, "")
    .trim()
    .replace(/[\s._]+/g, "-");

/** whether a display name ("Claude Opus 4.5", "Gemini 3 Pro") names this id (or display name), or the family it heads */
export function namesModel(display: string, name: string): boolean {
  const slug = norm(display);
  const n = norm(name);
  return !!slug && (n === slug || n.startsWith(slug + "-"));
}

/** "Claude Opus 4.6" / "Gemini 3.1 Pro" (a notice's successor) → the served id it means */
export function modelByDisplayName(display: string, served: readonly ModelInfo[], lineup: Lineup): string | undefined {
  const slug = norm(display);
  if (!slug) return undefined;
  const hits = served.filter((m) => namesModel(display, m.id) || namesModel(display, m.displayName ?? ""));
  const exact = hits.find((m) => norm(m.id) === slug);
  if (exact) return exact.id;
  return best(
    hits.map((m) => m.id),
    lineup,
    (id) => (id.endsWith("-high") ? 1 : 0),
  );
}
