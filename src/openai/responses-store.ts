// Past responses kept for previous_response_id (and GET /v1/responses/{id}): in memory, bounded by
// count, age and (approximate) characters, least recently used evicted first. A restart forgets them;
// a client that must survive one sends the whole conversation as input (store: false), as Codex does.
import { ApiError } from "../core/errors";
import type { InputItem } from "./responses-schemas";
import type { ResponseObject } from "./responses";

export interface StoredResponse {
  /** the response as the gateway built it (reasoning items keep their encrypted_content) */
  response: ResponseObject;
  /** the whole input it answered: the history of its previous_response_id, then its own input */
  input: InputItem[];
}

interface Entry extends StoredResponse {
  /** who stored it (see Keys.ownerOf): nobody else can read, continue or delete it */
  owner: string;
  expiresAt: number;
  weight: number;
  /** the entry it continued (previous_response_id), when that was stored */
  prev?: string;
  /**
   * its weight is in the total: an entry's weight includes its history, so an entry another one
   * continued stops counting while that one is kept (a chain holds what its last entry holds)
   */
  counted: boolean;
}

export interface StoreLimits {
  maxEntries?: number;
  ttlMs?: number;
  /** characters of JSON held, all entries together */
  maxChars?: number;
  now?: () => number;
}

export interface PutOptions {
  owner: string;
  /**
   * what its input weighs when the caller knows it already (the request body's length plus its
   * history's weight, weightOf), instead of writing the whole input out as JSON again — for an agent's
   * turn that was an eighth of the request's CPU
   */
  inputChars?: number;
  /** the previous_response_id it continued */
  prev?: string;
}

export class ResponseStore {
  private map = new Map<string, Entry>();
  private chars = 0;
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly maxChars: number;
  private readonly now: () => number;

  constructor(limits: StoreLimits = {}) {
    this.maxEntries = limits.maxEntries ?? 1000;
    this.ttlMs = limits.ttlMs ?? 60 * 60 * 1000;
    this.maxChars = limits.maxChars ?? 64 * 1024 * 1024;
    this.now = limits.now ?? Date.now;
  }

  /** Keep a response; false when it is too large to keep (over a quarter of the cap, history included). */
  put(value: StoredResponse, o: PutOptions): boolean {
    const id = value.response.id;
    const old = this.map.get(id);
    if (old) this.drop(id, old);
    // an overcount where the body holds more than the input: the safe direction
    const weight = (o.inputChars ?? JSON.stringify(value.input).length) + JSON.stringify(value.response.output).length;
    if (weight > this.maxChars / 4) return false; // one huge conversation must not flush everything else
    const prev = o.prev !== undefined ? this.map.get(o.prev) : undefined;
    if (prev?.counted && prev.owner === o.owner) this.count(prev, false);
    const e: Entry = { ...value, owner: o.owner, expiresAt: this.now() + this.ttlMs, weight, counted: false };
    if (prev && prev.owner === o.owner) e.prev = o.prev;
    this.map.set(id, e);
    this.count(e, true);
    this.evict();
    return this.map.has(id);
  }

  /** the stored response, refreshed as the most recently used; undefined when unknown, expired or another's */
  get(id: string, owner: string): StoredResponse | undefined {
    const e = this.map.get(id);
    if (!e || e.owner !== owner) return undefined;
    if (e.expiresAt <= this.now()) {
      this.drop(id, e);
      return undefined;
    }
    this.map.delete(id);
    this.map.set(id, e);
    return { response: e.response, input: e.input };
  }

  delete(id: string, owner: string): boolean {
    const e = this.map.get(id);
    if (!e || e.owner !== owner) return false;
    this.drop(id, e);
    return true;
  }

  /** the conversation so far for previous_response_id: its input, then its output; 404 when unknown */
  history(id: string, owner: string, param = "previous_response_id"): InputItem[] {
    const found = this.get(id, owner);
    if (!found) throw notFound(id, param);
    return [...found.input, ...(found.response.output as InputItem[])];
  }

  /** what history(id) weighs, as put() counted it; 0 when unknown */
  weightOf(id: string): number {
    return this.map.get(id)?.weight ?? 0;
  }

  get size(): number {
    return this.map.size;
  }

  /** the characters counted, all entries together */
  get weight(): number {
    return this.chars;
  }

  private evict() {
    const now = this.now();
    for (const [id, e] of this.map) {
      const over = this.map.size > this.maxEntries || this.chars > this.maxChars;
      if (!over && e.expiresAt > now) break;
      this.drop(id, e);
    }
  }

  private count(e: Entry, on: boolean) {
    if (e.counted === on) return;
    e.counted = on;
    this.chars += on ? e.weight : -e.weight;
  }

  private drop(id: string, e: Entry) {
    this.map.delete(id);
    this.count(e, false);
    // what it continued is held on its own again
    const prev = e.prev !== undefined ? this.map.get(e.prev) : undefined;
    if (prev) this.count(prev, true);
  }
}

/** OpenAI's wording and code for a response id it does not know */
export const notFound = (id: string, param?: string) =>
  new ApiError(404, `Response with id '${id}' not found (this gateway keeps past responses in memory for a limited time).`, {
    param,
    reason: param === "previous_response_id" ? "previous_response_not_found" : "not_found",
  });
