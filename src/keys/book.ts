// The virtual keys: created with a random secret shown once (sk-sy-…), stored hashed in state.db,
// held in memory by hash for the request path, and re-read when another process (the CLI) changed them.
import { randomBytes, sha256, sha256Hex } from "../core/hash";
import type { KeyLimits, KeyRecord, KeyStore } from "../state/keys";
import { ANONYMOUS, CONFIG_CALLER } from "./scope";
import { StorageError } from "../core/errors";

export const KEY_PREFIX = "sk-sy-";

/** what a listing shows: never the secret or its hash */
export interface KeyView extends KeyLimits {
  id: string;
  name: string;
  prefix: string;
  createdAt: number;
  revokedAt: number | null;
}

export class KeyError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409 = 400,
    readonly param?: string,
  ) {
    super(message);
    this.name = "KeyError";
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const RESERVED = new Set([CONFIG_CALLER.name, ANONYMOUS.name]);

/** usage's names for configured keys and keyless callers: no virtual key may take one */
export const isReservedName = (name: string) => RESERVED.has(name.toLowerCase());

export function viewOfKey(k: KeyRecord): KeyView {
  const { hash: _hash, ...view } = k;
  return view;
}

export class KeyBook {
  private byHash = new Map<string, KeyRecord>();
  private byId = new Map<string, KeyRecord>();
  /** each record's digest as bytes, for the constant-time comparison (decoded once, not per request) */
  private digests = new WeakMap<KeyRecord, Uint8Array>();
  private seen = -1;

  constructor(
    private store: KeyStore,
    private now: () => number = Date.now,
    /**
     * a key changed its name: its usage so far goes with it (budgets are counted by name). `elsewhere`:
     * another process renamed it, and renamed the usage it shares with this one already
     */
    private onRename: (from: string, to: string, id: string, elsewhere: boolean) => void = () => {},
  ) {
    this.reload();
  }

  /** re-read the keys when another process changed state.db (cheap otherwise) */
  reloadIfChanged(): boolean {
    const v = this.store.dataVersion();
    if (v === this.seen) return false;
    this.reload();
    return true;
  }

  /**
   * A write that lost a race for its name (taken in between by another process) is a 409; one the disk
   * refused (full, read-only) is a StorageError (507 at the API) saying the change was not applied.
   */
  private write(run: () => void, name: string): void {
    try {
      run();
    } catch (e) {
      const message = String((e as Error)?.message ?? e);
      if (/UNIQUE constraint failed: api_keys\.name/.test(message)) {
        this.reload();
        throw new KeyError(`a key named ${JSON.stringify(name)} exists already`, 409, "name");
      }
      throw new StorageError(`could not save the key ${JSON.stringify(name)} (${message}); the change was not applied`);
    }
  }

  private reload(): void {
    this.seen = this.store.dataVersion();
    const before = this.byId;
    const list = this.store.list();
    this.byHash = new Map(list.map((k) => [k.hash, k]));
    this.byId = new Map(list.map((k) => [k.id, k]));
    // renamed by another process (the CLI, another instance): what this one holds or writes under the
    // old name goes with the key too
    for (const k of list) {
      const was = before.get(k.id);
      if (was && was.name !== k.name) this.onRename(was.name, k.name, k.id, true);
    }
  }

  /** a key's name now (a request that began before a rename ends under the new one) */
  nameOf(id: string): string | undefined {
    return this.byId.get(id)?.name;
  }

  private keep(k: KeyRecord): void {
    this.byHash.set(k.hash, k);
    this.byId.set(k.id, k);
  }

  list(): KeyView[] {
    return [...this.byHash.values()].sort((a, b) => a.createdAt - b.createdAt).map(viewOfKey);
  }

  /** by id or name */
  find(idOrName: string): KeyRecord | undefined {
    for (const k of this.byHash.values()) if (k.id === idOrName || k.name === idOrName) return k;
    return undefined;
  }

  /** the key a presented secret belongs to (revoked and expired ones too: the caller tells them apart) */
  lookup(secret: string): KeyRecord | undefined {
    if (!secret.startsWith(KEY_PREFIX)) return undefined;
    const digest = sha256(secret); // hashed once: the map's key is its hex, the comparison its bytes
    const k = this.byHash.get(Buffer.from(digest).toString("hex"));
    if (!k) return undefined;
    // the map lookup found it by its digest; compare the digests in constant time all the same
    let stored = this.digests.get(k);
    if (!stored) this.digests.set(k, (stored = Buffer.from(k.hash, "hex")));
    return crypto.timingSafeEqual(stored, digest) ? k : undefined;
  }

  /** a new key's name: well formed, not taken, and not a name usage already gives to callers without a key */
  private checkName(name: string): void {
    // another process (the CLI) may have taken it since the last reload
    this.reloadIfChanged();
    if (!NAME.test(name))
      throw new KeyError("name must be 1–64 letters, digits, or . _ @ - (starting with a letter or digit)", 400, "name");
    if (isReservedName(name))
      throw new KeyError(`the name ${JSON.stringify(name)} is reserved (usage of configured keys and of keyless callers)`, 400, "name");
    if (this.find(name)) throw new KeyError(`a key named ${JSON.stringify(name)} exists already`, 409, "name");
  }

  create(name: string, limits: KeyLimits): { key: KeyView; secret: string } {
    this.checkName(name);
    const secret = KEY_PREFIX + randomBytes(24).toString("base64url");
    const rec: KeyRecord = {
      id: crypto.randomUUID(),
      name,
      prefix: secret.slice(0, KEY_PREFIX.length + 4),
      hash: sha256Hex(secret),
      ...limits,
      createdAt: this.now(),
      revokedAt: null,
    };
    this.write(() => this.store.insert(rec), name);
    this.keep(rec);
    return { key: viewOfKey(rec), secret };
  }

  update(idOrName: string, patch: Partial<KeyLimits> & { name?: string }): KeyView {
    // the record as it is now: another process may have changed it since the last reload (every field is written)
    this.reloadIfChanged();
    const k = this.mustFind(idOrName);
    // a revoked key answers 401 for good: changing it would only look as if it did something
    if (k.revokedAt !== null) throw new KeyError(`the key ${JSON.stringify(k.name)} is revoked: there is nothing to change`, 409);
    if (patch.name !== undefined && patch.name !== k.name) this.checkName(patch.name);
    const next: KeyRecord = { ...k, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
    this.write(() => this.store.update(next), next.name);
    if (next.name !== k.name) this.onRename(k.name, next.name, k.id, false);
    this.keep(next);
    return viewOfKey(next);
  }

  revoke(idOrName: string): KeyView {
    this.reloadIfChanged();
    const k = this.mustFind(idOrName);
    if (k.revokedAt === null) {
      const at = this.now();
      this.write(() => this.store.revoke(k.id, at), k.name);
      this.keep({ ...k, revokedAt: at });
    }
    return viewOfKey(this.byHash.get(k.hash)!);
  }

  private mustFind(idOrName: string): KeyRecord {
    const k = this.find(idOrName);
    if (!k) throw new KeyError(`no key ${JSON.stringify(idOrName)}`, 404);
    return k;
  }
}
