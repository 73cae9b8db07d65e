// The model catalogue: what the gateway offers on /v1beta/models and /v1/models.
export interface ModelInfo {
  id: string;
  displayName: string;
  description?: string;
  inputTokenLimit?: number;
  outputTokenLimit?: number;
  /** image models are called with requestType "image_gen" */
  image?: boolean;
  thinking?: boolean;
}

/** Offered before any account has reported its models (fetchAvailableModels). */
export const BUILTIN_MODELS: ModelInfo[] = [
  { id: "gemini-2.5-flash", displayName: "Gemini 2.5 Flash", inputTokenLimit: 1048576, outputTokenLimit: 65536, thinking: true },
  { id: "gemini-2.5-flash-lite", displayName: "Gemini 2.5 Flash Lite", inputTokenLimit: 1048576, outputTokenLimit: 65536 },
  { id: "gemini-2.5-pro", displayName: "Gemini 2.5 Pro", inputTokenLimit: 1048576, outputTokenLimit: 65536, thinking: true },
  { id: "gemini-3-flash", displayName: "Gemini 3 Flash", inputTokenLimit: 1048576, outputTokenLimit: 65536, thinking: true },
  { id: "gemini-3-pro-high", displayName: "Gemini 3 Pro (High)", inputTokenLimit: 1048576, outputTokenLimit: 65536, thinking: true },
  { id: "gemini-3-pro-low", displayName: "Gemini 3 Pro (Low)", inputTokenLimit: 1048576, outputTokenLimit: 65536, thinking: true },
  { id: "gemini-3-pro-image", displayName: "Gemini 3 Pro Image", image: true },
  { id: "gemini-3.1-flash-image", displayName: "Gemini 3.1 Flash Image", image: true },
  { id: "claude-sonnet-4-5", displayName: "Claude Sonnet 4.5", inputTokenLimit: 200000, outputTokenLimit: 64000 },
  { id: "claude-sonnet-4-5-thinking", displayName: "Claude Sonnet 4.5 (Thinking)", inputTokenLimit: 200000, outputTokenLimit: 64000, thinking: true },
  { id: "claude-opus-4-5-thinking", displayName: "Claude Opus 4.5 (Thinking)", inputTokenLimit: 200000, outputTokenLimit: 64000, thinking: true },
];

export const isImageModel = (id: string) => /image|imagen/i.test(id);
export const isClaudeModel = (id: string) => /^claude-/i.test(id);

/** Upstream catalogue entries that are internal (completion/tab models, experiments), not chat models. */
export const isInternalModel = (id: string) => /^(chat_|tab_|rev\d)/i.test(id) || /mquery/i.test(id);

/** Something that knows which models the accounts reported (the pool implements it). */
export interface ModelSource {
  reportedModels(): ModelInfo[];
}

const BUILTIN_BY_ID = new Map(BUILTIN_MODELS.map((m) => [m.id, m]));

export class ModelCatalog {
  constructor(private source: ModelSource | undefined, private aliases: Record<string, string> = {}) {}

  /**
   * The union of the models the accounts reported (built-in metadata filled in for known ids);
   * the built-in defaults only while no account has reported any. Sorted by id.
   */
  list(): ModelInfo[] {
    const reported = (this.source?.reportedModels() ?? []).filter((m) => m.id && !isInternalModel(m.id));
    const byId = new Map<string, ModelInfo>();
    if (reported.length === 0) for (const m of BUILTIN_MODELS) byId.set(m.id, m);
    for (const m of reported) {
      const known = byId.get(m.id) ?? BUILTIN_BY_ID.get(m.id);
      byId.set(m.id, { ...known, ...dropUndefined(m), image: m.image ?? known?.image ?? isImageModel(m.id) } as ModelInfo);
    }
    return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(id: string): ModelInfo | undefined {
    const bare = stripModelsPrefix(id);
    return this.list().find((m) => m.id === bare);
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
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** "models/x" and "models/models/x" → "x" */
export function stripModelsPrefix(model: string): string {
  let m = model.trim();
  while (m.startsWith("models/")) m = m.slice("models/".length);
  return m;
}
