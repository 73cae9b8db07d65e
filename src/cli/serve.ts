// `switchyard serve`: run the gateway until SIGTERM/SIGINT.
import { ensureDataDir, generateApiKey, loadConfig, type Flags } from "../config/load";
import { createLogger, type Logger } from "../core/log";
import { startServer, type RunningServer } from "../server/start";
import { effectiveMode } from "../server/auth";
import { VERSION } from "../version";

export async function serve(flags: Flags): Promise<number> {
  const loaded = loadConfig(flags);
  ensureDataDir(loaded.dataDir);
  const log = createLogger(loaded.config.log.level);
  if (loaded.config.auth.apiKeys.length === 0) {
    const key = await generateApiKey(loaded);
    process.stdout.write(`Generated an API key (stored in ${loaded.configPath}; shown only this once):\n  ${key}\n`);
  }
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
  });
}
