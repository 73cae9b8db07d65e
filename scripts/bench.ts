#!/usr/bin/env bun
// `npm run bench` (CONTRACT §9): the upstream simulator (no artificial delays) in one child process,
// the gateway in another, autocannon in this one — all on loopback. Measures, side by side:
//   - unary generateContent at concurrency 1 and 32: direct to the simulator, through a bare Bun proxy
//     (the floor: envelope in, `response` out, nothing else) and through the gateway, with the CPU time
//     per request of the answering process; SSE time to first byte; RSS of the gateway and the bare proxy;
//   - the same unary traffic against a gateway holding 3 accounts and one holding --many (10,000),
//     written straight into accounts.json, and the start-up times (exec → /healthz 200 → first answer);
//   - --streams (2,000) streams of 3 chunks --gap-ms (1500) apart at once through the gateway, against
//     one stream alone, and the gateway's peak RSS;
//   - one gateway on state.db against one and two on the same Redis (shared state), 32 connections;
//   - the scheduler's pick cost.
// Prints the tables and writes the same numbers to bench/results/<timestamp>.json. The helpers and the
// child processes (simulator, bare proxy, stream client) are in scripts/bench/.
//
// Flags: --duration S (per load cell, default 5), --ttfb N (sequential SSE requests, default 50),
//        --accounts N (main gateway, added through its CLI, default 2), --many N (default 10000),
//        --streams N (default 2000), --gap-ms MS (between stream chunks, default 1500), --quick (1 s
//        cells, 10 TTFB requests, 500 streams 500 ms apart; explicit flags win), --rebuild (build
//        dist/switchyard even if present), --source (run `bun src/main.ts` instead of the binary),
//        --after S (quiet seconds before the "after load" RSS sample, default 30), --only-unary (the
//        first table and the memory figures; none of the scenarios after them). Without the binary
//        it is built first; SWITCHYARD_OUTFILE=path builds and runs a private one instead of dist/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { benchPick } from "../src/scheduling/scheduler";
import { DEFAULT_OAUTH_CLIENT_ID, DEFAULT_OAUTH_CLIENT_SECRET } from "../src/config/schema";
import { CLIENT_BODY, gatewayCommand, gatewayEnv, gatewayTargets, launchGateway, MODEL, ROOT } from "./bench/gateway";
import { alternating, expect200, load, ttfb, type Cell, type Target } from "./bench/load";
import { anonMiB, children, firstLine, highWaterMiB, rssMiB, spawnChild, stopChild } from "./bench/proc";
import { accountScale, slowStreams, startBareProxy, type Setup } from "./bench/scenarios";
import { sharedState } from "./bench/shared";
import { table } from "./bench/table";
import { SqliteState } from "../src/state/sqlite";
import { SqliteKeys } from "../src/state/keys";
import { KeyBook } from "../src/keys/book";

const QUICK = process.argv.includes("--quick");
function flag(name: string, def: number, quick = def): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : QUICK ? quick : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}
const DURATION = flag("duration", 5, 1);
const TTFB_N = Math.round(flag("ttfb", 50, 10));
const ACCOUNTS = Math.round(flag("accounts", 2));
const MANY = Math.round(flag("many", 10_000));
const STREAMS = Math.round(flag("streams", 2000, 500));
const GAP_MS = flag("gap-ms", 1500, 500);
const REBUILD = process.argv.includes("--rebuild");
const ONLY_UNARY = process.argv.includes("--only-unary");
const FROM_SOURCE = process.argv.includes("--source");
/** quiet time before the idle RSS sample, and after the last request before the "after" one */
const IDLE_WAIT_MS = 3000;
const AFTER_WAIT_MS = flag("after", 30, 30) * 1000;
/** the small data dir the --many one is compared with */
const FEW = 3;

const tempDir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));

/** the simulator and its pacing front (scripts/bench/upstream.ts), with MANY seeded accounts */
async function startUpstream() {
  const proc = spawnChild([process.execPath, join(ROOT, "scripts/bench/upstream.ts"), "--seed", String(MANY), "--gap-ms", String(GAP_MS)], {
    cwd: ROOT,
  });
  const ready = JSON.parse(await firstLine(proc, "the simulator")) as { url: string; pacedUrl: string; seedMs: number };
  return { proc, ...ready };
}

/** ACCOUNTS fresh simulator accounts, and an access token of the first for direct calls */
async function simAccounts(simUrl: string) {
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
  return { accounts, accessToken };
}

/**
 * A virtual key with every limit set and none reachable: each request pays for every check (allowlist,
 * windows, in flight, budgets) and the usage record. Written into the data dir before the gateway starts.
 */
function createLimitedKey(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const state = SqliteState.open(dataDir);
  try {
    const book = new KeyBook(new SqliteKeys(state.database));
    const big = 1e12;
    return book.create("bench-limited", {
      models: ["gemini-*"],
      rpm: big,
      tpm: big,
      concurrency: 100_000,
      dailyTokens: big,
      monthlyTokens: big,
      expiresAt: null,
    }).secret;
  } finally {
    state.close();
  }
}

/** a scenario whose failure (src/ may be mid-edit) is reported in its place instead of losing the run */
async function attempt<T>(name: string, run: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await run();
  } catch (e) {
    console.error(`${name}: ${(e as Error).message}`);
    return { error: (e as Error).message };
  }
}

