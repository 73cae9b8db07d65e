#!/usr/bin/env bun
// `npm run bench` (CONTRACT §9): the upstream simulator (no artificial delays) in one child process,
// the compiled gateway in another, autocannon in this one — all on loopback. Measures, side by side:
// unary generateContent direct-to-simulator vs through the gateway at concurrency 1 and 32, SSE
// time-to-first-byte, the gateway's RSS idle and under load, and the scheduler's pick cost.
// Prints one table and writes the same numbers to bench/results/<timestamp>.json.
//
// Flags: --duration S (per load cell, default 5), --ttfb N (sequential SSE requests, default 50),
//        --accounts N (default 2), --rebuild (build dist/switchyard even if present), --source (run
//        `bun src/main.ts` instead of the binary). Without the binary it is built first.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { benchPick } from "../src/scheduling/scheduler";
import { DEFAULT_OAUTH_CLIENT_ID, DEFAULT_OAUTH_CLIENT_SECRET } from "../src/config/schema";

const ROOT = join(import.meta.dir, "..");
const BIN = join(ROOT, "dist", "switchyard");
const MODEL = "gemini-2.5-flash";

// autocannon ships no types; this is the part of its API used here
interface CannonResult {
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
interface CannonInstance {
  on(event: "response", f: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}
type Cannon = (opts: Record<string, unknown>, done: (err: Error | null, r: CannonResult) => void) => CannonInstance;
const autocannon = createRequire(import.meta.url)("autocannon") as Cannon;

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}
const DURATION = flag("duration", 5);
const TTFB_N = Math.round(flag("ttfb", 50));
const ACCOUNTS = Math.round(flag("accounts", 2));
const REBUILD = process.argv.includes("--rebuild");
const FROM_SOURCE = process.argv.includes("--source");

const children: Bun.Subprocess[] = [];
const tempDir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));

/** first stdout line of a child that prints one JSON line when ready */
async function firstLine(proc: Bun.Subprocess<"ignore", "pipe", "inherit">, what: string): Promise<string> {
  const reader = proc.stdout.getReader();
  let buf = "";
  const deadline = setTimeout(() => proc.kill(), 15_000);
  try {
    while (!buf.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`${what} exited before it was ready`);
      buf += new TextDecoder().decode(value);
    }
  } finally {
    clearTimeout(deadline);
    reader.releaseLock();
  }
  return buf.slice(0, buf.indexOf("\n"));
}

