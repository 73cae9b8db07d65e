// `switchyard serve`: run the gateway until SIGTERM/SIGINT.
import { ensureDataDir, generateApiKey, loadConfig, type Flags } from "../config/load";
import { createLogger } from "../core/log";
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
  log.info("listening", { url: gw.url, version: VERSION, dataDir: loaded.dataDir, authMode: effectiveMode(loaded.config), accounts: gw.pool.counts().total });
  await untilSignal(gw, log);
  return 0;
}

/** resolves after a graceful, bounded shutdown on SIGTERM or SIGINT */
export function untilSignal(gw: RunningServer, log: { info(m: string, f?: Record<string, unknown>): void }, onStop?: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const stop = async (signal: string) => {
      log.info("shutting down", { signal });
      await gw.stop();
      await onStop?.();
      resolve();
    };
    process.once("SIGTERM", () => void stop("SIGTERM"));
    process.once("SIGINT", () => void stop("SIGINT"));
  });
}
