// The environment Bun and JavaScriptCore read only at start-up (the fetch cap, the heap sizing, the JIT
// tier), and the in-place restart that sets it for `serve` and `demo` (docs/upstream.md, "Concurrent
// upstream calls"). Loaded by the CLI's entry before anything else: it imports nothing heavy.
import { statSync } from "node:fs";
import { parseArgs, wantsHelp } from "./args";
import {
  configPathOf,
  DEFAULT_MAX_CONCURRENT_REQUESTS,
  MAX_CONCURRENT_REQUESTS,
  readConfigFile,
  resolveDataDir,
  settingsOf,
} from "../config/files";
import type { Logger } from "../core/log";

/** fetches outside the limited v1internal calls: token refresh, userinfo, the version lookup, remote images */
const FETCH_HEADROOM = 64;
/** the most Bun takes */
const BUN_MAX_HTTP_REQUESTS = 65535;
/**
 * The RAM JavaScriptCore sizes its heap by. It scales its collection thresholds with the machine's
 * memory, so on a large machine a gateway under load let ~70 MB of garbage pile up between collections
 * (peak RSS 110–130 MB, where the live heap is a few MB); believing it has 128 MB it collects sooner
 * (peak ~67 MB). Not 64: JavaScriptCore lets the heap grow to twice what is live only while the
 * process uses under 80 % of that RAM, and by a quarter beyond it; a gateway serving coding agents'
 * 200 KB turns is beyond it at 64 MB and spent twice the CPU per turn, mostly collecting
 * (docs/performance.md). An operator's own value wins.
 */
const HEAP_RAM_BYTES = 128 * 1024 * 1024;
/**
 * JavaScriptCore's top tier (FTL) off: the request path is glue around native JSON and I/O, where FTL
 * code ran no faster than the tier below it (DFG), but compiling it took about a second of CPU after
 * every start and every quiet spell long enough to drop compiled code, and ~12 MB more at peak
 * (docs/performance.md). An operator's own value wins.
 */
const FTL_JIT = "0";
/** JavaScriptCore's settings `serve` runs with, unless the operator set them (read only at start) */
export const JSC_DEFAULTS: Record<string, string> = { BUN_JSC_forceRAMSize: String(HEAP_RAM_BYTES), BUN_JSC_useFTLJIT: FTL_JIT };
/** set in the replacing process: it never replaces itself again */
const REEXEC_MARK = "SWITCHYARD_FETCH_CAP_REEXEC";
let capWarned = false;

/**
 * Two settings Bun reads only when a process starts, so setting them later does nothing:
 *   - BUN_CONFIG_MAX_HTTP_REQUESTS: Bun's fetch keeps at most this many requests in flight per process
 *     (default 256) and queues the rest out of sight; `upstream.maxConcurrentRequests` calls (plus a few
 *     others) must really be in flight;
 *   - BUN_JSC_forceRAMSize, BUN_JSC_useFTLJIT: the heap sizing and the JIT tier above.
 * When one is missing, the process replaces itself once with them set — execve keeps the pid, stdio and
 * signal delivery, so service managers and parents see nothing. It must run before the first fetch and
 * before listening. When execve is missing or fails and the fetch cap is short, one warning, and the
 * server runs under Bun's cap. The CLI's entry tries it first, before the program is loaded
 * (restartEarly); this is the check once the configuration is read, and the one that warns.
 */
/** a restarted process reads the configuration again: a pipe (`<(sops -d …)`, /dev/stdin) is read once */
export function readableAgain(configPath: string): boolean {
  try {
    return statSync(configPath).isFile();
  } catch {
    return true; // none there: nothing to read again
  }
}

