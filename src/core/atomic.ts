// Crash-safe file replacement: temp file in the same folder, fsync, rename, fsync the folder.
// (Bun.write is neither atomic nor fsynced; see docs/stack.md, "Persistence".)
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode = 0o600): void {
  const dir = dirname(path);
  removeDeadTemps(dir, basename(path));
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "w", mode);
    writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    // the temp file may hold secrets (an export, accounts.json): never left behind
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {}
    throw writeError(path, e);
  }
  const dfd = openSync(dir, "r");
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

const REASONS: Record<string, string> = {
  EISDIR: "it is a folder",
  ENOENT: "its folder does not exist",
  ENOTDIR: "its folder is not a folder",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "the file system is read-only",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
};

/** the error about the path asked for, not the temp file (its code kept) */
function writeError(path: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException)?.code;
  const err: NodeJS.ErrnoException = new Error(`cannot write ${path}: ${(code && REASONS[code]) ?? (e as Error)?.message ?? e}`);
  err.code = code;
  return err;
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  writeFileAtomicSync(path, data, mode);
}

/** the temp-file pattern above */
export const isAtomicTemp = (name: string, target: string) => name.startsWith(`.${target}.`) && name.endsWith(".tmp");

/**
 * Temp files of `target` left by a process that died mid-write (killed between open and rename): they
 * may hold secrets (a generated key, an export), so the next write removes them. A live writer's are
 * left alone: its pid is in the name.
 */
function removeDeadTemps(dir: string, target: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // the write reports the folder's problem
  }
  const now = Date.now();
  for (const name of names) {
    if (!isAtomicTemp(name, target)) continue;
    const pid = Number(name.slice(target.length + 2).split(".")[0]);
    try {
      const age = now - statSync(join(dir, name)).mtimeMs;
      // a pid may be reused (pid 1 in a container) or be another namespace's: age decides in the end
      const dead = age > DEAD_AFTER_MS && (!Number.isInteger(pid) || (pid !== process.pid && !alive(pid)));
      if (dead || age > ABANDONED_AFTER_MS) unlinkSync(join(dir, name));
    } catch {
      /* gone already, or another cleaner was first */
    }
  }
}

/** a temp file this old whose writer is gone is left over (a write takes milliseconds) */
const DEAD_AFTER_MS = 60_000;
/** a temp file this old is left over whoever wrote it */
const ABANDONED_AFTER_MS = 3_600_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // there, but not ours
  }
}
