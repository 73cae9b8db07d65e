// What upstream attached to a tool call that OpenAI's message format has no field for: the
// functionCall's thoughtSignature (Gemini 3 rejects a replayed call without one) and, for Claude, the
// signed thinking that preceded the calls. Kept in memory by tool call id, bounded (oldest evicted).
// When an entry is gone (restart, another instance, evicted) the request mapper falls back to the
// documented sentinel that tells Gemini to skip the check, so a conversation never breaks on it.
import type { GeminiPart } from "../upstream/types";

export interface Remembered {
  signature?: string;
  /** Claude: the signed thought parts of the turn that made this call */
  thoughts?: GeminiPart[];
}

const weight = (r: Remembered) =>
  64 + (r.signature?.length ?? 0) + (r.thoughts ?? []).reduce((n, p) => n + (p.text?.length ?? 0) + (p.thoughtSignature?.length ?? 0), 0);

export class ToolCallMemory {
  private map = new Map<string, Remembered>();
  private bytes = 0;
  /** bounded by entry count and by (approximate) characters held */
  constructor(
    private readonly maxEntries = 10_000,
    private readonly maxChars = 32 * 1024 * 1024,
  ) {}

  remember(id: string, value: Remembered): void {
    const prev = this.map.get(id);
    if (prev) this.drop(id, prev);
    const next = { ...prev, ...value };
    if (weight(next) > this.maxChars / 4) return; // one huge entry must not flush everything else
    this.map.set(id, next);
    this.bytes += weight(next);
    for (const [oldest, v] of this.map) {
      if (this.map.size <= this.maxEntries && this.bytes <= this.maxChars) break;
      this.drop(oldest, v);
    }
  }

  recall(id: string | undefined): Remembered | undefined {
    return id === undefined ? undefined : this.map.get(id);
  }

  get size(): number {
    return this.map.size;
  }

  private drop(id: string, v: Remembered) {
    this.map.delete(id);
    this.bytes -= weight(v);
  }
}
