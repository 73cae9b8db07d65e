// The accounts themselves in Redis (the source of truth with several instances): an existing
// accounts.json is imported on first start, an empty data dir gets the pool, changes on one instance
// reach the others, and the CLI works against Redis.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSimulator, type Simulator } from "../../src/simulator/index";
import { startServer, type RunningServer } from "../../src/server/start";
import { createLogger } from "../../src/core/log";
import { redisMissing, startRedis, type RedisServer } from "../helpers/redis";
import { instanceConfig } from "../helpers/instances";
import { runCli } from "../helpers/cli";
import { until } from "../helpers/util";

const skip = redisMissing();

describe.skipIf(!!skip)("accounts in Redis", () => {
  let redis: RedisServer;
  let sim: Simulator;
  const dirs: string[] = [];
  const servers: RunningServer[] = [];
  const log = createLogger("silent");
  const prefix = `acc${crypto.randomUUID().slice(0, 6)}:`;

  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), "switchyard-test-accounts-redis-"));
    dirs.push(d);
    return d;
  };
  const serve = async (dataDir: string, shared: boolean) => {
    const config = instanceConfig(sim.url, shared ? redis.url : "redis://unused", prefix, "sk-test-accounts");
    if (!shared) delete (config.state as { redisUrl?: string }).redisUrl;
    const s = await startServer({ config, dataDir, log });
    await s.pool.ready;
    servers.push(s);
    return s;
  };

  beforeAll(async () => {
    redis = await startRedis();
    sim = await startSimulator({ port: 0, hostname: "127.0.0.1", delays: false });
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await sim?.stop();
    await redis?.cleanup();
  });

  test("imported on first start, shared with an empty data dir, changes reach every instance, the CLI sees them", async () => {
    const [one, two, three] = ["one", "two", "three"].map((n) => sim.addAccount({ email: `${n}@example.com` }));
    // a pool that ran on its own (no Redis) with two accounts
    const oldDir = dir();
    const alone = await serve(oldDir, false);
    await alone.pool.addByRefreshToken(one!.refreshToken);
    await alone.pool.addByRefreshToken(two!.refreshToken);
    await alone.stop();
    servers.splice(servers.indexOf(alone), 1);

    // first start with Redis: its accounts.json goes to Redis; a new instance with an empty dir gets them
    const a = await serve(oldDir, true);
    const b = await serve(dir(), true);
    const emails = (s: RunningServer) =>
      s.pool
        .list()
        .map((x) => `${x.email}:${x.state}`)
        .sort();
    expect(emails(b)).toEqual(["one@example.com:active", "two@example.com:active"]);
    const ids = (s: RunningServer) =>
      s.pool
        .list()
        .map((x) => x.id)
        .sort();
    expect(ids(b)).toEqual(ids(a));

    // added on b, disabled on a, removed on b: every instance follows
    await b.pool.addByRefreshToken(three!.refreshToken);
    await until(() => emails(a).includes("three@example.com:active"), "the added account on a", 2000);
    await a.pool.setEnabled("one@example.com", false);
    await until(() => emails(b).includes("one@example.com:disabled"), "the disabled account on b", 2000);
    await b.pool.remove("two@example.com");
    await until(() => !emails(a).some((e) => e.startsWith("two@")), "the removed account gone from a", 2000);
    expect(emails(a)).toEqual(emails(b));

    // the CLI against Redis, from a data dir of its own
    const cliDir = dir();
    writeFileSync(join(cliDir, "config.json"), JSON.stringify({ state: { redisPrefix: prefix } }));
    const listed = await runCli(["accounts", "list", "--json", "--data-dir", cliDir], { env: { SWITCHYARD_REDIS_URL: redis.url } });
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as { email: string; state: string }[];
    expect(rows.map((r) => `${r.email}:${r.state}`).sort()).toEqual(emails(a));
    const enabled = await runCli(["accounts", "enable", "one@example.com", "--data-dir", cliDir], {
      env: { SWITCHYARD_REDIS_URL: redis.url },
    });
    expect(enabled.code).toBe(0);
    await until(
      () => emails(a).includes("one@example.com:active") && emails(b).includes("one@example.com:active"),
      "the CLI's change on both",
      3000,
    );

    // a key made with the CLI works on every instance
    const made = await runCli(["keys", "create", "--name", "from-cli", "--rpm", "5", "--json", "--data-dir", cliDir], {
      env: { SWITCHYARD_REDIS_URL: redis.url },
    });
    expect(made.code).toBe(0);
    const secret = (JSON.parse(made.stdout) as { key: string }).key;
    await until(() => [a, b].every((s) => s.ctx.keys!.book.lookup(secret)?.rpm === 5), "the CLI's key on both", 3000);

    // with Redis unreachable the CLI changes no account (Redis's copy would undo it at the next start);
    // listing answers from the local copy
    const away = { SWITCHYARD_REDIS_URL: "redis://127.0.0.1:9" };
    const removed = await runCli(["accounts", "remove", "one@example.com", "--data-dir", cliDir], { env: away });
    expect(removed.code).toBe(1);
    expect(removed.stderr).toContain("is unreachable: the accounts are shared there, nothing was done");
    const local = await runCli(["accounts", "list", "--json", "--data-dir", cliDir], { env: away });
    expect(local.code).toBe(0);
    expect((JSON.parse(local.stdout) as { email: string }[]).map((r) => r.email)).toContain("one@example.com");
  }, 30_000);
});
