// Background work never storms: start-up refreshes nothing (a token is refreshed when its account is
// picked) but the accounts that have no project yet, sweeps keep a bounded number of upstream calls in
// flight, and due times are spread by a per-account jitter so accounts added together do not all
// refresh together.
import { afterEach, expect, test } from "bun:test";
import { AccountStore } from "../../src/accounts/store";
import { jitterOf } from "../../src/accounts/upkeep";
import { openPool, type Pool } from "../../src/pool/index";
import { silentLogger } from "../../src/core/log";
import { startSimulator, type Simulator } from "../../src/simulator/index";
import { simConfig, startRig } from "../helpers/pool";
import { accountRecord, tempDir, until, userText } from "../helpers/util";

const M = "gemini-2.5-flash";
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** the pool's background sweeps, run once by hand (the timers would run them on their own) */
const sweeps = (p: Pool) =>
  (p as any).upkeep as {
    refreshDueTokens(): Promise<void>;
    refreshStaleQuotas(): Promise<void>;
    resolveMissingProjects(now: number): Promise<void>;
  };

/** a data dir whose accounts.json holds `n` accounts the simulator knows, with their projects */
async function seeded(sim: Simulator, n: number, name: string): Promise<string> {
  const { dir, cleanup } = tempDir(`bg-${name}`);
  cleanups.push(cleanup);
  const store = await AccountStore.open(dir);
  await store.update((doc) => {
    for (let i = 0; i < n; i++) {
      const a = sim.addAccount({ email: `${name}${i}@x.com` });
      doc.accounts.set(a.email, accountRecord(a.email, { refreshToken: a.refreshToken, projectId: a.project }));
    }
  });
  await store.close();
  return dir;
}

test("with no model list known, a start reads it from one account at once (one token, one model list)", async () => {
  const sim = await startSimulator({ delays: false });
  cleanups.push(() => sim.stop());
  const dir = await seeded(sim, 5, "first");
  const pool = await openPool({ config: simConfig(sim), dataDir: dir, log: silentLogger(), background: true });
  cleanups.push(() => pool.close());
  await pool.ready;
  await until(() => pool.reportedModels().length > 0, "the model list", 3000);
  expect(sim.stats().token).toBe(1);
  expect(sim.stats().fetchAvailableModels).toBe(1);
  // gemini-2.5-flash is served: asked for, it is what answers (the built-in rules would map it on)
  expect((await pool.gateway.generate({ model: M, request: userText("hi") })).mappedModel).toBe(M);
});

test("start-up refreshes no token; a request refreshes only the account it picks; idle accounts are not swept", async () => {
  const sim = await startSimulator({ delays: false });
  cleanups.push(() => sim.stop());
  const dir = await seeded(sim, 30, "idle");
  // an earlier run learned the model list (a start with none reads it: the test above)
  const earlier = await openPool({ config: simConfig(sim), dataDir: dir, log: silentLogger(), background: true });
  await earlier.ready;
  await until(() => earlier.reportedModels().length > 0, "the model list", 3000);
  await earlier.close();
  const before = { token: sim.stats().token ?? 0, models: sim.stats().fetchAvailableModels ?? 0 };
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
  expect(sim.stats().token ?? 0).toBe(before.token);
  await pool.gateway.generate({ model: M, request: userText("hi") });
  // the picked account's token: refreshed now, or still the one the earlier run got
  const afterRequest = sim.stats().token ?? 0;
  expect(afterRequest - before.token).toBeLessThanOrEqual(1);
  await sweeps(pool).refreshStaleQuotas(); // the one account in service now is kept current, the others are not woken
  expect(sim.stats().token ?? 0).toBe(afterRequest);
  expect((sim.stats().fetchAvailableModels ?? 0) - before.models).toBeLessThanOrEqual(1);
});

