// `switchyard serve`: run the gateway until SIGTERM/SIGINT.
import { ensureDataDir, generateApiKey, loadConfig, type Flags } from "../config/load";
import { createLogger, printStdout, type Logger } from "../core/log";
import type { RunningServer } from "../server/start";
import { effectiveMode } from "../server/auth";
import { VERSION } from "../version";
import { restartWithStartupEnv } from "./startup-env";

export interface ServeOptions {
  /** this process is the CLI's own (not a test calling serve()): it may replace itself (restartWithStartupEnv) */
  ownProcess?: boolean;
}

export async function serve(flags: Flags, opts: ServeOptions = {}): Promise<number> {
  const loaded = loadConfig(flags);
  const log = createLogger(loaded.config.log.level, undefined, loaded.config.log.format);
  // first, before anything was written, fetched or listened on: this may restart the process in place
  if (opts.ownProcess) restartWithStartupEnv(loaded.config.upstream.maxConcurrentRequests, log, loaded.configPath);
  ensureDataDir(loaded.dataDir);
  if (loaded.config.auth.apiKeys.length === 0) {
    const key = await generateApiKey(loaded);
    // printed once, as the contract promises (docs/contract.md §4); it is also in the config file
    printStdout(`Generated an API key (stored in ${loaded.configPath}; shown only this once):\n  ${key}\n`);
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
    let signalled = false;
    const stop = async (signal: string) => {
      // a second Ctrl-C: close what is still open now, but still save the last usage and counters (the
      // default action would kill the process before they reach state.db)
      if (signalled) return (log.info("closing open requests now", { signal }), void gw.stop(true));
      signalled = true;
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
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
    // SIGHUP would end the process without a graceful stop (a closed terminal, `kill -HUP` from habit):
    // the configuration is read at start only, so the signal is acknowledged and ignored
    process.on("SIGHUP", () => log.info("SIGHUP ignored: restart switchyard to apply a changed configuration"));
  });
}
