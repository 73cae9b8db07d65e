// accounts.json: the account store. Schema-versioned JSON, mode 0600, written atomically (temp file
// in the same folder, fsync, rename, fsync the folder) under a cross-process flock, as a
// read-modify-write so the CLI and a running server never lose each other's edits. The previous
// good version is kept as accounts.json.bak (a hard link to the replaced file: no extra copy).
import {
  closeSync,
  copyFileSync,
  rmSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  chmodSync,
} from "node:fs";
import { join } from "node:path";
import { FileLock, Mutex } from "./lock";
import { parseStore, serializeStore, STORE_VERSION, type Mutator, type StoreDoc } from "./store-format";
import { PoolError, type Account } from "./types";
import { StorageError } from "../core/errors";
import { writeFileAtomicSync } from "../core/atomic";

export { blankState, parseStore, serializeStore, STORE_VERSION, type Mutator, type StoreDoc } from "./store-format";
export const STORE_FILE = "accounts.json";
const TEMP_MARK = ".tmp-";
/** identity of the file on disk: a rename always gives a new inode */
function stampOf(path: string): string | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}

export interface StoreOptions {
  /** called after the document was replaced by what another process wrote (or by what is on disk after a failed write) */
  onExternalChange?: (doc: StoreDoc, previous: StoreDoc) => void;
  /**
   * A version-1 file was read: move its accounts' changing fields and its catalogue to state.db now
   * (synchronously); the store then rewrites the file as version 2.
   */
  onLegacy?: (doc: StoreDoc) => void;
  /** called when a poll finds the file unreadable (the store keeps its last good state) */
  onError?: (err: Error) => void;
  /** called after update applied a change in memory (shared accounts push it: accounts/shared.ts) */
  onUpdate?: () => void;
}

export class AccountStore {
  readonly path: string;
  readonly backupPath: string;
  private doc: StoreDoc;
  private stamp: string | undefined;
  private pending: { fn: Mutator; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing: Promise<void> | undefined;
  private mutex = new Mutex();
  private lock: FileLock;
  private watchTimer: ReturnType<typeof setInterval> | undefined;
  private badStamp: string | undefined;
  private arrayCache: Account[] | undefined;
  private throttle: ReturnType<typeof setTimeout> | undefined;
  /** how long the last write took (serialize + write + fsync + rename) */
  private writeMs = 0;
  /** what is on disk (last read or written; parsed only when needed): a failed write goes back to it */
  private savedText: string | undefined;
  /** the text the last readFile read (serializing 10,000 accounts again would cost tens of ms) */
  private readText: string | undefined;
  /** the last write failed and its changes were dropped: shutdown reports it */
  private lostChanges: StorageError | undefined;

  private constructor(
    readonly dir: string,
    private opts: StoreOptions,
  ) {
    this.path = join(dir, STORE_FILE);
    this.backupPath = this.path + ".bak";
    this.lock = new FileLock(this.path + ".lock");
    this.doc = emptyDoc();
  }

  /** Load the store (creating the folder); a corrupt file throws PoolError and is left untouched. */
  static async open(dir: string, opts: StoreOptions = {}): Promise<AccountStore> {
    const s = new AccountStore(dir, opts);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      await s.lock.acquire();
    } catch (e) {
      if (e instanceof PoolError) throw e;
      throw new PoolError(`cannot open the account store in ${dir}: ${(e as Error).message}`);
    }
    try {
      s.removeStaleTemps();
      s.load();
      if (s.doc.legacy) s.rewriteMigrated();
    } catch (e) {
      s.lock.close();
      throw e;
    } finally {
      s.lock.release();
    }
    return s;
  }

  /** after a version-1 file was read and its state moved (we hold the lock): write it as version 2 */
  private rewriteMigrated(): void {
    this.doc.legacy = undefined;
    try {
      const text = serializeStore(this.doc);
      this.writeFile(text);
      this.savedText = text;
    } catch (e) {
      // a read-only data dir: the file stays version 1 and is migrated again next time
      this.opts.onError?.(new Error(`could not rewrite ${this.path} as version ${STORE_VERSION}: ${(e as Error).message}`));
    }
  }

