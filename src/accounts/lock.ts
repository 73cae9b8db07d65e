// Cross-process exclusive lock: flock(2) on a lock file through bun:ffi. The kernel drops the lock
// when the process dies, so a crashed writer never leaves the store locked. We poll with LOCK_NB
// instead of blocking so the event loop keeps running while another process holds the lock.
import { dlopen, FFIType, read } from "bun:ffi";
import { closeSync, openSync } from "node:fs";
import { PoolError } from "./types";

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EINTR = 4;

type Flock = { flock(fd: number, op: number): number; errno(): number };

let libc: Flock | null | undefined;

function loadLibc(): Flock | null {
  if (libc !== undefined) return libc;
  try {
    const darwin = process.platform === "darwin";
    const errnoName = darwin ? "__error" : "__errno_location";
    const lib = dlopen(darwin ? "libc.dylib" : "libc.so.6", {
      flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      [errnoName]: { args: [], returns: FFIType.ptr },
    });
    const errnoFn = lib.symbols[errnoName] as () => number | null;
    libc = {
      flock: (fd, op) => lib.symbols.flock(fd, op) as number,
      errno: () => {
        const p = errnoFn();
        return p ? read.i32(p as any, 0) : 0;
      },
    };
  } catch {
    libc = null;
  }
  return libc;
}

/** Whether a real cross-process lock is available on this platform. */
export const crossProcessLocking = () => loadLibc() !== null;

/** the lock file, opened for writing, else (read-only data dir) for reading; undefined when it cannot exist */
function openLockFile(path: string): number | undefined {
  try {
    return openSync(path, "a", 0o600);
  } catch (e) {
    if (!["EROFS", "EACCES", "EPERM"].includes((e as { code?: string }).code ?? "")) throw e;
    try {
      return openSync(path, "r"); // flock works on a descriptor opened for reading
    } catch {
      return undefined;
    }
  }
}

export class FileLock {
  private fd: number | undefined;
  private held = false;

  constructor(readonly path: string) {}

  /** Wait (polling) until this process holds the lock. */
  async acquire(timeoutMs = 30_000): Promise<void> {
    const lib = loadLibc();
    if (!lib) return; // no flock (unsupported platform): in-process serialization only
    this.fd ??= openLockFile(this.path);
    if (this.fd === undefined) return; // a read-only data dir: reading needs no lock, and writes fail on their own
    const started = Date.now();
    let wait = 1;
    for (;;) {
      if (lib.flock(this.fd, LOCK_EX | LOCK_NB) === 0) {
        this.held = true;
        return;
      }
      const errno = lib.errno();
      if (errno !== 11 && errno !== 35 && errno !== EINTR) throw new PoolError(`cannot lock ${this.path}: flock failed (errno ${errno})`);
      if (Date.now() - started > timeoutMs)
        throw new PoolError(`cannot lock ${this.path}: another process has held it for over ${Math.round(timeoutMs / 1000)} s`);
      await Bun.sleep(wait);
      wait = Math.min(wait * 2, 20);
    }
  }

  release(): void {
    if (!this.held || this.fd === undefined) return;
    loadLibc()?.flock(this.fd, LOCK_UN);
    this.held = false;
  }

  close(): void {
    this.release();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Serializes async sections inside one process (flock does not: same process, same lock). */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const prev = this.tail;
    let done!: () => void;
    this.tail = new Promise<void>((r) => (done = r));
    await prev;
    try {
      return await fn();
    } finally {
      done();
    }
  }
}
