// An AppContext around a scripted Gateway (no pool, no simulator), for route tests that decide
// themselves what upstream does and when.
import { validateConfig } from "../../src/config/load";
import { ModelCatalog } from "../../src/models/catalog";
import type { AppContext } from "../../src/protocol/context";
import { ClientIdentity } from "../../src/upstream/identity";
import { silentLogger } from "../../src/core/log";
import { createMetrics } from "../../src/core/metrics";
import type { Gateway } from "../../src/gateway/port";

export function scriptedContext(gateway: Gateway, config: Record<string, unknown> = {}): AppContext {
  const cfg = validateConfig(config, "test");
  return {
    config: cfg,
    dataDir: "/nonexistent",
    gateway,
    catalog: new ModelCatalog(undefined, cfg.models.aliases, cfg.models.defaultImageModel),
    identity: new ClientIdentity({ userAgent: "antigravity/{version} {os}/{arch}", versionUrl: "" }),
    pool: { counts: () => ({ total: 1, available: 1 }), close: async () => {} },
    log: silentLogger(),
    metrics: createMetrics(),
  };
}
