// The load generators: autocannon for unary requests (latencies from its response events), sequential
// fetches for SSE time to first byte.
import { createRequire } from "node:module";
import { cpuMs, quantile, round2 } from "./proc";

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

/** autocannon for `seconds`; latencies are collected from its response events because its own
 *  histogram truncates to whole milliseconds, too coarse on loopback */
export function load(t: Target, connections: number, seconds: number): Promise<Cell> {
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

/** load() plus the CPU time process `pid` spent on it, per request */
export async function loadWithCpu(t: Target, connections: number, seconds: number, pid: number): Promise<Cell> {
  const before = cpuMs(pid);
  const cell = await load(t, connections, seconds);
  const spent = cpuMs(pid) - before;
  return { ...cell, cpuUsPerReq: Math.round((spent * 1000) / Math.max(1, cell.requests)) };
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