async function startSimulatorProcess(): Promise<string> {
  const code = `
    import { startSimulator } from "./src/simulator/index";
    import { silentLogger } from "./src/core/log";
    const sim = await startSimulator({ port: 0, hostname: "127.0.0.1", delays: false, log: silentLogger() });
    console.log(JSON.stringify({ url: sim.url }));`;
  const proc = Bun.spawn([process.execPath, "-e", code], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  children.push(proc);
  return JSON.parse(await firstLine(proc, "the simulator")).url;
}

/** the newest modification time under a folder */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function gatewayCommand(): { cmd: string[]; kind: string } {
  if (FROM_SOURCE) return { cmd: [process.execPath, join(ROOT, "src/main.ts")], kind: "bun src/main.ts" };
  if (existsSync(BIN) && !REBUILD && statSync(BIN).mtimeMs < newest(join(ROOT, "src")))
    console.error("note: dist/switchyard is older than src/ (npm run build, or bench --rebuild)");
  if (REBUILD || !existsSync(BIN)) {
    console.error("building dist/switchyard…");
    const r = Bun.spawnSync([process.execPath, join(ROOT, "scripts/build.ts")], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
    if (r.exitCode !== 0) {
      console.error("build failed: falling back to `bun src/main.ts`");
      return { cmd: [process.execPath, join(ROOT, "src/main.ts")], kind: "bun src/main.ts (build failed)" };
    }
  }
  if (!existsSync(BIN)) return { cmd: [process.execPath, join(ROOT, "src/main.ts")], kind: "bun src/main.ts" };
  return { cmd: [BIN], kind: "dist/switchyard" };
}

function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : NaN;
};

interface Cell {
  reqPerSec: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  failures: number;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const quantile = (sorted: Float64Array, q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;

/** autocannon for `seconds`; latencies are collected from its response events because its own
 *  histogram truncates to whole milliseconds, too coarse on loopback */
function load(url: string, headers: Record<string, string>, body: string, connections: number, seconds: number): Promise<Cell> {
  const times: number[] = [];
  return new Promise((resolve, reject) => {
    const opts = {
      url,
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
      connections,
      duration: seconds,
      pipelining: 1,
    };
    const inst = autocannon(opts, (err, r) => {
      if (err) return reject(err);
      const sorted = Float64Array.from(times).sort();
      resolve({
        reqPerSec: Math.round(r.requests.average),
        meanMs: round2(times.reduce((a, b) => a + b, 0) / Math.max(1, times.length)),
        p50Ms: round2(quantile(sorted, 0.5)),
        p99Ms: round2(quantile(sorted, 0.99)),
        requests: r.requests.total,
        failures: r.non2xx + r.errors + r.timeouts,
      });
    });
    inst.on("response", (_c, status, _b, ms) => {
      if (status >= 200 && status < 300) times.push(ms);
    });
  });
}

/** time to the first body byte of `n` sequential streaming requests (ms) */
async function ttfb(url: string, headers: Record<string, string>, body: string, n: number) {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    if (res.status !== 200) throw new Error(`SSE request to ${url} answered ${res.status}: ${await res.text()}`);
    const reader = res.body!.getReader();
    await reader.read();
    times.push(performance.now() - t0);
    await reader.cancel();
  }
  const sorted = Float64Array.from(times).sort();
  return { medianMs: round2(quantile(sorted, 0.5)), p90Ms: round2(quantile(sorted, 0.9)), n };
}

async function main() {
  const t0 = performance.now();
  const simUrl = await startSimulatorProcess();

  // accounts on the simulator, and a token for talking to it directly
  const accounts: { email: string; refreshToken: string; project: string }[] = [];
  for (let i = 0; i < ACCOUNTS; i++) {
    const r = await fetch(`${simUrl}/_sim/accounts`, { method: "POST", body: JSON.stringify({ email: `bench${i + 1}@example.com` }) });
    accounts.push(await r.json());
  }
  const tok = await fetch(`${simUrl}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: accounts[0]!.refreshToken,
      client_id: DEFAULT_OAUTH_CLIENT_ID,
      client_secret: DEFAULT_OAUTH_CLIENT_SECRET,
    }),
  });
  const accessToken = ((await tok.json()) as { access_token: string }).access_token;

  // the gateway: its own data dir, accounts added through its CLI, then `serve`
  const { cmd, kind } = gatewayCommand();
  const apiKey = "sk-bench-" + Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString("hex");
  const port = freePort();
  const env = {
    ...process.env,
    SWITCHYARD_DATA_DIR: join(tempDir, "data"),
    SWITCHYARD_UPSTREAM_ENDPOINTS: simUrl,
    SWITCHYARD_OAUTH_TOKEN_URL: `${simUrl}/token`,
    SWITCHYARD_USERINFO_URL: `${simUrl}/oauth2/v2/userinfo`,
    SWITCHYARD_VERSION_URL: `${simUrl}/api/update/{target}/stable/latest`,
    SWITCHYARD_API_KEY: apiKey,
    SWITCHYARD_AUTH_MODE: "strict",
    SWITCHYARD_LOG_LEVEL: "info",
    NODE_ENV: "production",
  };
  for (const a of accounts) {
    const r = Bun.spawnSync([...cmd, "accounts", "add", "--refresh-token", a.refreshToken], { env, stdout: "ignore", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`accounts add failed: ${r.stderr.toString().trim()}`);
  }
  const gw = Bun.spawn([...cmd, "serve", "--host", "127.0.0.1", "--port", String(port)], {
    env,
    stdin: "ignore",
    stdout: "ignore",
    stderr: "inherit",
  });
  children.push(gw);
  const gwUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${gwUrl}/healthz`, { headers: { "x-goog-api-key": apiKey } }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 150 || gw.exitCode !== null) throw new Error("the gateway did not start");
    await Bun.sleep(100);
  }

  const clientBody = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "benchmark me, please" }] }] });
  const envelope = JSON.stringify({
    model: MODEL,
    project: accounts[0]!.project,
    requestId: "agent-bench",
    requestType: "agent",
    userAgent: "antigravity",
    request: { contents: [{ role: "user", parts: [{ text: "benchmark me, please" }] }], sessionId: "bench" },
  });
  const direct = {
    unary: `${simUrl}/v1internal:generateContent`,
    sse: `${simUrl}/v1internal:streamGenerateContent?alt=sse`,
    headers: { authorization: `Bearer ${accessToken}` },
    body: envelope,
  };
  const through = {
    unary: `${gwUrl}/v1beta/models/${MODEL}:generateContent`,
    sse: `${gwUrl}/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`,
    headers: { "x-goog-api-key": apiKey },
    body: clientBody,
  };

  // sanity: both answer 200 before anything is measured
  for (const t of [direct, through]) {
    const r = await fetch(t.unary, { method: "POST", headers: { "content-type": "application/json", ...t.headers }, body: t.body });
    if (r.status !== 200) throw new Error(`${t.unary} answered ${r.status}: ${await r.text()}`);
  }

  await Bun.sleep(500);
  const rssIdle = rssMiB(gw.pid);

  // warm-up (JIT, connection pools), not recorded
  await load(through.unary, through.headers, through.body, 8, 1);
  await load(direct.unary, direct.headers, direct.body, 8, 1);

  const unary: Record<string, Record<string, Cell>> = {};
  let rssPeak = 0;
  for (const c of [1, 32]) {
    unary[`c${c}`] = {};
    unary[`c${c}`]!.direct = await load(direct.unary, direct.headers, direct.body, c, DURATION);
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(gw.pid))), 200);
    unary[`c${c}`]!.through = await load(through.unary, through.headers, through.body, c, DURATION);
    clearInterval(sampler);
  }
  const rssAfter = rssMiB(gw.pid);

  const sse = {
    direct: await ttfb(direct.sse, direct.headers, direct.body, TTFB_N),
    through: await ttfb(through.sse, through.headers, through.body, TTFB_N),
  };
  const scheduler = [10, 1000, 10000].flatMap((n) => benchPick(n, n >= 10000 ? 500 : 2000));

  const results = {
    time: new Date().toISOString(),
    commit:
      Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: ROOT, stderr: "ignore" }).stdout.toString().trim() || "unknown",
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, bun: Bun.version, platform: process.platform },
    gateway: kind,
    settings: { durationSeconds: DURATION, ttfbRequests: TTFB_N, accounts: ACCOUNTS, model: MODEL },
    unary,
    sseTtfb: sse,
    rssMiB: { idle: rssIdle, peakUnderLoad: rssPeak, afterLoad: rssAfter },
    scheduler,
    wallSeconds: 0,
  };
  results.wallSeconds = Math.round((performance.now() - t0) / 100) / 10;

  console.log(table(results));
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${results.time.replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  console.log(`\nwritten to ${file.slice(ROOT.length + 1)} (${results.wallSeconds} s)`);
}

