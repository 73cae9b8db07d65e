#!/usr/bin/env bun
// N streaming requests at once, each read to its end; run as its own process so that its environment
// can lift Bun's cap on concurrent fetches (BUN_CONFIG_MAX_HTTP_REQUESTS, read once at start; 256 by
// default). Argument: one JSON object {url, headers, body, n, timeoutMs}. Prints one JSON line:
// {n, ok, failed, wallMs, p50Ms, maxMs, chunks, errors: {reason: count}}.
export {}; // a module: top-level await, and no globals shared with other scripts
interface Spec {
  url: string;
  headers: Record<string, string>;
  body: string;
  n: number;
  timeoutMs: number;
}
const spec = JSON.parse(process.argv[2]!) as Spec;

interface One {
  ok: boolean;
  ms: number;
  chunks: number;
  reason?: string;
}

async function one(signal: AbortSignal): Promise<One> {
  const t0 = performance.now();
  const done = (ok: boolean, chunks: number, reason?: string): One => ({ ok, ms: performance.now() - t0, chunks, reason });
  try {
    const res = await fetch(spec.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...spec.headers },
      body: spec.body,
      signal,
    });
    const text = await res.text();
    if (res.status !== 200) return done(false, 0, `HTTP ${res.status}`);
    // SSE frames with a candidate (keep-alive comments are not chunks); the last one carries finishReason
    const chunks = text.split(/\r?\n\r?\n/).filter((f) => f.startsWith("data:") && f.includes('"candidates"')).length;
    return text.includes('"finishReason"') ? done(true, chunks) : done(false, chunks, "stream ended without finishReason");
  } catch (e) {
    return done(
      false,
      0,
      (e as Error).name === "AbortError" || (e as Error).name === "TimeoutError" ? "timeout" : String((e as Error).message),
    );
  }
}

const signal = AbortSignal.timeout(spec.timeoutMs);
const t0 = performance.now();
const results = await Promise.all(Array.from({ length: spec.n }, () => one(signal)));
const wallMs = performance.now() - t0;
const ok = results.filter((r) => r.ok);
const sorted = Float64Array.from(ok.map((r) => r.ms)).sort();
const errors: Record<string, number> = {};
for (const r of results) if (!r.ok) errors[r.reason!] = (errors[r.reason!] ?? 0) + 1;
console.log(
  JSON.stringify({
    n: spec.n,
    ok: ok.length,
    failed: spec.n - ok.length,
    wallMs: Math.round(wallMs),
    p50Ms: Math.round(sorted[Math.floor(sorted.length / 2)] ?? NaN),
    maxMs: Math.round(sorted[sorted.length - 1] ?? NaN),
    chunks: ok[0]?.chunks ?? 0,
    errors,
  }),
);
