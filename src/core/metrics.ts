// Prometheus metrics (prom-client: the standard Node client, runs on Bun). One registry per app so
// tests and in-process servers do not share series.
import { Counter, Gauge, Histogram, Registry } from "prom-client";

const START = Date.now() / 1000;

/**
 * Process series read from Bun itself. prom-client's default collectors read Node internals that
 * Bun reports differently (a heap "size" of GBs, a made-up Node version), so they are not used.
 */
function processMetrics(registry: Registry) {
  const registers = [registry];
  new Gauge({
    name: "switchyard_process_resident_memory_bytes",
    help: "resident memory (RSS)",
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new Gauge({
    name: "switchyard_process_heap_bytes",
    help: "JavaScript heap (kind: used, total)",
    labelNames: ["kind"] as const,
    registers,
    collect() {
      const m = process.memoryUsage();
      this.set({ kind: "used" }, m.heapUsed);
      this.set({ kind: "total" }, m.heapTotal);
    },
  });
  new Gauge({
    name: "switchyard_process_cpu_seconds_total",
    help: "CPU time used by the process (mode: user, system)",
    labelNames: ["mode"] as const,
    registers,
    collect() {
      const c = process.cpuUsage();
      this.set({ mode: "user" }, c.user / 1e6);
      this.set({ mode: "system" }, c.system / 1e6);
    },
  });
  new Gauge({
    name: "switchyard_process_start_time_seconds",
    help: "start time (unix seconds)",
    registers,
    collect() {
      this.set(START);
    },
  });
}

export function createMetrics() {
  const registry = new Registry();
  processMetrics(registry);
  const requests = new Counter({
    name: "switchyard_http_requests_total",
    help: "HTTP requests by route family and status",
    labelNames: ["family", "status"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "switchyard_http_request_duration_seconds",
    help: "HTTP request latency (until the response headers; for streams, until the body ends)",
    labelNames: ["family"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const inflight = new Gauge({ name: "switchyard_http_in_flight_requests", help: "requests being served", registers: [registry] });
  const upstreamCalls = new Counter({
    name: "switchyard_upstream_calls_total",
    help: "calls to Google by method and outcome class (ok, quota_exhausted, rate_limited, capacity, unauthenticated, forbidden, not_found, invalid_request, server_error, network)",
    labelNames: ["method", "outcome"] as const,
    registers: [registry],
  });
  return { registry, requests, latency, inflight, upstreamCalls };
}

export type Metrics = ReturnType<typeof createMetrics>;
