// The real CLI as a child process: start-up, port conflicts, signals, configuration errors.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanEnv, freePort, MAIN, outputUntil, ROOT, runCli, waitForHealth } from "../helpers/cli";
import { startSimulator, type Simulator } from "../../src/simulator/index";
import { until } from "../helpers/util";

const tmp = () => mkdtempSync(join(tmpdir(), "switchyard-proc-"));

function spawnServe(args: string[], env: Record<string, string> = {}) {
  return Bun.spawn([process.execPath, MAIN, "serve", "--log-level", "warn", ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
}

describe("command line", () => {
  test("version prints the version, the commit and Bun's version", async () => {
    const r = await runCli(["version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^switchyard \d+\.\d+\.\d+ \(commit \S+, bun \d+\.\d+\.\d+\)/);
    expect((await runCli(["--version"])).stdout).toBe(r.stdout);
  });

  test("--help prints the usage", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("accounts import PATH");
  });

  test("an unknown command exits 2 with a reason and the usage", async () => {
    const r = await runCli(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stderr).toContain("usage: switchyard");
  });

  test("a bad flag exits 2 naming it", async () => {
    const r = await runCli(["serve", "--frob"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--frob");
    // the reason on one line and where to read more, not the whole usage
    expect(r.stderr).toBe("switchyard: serve: unknown flag --frob\n(see switchyard serve --help)\n");
    const r2 = await runCli(["serve", "--port"]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("--port needs a value");
    // a global flag does not take the next flag as its value (no data dir named --json)
    const r3 = await runCli(["accounts", "list", "--data-dir", "--json"]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain("--data-dir needs a value");
  });

  test("an invalid config file exits 2 naming the key and what was expected", async () => {
    const d = tmp();
    writeFileSync(join(d, "config.json"), JSON.stringify({ server: { port: "eighty" } }));
    const r = await runCli(["serve", "--data-dir", d]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("server.port");
    expect(r.stderr).toMatch(/expected/i);
    writeFileSync(join(d, "config.json"), JSON.stringify({ scheduling: { mod: "sticky" } }));
    const r2 = await runCli(["serve", "--data-dir", d]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain("scheduling.mod: unknown key");
  });
});

describe("serve", () => {
  test("first start generates an API key, stores it 0600, prints it once; a second instance on the port fails", async () => {
    const d = tmp();
    const port = await freePort();
    const a = spawnServe(["--data-dir", d, "--port", String(port)]);
    try {
      await waitForHealth(`http://127.0.0.1:${port}`);
      const cfg = join(d, "config.json");
      expect(statSync(cfg).mode & 0o777).toBe(0o600);
      expect(statSync(d).mode & 0o777).toBe(0o700);
      const key = JSON.parse(readFileSync(cfg, "utf8")).auth.apiKeys[0];
      expect(key).toMatch(/^sk-sy-/);

      const b = spawnServe(["--data-dir", tmp(), "--port", String(port)]);
      const code = await b.exited;
      expect(code).toBe(1);
      expect(await new Response(b.stderr).text()).toContain("already in use");
      // the first instance still serves alone
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      a.kill("SIGTERM");
      expect(await a.exited).toBe(0);
    }
    const out = await new Response(a.stdout).text();
    const key = JSON.parse(readFileSync(join(d, "config.json"), "utf8")).auth.apiKeys[0];
    expect(out.split(key).length - 1).toBe(1);

    // second start: key exists, nothing printed
    const again = spawnServe(["--data-dir", d, "--port", String(port)]);
    await waitForHealth(`http://127.0.0.1:${port}`);
    again.kill("SIGINT");
    expect(await again.exited).toBe(0);
    expect(await new Response(again.stdout).text()).not.toContain(key);
  });
});

describe("stdout", () => {
  test("the generated key comes before the log lines; a reader that goes away does not stop the gateway, which still exits 0", async () => {
    const d = tmp();
    const port = await freePort();
    const p = spawnServe(["--data-dir", d, "--port", String(port), "--log-level", "info"]);
    try {
      const reader = p.stdout.getReader();
      let out = "";
      while (!out.includes('"msg":"listening"')) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stdout ended early: ${out}`);
        out += new TextDecoder().decode(value);
      }
      expect(out.indexOf("Generated an API key")).toBe(0);
      // the log shipper dies: every line from now on meets a closed pipe
      await reader.cancel();
      const key = JSON.parse(readFileSync(join(d, "config.json"), "utf8")).auth.apiKeys[0];
      for (let i = 0; i < 20; i++) {
        const r = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
        expect(r.status).toBe(200);
        await r.text();
      }
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(p.exitCode).toBeNull();
    } finally {
      p.kill("SIGTERM");
    }
    expect(await p.exited).toBe(0);
    expect(await new Response(p.stderr).text()).toBe("");
  });
});

/** a serve process (and its CLI) pointed at the simulator, with an API and an admin key */
const simEnv = (sim: Simulator) => ({
  SWITCHYARD_UPSTREAM_ENDPOINTS: sim.url,
  SWITCHYARD_OAUTH_TOKEN_URL: `${sim.url}/token`,
  SWITCHYARD_USERINFO_URL: `${sim.url}/oauth2/v2/userinfo`,
  SWITCHYARD_API_KEY: "k",
  SWITCHYARD_ADMIN_KEY: "adm",
});

describe("graceful shutdown", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, hostname: "127.0.0.1" });
  });
  afterAll(() => sim.stop());

  test("SIGHUP does not stop the server; SIGTERM still stops it cleanly", async () => {
    const port = await freePort();
    const p = spawnServe(["--data-dir", tmp(), "--port", String(port), "--log-level", "info"], simEnv(sim));
    const base = `http://127.0.0.1:${port}`;
    await waitForHealth(base);
    p.kill("SIGHUP");
    expect(await outputUntil(p.stdout, "SIGHUP ignored")).toContain("SIGHUP ignored");
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  });

  /** a data dir holding one simulator account, added by the CLI, and a free port for its server */
  async function dataDirWith(email: string) {
    const d = tmp();
    const port = await freePort();
    const account = sim.addAccount({ email });
    const env = simEnv(sim);
    expect((await runCli(["accounts", "add", "--refresh-token", account.refreshToken, "--data-dir", d], { env })).code).toBe(0);
    return { d, port, env };
  }

  test("SIGTERM lets a slow request finish, then exits 0", async () => {
    const { d, port, env } = await dataDirWith("slow@example.com");
    const p = spawnServe(["--data-dir", d, "--port", String(port)], env);
    const base = `http://127.0.0.1:${port}`;
    await waitForHealth(base);
    sim.addFault({ kind: "delay", delayMs: 1500, method: "generateContent" });
    const slow = fetch(`${base}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: "POST",
      headers: { "x-goog-api-key": "k", "content-type": "application/json" },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "take your time" }] }] }),
    });
    await Bun.sleep(400);
    p.kill("SIGTERM");
    const r = await slow;
    expect(r.status).toBe(200);
    expect((await r.json()).candidates.length).toBeGreaterThan(0);
    expect(await p.exited).toBe(0);
    sim.clearFaults();
  });

  test("a second Ctrl-C during the wait closes the slow request at once, and the usage of those answered is still saved", async () => {
    const { d, port, env } = await dataDirWith("twice@example.com");
    writeFileSync(join(d, "config.json"), JSON.stringify({ server: { shutdownGraceSeconds: 120 } }));
    const p = spawnServe(["--data-dir", d, "--port", String(port), "--log-level", "info"], env);
    const base = `http://127.0.0.1:${port}`;
    await waitForHealth(base);
    const ask = () =>
      fetch(`${base}/v1beta/models/gemini-2.5-flash:generateContent`, {
        method: "POST",
        headers: { "x-goog-api-key": "k", "content-type": "application/json" },
        body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hello" }] }] }),
      });
    for (let i = 0; i < 3; i++) expect((await ask()).status).toBe(200);
    sim.addFault({ kind: "delay", delayMs: 60_000, method: "generateContent" });
    const slow = ask().catch((e) => e);
    await until(() => (sim.inFlight().generateContent ?? 0) > 0, "the slow request upstream");
    p.kill("SIGINT");
    // the second only once the first arrived (two pending signals of one kind are delivered once)
    await outputUntil(p.stdout, "shutting down");
    p.kill("SIGINT");
    // the grace (120 s) is not waited out: the second signal cuts it
    expect(await Promise.race([p.exited, Bun.sleep(15_000).then(() => "still waiting")])).toBe(0);
    await slow;
    sim.clearFaults();
    const usage = await runCli(["usage", "--json", "--data-dir", d], { env });
    const rows = JSON.parse(usage.stdout) as { requests: number }[];
    expect(rows.reduce((n, r) => n + r.requests, 0)).toBeGreaterThanOrEqual(3);
  }, 30_000);

  test("SIGTERM after a change could not be saved: exit 1, and it says so", async () => {
    const { d, port, env } = await dataDirWith("unsaved@example.com");
    const p = spawnServe(["--data-dir", d, "--port", String(port)], env);
    const base = `http://127.0.0.1:${port}`;
    await waitForHealth(base);
    // every write now fails (a directory where the backup goes; the tests run as root, so permissions cannot)
    mkdirSync(join(d, "accounts.json.bak", "in-the-way"), { recursive: true });
    const r = await fetch(`${base}/admin/accounts/unsaved@example.com/disable`, {
      method: "POST",
      headers: { authorization: "Bearer adm" },
    });
    expect(r.status).toBe(507);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(1);
    expect(await new Response(p.stderr as ReadableStream).text()).toContain("could not save the account store");
  });
});
