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

/** the fields of an input item and of a content part the mapper reads: all a stored item keeps */
const ITEM_FIELDS = [
  "type",
  "id",
  "role",
  "content",
  "status",
  "call_id",
  "name",
  "namespace",
  "arguments",
  "output",
  "summary",
  "encrypted_content",
];
const PART_FIELDS = ["type", "text", "refusal", "image_url", "file_id", "file_data", "file_url", "filename", "detail", "input_audio"];
/** items already reduced to those fields (a chain's history is shared by its entries, reduced once) */
const reduced = new WeakSet<object>();

/**
 * The item as it is kept: the known fields only. The store weighs an entry by its JSON text, and a
 * field nobody reads can hold what is 3 characters of JSON and 75 bytes in memory (`{}`): four requests
 * of 16 MB of `"pad":[{},{},…]` held 1.6 GB.
 */
function keepable(item: InputItem): InputItem {
  if (reduced.has(item)) return item;
  const out = pick(item, ITEM_FIELDS) as InputItem;
  for (const k of ["content", "output"] as const)
    if (Array.isArray(out[k])) (out as Record<string, unknown>)[k] = (out[k] as object[]).map(part);
  if (Array.isArray(out.summary)) out.summary = out.summary.map((x) => pick(x, ["type", "text"]) as { text: string });
  reduced.add(out);
  return out;
}

function part(p: object): object {
  const out = pick(p, PART_FIELDS) as { input_audio?: object };
  if (out.input_audio && typeof out.input_audio === "object") out.input_audio = pick(out.input_audio, ["data", "format"]);
  return out;
}

function pick(o: object, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if ((o as Record<string, unknown>)[k] !== undefined) out[k] = (o as Record<string, unknown>)[k];
  return out;
}

export class ResponseStore {
  private map = new Map<string, Entry>();
  private chars = 0;
  /** drops what expired while nobody asks (set while anything is kept) */
  private sweeper: ReturnType<typeof setTimeout> | undefined;
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
    const e: Entry = {
      response: value.response,
      input: value.input.map(keepable),
      owner: o.owner,
      expiresAt: this.now() + this.ttlMs,
      weight,
      counted: false,
    };
    if (prev && prev.owner === o.owner) e.prev = o.prev;
    this.map.set(id, e);
    this.count(e, true);
    this.evict();
    this.sweepLater();
    return this.map.has(id);
  }

  /** a quiet gateway gives expired responses back too (evict runs at each put otherwise) */
  private sweepLater() {
    if (this.sweeper || this.map.size === 0) return;
    this.sweeper = setTimeout(
      () => {
        this.sweeper = undefined;
        this.evict();
        this.sweepLater();
      },
      Math.min(this.ttlMs, 60_000),
    );
    this.sweeper.unref?.();
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
