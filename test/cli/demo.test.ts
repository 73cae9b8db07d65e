// `switchyard demo` keeps to itself: never a Redis pool named in the environment or a config file, never
// a data dir holding a real pool (its fake Google would answer invalid_grant for the real accounts and
// disable them), and its help says where its data dir really is.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startSimulator, type Simulator } from "../../src/simulator/index";
import { AccountStore } from "../../src/accounts/store";
import { checkDemoDataDir, DEMO_EMAIL, demoConfig } from "../../src/cli/demo";
import { UsageError } from "../../src/cli/args";
import { cleanEnv, MAIN, outputUntil, ROOT, runCli } from "../helpers/cli";
import { accountRecord, tempDir } from "../helpers/util";
import { redisMissing, startRedis, type RedisServer } from "../helpers/redis";

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** a data dir whose accounts.json holds these emails */
async function poolDir(emails: string[]): Promise<string> {
  const d = tempDir("demo-pool");
  cleanups.push(d.cleanup);
  const s = await AccountStore.open(d.dir);
  await s.update((doc) => {
    for (const e of emails) doc.accounts.set(e, accountRecord(e));
  });
  await s.close();
  return d.dir;
}

describe("the demo's data dir", () => {
  test("a --data-dir holding a real pool is refused with exit 2, before anything is written", async () => {
    const dir = await poolDir(["real@example.com", "other@example.com"]);
    const before = readFileSync(join(dir, "accounts.json"), "utf8");
    const r = await runCli(["demo", "--data-dir", dir, "--port", "0"], { timeoutMs: 10000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`demo: --data-dir ${dir} holds 2 accounts (real@example.com, …)`);
    expect(r.stderr).toContain("new or empty directory");
    expect(readFileSync(join(dir, "accounts.json"), "utf8")).toBe(before);
    expect(existsSync(join(dir, "state.db"))).toBe(false);
  });

  test("a new, empty or earlier demo's data dir is the demo's; an unreadable accounts.json is not", async () => {
    const fresh = tempDir("demo-fresh");
    cleanups.push(fresh.cleanup);
    expect(() => checkDemoDataDir(join(fresh.dir, "not-yet"))).not.toThrow();
    expect(() => checkDemoDataDir(fresh.dir)).not.toThrow();
    const none = await poolDir([]);
    const demoOnly = await poolDir([DEMO_EMAIL]);
    expect(() => checkDemoDataDir(none)).not.toThrow();
    expect(() => checkDemoDataDir(demoOnly)).not.toThrow();
    writeFileSync(join(fresh.dir, "accounts.json"), "{ not json");
    expect(() => checkDemoDataDir(fresh.dir)).toThrow(UsageError);
    // a directory holding anything else is someone's (the demo would make it 0700 and write into it)
    const theirs = tempDir("demo-theirs");
    cleanups.push(theirs.cleanup);
    writeFileSync(join(theirs.dir, "README.txt"), "mine");
    expect(() => checkDemoDataDir(theirs.dir)).toThrow("not Switchyard's (README.txt)");
  });

  test("--help tells the data dir the demo uses, not $SWITCHYARD_DATA_DIR", async () => {
    const r = await runCli(["demo", "--help"]);
    expect(r.code).toBe(0);
    const line = r.stdout.split("\n").find((l) => l.startsWith("  --data-dir"))!;
    expect(line).toContain("a temporary one");
    expect(line).not.toContain("default: $SWITCHYARD_DATA_DIR");
  });
});

test("the demo's configuration has no Redis, from the environment or from its config file, and only its fake Google", () => {
  const d = tempDir("demo-config");
  cleanups.push(d.cleanup);
  writeFileSync(
    join(d.dir, "config.json"),
    JSON.stringify({ state: { redisUrl: "redis://127.0.0.1:1/0" }, upstream: { endpoints: ["https://cloudcode-pa.googleapis.com"] } }),
  );
  const env = {
    SWITCHYARD_REDIS_URL: "redis://127.0.0.1:2/0",
    SWITCHYARD_REDIS_PASSWORD: "hunter2",
    SWITCHYARD_OAUTH_TOKEN_URL: "https://oauth2.googleapis.com/token",
    SWITCHYARD_LOG_LEVEL: "warn",
  };
  const { config } = demoConfig({}, d.dir, "http://127.0.0.1:9", "sk-demo-x", env);
  expect(config.state.redisUrl).toBeUndefined();
  expect(config.upstream.endpoints).toEqual(["http://127.0.0.1:9"]);
  expect(config.upstream.oauthTokenUrl).toBe("http://127.0.0.1:9/token");
  expect(config.upstream.userinfoUrl).toBe("http://127.0.0.1:9/oauth2/v2/userinfo");
  expect(config.oauth.authUrl).toStartWith("http://127.0.0.1:9/");
  expect(config.log.level).toBe("warn"); // what is harmless still applies
});

describe.skipIf(!!redisMissing())("with a Redis pool in the environment", () => {
  let redis: RedisServer;
  let google: Simulator;
  beforeAll(async () => {
    redis = await startRedis();
    google = await startSimulator({ port: 0, hostname: "127.0.0.1", delays: false });
    cleanups.push(
      () => redis.cleanup(),
      () => google.stop(),
    );
  });

  test("the demo neither joins the pool nor touches its accounts", async () => {
    const prodEnv = {
      SWITCHYARD_REDIS_URL: redis.url,
      SWITCHYARD_UPSTREAM_ENDPOINTS: google.url,
      SWITCHYARD_OAUTH_TOKEN_URL: `${google.url}/token`,
      SWITCHYARD_USERINFO_URL: `${google.url}/oauth2/v2/userinfo`,
    };
    const prodDir = tempDir("demo-prod");
    cleanups.push(prodDir.cleanup);
    const acc = google.addAccount({ email: "prod@example.com" });
    const add = await runCli(["accounts", "add", "--refresh-token", acc.refreshToken, "--data-dir", prodDir.dir], { env: prodEnv });
    expect(add.code).toBe(0);

    // someone tries the demo in the same shell, the production environment exported
    const p = Bun.spawn([process.execPath, MAIN, "demo", "--port", "0", "--log-level", "warn"], {
      cwd: ROOT,
      env: { ...cleanEnv(), ...prodEnv },
      stdout: "pipe",
      stderr: "pipe",
    });
    const killer = setTimeout(() => p.kill("SIGKILL"), 20000);
    try {
      const out = await outputUntil(p.stdout, "Press Ctrl-C");
      const base = /base URL\s+(\S+)/.exec(out)?.[1];
      const key = /API key\s+(\S+)/.exec(out)?.[1];
      expect(base).toBeDefined();
      const health = await (await fetch(`${base}/healthz`)).json();
      expect(health.state).toBeUndefined(); // "shared" or "degraded" with Redis
      expect(health.accounts.total).toBe(1);
      const r = await fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "gemini-3-flash", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(r.status).toBe(200);
      expect(r.headers.get("x-account-email")).toBe(DEMO_EMAIL);
      p.kill("SIGINT");
      expect(await p.exited).toBe(0);
    } finally {
      clearTimeout(killer);
      p.kill("SIGKILL");
    }

    // the shared pool as it was: its one account, still active, and no demo account
    const other = tempDir("demo-prod2");
    cleanups.push(other.cleanup);
    const list = await runCli(["accounts", "list", "--json", "--data-dir", other.dir], { env: prodEnv });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).map((a: { email: string; state: string }) => [a.email, a.state])).toEqual([
      ["prod@example.com", "active"],
    ]);
  });
});
