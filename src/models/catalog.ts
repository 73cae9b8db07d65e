// The model catalogue: what Google serves today (from the accounts' fetchAvailableModels), what the
// gateway offers on /v1beta/models and /v1/models, and how client names resolve (./resolve.ts).
import { ApiError } from "../core/errors";
import { badModelName, isImageModel, isInternalModel, stripModelsPrefix } from "./names";
import { familyPick, modelByDisplayName, resolveModel, type Resolved } from "./resolve";
export interface ModelInfo {
  id: string;
  displayName: string;
  description?: string;
  inputTokenLimit?: number;
  outputTokenLimit?: number;
  /** image models are called with requestType "image_gen" */
  image?: boolean;
  thinking?: boolean;
  /** the largest thinking budget the model takes (fetchAvailableModels' thinkingBudget) */
  thinkingBudget?: number;
}

/**
 * Offered before any account has reported its models (fetchAvailableModels): the lineup Google served
 * in late 2026. Once an account reports, its list replaces this one.
 */
export const BUILTIN_MODELS: ModelInfo[] = [
  {
    id: "gemini-3-flash",
    displayName: "Gemini 3 Flash",
    inputTokenLimit: 1048576,
    outputTokenLimit: 65536,
    thinking: true,
    thinkingBudget: 32768,
  },
  {
    id: "gemini-3.1-pro-high",
    displayName: "Gemini 3.1 Pro (High)",
    inputTokenLimit: 1048576,
    outputTokenLimit: 65536,
    thinking: true,
    thinkingBudget: 32768,
  },
  {
    id: "gemini-3.1-pro-low",
    displayName: "Gemini 3.1 Pro (Low)",
    inputTokenLimit: 1048576,
    outputTokenLimit: 65536,
    thinking: true,
    thinkingBudget: 32768,
  },
  { id: "gemini-3.1-flash-lite", displayName: "Gemini 3.1 Flash Lite", inputTokenLimit: 1048576, outputTokenLimit: 65536 },
  { id: "gemini-3.1-flash-image", displayName: "Gemini 3.1 Flash Image", image: true },
  {
    id: "claude-sonnet-4-6",
    displayName: "Claude Sonnet 4.6",
    inputTokenLimit: 200000,
    outputTokenLimit: 64000,
    thinking: true,
    thinkingBudget: 24576,
  },
  {
    id: "claude-opus-4-6-thinking",
    displayName: "Claude Opus 4.6 (Thinking)",
    inputTokenLimit: 200000,
    outputTokenLimit: 64000,
    thinking: true,
    thinkingBudget: 24576,
  },
];

/** Google's recommendations and forwarding rules from fetchAvailableModels, plus rules we learned. */
export interface Lineup {
  /** recommended ids, in Google's order (agentModelSorts) */
  recommended: string[];
  /** defaultAgentModelId */
  defaultModel?: string;
  /** retired id → successor (deprecatedModelIds, and rules learned from retirement notices) */
  forwards: Record<string, string>;
  /** imageGenerationModelIds */
  imageModels: string[];
}

export const BUILTIN_LINEUP: Lineup = {
  recommended: ["gemini-3-flash", "gemini-3.1-pro-high", "claude-opus-4-6-thinking", "claude-sonnet-4-6"],
  defaultModel: "gemini-3-flash",
  forwards: {},
  imageModels: ["gemini-3.1-flash-image"],
};

export { isClaudeModel, isImageModel, isInternalModel, stripModelsPrefix } from "./names";

/** Something that knows which models the accounts reported (the pool implements it). */
export interface ModelSource {
  reportedModels(): ModelInfo[];
  /** recommendations and forwarding rules; absent → none known */
  lineup?(): Lineup | undefined;
  /** changes whenever the models or the lineup may have changed (cache key) */
  modelsRevision?(): number;
  /** remember old → new (a retirement notice named the successor) */
  learnForward?(from: string, to: string): void;
}

