// Shared state on Redis when an instance dies: two gateways as child processes (`switchyard serve`),
// one SIGKILLed while it holds an account's refresh lease. The other serves on, no later than the lease
// allows, and what the dead one wrote before it died is still there.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient, type Subprocess } from "bun";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSimulator, type Simulator } from "../../src/simulator/index";
import { redisMissing, startRedis, type RedisServer } from "../helpers/redis";
import { startInstances } from "../helpers/instances";
import { MAIN, ROOT, cleanEnv, freePort, waitForHealth } from "../helpers/cli";
import { until } from "../helpers/util";

const skip = redisMissing();
/** the refresh lease in src/accounts/tokens.ts */
const LEASE_MS = 10_000;

describe.skipIf(!!skip)("shared state on Redis: an instance SIGKILLed", () => {
  let redis: RedisServer;
  let sim: Simulator;
  const dirs: string[] = [];
  const procs: Subprocess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    sim = await startSimulator({ port: 0, hostname: "127.0.0.1", delays: false });
  });

  afterAll(async () => {
    for (const p of procs) p.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await sim?.stop();
    await redis?.cleanup();
  });

  async function serve(accountsJson: string, prefix: string, apiKey: string): Promise<{ url: string; proc: Subprocess }> {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-test-kill-"));
    dirs.push(dir);
    copyFileSync(accountsJson, join(dir, "accounts.json"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ state: { redisPrefix: prefix }, pool: { flushIntervalSeconds: 0.1 } }));
    const port = await freePort();
    const proc = Bun.spawn([process.execPath, MAIN, "serve", "--data-dir", dir, "--port", String(port), "--host", "127.0.0.1"], {
      cwd: ROOT,
      env: {
        ...cleanEnv(),
        SWITCHYARD_REDIS_URL: redis.url,
        SWITCHYARD_UPSTREAM_ENDPOINTS: sim.url,
        SWITCHYARD_OAUTH_TOKEN_URL: `${sim.url}/token`,
        SWITCHYARD_USERINFO_URL: `${sim.url}/oauth2/v2/userinfo`,
        SWITCHYARD_API_KEY: apiKey,
        SWITCHYARD_AUTH_MODE: "all_except_health",
        SWITCHYARD_LOG_LEVEL: "error",
      },
      stdout: "ignore",
      stderr: "inherit",
    });
    procs.push(proc);
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url);
    return { url, proc };
  }

  const ask = (url: string, apiKey: string, text: string) =>
    fetch(`${url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": apiKey },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text }] }] }),
    });

  test("the other instance serves on; the dead one's lease runs out; its writes stay", async () => {
    const account = sim.addAccount({ email: "killed@example.com" });
    // a pool made in-process, then served by two child processes
    const seed = await startInstances(1, { sim, accounts: [account], redisUrl: redis.url });
    const accountsJson = join(mkdtempSync(join(tmpdir(), "switchyard-test-kill-")), "accounts.json");
    dirs.push(join(accountsJson, ".."));
    copyFileSync(join(seed.list[0]!.dataDir, "accounts.json"), accountsJson);
    const id = seed.list[0]!.server.pool.list()[0]!.id;
    await seed.stop();
    const a = await serve(accountsJson, seed.prefix, seed.apiKey);
    const b = await serve(accountsJson, seed.prefix, seed.apiKey);
    const r = new RedisClient(redis.url);
    try {
      expect((await ask(a.url, seed.apiKey, "one")).status).toBe(200);
      expect((await ask(a.url, seed.apiKey, "two")).status).toBe(200);
      await until(async () => Number(await r.send("HGET", [`${seed.prefix}acct:${id}`, "requests"])) >= 2, "counters flushed to Redis");

      // Google forgets the token and its token endpoint hangs: a takes the lease and waits on /token
      await fetch(`${sim.url}/_sim/accounts/${account.email}/expire-tokens`, { method: "POST" });
      sim.addFault({ kind: "delay", method: "token", delayMs: 60_000, times: 1 });
      void ask(a.url, seed.apiKey, "stuck").catch(() => {});
      await until(async () => (await r.send("EXISTS", [`${seed.prefix}lease:token:${id}`])) === 1, "a holds the lease");
      const heldSince = Date.now();
      a.proc.kill("SIGKILL");
      await a.proc.exited;

      // b needs a token too: it waits for the lease to run out, then refreshes itself
      const res = await ask(b.url, seed.apiKey, "after the kill");
      expect(res.status).toBe(200);
      expect(Date.now() - heldSince).toBeLessThan(LEASE_MS + 3000);
      // nothing a wrote is lost: its counters are there, and b's came on top
      await until(async () => Number(await r.send("HGET", [`${seed.prefix}acct:${id}`, "requests"])) >= 3, "b's counters added");
    } finally {
      r.close();
    }
  }, 30_000);
});
