// Most of an idle gateway's resident memory is not its heap: it is pages of its own executable (Bun's
// code, the embedded bundle) read once at start-up — the parser, the module loader, the CLI — and kept
// mapped. They are clean file pages: madvise(MADV_PAGEOUT) hands them back to the kernel, and whichever
// the next request needs are read back in (a few ms, once). Linux only; a no-op elsewhere, and when the
// call is not there (kernels before 5.4 answer EINVAL, ignored).
import { readFileSync } from "node:fs";

const MADV_PAGEOUT = 21;
/** a read-only or executable private mapping of a file: `start-end perms offset dev inode path` */
const FILE_MAPPING = /^([0-9a-f]+)-([0-9a-f]+) r-[-x]p \S+ \S+ [1-9]\d*\s+\//;

let madvise: ((addr: bigint, len: bigint, advice: number) => number) | null | undefined;

async function load(): Promise<typeof madvise> {
  if (madvise !== undefined) return madvise;
  if (process.platform !== "linux") return (madvise = null);
  try {
    const { dlopen, FFIType } = await import("bun:ffi");
    const libc = dlopen("libc.so.6", { madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 } });
    return (madvise = (a, l, adv) => libc.symbols.madvise(a, l, adv));
  } catch {
    return (madvise = null); // no libc.so.6 (musl), or no FFI: keep the pages
  }
}

/** pages the process's file mappings out; how many mappings it advised */
export async function pageOutFileMappings(): Promise<number> {
  const advise = await load();
  if (!advise) return 0;
  let n = 0;
  for (const line of readFileSync("/proc/self/maps", "utf8").split("\n")) {
    const m = FILE_MAPPING.exec(line);
    if (!m) continue;
    const start = BigInt(`0x${m[1]}`);
    if (advise(start, BigInt(`0x${m[2]}`) - start, MADV_PAGEOUT) === 0) n++;
  }
  return n;
}
