// What every route plugin gets: the resolved config and the services behind the routes.
import type { Config } from "../config/schema";
import type { ModelCatalog } from "../models/catalog";
import type { IdentityInfo } from "../upstream/identity";
import type { Gateway } from "../gateway/port";
import type { Logger } from "../core/log";
import type { Metrics } from "../core/metrics";
import type { Keys } from "../keys/service";

/** The part of the account pool the server shell needs (health, shutdown). */
export interface PoolStatus {
  counts(): { total: number; available: number };
  /**
   * every account's state as the pool holds it, for the per-account series of /metrics: read at each
   * scrape, so nothing is made per account (the secret-free views with their ISO times cost ~0.4 s of
   * the server's thread a scrape with 10,000 accounts)
   */
  accountStates?(): readonly {
    email: string;
    state: string;
    quota: Record<string, { remainingFraction: number }> | null;
    cooldowns: readonly { model: string; until: number; reason: string }[];
  }[];
  /** shared state (Redis): "shared", or "degraded" while unreachable; absent/undefined = state.db alone */
  stateStatus?(): "shared" | "degraded" | undefined;
  /** flush hot counters and stop background timers */
  close(): Promise<void>;
}

export interface AppContext {
  config: Config;
  dataDir: string;
  gateway: Gateway;
  catalog: ModelCatalog;
  pool: PoolStatus;
  /** the client identity sent upstream */
  identity: { info(): IdentityInfo };
  log: Logger;
  metrics: Metrics;
  /** virtual keys, their limits and the usage log (absent in route tests that script the gateway) */
  keys?: Keys;
}
