// The load generators: autocannon for unary requests (latencies from its response events), sequential
// fetches for SSE time to first byte.
import { createRequire } from "node:module";
import { cpuMs, quantile, round2, rssMiB } from "./proc";

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

/** where a request goes and what it carries */
export interface Target {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface Cell {
  reqPerSec: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  failures: number;
  /** CPU time (user + system) of the process answering the client, per request */
  cpuUsPerReq?: number;
}

/** a cell's requests as measured: their latencies (ms), failures, and how long it ran */
interface Run {
  times: number[];
  requests: number;
  failures: number;
  seconds: number;
  cpuMs?: number;
}

/** autocannon for `seconds`; latencies are collected from its response events because its own
 *  histogram truncates to whole milliseconds, too coarse on loopback */
function run(t: Target, connections: number, seconds: number): Promise<Run> {
  const times: number[] = [];
  return new Promise((resolve, reject) => {
    const opts = {
      url: t.url,
      method: "POST",
      headers: { "content-type": "application/json", ...t.headers },
      body: t.body,
      connections,
      duration: seconds,
      pipelining: 1,
    };
    const inst = autocannon(opts, (err, r) => {
      if (err) return reject(err);
      resolve({ times, requests: r.requests.total, failures: r.non2xx + r.errors + r.timeouts, seconds });
    });
    inst.on("response", (_c, status, _b, ms) => {
      if (status >= 200 && status < 300) times.push(ms);
    });
  });
}

/** one cell from one or more runs of the same target (their requests, latencies and CPU together) */
function cellOf(runs: Run[]): Cell {
  const times = runs.flatMap((r) => r.times);
  const sorted = Float64Array.from(times).sort();
  const requests = runs.reduce((n, r) => n + r.requests, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  const cpuMs = runs.every((r) => r.cpuMs !== undefined) ? runs.reduce((n, r) => n + r.cpuMs!, 0) : undefined;
  return {
    reqPerSec: Math.round(requests / seconds),
    meanMs: round2(times.reduce((a, b) => a + b, 0) / Math.max(1, times.length)),
    p50Ms: round2(quantile(sorted, 0.5)),
    p99Ms: round2(quantile(sorted, 0.99)),
    requests,
    failures: runs.reduce((n, r) => n + r.failures, 0),
    ...(cpuMs === undefined ? {} : { cpuUsPerReq: Math.round((cpuMs * 1000) / Math.max(1, requests)) }),
  };
}

export const load = async (t: Target, connections: number, seconds: number): Promise<Cell> => cellOf([await run(t, connections, seconds)]);

/** run() plus the CPU time process `pid` spent on it */
async function runWithCpu(t: Target, connections: number, seconds: number, pid: number): Promise<Run> {
  const before = cpuMs(pid);
  const r = await run(t, connections, seconds);
  return { ...r, cpuMs: cpuMs(pid) - before };
}

/** load() plus the CPU time process `pid` spent on it, per request */
export const loadWithCpu = async (t: Target, connections: number, seconds: number, pid: number): Promise<Cell> =>
  cellOf([await runWithCpu(t, connections, seconds, pid)]);

/** a target of a side-by-side comparison: where its requests go, and the process answering them */
export interface Arm {
  target: Target;
  pid: number;
  /** given the process's RSS (MiB), sampled every 200 ms while the arm runs */
  peak?: (mib: number) => void;
}

/**
 * Targets compared side by side: each gets `seconds` in all, as two halves in mirrored order (A B C C B
 * A), so that a machine whose speed drifts during the comparison favours none of them.
 */
export async function alternating(arms: Arm[], connections: number, seconds: number): Promise<Cell[]> {
  const runs: Run[][] = arms.map(() => []);
  const order = [...arms.keys(), ...[...arms.keys()].reverse()];
  for (const i of order) {
    const arm = arms[i]!;
    const sampler = arm.peak && setInterval(() => arm.peak!(rssMiB(arm.pid)), 200);
    try {
      runs[i]!.push(await runWithCpu(arm.target, connections, seconds / 2, arm.pid));
    } finally {
      clearInterval(sampler);
    }
  }
  return runs.map(cellOf);
}
/** one POST that must answer 200 (a sanity check before anything is measured) */
export async function expect200(t: Target): Promise<void> {
  const r = await fetch(t.url, { method: "POST", headers: { "content-type": "application/json", ...t.headers }, body: t.body });
  if (r.status !== 200) throw new Error(`${t.url} answered ${r.status}: ${await r.text()}`);
  await r.arrayBuffer();
}

/** time to the first body byte of `n` sequential streaming requests (ms) */
export async function ttfb(t: Target, n: number) {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(t.url, { method: "POST", headers: { "content-type": "application/json", ...t.headers }, body: t.body });
    if (res.status !== 200) throw new Error(`SSE request to ${t.url} answered ${res.status}: ${await res.text()}`);
    const reader = res.body!.getReader();
    await reader.read();
    times.push(performance.now() - t0);
    await reader.cancel();
  }
  const sorted = Float64Array.from(times).sort();
  return { medianMs: round2(quantile(sorted, 0.5)), p90Ms: round2(quantile(sorted, 0.9)), n };
}
