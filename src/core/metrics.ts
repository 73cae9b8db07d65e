// Prometheus metrics (./prom.ts). One registry per app so
// tests and in-process servers do not share series.
import { Counter, Gauge, Histogram, Registry } from "./prom";

const START = Date.now() / 1000;

/**
 * Process series read from Bun itself (Node clients' default collectors read Node internals that Bun
 * reports differently: a heap "size" of GBs, a made-up Node version).
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
      // Bun's heapTotal can trail heapUsed (large objects live outside the blocks it counts); a total
      // below what is used would read as nonsense on a dashboard (bun:jsc's heapStats is exact but walks
      // the heap: tens of ms a scrape)
      this.set({ kind: "total" }, Math.max(m.heapTotal, m.heapUsed));
    },
  });
  // a counter (it only grows, and has no set): each scrape adds what was used since the last
  const seen = { user: 0, system: 0 };
  new Counter({
    name: "switchyard_process_cpu_seconds_total",
    help: "CPU time used by the process (mode: user, system)",
    labelNames: ["mode"] as const,
    registers,
    collect() {
      const c = process.cpuUsage();
      for (const mode of ["user", "system"] as const) {
        const now = c[mode] / 1e6;
        if (now > seen[mode]) this.inc({ mode }, now - seen[mode]);
        seen[mode] = Math.max(seen[mode], now);
      }
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
  const openStreams = new Gauge({ name: "switchyard_open_streams", help: "streamed answers still being sent", registers: [registry] });
  const ttfb = new Histogram({
    name: "switchyard_http_time_to_first_byte_seconds",
    help: "streamed answers: from the request to the first byte (headers and first chunk)",
    labelNames: ["family"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const upstreamCalls = new Counter({
    name: "switchyard_upstream_calls_total",
    help: "calls to Google by method and outcome class (ok, quota_exhausted, rate_limited, capacity, unauthenticated, forbidden, not_found, invalid_request, server_error, network)",
    labelNames: ["method", "outcome"] as const,
    registers: [registry],
  });
  const registers = [registry];
  // the upstream client's own limit (upstream.maxConcurrentRequests; src/upstream/limit.ts)
  const upstreamInFlight = new Gauge({
    name: "switchyard_upstream_requests_in_flight",
    help: "v1internal calls holding a slot (a stream until its body ends)",
    registers,
  });
  const upstreamWaiting = new Gauge({
    name: "switchyard_upstream_queue_waiting",
    help: "v1internal calls waiting for a slot (upstream.maxConcurrentRequests reached)",
    registers,
  });
  const upstreamWaits = new Counter({
    name: "switchyard_upstream_queue_waits_total",
    help: "v1internal calls that had to wait for a slot",
    registers,
  });
  const upstreamMaxConcurrent = new Gauge({
    name: "switchyard_upstream_max_concurrent_requests",
    help: "the limit on v1internal calls in flight (upstream.maxConcurrentRequests)",
    registers,
  });
  const upstreamLatency = new Histogram({
    name: "switchyard_upstream_request_duration_seconds",
    help: "v1internal calls by method: until the whole answer, for streams until the headers (upstream time to first byte)",
    labelNames: ["method"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const accountJobs = new Counter({
    name: "switchyard_account_jobs_total",
    help: "token refreshes (job=token_refresh: ok, revoked, network, failed) and quota fetches (job=quota_fetch: ok or the failure class)",
    labelNames: ["job", "outcome"] as const,
    registers,
  });
  const eventLoopLag = new Gauge({
    name: "switchyard_event_loop_lag_seconds",
    help: "the worst event-loop delay seen by a timer over the last 10 to 20 seconds",
    registers,
  });
  return {
    registry,
    requests,
    latency,
    inflight,
    openStreams,
    ttfb,
    upstreamCalls,
    upstreamInFlight,
    upstreamWaiting,
    upstreamWaits,
    upstreamMaxConcurrent,
    upstreamLatency,
    accountJobs,
    eventLoopLag,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Event-loop lag: a timer every `intervalMs` (unref'ed: it never keeps the process up) notes how late
 * it fired. Anything that blocks the loop — a huge body parsed at once, a synchronous call — delays
 * every request and stream, and shows here first. The gauge holds the worst delay of the current and
 * the previous window of `windowTicks` timers (10 to 20 s by default), so a short stall is still
 * visible to a scrape every 15 s.
 */
export class EventLoopLag {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private current = 0;
  private previous = 0;
  private ticks = 0;
  private readonly intervalMs: number;
  private readonly windowTicks: number;
  private readonly now: () => number;

  constructor(
    private gauge: { set(value: number): void },
    opts: { intervalMs?: number; windowTicks?: number; now?: () => number } = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 500;
    this.windowTicks = opts.windowTicks ?? 20;
    this.now = opts.now ?? (() => performance.now());
  }

  start(): this {
    if (this.timer) return this;
    const arm = () => {
      const due = this.now() + this.intervalMs;
      this.timer = setTimeout(() => {
        this.observe(this.now() - due);
        arm();
      }, this.intervalMs);
      (this.timer as { unref?: () => void }).unref?.();
    };
    arm();
    return this;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** one timer that fired `lateMs` after it was due */
  observe(lateMs: number): void {
    this.current = Math.max(this.current, lateMs, 0);
    this.gauge.set(Math.max(this.current, this.previous) / 1000);
    if (++this.ticks >= this.windowTicks) {
      this.previous = this.current;
      this.current = 0;
      this.ticks = 0;
    }
  }
}
