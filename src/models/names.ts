// What a model id says about itself (pure string tests), shared by the catalogue, the resolver and
// the protocol mappers.

export const isImageModel = (id: string) => /image|imagen/i.test(id);
export const isClaudeModel = (id: string) => /^claude-/i.test(id);

/** Upstream catalogue entries that are internal (completion/tab models, experiments), not chat models. */
export const isInternalModel = (id: string) => /^(chat_|tab_|rev\d)/i.test(id) || /mquery/i.test(id);

/** "models/x" and "models/models/x" → "x" */
export function stripModelsPrefix(model: string): string {
  let m = model.trim();
  while (m.startsWith("models/")) m = m.slice("models/".length);
  return m;
}
