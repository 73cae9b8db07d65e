// The real command line: `bun src/main.ts accounts …` as a child process, against the simulator.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startSimulator, type Simulator } from "../../src/simulator/index";
import { cleanEnv, MAIN, ROOT, runCli } from "../helpers/cli";
import { tempDir } from "../helpers/util";

let sim: Simulator;
const dir = tempDir("main");
beforeAll(async () => {
  sim = await startSimulator({ port: 0, hostname: "127.0.0.1", delays: false });
});
afterAll(async () => {
  await sim.stop();
  dir.cleanup();
});

test("accounts add / list --json / bad token / usage error through src/main.ts", async () => {
  const env = {
    SWITCHYARD_UPSTREAM_ENDPOINTS: sim.url,
    SWITCHYARD_OAUTH_TOKEN_URL: `${sim.url}/token`,
    SWITCHYARD_USERINFO_URL: `${sim.url}/oauth2/v2/userinfo`,
  };
  const acc = sim.addAccount({ email: "spawned@example.com" });
  const add = await runCli(["accounts", "add", "--refresh-token", acc.refreshToken, "--data-dir", dir.dir], { env });
  expect(add.stderr).toBe("");
  expect(add.code).toBe(0);
  expect(add.stdout).toContain("added spawned@example.com");

  const list = await runCli(["accounts", "list", "--json", "--data-dir", dir.dir], { env });
  expect(list.code).toBe(0);
  const views = JSON.parse(list.stdout);
  expect(views.map((a: { email: string }) => a.email)).toEqual(["spawned@example.com"]);
  expect(list.stdout).not.toContain(acc.refreshToken);

  const bad = await runCli(["accounts", "add", "--refresh-token", "1//0gNotARealTokenAtAll_xxxxxxxxxxxxx", "--data-dir", dir.dir], { env });
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain("invalid_grant: Token has been expired or revoked.");

  const usage = await runCli(["accounts", "remove", "--data-dir", dir.dir], { env });
  expect(usage.code).toBe(2);
  expect(usage.stderr.split("\n")[0]).toBe("switchyard accounts remove: missing EMAIL|ID");
});

test("a data command logs warnings by default, and the level SWITCHYARD_LOG_LEVEL asks for", async () => {
  const env = {
    SWITCHYARD_UPSTREAM_ENDPOINTS: sim.url,
    SWITCHYARD_OAUTH_TOKEN_URL: `${sim.url}/token`,
    SWITCHYARD_USERINFO_URL: `${sim.url}/oauth2/v2/userinfo`,
  };
  // the quota read of a new account fails: a warning
  const add = async (level?: string) => {
    const acc = sim.addAccount();
    sim.addFault({ kind: "internal_500", method: "fetchAvailableModels", email: acc.email });
    const r = await runCli(["accounts", "add", "--refresh-token", acc.refreshToken, "--data-dir", dir.dir], {
      env: level ? { ...env, SWITCHYARD_LOG_LEVEL: level } : env,
    });
    expect(r.code).toBe(0);
    return r.stderr;
  };
  expect(await add()).toContain("could not read quota for a new account");
  expect(await add("silent")).toBe("");
  sim.clearFaults();
});

test("accounts login through src/main.ts reads the pasted redirect from the real stdin and exits", async () => {
  const configFile = `${dir.dir}/login-config.json`;
  await Bun.write(
    configFile,
    JSON.stringify({
      upstream: { endpoints: [sim.url], oauthTokenUrl: `${sim.url}/token`, userinfoUrl: `${sim.url}/oauth2/v2/userinfo` },
      oauth: { authUrl: `${sim.url}/o/oauth2/v2/auth` },
    }),
  );
  sim.addAccount({ email: "pasted@example.com" });
  const proc = Bun.spawn([process.execPath, MAIN, "accounts", "login", "--no-browser", "--data-dir", dir.dir, "--config", configFile], {
    cwd: ROOT,
    env: cleanEnv(),
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const killer = setTimeout(() => proc.kill("SIGKILL"), 20000);
  let err = "";
  const dec = new TextDecoder();
  const reader = proc.stderr.getReader();
  let authUrl: string | undefined;
  while (!authUrl) {
    const { value, done } = await reader.read();
    if (done) break;
    err += dec.decode(value);
    authUrl = err.match(/(http:\/\/127\.0\.0\.1:\d+\/o\/oauth2\/v2\/auth\?\S+)/)?.[1];
  }
  expect(authUrl).toBeDefined();
  const google = await fetch(`${authUrl}&login_hint=pasted%40example.com`, { redirect: "manual" });
  proc.stdin.write(google.headers.get("location") + "\n");
  await proc.stdin.flush();
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  clearTimeout(killer);
  expect(code).toBe(0);
  expect(out).toContain("added pasted@example.com");
});

test("accounts login --no-browser with stdin already closed fails at once instead of waiting 10 minutes", async () => {
  const configFile = `${dir.dir}/eof-config.json`;
  await Bun.write(
    configFile,
    JSON.stringify({
      upstream: { endpoints: [sim.url], oauthTokenUrl: `${sim.url}/token` },
      oauth: { authUrl: `${sim.url}/o/oauth2/v2/auth` },
    }),
  );
  const r = await runCli(["accounts", "login", "--no-browser", "--data-dir", dir.dir, "--config", configFile], {
    stdin: "",
    timeoutMs: 15000,
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("login failed: the input closed before a redirect URL or code was pasted");
});

test("a large listing reaches a pipe whole before the process exits (it was cut at 64 KiB, exit 0)", async () => {
  const { AccountStore } = await import("../../src/accounts/store");
  const { accountRecord } = await import("../helpers/util");
  const d = tempDir("pipe");
  try {
    const s = await AccountStore.open(d.dir);
    await s.update((doc) => {
      for (let i = 0; i < 3000; i++)
        doc.accounts.set(`u${i}@x.com`, accountRecord(`u${i}@x.com`, { refreshToken: `1//tok-${i}`, projectId: `p${i}` }));
    });
    await s.close();
    // through a shell pipe, as people back up their pool (`… | gpg`, `… | ssh host 'cat > f'`)
    const sh = Bun.spawn(["sh", "-c", `"${process.execPath}" "${MAIN}" accounts list --json --data-dir "${d.dir}" | cat`], {
      cwd: ROOT,
      env: cleanEnv(),
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = await new Response(sh.stdout).text();
    expect(await sh.exited).toBe(0);
    expect(out.length).toBeGreaterThan(256 * 1024);
    expect(JSON.parse(out)).toHaveLength(3000);
  } finally {
    d.cleanup();
  }
});
