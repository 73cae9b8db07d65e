// Composes a running gateway: pool, catalogue, app, listener. Used by `serve`, `demo` and the tests.
import type { Config } from "../config/schema";
import { openPool, type Pool } from "../pool/index";
import { adminRoutes } from "../admin/routes";
import { ClientIdentity } from "../upstream/identity";
import { geminiRoutes } from "../gemini/routes";
import { openaiRoutes } from "../openai/routes";
import { anthropicRoutes } from "../anthropic/routes";
import { responsesRoutes } from "../openai/responses-routes";
import { audioRoutes } from "../openai/audio-routes";
import { modelsRoute } from "./models-route";
import type { AppContext } from "../protocol/context";
import { buildApp, createHandler, registerPoolMetrics, registerServerMetrics } from "./app";
import { listen, type Listener } from "./listen";
import type { Logger } from "../core/log";
import { createMetrics } from "../core/metrics";
import { Keys } from "../keys/service";
import { RedisKeys } from "../state/redis-keys";
import { RedisUsage } from "../state/redis-usage";
import { SqliteKeys } from "../state/keys";
import { uiRoutes } from "../ui/routes";
import { checkAdminKey } from "./auth";

export interface RunningServer {
  ctx: AppContext;
  pool: Pool;
  listener: Listener;
  url: string;
  /**
   * graceful: stop accepting, finish requests up to server.shutdownGraceSeconds, flush the pool; `now`
   * (again, during that wait) closes what is still open at once, and still flushes
   */
  stop(now?: boolean): Promise<void>;
}

export async function startServer(opts: { config: Config; dataDir: string; log: Logger; now?: () => number }): Promise<RunningServer> {
  const { config, dataDir, log } = opts;
  const metrics = createMetrics();
  const identity = new ClientIdentity(config.upstream, {
    now: opts.now,
    onChange: (i) => log.info("client identity", { userAgent: i.userAgent, source: i.source, note: i.note }),
  });
  const pool = await openPool({ config, dataDir, log, metrics, background: true, identity });
  // discovery runs in the background: start-up never waits for the updater
  identity.start();
  // several instances: the keys and their counters are shared through the pool's Redis
  const shared = pool.sharedState;
  const sharedKeys = shared ? await RedisKeys.open(shared, new SqliteKeys(pool.stateDatabase)) : undefined;
  const sharedUsage = shared ? await RedisUsage.open(shared) : undefined;
  const keys = new Keys({
    db: pool.stateDatabase,
    shared: sharedKeys,
    sharedUsage,
    log,
    retentionDays: config.usage.retentionDays,
    registry: metrics.registry,
    now: opts.now,
    // a name reaching a model the catalogue has (an alias, a family name, a dated id) is a known one
    knownModel: (id) => {
      try {
        return pool.catalog.get(pool.catalog.resolve(id).model) !== undefined;
      } catch {
        return false;
      }
    },
  }).start();
  pool.gateway.useMeter(keys);
  const ctx: AppContext = { config, dataDir, gateway: pool.gateway, catalog: pool.catalog, pool, identity, log, metrics, keys };
  registerPoolMetrics(ctx);
  const stopMetrics = registerServerMetrics(ctx);
  const app = buildApp(ctx, [
    geminiRoutes(ctx),
    modelsRoute(ctx),
    openaiRoutes(ctx),
    responsesRoutes(ctx),
    audioRoutes(ctx),
    anthropicRoutes(ctx),
    adminRoutes(ctx, pool),
    uiRoutes(ctx, pool, { app: () => app, checkAdminKey: (key) => checkAdminKey(config, key) }),
  ]);
  let listener: Listener;
  try {
    listener = listen({
      host: config.server.host,
      port: config.server.port,
      maxBodyBytes: config.server.maxBodyBytes,
      fetch: createHandler(ctx, app),
      onError: (e) => log.error("a request failed outside the handler", { error: String((e as Error)?.stack ?? e) }),
      // a stream is silent at most server.keepAliveSeconds: the idle limit stays well above it
      idleSeconds: Math.min(255, Math.max(60, Math.ceil(config.server.keepAliveSeconds * 2))),
    });
  } catch (e) {
    stopMetrics();
    identity.stop();
    keys.close();
    await pool.close();
    throw e;
  }
  let stopping: Promise<void> | undefined;
  let hurry = () => {};
  const hurried = new Promise<void>((r) => (hurry = r));
  return {
    ctx,
    pool,
    listener,
    url: listener.url,
    stop(now = false) {
      if (now) hurry();
      stopping ??= (async () => {
        identity.stop();
        stopMetrics();
        await listener.stop(config.server.shutdownGraceSeconds * 1000, hurried);
        keys.close(); // the last usage records, before state.db closes
        await pool.close();
      })();
      return stopping;
    },
  };
}