test("the token sweep keeps at most 4 calls in flight and spreads due times by a per-account jitter", async () => {
  // tokens live 3600 s; refreshing 3000 s ahead plus up to half of that by jitter: some are due, not all
  const r = await startRig(
    Array.from({ length: 40 }, (_, i) => ({ email: `due${i}@x.com` })),
    { pool: { tokenRefreshAheadSeconds: 3000 } },
  );
  cleanups.push(() => r.stop());
  r.sim.addFault({ kind: "delay", method: "token", delayMs: 20 });
  // only accounts in use are kept current: these all served a request a minute ago
  for (const a of r.pool.accountStates()) (a as { lastUsedAt?: number }).lastUsedAt = Date.now() - 60_000;
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

test("an account added while Google's project lookup failed is tried again, with a growing wait, until it can serve; a start tries at once", async () => {
  const sim = await startSimulator({ delays: false });
  const { dir, cleanup } = tempDir("bg-project");
  cleanups.push(cleanup, () => sim.stop());
  let now = Date.UTC(2026, 10, 29, 12);
  const pool = await openPool({ config: simConfig(sim), dataDir: dir, log: silentLogger(), background: true, now: () => now });
  await pool.ready;
  const acc = sim.addAccount({ email: "late-project@x.com" });
  sim.addFault({ kind: "internal_500", method: "loadCodeAssist", times: 1 });
  const { account } = await pool.addByRefreshToken(acc.refreshToken);
  expect(account.projectId).toBeUndefined();
  await expect(pool.gateway.generate({ model: M, request: userText("hi") })).rejects.toMatchObject({ status: 503 });
  const lookups = () => sim.stats().loadCodeAssist ?? 0;
  // the first try fails too: the next waits a minute
  sim.addFault({ kind: "internal_500", method: "loadCodeAssist", times: 1 });
  await sweeps(pool).resolveMissingProjects(now);
  expect(pool.list()[0]!.projectId).toBeUndefined();
  const tried = lookups();
  now += 30_000;
  await sweeps(pool).resolveMissingProjects(now);
  expect(lookups()).toBe(tried); // not yet due
  now += 30_000;
  await sweeps(pool).resolveMissingProjects(now);
  expect(pool.list()[0]!.projectId).toBe(acc.project);
  expect((await pool.gateway.generate({ model: M, request: userText("hi") })).accountEmail).toBe(acc.email);
  await pool.close();
  cleanups.pop(); // (closed)

  // an account stored without a project (a lookup that failed in an earlier run): the start tries it
  const store = await AccountStore.open(dir);
  await store.update((doc) => {
    const a = doc.accounts.get(pool.list()[0]!.id)!;
    a.projectId = undefined;
  });
  await store.close();
  const again = await openPool({ config: simConfig(sim), dataDir: dir, log: silentLogger(), background: true, now: () => now });
  cleanups.push(() => again.close());
  await again.ready;
  await until(() => again.list()[0]!.projectId === acc.project, "the project found at start", 3000);
});

test("accounts that served nothing lately are not kept awake: their tokens lapse and their quota is not re-read", async () => {
  // every token due (refreshed up to an hour ahead); two accounts served a request, two never did
  const r = await startRig(
    ["busy1", "busy2", "idle1", "idle2"].map((n) => ({ email: `${n}@x.com` })),
    { pool: { tokenRefreshAheadSeconds: 3599, quotaRefreshMinutes: 1 } },
  );
  cleanups.push(() => r.stop());
  const now = Date.now();
  for (const a of r.pool.accountStates() as readonly {
    email: string;
    lastUsedAt?: number;
    quota?: Record<string, { fetchedAt: number }>;
  }[]) {
    if (a.email.startsWith("busy")) a.lastUsedAt = now - 60_000;
    else a.lastUsedAt = now - 3 * 3_600_000;
    for (const q of Object.values(a.quota ?? {})) q.fetchedAt = now - 10 * 60_000; // stale for a 1-minute period
  }
  r.sim.clearRequests();
  await sweeps(r.pool).refreshDueTokens();
  await sweeps(r.pool).refreshStaleQuotas();
  const touched = new Set(r.sim.requests().map((x) => x.email));
  expect([...touched].sort()).toEqual(["busy1@x.com", "busy2@x.com"]);
});
