// The scenarios beyond the direct-vs-gateway table: the bare proxy (the floor), 3 vs 10,000 accounts
// with their start-up times, and thousands of slow streams at once.
import { join } from "node:path";
import { gatewayEnv, gatewayTargets, launchGateway, MODEL, ROOT, writeAccountsFile, type Startup } from "./gateway";
import { expect200, load, loadWithCpu, type Cell, type Target } from "./load";
import { seedProject, seedRefreshToken } from "./seed";
import { firstLine, highWaterMiB, listenOverflows, round2, spawnChild, stopChild } from "./proc";

/** what every scenario's gateway needs to know */
export interface Setup {
  cmd: string[];
  simUrl: string;
  pacedUrl: string;
  apiKey: string;
  tempDir: string;
  durationSeconds: number;
}

// ---- the floor: a minimal Bun proxy ----

export async function startBareProxy(simUrl: string, token: string, project: string) {
  const proc = spawnChild([process.execPath, join(ROOT, "scripts/bench/bare-proxy.ts")], {
    env: { ...process.env, BARE_UPSTREAM: simUrl, BARE_TOKEN: token, BARE_PROJECT: project },
  });
  const { url } = JSON.parse(await firstLine(proc, "the bare proxy")) as { url: string };
  // the same client request as through the gateway, at the same path
  return { proc, unary: gatewayTargets(url, "unused").unary };
}

// ---- 3 vs 10,000 accounts, and start-up ----

export interface StartupRow extends Startup {
  label: string;
  accounts: number;
}

/** a short warm-up (JIT, connection pools, first token), then conc 1 and conc 32 */
async function unaryCells(t: Target, pid: number, seconds: number): Promise<Record<"c1" | "c32", Cell>> {
  await load(t, 8, 1);
  return { c1: await loadWithCpu(t, 1, seconds, pid), c32: await loadWithCpu(t, 32, seconds, pid) };
}

const ratio = (many: Cell, few: Cell) => ({ p50: round2(many.p50Ms / few.p50Ms), p99: round2(many.p99Ms / few.p99Ms) });

export async function accountScale(s: Setup, few: number, many: number) {
  const startup: StartupRow[] = [];
  const start = async (dataDir: string, n: number, label: string) => {
    const gw = await launchGateway(s.cmd, gatewayEnv({ dataDir, upstream: s.simUrl, sim: s.simUrl, apiKey: s.apiKey }), s.apiKey);
    startup.push({ label, accounts: n, ...gw.startup });
    return gw;
  };

  const fewDir = join(s.tempDir, `data-${few}`);
  writeAccountsFile(fewDir, few);
  let gw = await start(fewDir, few, `${few} accounts`);
  const fewCells = await unaryCells(gatewayTargets(gw.url, s.apiKey).unary, gw.proc.pid, s.durationSeconds);
  await stopChild(gw.proc);

  // the first start reads a freshly written file; the restart reads what the gateway left behind
  const manyDir = join(s.tempDir, `data-${many}`);
  writeAccountsFile(manyDir, many);
  gw = await start(manyDir, many, `${many.toLocaleString("en")} accounts, first start`);
  await stopChild(gw.proc);
  gw = await start(manyDir, many, `${many.toLocaleString("en")} accounts, restart`);
  const manyCells = await unaryCells(gatewayTargets(gw.url, s.apiKey).unary, gw.proc.pid, s.durationSeconds);
  const manyRss = highWaterMiB(gw.proc.pid);
  await stopChild(gw.proc);

  return {
    few: { accounts: few, ...fewCells },
    many: { accounts: many, ...manyCells, highWaterRssMiB: manyRss },
    ratio: { c1: ratio(manyCells.c1, fewCells.c1), c32: ratio(manyCells.c32, fewCells.c32) },
    startup,
  };
}

// ---- thousands of slow streams ----

/** "Echo: stream slowly" is three words: the simulator streams it as three chunks */
const STREAM_BODY = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "stream slowly" }] }] });

export interface StreamRun {
  n: number;
  ok: number;
  failed: number;
  wallMs: number;
  p50Ms: number;
  maxMs: number;
  chunks: number;
  errors: Record<string, number>;
  /** connections the kernel dropped during the run (a full accept queue anywhere on the machine) */
  dropped?: number;
}

/** `n` streams at once from a client process whose Bun may open that many fetches */
async function streamClient(t: Target, n: number, timeoutMs: number): Promise<StreamRun> {
  const spec = JSON.stringify({ ...t, n, timeoutMs });
  const proc = spawnChild([process.execPath, join(ROOT, "scripts/bench/stream-client.ts"), spec], {
    env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: String(Math.min(65_535, n + 64)) },
  });
  const before = listenOverflows();
  const run = JSON.parse(await firstLine(proc, "the stream client", timeoutMs + 30_000)) as StreamRun;
  const after = listenOverflows();
  if (before !== undefined && after !== undefined) run.dropped = after - before;
  return run;
}

/** the same streams straight to the pacing upstream, as seeded account 0: what the harness alone costs */
async function directStreamTarget(s: Setup): Promise<Target> {
  const tok = await fetch(`${s.simUrl}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: seedRefreshToken(0), client_id: "bench" }),
  });
  const { access_token } = (await tok.json()) as { access_token: string };
  const request = { ...JSON.parse(STREAM_BODY), sessionId: "-1" };
  return {
    url: `${s.pacedUrl}/v1internal:streamGenerateContent?alt=sse`,
    headers: { authorization: `Bearer ${access_token}` },
    body: JSON.stringify({
      model: MODEL,
      project: seedProject(0),
      requestId: "agent-bench",
      requestType: "agent",
      userAgent: "antigravity",
      request,
    }),
  };
}

export async function slowStreams(s: Setup, n: number, gapMs: number) {
  const direct = await streamClient(await directStreamTarget(s), n, 120_000);
  const dataDir = join(s.tempDir, "data-streams");
  writeAccountsFile(dataDir, 3);
  // Google's side is the pacing front; tokens still come from the simulator itself
  const gw = await launchGateway(s.cmd, gatewayEnv({ dataDir, upstream: s.pacedUrl, sim: s.simUrl, apiKey: s.apiKey }), s.apiKey);
  try {
    const t: Target = {
      url: `${gw.url}/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`,
      headers: { "x-goog-api-key": s.apiKey },
      body: STREAM_BODY,
    };
    await expect200(gatewayTargets(gw.url, s.apiKey).unary);
    const one = await streamClient(t, 1, 60_000);
    if (one.ok !== 1) throw new Error(`a single slow stream failed: ${JSON.stringify(one.errors)}`);
    const all = await streamClient(t, n, Math.max(120_000, 30 * one.wallMs));
    return {
      streams: n,
      gapMs,
      chunks: one.chunks,
      oneStreamMs: one.wallMs,
      all,
      ratio: round2(all.wallMs / one.wallMs),
      direct: { ...direct, ratio: round2(direct.wallMs / one.wallMs) },
      gatewayPeakRssMiB: highWaterMiB(gw.proc.pid),
    };
  } finally {
    await stopChild(gw.proc);
  }
}
