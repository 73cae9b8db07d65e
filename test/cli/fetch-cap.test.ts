// `serve` lifts Bun's per-process cap on fetches in flight (256 unless BUN_CONFIG_MAX_HTTP_REQUESTS is
// set when the process starts), sizes JavaScriptCore's heap (BUN_JSC_forceRAMSize) and turns its top JIT
// tier off (BUN_JSC_useFTLJIT) by replacing itself once, in place, with the variables set (src/cli/startup-env.ts restartWithStartupEnv). The replaced process
// keeps its pid, its stdout and its signals.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv, freePort, MAIN, ROOT, runCli, waitForHealth } from "../helpers/cli";
import { tempDir } from "../helpers/util";

const onLinux = process.platform === "linux";

/** the environment of a running process, from /proc */
function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
    const i = kv.indexOf("=");
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

async function serveWith(upstream: Record<string, unknown>, env: Record<string, string> = {}) {
  const t = tempDir("fetch-cap");
  writeFileSync(join(t.dir, "config.json"), JSON.stringify({ auth: { apiKeys: ["k"] }, upstream }));
  const port = await freePort();
  // the cap and the heap sizing come from the test alone, never from the environment the suite runs in
  const { BUN_CONFIG_MAX_HTTP_REQUESTS: _, BUN_JSC_forceRAMSize: __, BUN_JSC_useFTLJIT: ___, ...base } = cleanEnv();
  const proc = Bun.spawn([process.execPath, MAIN, "serve", "--data-dir", t.dir, "--port", String(port), "--log-level", "info"], {
    cwd: ROOT,
    env: { ...base, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(url);
  } catch (e) {
    proc.kill("SIGKILL");
    throw new Error(`${(e as Error).message}\n${await new Response(proc.stderr).text()}`);
  }
  return { proc, url, cleanup: t.cleanup };
}

describe.skipIf(!onLinux)("serve and Bun's fetch cap", () => {
  test("a limit above Bun's default: the same process comes back with the cap lifted, serves, and stops with 0 on SIGTERM", async () => {
    const { proc, url, cleanup } = await serveWith({ maxConcurrentRequests: 600 });
    try {
      const env = environOf(proc.pid);
      // the configured limit plus headroom for token, userinfo and version calls
      expect(Number(env.BUN_CONFIG_MAX_HTTP_REQUESTS)).toBeGreaterThan(600);
      expect(Number(env.BUN_CONFIG_MAX_HTTP_REQUESTS)).toBeLessThanOrEqual(65535);
      expect(env.BUN_JSC_forceRAMSize).toBe(String(128 * 1024 * 1024));
      expect(env.BUN_JSC_useFTLJIT).toBe("0");
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      const metrics = await (await fetch(`${url}/metrics`, { headers: { authorization: "Bearer k" } })).text();
      expect(metrics).toContain("switchyard_upstream_max_concurrent_requests 600");
      expect(metrics).toMatch(/^switchyard_event_loop_lag_seconds \d/m);
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
      // stdout survived the replacement: the start-up line was written once, by the new image
      const out = await new Response(proc.stdout).text();
      expect(out.split('"msg":"listening"').length - 1).toBe(1);
      expect(out).toContain('"msg":"shutting down"');
      expect(await new Response(proc.stderr).text()).toBe("");
    } finally {
      proc.kill("SIGKILL");
      cleanup();
    }
  }, 30_000);

  test("no restart when the operator set all three; with Bun's default cap enough, a restart for the JavaScriptCore settings alone", async () => {
    const set = await serveWith(
      { maxConcurrentRequests: 600 },
      { BUN_CONFIG_MAX_HTTP_REQUESTS: "5000", BUN_JSC_forceRAMSize: "100000000", BUN_JSC_useFTLJIT: "1" },
    );
    try {
      const env = environOf(set.proc.pid);
      expect(env.BUN_CONFIG_MAX_HTTP_REQUESTS).toBe("5000");
      expect(env.BUN_JSC_forceRAMSize).toBe("100000000");
      expect(env.BUN_JSC_useFTLJIT).toBe("1");
      expect(env.SWITCHYARD_FETCH_CAP_REEXEC).toBeUndefined();
      set.proc.kill("SIGTERM");
      expect(await set.proc.exited).toBe(0);
    } finally {
      set.proc.kill("SIGKILL");
      set.cleanup();
    }
    const small = await serveWith({ maxConcurrentRequests: 100 });
    try {
      const env = environOf(small.proc.pid);
      expect(env.BUN_CONFIG_MAX_HTTP_REQUESTS).toBeUndefined();
      expect(env.BUN_JSC_forceRAMSize).toBe(String(128 * 1024 * 1024));
      expect(env.BUN_JSC_useFTLJIT).toBe("0");
      small.proc.kill("SIGINT");
      expect(await small.proc.exited).toBe(0);
    } finally {
      small.proc.kill("SIGKILL");
      small.cleanup();
    }
  }, 30_000);

  /** restartWithStartupEnv in a child Bun with `setup` run first; its log lines, and whether it went on */
  async function lift(setup: string, env: Record<string, string> = {}) {
    const code = `
      import { restartWithStartupEnv } from "./src/cli/startup-env";
      ${setup}
      const log = { warn: (msg, fields) => console.log(JSON.stringify({ msg, ...fields })) };
      restartWithStartupEnv(600, log);
      restartWithStartupEnv(600, log);
      console.log(JSON.stringify({ msg: "went on" }));`;
    const { BUN_CONFIG_MAX_HTTP_REQUESTS: _, BUN_JSC_forceRAMSize: __, BUN_JSC_useFTLJIT: ___, ...base } = cleanEnv();
    const p = Bun.spawn([process.execPath, "-e", code], { cwd: ROOT, env: { ...base, ...env }, stdout: "pipe", stderr: "pipe" });
    const [out, code2] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    expect(code2).toBe(0);
    return out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
  }

  test("when execve fails or is missing: one warning naming the variable to set, and start-up goes on", async () => {
    for (const setup of [`process.execve = () => { throw new Error("not permitted"); };`, `process.execve = undefined;`]) {
      const lines = await lift(setup);
      expect(lines.map((l) => l.msg)).toEqual([expect.stringContaining("could not lift Bun's limit"), "went on"]);
      expect(lines[0].fix).toBe("start switchyard with BUN_CONFIG_MAX_HTTP_REQUESTS=664 in its environment");
    }
  });

  test("the replacement never replaces itself again (a loop guard), even when its cap is still short", async () => {
    const lines = await lift(`process.execve = () => { throw new Error("must not be called"); };`, {
      SWITCHYARD_FETCH_CAP_REEXEC: "1",
      BUN_CONFIG_MAX_HTTP_REQUESTS: "300",
    });
    expect(lines.map((l) => l.msg)).toEqual([expect.stringContaining("could not lift"), "went on"]);
    expect(lines[0].reason).toContain("still has the lower limit");
    expect(lines[0].bunLimit).toBe(300);
  });

  /** restartEarly(argv) in a child Bun whose execve only reports what it was given */
  async function early(argv: string[], env: Record<string, string> = {}) {
    const code = `
      import { restartEarly } from "./src/cli/startup-env";
      process.execve = (path, args, env) => {
        console.log(JSON.stringify({ cap: env.BUN_CONFIG_MAX_HTTP_REQUESTS ?? null, ram: env.BUN_JSC_forceRAMSize ?? null }));
        process.exit(0);
      };
      const argv = ${JSON.stringify(argv)};
      restartEarly(argv);
      console.log(JSON.stringify({ msg: "no restart" }));`;
    const { BUN_CONFIG_MAX_HTTP_REQUESTS: _, BUN_JSC_forceRAMSize: __, BUN_JSC_useFTLJIT: ___, ...base } = cleanEnv();
    const p = Bun.spawn([process.execPath, "-e", code], { cwd: ROOT, env: { ...base, ...env }, stdout: "pipe", stderr: "pipe" });
    const [out, err, status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(err).toBe("");
    expect(status).toBe(0);
    return JSON.parse(out.trim());
  }

  test("the entry restarts serve and demo before loading the program, with the limit config.json names; anything else is left to the later check", async () => {
    const t = tempDir("fetch-cap");
    try {
      writeFileSync(join(t.dir, "config.json"), JSON.stringify({ upstream: { maxConcurrentRequests: 600 } }));
      const serve = await early(["serve", "--data-dir", t.dir, "--port", "1"]);
      expect(serve).toEqual({ cap: "664", ram: String(128 * 1024 * 1024) });
      // the data dir from the environment, as the program resolves it
      expect((await early(["serve"], { SWITCHYARD_DATA_DIR: t.dir })).cap).toBe("664");
      // the demo reads a file only when told where: the default limit
      expect((await early(["demo"], { SWITCHYARD_DATA_DIR: t.dir })).cap).toBe("4160");
      // other commands never restart; neither does the replacement, nor a file it cannot read (the program reports it)
      expect(await early(["accounts", "list", "--data-dir", t.dir])).toEqual({ msg: "no restart" });
      expect(await early(["serve", "--help", "--data-dir", t.dir])).toEqual({ msg: "no restart" });
      expect(await early(["serve", "--data-dir", t.dir], { SWITCHYARD_FETCH_CAP_REEXEC: "1" })).toEqual({ msg: "no restart" });
      writeFileSync(join(t.dir, "config.json"), "{ not json");
      expect(await early(["serve", "--data-dir", t.dir])).toEqual({ msg: "no restart" });
      // an out-of-range limit: the default here, and the program stops with exit 2 (the test below)
      writeFileSync(join(t.dir, "config.json"), JSON.stringify({ upstream: { maxConcurrentRequests: 70000 } }));
      expect((await early(["serve", "--data-dir", t.dir])).cap).toBe("4160");
      // everything already set: nothing to do
      const set = { BUN_CONFIG_MAX_HTTP_REQUESTS: "5000", BUN_JSC_forceRAMSize: "1", BUN_JSC_useFTLJIT: "1" };
      expect(await early(["serve", "--data-dir", t.dir], set)).toEqual({ msg: "no restart" });
    } finally {
      t.cleanup();
    }
  });

  test("an invalid limit stops start-up with exit 2 naming the key, before any restart", async () => {
    const t = tempDir("fetch-cap");
    try {
      writeFileSync(join(t.dir, "config.json"), JSON.stringify({ upstream: { maxConcurrentRequests: 70000 } }));
      const r = await runCli(["serve", "--data-dir", t.dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("upstream.maxConcurrentRequests");
      expect(r.stderr).toContain("65000");
    } finally {
      t.cleanup();
    }
  });

  test("a configuration from a pipe (/dev/stdin, <(sops -d …)) is read once: no restart that would find it empty", async () => {
    const t = tempDir("fetch-cap-pipe");
    const port = await freePort();
    const { BUN_CONFIG_MAX_HTTP_REQUESTS: _, BUN_JSC_forceRAMSize: __, BUN_JSC_useFTLJIT: ___, ...base } = cleanEnv();
    // a named pipe, as <(…) gives (Bun's own stdin "pipe" is a socket, which /dev/stdin cannot open)
    const fifo = join(t.dir, "config.fifo");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const proc = Bun.spawn([process.execPath, MAIN, "serve", "--data-dir", t.dir, "--port", String(port), "--config", fifo], {
      cwd: ROOT,
      env: base,
      stdout: "pipe",
      stderr: "pipe",
    });
    await (await import("node:fs/promises")).writeFile(fifo, JSON.stringify({ auth: { apiKeys: ["k-from-a-pipe"] } }));
    try {
      await waitForHealth(`http://127.0.0.1:${port}`);
      const models = await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: { authorization: "Bearer k-from-a-pipe" } });
      expect(models.status).toBe(200);
      expect(environOf(proc.pid).SWITCHYARD_FETCH_CAP_REEXEC).toBeUndefined();
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
      expect(await new Response(proc.stdout).text()).toContain("not a file a restart could read again");
    } finally {
      proc.kill("SIGKILL");
      t.cleanup();
    }
  }, 30_000);
});
