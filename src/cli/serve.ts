// `switchyard serve`: run the gateway until SIGTERM/SIGINT.
import { ensureDataDir, generateApiKey, loadConfig, type Flags } from "../config/load";
import { createLogger, type Logger } from "../core/log";
import type { RunningServer } from "../server/start";
import { effectiveMode } from "../server/auth";
import { VERSION } from "../version";

export interface ServeOptions {
  /** this process is the CLI's own (not a test calling serve()): it may replace itself (restartWithStartupEnv) */
  ownProcess?: boolean;
}

export async function serve(flags: Flags, opts: ServeOptions = {}): Promise<number> {
  const loaded = loadConfig(flags);
  const log = createLogger(loaded.config.log.level, undefined, loaded.config.log.format);
  // first, before anything was written, fetched or listened on: this may restart the process in place
  if (opts.ownProcess) restartWithStartupEnv(loaded.config.upstream.maxConcurrentRequests, log);
  ensureDataDir(loaded.dataDir);
  if (loaded.config.auth.apiKeys.length === 0) {
    const key = await generateApiKey(loaded);
    // printed once, as the contract promises (docs/contract.md §4); it is also in the config file
    process.stdout.write(`Generated an API key (stored in ${loaded.configPath}; shown only this once):\n  ${key}\n`);
  }
  // loaded only now: the process may have replaced itself above, and the server is most of the code
  const { startServer } = await import("../server/start");
  const gw = await startServer({ config: loaded.config, dataDir: loaded.dataDir, log });
  log.info("listening", {
    url: gw.url,
    version: VERSION,
    dataDir: loaded.dataDir,
    authMode: effectiveMode(loaded.config),
    accounts: gw.pool.counts().total,
  });
  return untilSignal(gw, log);
}

/** resolves with the exit code after a graceful, bounded shutdown on SIGTERM or SIGINT (1 when state could not be saved) */
export function untilSignal(gw: RunningServer, log: Pick<Logger, "info" | "error">, onStop?: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    const stop = async (signal: string) => {
      log.info("shutting down", { signal });
      let code = 0;
      try {
        await gw.stop();
      } catch (e) {
        log.error("shut down with unsaved changes", { error: (e as Error).message });
        process.stderr.write(`switchyard: ${(e as Error).message}\n`);
        code = 1;
      }
      await onStop?.();
      resolve(code);
    };
    process.once("SIGTERM", () => void stop("SIGTERM"));
    process.once("SIGINT", () => void stop("SIGINT"));
    // SIGHUP would end the process without a graceful stop (a closed terminal, `kill -HUP` from habit):
    // the configuration is read at start only, so the signal is acknowledged and ignored
    process.on("SIGHUP", () => log.info("SIGHUP ignored: restart switchyard to apply a changed configuration"));
  });
}

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
 * server runs under Bun's cap.
 */
export function restartWithStartupEnv(limit: number, log: Pick<Logger, "warn">): void {
  const need = Math.min(limit + FETCH_HEADROOM, BUN_MAX_HTTP_REQUESTS);
  const raw = process.env.BUN_CONFIG_MAX_HTTP_REQUESTS;
  const have = raw && /^\d+$/.test(raw) && Number(raw) <= BUN_MAX_HTTP_REQUESTS ? Number(raw) : 256;
  const wanted: Record<string, string> = {};
  if (have < need) wanted.BUN_CONFIG_MAX_HTTP_REQUESTS = String(need);
  for (const [name, value] of Object.entries(JSC_DEFAULTS)) if (!process.env[name]) wanted[name] = value;
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
  // a compiled binary's argv[1] is its embedded entry (/$bunfs/…); `bun src/main.ts` needs its flags and script
  const args = Bun.main.startsWith("/$bunfs/")
    ? [process.execPath, ...process.argv.slice(2)]
    : [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  try {
    process.execve(process.execPath, args, { ...process.env, ...wanted, [REEXEC_MARK]: "1" });
  } catch (e) {
    warn(`execve failed: ${(e as Error)?.message ?? e}`);
  }
}