function table(r: any): string {
  const row = (cells: (string | number)[], widths: number[]) => cells.map((c, i) => String(c).padStart(widths[i]!)).join("  ");
  const w = [28, 9, 8, 8, 8, 9, 7];
  const lines = [
    `Switchyard benchmark — ${r.gateway}, ${r.machine.cpus} CPU(s), bun ${r.machine.bun}, ${r.settings.durationSeconds} s per cell, loopback`,
    "",
    row(["unary generateContent", "req/s", "mean ms", "p50 ms", "p99 ms", "requests", "failed"], w),
  ];
  for (const c of ["c1", "c32"])
    for (const t of ["direct", "through"]) {
      const x = r.unary[c][t];
      lines.push(
        row(
          [
            `${t === "direct" ? "direct to simulator" : "through gateway"}, ${c.replace("c", "conc ")}`,
            x.reqPerSec,
            x.meanMs,
            x.p50Ms,
            x.p99Ms,
            x.requests,
            x.failures,
          ],
          w,
        ),
      );
    }
  lines.push("", row(["SSE time to first byte", "median ms", "p90 ms", "n"], w.slice(0, 4)));
  for (const t of ["direct", "through"])
    lines.push(
      row(
        [t === "direct" ? "direct to simulator" : "through gateway", r.sseTtfb[t].medianMs, r.sseTtfb[t].p90Ms, r.sseTtfb[t].n],
        w.slice(0, 4),
      ),
    );
  lines.push(
    "",
    row(["gateway RSS (MiB)", "idle", "peak load", "after"], w.slice(0, 4)),
    row(["", r.rssMiB.idle, r.rssMiB.peakUnderLoad, r.rssMiB.afterLoad], w.slice(0, 4)),
  );
  lines.push("", row(["scheduler pick (ns)", "sticky", "round-rob", "quota-1st"], w.slice(0, 4)));
  for (const n of [10, 1000, 10000]) {
    const ns = (mode: string) => r.scheduler.find((s: any) => s.accounts === n && s.mode === mode)?.nsPerPick ?? "-";
    lines.push(row([`${n} accounts`, ns("sticky"), ns("round-robin"), ns("quota-first")], w.slice(0, 4)));
  }
  return lines.join("\n");
}

try {
  await main();
} finally {
  for (const c of children) c.kill();
  await Promise.all(children.map((c) => c.exited));
  rmSync(tempDir, { recursive: true, force: true });
}