export function restartWithStartupEnv(limit: number, log: Pick<Logger, "warn">, configPath?: string): void {
  const { wanted, have, need } = startupEnv(limit);
  if (Object.keys(wanted).length === 0) return;
  const warn = (why: string) => {
    if (capWarned || have >= need) return; // the heap sizing and the JIT tier alone are not worth a warning
    capWarned = true;
    log.warn("could not lift Bun's limit on concurrent fetches; upstream calls beyond it wait inside Bun", {
      bunLimit: have,
      wanted: need,
      reason: why,
      fix: `start switchyard with BUN_CONFIG_MAX_HTTP_REQUESTS=${need} in its environment`,
    });
  };
  // the loop guard: this process is already the replacement (and the need changed, or Bun ignored the value)
  if (process.env[REEXEC_MARK]) return warn("the restarted process still has the lower limit");
  if (typeof process.execve !== "function") return warn("process.execve is not available in this Bun");
  if (configPath !== undefined && !readableAgain(configPath))
    return warn(`the configuration (${configPath}) is not a file a restart could read again`);
  try {
    replaceWith(wanted);
  } catch (e) {
    warn(`execve failed: ${(e as Error)?.message ?? e}`);
  }
}

/**
 * The same replacement, made by the CLI's entry for `serve` and `demo` before the rest of the program
 * is loaded: the first process then costs Bun's start and this file, not the configuration's schema and
 * its check (~20 ms of every start-up, docs/performance.md, "Start-up"). The limit is read from
 * config.json as it is; anything it cannot read is left to the check after the configuration is loaded,
 * which reports it. Never warns: that check does.
 */
export function restartEarly(argv: string[]): void {
  if (process.env[REEXEC_MARK] || typeof process.execve !== "function") return;
  let limit: number;
  try {
    const { command, flags, rest } = parseArgs(argv);
    if ((command !== "serve" && command !== "demo") || wantsHelp(rest)) return;
    // the demo reads a config file only from --config or --data-dir
    const path = command === "demo" && !flags.config && !flags.dataDir ? undefined : configPathOf(flags, resolveDataDir(flags));
    // a pipe read here would be empty for the configuration's own read (and for the restarted process)
    if (path !== undefined && !readableAgain(path)) return;
    const file = path === undefined ? {} : readConfigFile(path);
    const v = settingsOf(file).upstream?.maxConcurrentRequests;
    limit = Number.isInteger(v) && v >= 1 && v <= MAX_CONCURRENT_REQUESTS ? v : DEFAULT_MAX_CONCURRENT_REQUESTS;
  } catch {
    return; // a usage or configuration error: the program reports it
  }
  const { wanted } = startupEnv(limit);
  if (Object.keys(wanted).length === 0) return;
  try {
    replaceWith(wanted);
  } catch {
    // the check after the configuration tries again, and warns
  }
}

/** the variables to set (those missing or short), and the fetch cap this process has and needs */
function startupEnv(limit: number): { wanted: Record<string, string>; have: number; need: number } {
  const need = Math.min(limit + FETCH_HEADROOM, BUN_MAX_HTTP_REQUESTS);
  const raw = process.env.BUN_CONFIG_MAX_HTTP_REQUESTS;
  const have = raw && /^\d+$/.test(raw) && Number(raw) <= BUN_MAX_HTTP_REQUESTS ? Number(raw) : 256;
  const wanted: Record<string, string> = {};
  if (have < need) wanted.BUN_CONFIG_MAX_HTTP_REQUESTS = String(need);
  for (const [name, value] of Object.entries(JSC_DEFAULTS)) if (!process.env[name]) wanted[name] = value;
  return { wanted, have, need };
}

/** this process replaced by the same program with `wanted` added to its environment (returns only on failure) */
function replaceWith(wanted: Record<string, string>): void {
  // a compiled binary's argv[1] is its embedded entry (/$bunfs/…); `bun src/main.ts` needs its flags and script
  const args = Bun.main.startsWith("/$bunfs/")
    ? [process.execPath, ...process.argv.slice(2)]
    : [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  process.execve!(process.execPath, args, { ...process.env, ...wanted, [REEXEC_MARK]: "1" });
}
