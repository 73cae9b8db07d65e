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

/** model names are short plain ASCII: they travel in headers (X-Mapped-Model), log lines and URLs */
export const MAX_MODEL_NAME = 200;
const MODEL_NAME = /^[A-Za-z0-9._:@+\/-]+$/;

/** why a client's model name is refused, or undefined when it is fine */
export function badModelName(name: string): string | undefined {
  if (!name) return "the model name is empty";
  if (name.length > MAX_MODEL_NAME) return `the model name is longer than ${MAX_MODEL_NAME} characters`;
  if (!MODEL_NAME.test(name)) return "the model name may hold only letters, digits and . _ - : @ + /";
  return undefined;
}