  /** the live in-memory document (mutate only through update) */
  get current(): StoreDoc {
    return this.doc;
  }

  /** all accounts as an array (cached until the next change) */
  accounts(): Account[] {
    return (this.arrayCache ??= [...this.doc.accounts.values()]);
  }

  get(id: string): Account | undefined {
    return this.doc.accounts.get(id);
  }

  /**
   * Apply `fn` to the in-memory document now and persist it soon (updates close together share one
   * write). If another process changed the file meanwhile, `fn` is re-applied to its version, so
   * mutators must look records up by id (never capture an Account object).
   */
  update(fn: Mutator): Promise<void> {
    try {
      fn(this.doc);
    } catch (e) {
      return Promise.reject(e);
    }
    this.arrayCache = undefined;
    this.opts.onUpdate?.();
    const p = new Promise<void>((resolve, reject) => this.pending.push({ fn, resolve, reject }));
    this.scheduleFlush();
    return p;
  }

  /** wait until everything updated so far is on disk */
  async flush(): Promise<void> {
    while (this.pending.length || this.flushing) {
      this.scheduleFlush(true);
      await this.flushing?.catch(() => {});
    }
  }

  /** Poll: apply another process's changes. Returns true when the document was replaced. */
  async reloadIfChanged(): Promise<boolean> {
    return this.mutex.run(() => {
      if (this.pending.length) return false; // the coming flush re-reads under the lock anyway
      const st = stampOf(this.path);
      if (st === this.stamp || st === undefined || st === this.badStamp) return false;
      try {
        const legacy = this.replace(this.readFile(), st);
        this.savedText = this.readText;
        this.badStamp = undefined;
        if (legacy) void this.update(() => {}).catch(() => {}); // another writer left version 1: write it as version 2
        return true;
      } catch (e) {
        this.badStamp = st;
        this.opts.onError?.(new Error(`${(e as Error).message}${this.writeRecovered()}`));
        return false;
      }
    });
  }

  watch(intervalMs: number): void {
    this.watchTimer ??= setInterval(() => void this.reloadIfChanged().catch((e) => this.opts.onError?.(e)), intervalMs);
    (this.watchTimer as any).unref?.();
  }

  async close(): Promise<void> {
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
    await this.flush();
    this.lock.close();
  }

  /**
   * Start a write unless one is running. Back-to-back writes are spaced by a few times the last
   * write's duration, so a big file under a storm of updates cannot hog the event loop.
   */
  private scheduleFlush(now = false): void {
    if (this.flushing || (this.throttle && !now)) return;
    clearTimeout(this.throttle);
    this.throttle = undefined;
    let settle = () => {};
    this.flushing = this.mutex
      .run(async () => {
        settle = await this.writePending();
      })
      .finally(() => {
        this.flushing = undefined;
        // updates that arrived during the write: the next write waits a little
        if (this.pending.length) {
          const wait = Math.min(1000, this.writeMs * 4);
          if (wait < 2) this.scheduleFlush();
          else
            this.throttle = setTimeout(() => {
              this.throttle = undefined;
              this.scheduleFlush();
            }, wait);
        }
        settle(); // only now: a caller that awaits and updates again starts a write at once
      });
  }

  /** write what is pending; returns how to settle the callers' promises */
  private async writePending(): Promise<() => void> {
    if (!this.pending.length) return () => {};
    await this.lock.acquire();
    // from here to the write everything is synchronous: no update can slip between read and write
    const batch = this.pending.splice(0);
    try {
      const st = stampOf(this.path);
      if (st !== undefined && st !== this.stamp) {
        const fresh = this.readFile();
        for (const b of batch) b.fn(fresh);
        this.replace(fresh, st);
      }
      this.doc.revision++;
      const t0 = performance.now();
      const text = serializeStore(this.doc);
      this.writeFile(text);
      this.writeMs = performance.now() - t0;
      this.savedText = text;
      this.lostChanges = undefined;
      return () => batch.forEach((b) => b.resolve());
    } catch (e) {
      const err = this.dropUnsaved(e);
      return () => batch.forEach((b) => b.reject(err));
    } finally {
      this.lock.release();
    }
  }