async function main() {
  const t0 = performance.now();
  const upstream = await startUpstream();
  const simUrl = upstream.url;
  const { accounts, accessToken } = await simAccounts(simUrl);

  // the main gateway: its own data dir, accounts added through its CLI, then `serve`
  const { cmd, kind } = gatewayCommand({ fromSource: FROM_SOURCE, rebuild: REBUILD });
  const apiKey = "sk-bench-" + Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString("hex");
  const env = gatewayEnv({ dataDir: join(tempDir, "data"), upstream: simUrl, sim: simUrl, apiKey });
  for (const a of accounts) {
    const r = Bun.spawnSync([...cmd, "accounts", "add", "--refresh-token", a.refreshToken], { env, stdout: "ignore", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`accounts add failed: ${r.stderr.toString().trim()}`);
  }
  const limitedKey = createLimitedKey(join(tempDir, "data"));
  const gw = await launchGateway(cmd, env, apiKey);
  const bare = await startBareProxy(simUrl, accessToken, accounts[0]!.project);

  const envelope = JSON.stringify({
    model: MODEL,
    project: accounts[0]!.project,
    requestId: "agent-bench",
    requestType: "agent",
    userAgent: "antigravity",
    request: { ...JSON.parse(CLIENT_BODY), sessionId: "bench" },
  });
  const directHeaders = { authorization: `Bearer ${accessToken}` };
  const direct: Record<"unary" | "sse", Target> = {
    unary: { url: `${simUrl}/v1internal:generateContent`, headers: directHeaders, body: envelope },
    sse: { url: `${simUrl}/v1internal:streamGenerateContent?alt=sse`, headers: directHeaders, body: envelope },
  };
  const through = gatewayTargets(gw.url, apiKey);
  const limited = gatewayTargets(gw.url, limitedKey);

  // sanity: all three answer 200 before anything is measured
  for (const t of [direct.unary, bare.unary, through.unary, limited.unary]) await expect200(t);

  // idle: started, answered its probes, then quiet for a few seconds (what a gateway waiting for work holds)
  await Bun.sleep(IDLE_WAIT_MS);
  const rssIdle = rssMiB(gw.proc.pid);
  const anonIdle = anonMiB(gw.proc.pid);
  const bareIdle = rssMiB(bare.proc.pid);

  // warm-up (JIT, connection pools), not recorded
  for (const t of [through.unary, bare.unary, direct.unary]) await load(t, 8, 1);

  const unary: Record<string, Record<string, Cell>> = {};
  let rssPeak = 0;
  let barePeak = 0;
  const gwPeak = (m: number) => (rssPeak = Math.max(rssPeak, m));
  // the four targets side by side, each cell in two halves in mirrored order (scripts/bench/load.ts
  // alternating): the ratios below compare cells that saw the same machine
  for (const c of [1, 32]) {
    const [d, b, t, l] = await alternating(
      [
        { target: direct.unary, pid: upstream.proc.pid },
        { target: bare.unary, pid: bare.proc.pid, peak: (m) => (barePeak = Math.max(barePeak, m)) },
        { target: through.unary, pid: gw.proc.pid, peak: gwPeak },
        { target: limited.unary, pid: gw.proc.pid, peak: gwPeak },
      ],
      c,
      DURATION,
    );
    unary[`c${c}`] = { direct: d!, bare: b!, through: t!, limited: l! };
  }
  // the stream path warmed as the unary one was (its code is compiled on first use), not recorded
  for (const t of [direct.sse, through.sse]) await ttfb(t, 200);
  const sse = { direct: await ttfb(direct.sse, TTFB_N), through: await ttfb(through.sse, TTFB_N) };

  // after: AFTER_WAIT_MS of quiet once the last request (the SSE ones) is answered
  await Bun.sleep(AFTER_WAIT_MS);
  const rssAfter = rssMiB(gw.proc.pid);
  const anonAfter = anonMiB(gw.proc.pid);
  const bareAfter = rssMiB(bare.proc.pid);
  const rssHighWater = highWaterMiB(gw.proc.pid);
  const bareHighWater = highWaterMiB(bare.proc.pid);
  // the scenarios below start their own gateways: these two would only compete for the CPUs
  await stopChild(gw.proc);
  await stopChild(bare.proc);

  const setup: Setup = { cmd, simUrl, pacedUrl: upstream.pacedUrl, apiKey, tempDir, durationSeconds: DURATION };
  const scale = ONLY_UNARY ? undefined : await attempt("3 vs many accounts", () => accountScale(setup, FEW, MANY));
  const streams = ONLY_UNARY ? undefined : await attempt("slow streams", () => slowStreams(setup, STREAMS, GAP_MS));
  const shared = ONLY_UNARY ? undefined : await attempt("shared state", () => sharedState(setup, FEW));
  const scheduler = [10, 1000, 10000].flatMap((n) => benchPick(n, n >= 10000 ? 500 : 2000));

  const results = {
    time: new Date().toISOString(),
    commit:
      Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: ROOT, stderr: "ignore" }).stdout.toString().trim() || "unknown",
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, bun: Bun.version, platform: process.platform },
    gateway: kind,
    settings: {
      durationSeconds: DURATION,
      ttfbRequests: TTFB_N,
      accounts: ACCOUNTS,
      model: MODEL,
      manyAccounts: MANY,
      streams: STREAMS,
      streamGapMs: GAP_MS,
      simulatorSeedMs: upstream.seedMs,
    },
    unary,
    sseTtfb: sse,
    rssMiB: { idle: rssIdle, peakUnderLoad: rssPeak, afterLoad: rssAfter, highWater: rssHighWater, afterSeconds: AFTER_WAIT_MS / 1000 },
    anonMiB: { idle: anonIdle, afterLoad: anonAfter },
    bareRssMiB: { idle: bareIdle, peakUnderLoad: barePeak, afterLoad: bareAfter, highWater: bareHighWater },
    accountScale: scale,
    slowStreams: streams,
    sharedState: shared,
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

try {
  await main();
} finally {
  for (const c of children) c.kill();
  await Promise.all(children.map((c) => c.exited));
  rmSync(tempDir, { recursive: true, force: true });
}
