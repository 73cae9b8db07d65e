// Background work never storms: start-up refreshes nothing (a token is refreshed when its account is
// picked), sweeps keep a bounded number of upstream calls in flight, and due times are spread by a
// per-account jitter so accounts added together do not all refresh together.
import { afterEach, expect, test } from "bun:test";
import { AccountStore } from "../../src/accounts/store";
import { jitterOf } from "../../src/accounts/upkeep";
import { openPool, type Pool } from "../../src/pool/index";
import { silentLogger } from "../../src/core/log";
import { startSimulator } from "../../src/simulator/index";
import { simConfig, startRig } from "../helpers/pool";
import { accountRecord, tempDir, userText } from "../helpers/util";

const M = "gemini-2.5-flash";
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** the pool's background sweeps, run once by hand (the timers would run them on their own) */
const sweeps = (p: Pool) => (p as any).upkeep as { refreshDueTokens(): Promise<void>; refreshStaleQuotas(): Promise<void> };

test("start-up refreshes no token; a request refreshes only the account it picks; idle accounts are not swept", async () => {
  const sim = await startSimulator({ delays: false });
  const { dir, cleanup } = tempDir("bg");
  cleanups.push(cleanup, () => sim.stop());
  const store = await AccountStore.open(dir);
  await store.update((doc) => {
    for (let i = 0; i < 30; i++) {
      const a = sim.addAccount({ email: `idle${i}@x.com` });
      doc.accounts.set(a.email, accountRecord(a.email, { refreshToken: a.refreshToken, projectId: a.project }));
    }
  });
  await store.close();
  const pool = await openPool({
    config: simConfig(sim, { pool: { quotaRefreshMinutes: 1 } }),
    dataDir: dir,
    log: silentLogger(),
    background: true,
  });
  cleanups.push(() => pool.close());
  await pool.ready;
  await sweeps(pool).refreshDueTokens();
  await sweeps(pool).refreshStaleQuotas();
  expect(sim.stats().token ?? 0).toBe(0);
  await pool.gateway.generate({ model: M, request: userText("hi") });
  expect(sim.stats().token).toBe(1);
  await sweeps(pool).refreshStaleQuotas(); // the one account in service now is kept current, the others are not woken
  expect(sim.stats().token).toBe(1);
  expect(sim.stats().fetchAvailableModels).toBe(1);
});

test("the token sweep keeps at most 4 calls in flight and spreads due times by a per-account jitter", async () => {
  // tokens live 3600 s; refreshing 3000 s ahead plus up to half of that by jitter: some are due, not all
  const r = await startRig(
    Array.from({ length: 40 }, (_, i) => ({ email: `due${i}@x.com` })),
    { pool: { tokenRefreshAheadSeconds: 3000 } },
  );
  cleanups.push(() => r.stop());
  r.sim.addFault({ kind: "delay", method: "token", delayMs: 20 });
  await sweeps(r.pool).refreshDueTokens();
  const refreshed = r.sim.stats().token ?? 0;
  expect(r.sim.peaks().token).toBeLessThanOrEqual(4);
  expect(refreshed).toBeGreaterThan(0);
  expect(refreshed).toBeLessThan(40);
  // the jitter is stable per account and spread over [0, 1)
  const js = Array.from({ length: 1000 }, (_, i) => jitterOf(`account-${i}`));
  expect(js.every((j) => j >= 0 && j < 1)).toBe(true);
  expect(js.filter((j) => j < 0.5).length).toBeGreaterThan(400);
  expect(jitterOf("x")).toBe(jitterOf("x"));
});