const BUILTIN_BY_ID = new Map(BUILTIN_MODELS.map((m) => [m.id, m]));
const RESOLVE_CACHE_LIMIT = 2000;

interface Snapshot {
  key: number;
  served: ModelInfo[];
  lineup: Lineup;
  resolved: Map<string, Resolved>;
}

export class ModelCatalog {
  private snap?: Snapshot;

  constructor(
    private source: ModelSource | undefined,
    private aliases: Record<string, string> = {},
    private defaultImage = "",
  ) {}

  /** What is served today: the union the accounts reported, less retired ids (built-in before any report). Sorted by id. */
  list(): ModelInfo[] {
    return this.snapshot().served;
  }

  lineup(): Lineup {
    return this.snapshot().lineup;
  }

  get(id: string): ModelInfo | undefined {
    const bare = stripModelsPrefix(id);
    return this.list().find((m) => m.id === bare) ?? BUILTIN_BY_ID.get(bare);
  }

  /** the upstream model for a client's name, and which rule chose it; a malformed name is a 400 naming `model` */
  resolve(requested: string): Resolved {
    const bad = badModelName(stripModelsPrefix(requested));
    if (bad) throw new ApiError(400, bad, { param: "model", reason: "invalid_model" });
    const s = this.snapshot();
    let r = s.resolved.get(requested);
    if (!r) {
      r = resolveModel(requested, { aliases: this.aliases, served: s.served, lineup: s.lineup });
      if (s.resolved.size >= RESOLVE_CACHE_LIMIT) s.resolved.clear();
      s.resolved.set(requested, r);
    }
    return r;
  }

  /** the image model when the client names none: models.defaultImageModel, else the one Google lists for images */
  defaultImageModel(): string {
    if (this.defaultImage) return this.resolve(this.defaultImage).model;
    const s = this.snapshot();
    return familyPick("image", s.served, s.lineup) ?? BUILTIN_LINEUP.imageModels[0]!;
  }

  /** the served model a notice's successor ("Claude Opus 4.6") names */
  successor(displayName: string): string | undefined {
    const s = this.snapshot();
    return modelByDisplayName(displayName, s.served, s.lineup);
  }

  learnForward(from: string, to: string): void {
    this.source?.learnForward?.(from, to);
    this.snap = undefined;
  }

  /** configured alias names that are exact (no wildcard): offered on the model lists too */
  aliasNames(): string[] {
    return Object.keys(this.aliases).filter((k) => !k.includes("*"));
  }

  /** the configured target of an exact alias name */
  aliasTarget(name: string): string | undefined {
    const bare = stripModelsPrefix(name);
    return Object.hasOwn(this.aliases, bare) && !bare.includes("*") ? this.aliases[bare] : undefined;
  }

  private snapshot(): Snapshot {
    const key = this.source?.modelsRevision?.() ?? -1;
    if (this.snap && this.snap.key === key && (key !== -1 || !this.source)) return this.snap;
    const lineup = this.source?.lineup?.() ?? BUILTIN_LINEUP;
    const reported = (this.source?.reportedModels() ?? []).filter((m) => m.id && !isInternalModel(m.id));
    const byId = new Map<string, ModelInfo>();
    if (reported.length === 0) for (const m of BUILTIN_MODELS) byId.set(m.id, m);
    for (const m of reported) {
      const known = byId.get(m.id) ?? BUILTIN_BY_ID.get(m.id);
      byId.set(m.id, { ...known, ...dropUndefined(m), image: m.image ?? known?.image ?? isImageModel(m.id) } as ModelInfo);
    }
    // Google may still list a retired id; it is not served
    for (const old of Object.keys(lineup.forwards)) byId.delete(old);
    const served = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.snap = { key, served, lineup: reported.length ? lineup : BUILTIN_LINEUP, resolved: new Map() };
    return this.snap;
  }
}
function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