  /**
   * A write failed: what memory holds beyond the disk is dropped (a change that was not saved must not
   * take effect), and a readable copy of it is kept in accounts.json.recovered when the file itself is
   * the problem. The callers get a StorageError naming the cause.
   */
  private dropUnsaved(e: unknown): StorageError {
    const why = (e as Error)?.message ?? String(e);
    const recovered = e instanceof PoolError ? this.writeRecovered() : "";
    const err = new StorageError(`could not save the account store ${this.path} (${why}); the change was not applied${recovered}`);
    this.lostChanges = err;
    this.replace(this.savedText ? parseStore(this.savedText) : emptyDoc(), this.stamp);
    return err;
  }

  /** what this process holds, written beside the store (0600) so a corrupt file loses nothing */
  private writeRecovered(): string {
    const path = this.path + ".recovered";
    try {
      writeFileAtomicSync(path, serializeStore(this.doc));
      return `; what this server held is in ${path}`;
    } catch {
      return "";
    }
  }

  /** the last write failed (its changes were dropped); cleared by the next successful write */
  get unsaved(): StorageError | undefined {
    return this.lostChanges;
  }

  /** returns whether `doc` came from a version-1 file */
  private replace(doc: StoreDoc, stamp: string | undefined): boolean {
    const previous = this.doc;
    this.doc = doc;
    this.stamp = stamp;
    this.arrayCache = undefined;
    this.opts.onExternalChange?.(doc, previous);
    const legacy = !!doc.legacy;
    doc.legacy = undefined;
    return legacy;
  }

  private load(): void {
    const st = stampOf(this.path);
    if (st === undefined) return;
    this.doc = this.readFile();
    this.savedText = this.readText;
    this.stamp = st;
  }

  private readFile(): StoreDoc {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
      this.readText = text;
    } catch (e) {
      throw new PoolError(`cannot read the account store ${this.path}: ${(e as Error).message}`);
    }
    let doc: StoreDoc;
    try {
      doc = parseStore(text);
    } catch (e) {
      const hint = existsSync(this.backupPath) ? `; the last version this file had before is ${this.backupPath}` : "";
      throw new PoolError(
        `the account store ${this.path} is unreadable (${(e as Error).message}); it was left untouched — fix it or restore a backup${hint}`,
      );
    }
    if (doc.legacy) this.opts.onLegacy?.(doc);
    return doc;
  }

  private writeFile(text: string): void {
    const tmp = join(this.dir, `.${STORE_FILE}${TEMP_MARK}${process.pid}-${crypto.randomUUID().slice(0, 8)}`);
    const fd = openSync(tmp, "wx", 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true }); // a full disk must not also keep a half-written temp file
      throw e;
    }
    closeSync(fd);
    chmodSync(tmp, 0o600);
    if (existsSync(this.path)) this.keepBackup();
    renameSync(tmp, this.path);
    fsyncDir(this.dir);
    this.stamp = stampOf(this.path);
  }

  /** the file about to be replaced becomes accounts.json.bak (it was read and validated before) */
  private keepBackup(): void {
    const tmp = join(this.dir, `.${STORE_FILE}.bak${TEMP_MARK}${process.pid}-${crypto.randomUUID().slice(0, 8)}`);
    try {
      linkSync(this.path, tmp);
    } catch {
      copyFileSync(this.path, tmp); // file systems without hard links
    }
    renameSync(tmp, this.backupPath);
  }

  /** temp files left by a writer that died mid-write (we hold the lock: no live writer has one) */
  private removeStaleTemps(): void {
    for (const f of readdirSync(this.dir)) {
      if (f.startsWith(`.${STORE_FILE}`) && f.includes(TEMP_MARK)) {
        try {
          unlinkSync(join(this.dir, f));
        } catch {
          /* raced with another cleaner */
        }
      }
    }
  }
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    /* some platforms cannot fsync a directory */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export const newAccountId = () => crypto.randomUUID();

const emptyDoc = (): StoreDoc => ({ accounts: new Map(), revision: 0 });
