#!/usr/bin/env bun
// The gateway's own CPU per request, without the network or other processes: the server's handler
// called in-process with 32 requests in flight, upstream answered from memory (the simulator's own
// answer, recorded once), side by side with the bare proxy's logic on the same fake upstream. The
// difference is what the gateway's code costs per request (docs/performance.md, "How to measure").
// Usage: bun scripts/bench/inproc.ts [--n 20000] [--rounds 3] [--real] [--heap] > /dev/null
//   --real: upstream is a child process on loopback answering the recorded body (fetch's own cost in);
//   --heap: the heap's object counts at the end. The gateway logs as `serve` does (INPROC_LOG sets the
//   level, default warn) to stdout; the figures go to stderr. Under --cpu-prof it is the profile to read.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, silentLogger } from "../../src/core/log";
import { createFetch } from "../../src/simulator/server";
import { SimState } from "../../src/simulator/state";
import { loadConfig } from "../../src/config/load";
import { CLIENT_BODY, gatewayEnv, MODEL } from "./gateway";
import { children, firstLine, median, spawnChild } from "./proc";

const arg = (n: string, d: number) => {
  const i = process.argv.indexOf(`--${n}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg("n", 20_000);
const ROUNDS = arg("rounds", 3);
const CONC = 32;
const REAL = process.argv.includes("--real");

// the simulator on loopback for the set-up calls (token, project, models); generateContent from memory
const sim = new SimState(3600, false);
const simServer = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: createFetch(sim, silentLogger()) });
sim.url = `http://127.0.0.1:${simServer.port}`;
const account = sim.addAccount({ email: "inproc@example.com", refreshToken: "1//inproc", project: "inproc-project" });
const realFetch = globalThis.fetch;
let canned: string | undefined;
let trivial: string | undefined; // --real: a child process answering the recorded body (no simulator logic)
const TRIVIAL_UPSTREAM = `
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", async fetch(req) {
    await req.arrayBuffer();
    return new Response(process.env.CANNED, { headers: { "content-type": "application/json" } });
  } });
  console.log(JSON.stringify({ url: "http://127.0.0.1:" + s.port }));`;
const fake = (async (input: string | URL | Request, init?: RequestInit) => {
  const url = String(input instanceof Request ? input.url : input);
  if (!url.endsWith("v1internal:generateContent")) return realFetch(input, init);
  if (canned === undefined) {
    canned = await (await realFetch(input, init)).text();
    if (REAL) {
      const p = spawnChild([process.execPath, "-e", TRIVIAL_UPSTREAM], { env: { ...process.env, CANNED: canned } });
      trivial = JSON.parse(await firstLine(p, "trivial upstream")).url;
    }
  }
  if (trivial) return realFetch(trivial + "/v1internal:generateContent", init);
  await (init?.body as string | undefined)?.length; // the body is already a string: nothing to read
  return new Response(canned, { headers: { "content-type": "application/json" } });
}) as typeof fetch;
globalThis.fetch = fake;

// the gateway, as `serve` builds it, its listener's handler captured instead of called over HTTP
const dataDir = mkdtempSync(join(tmpdir(), "switchyard-inproc-"));
const apiKey = "sk-inproc-0123456789abcdef";
// the bench's own gateway environment (Google replaced by the simulator), at its own log level
const env = { ...gatewayEnv({ dataDir, upstream: sim.url, sim: sim.url, apiKey }), SWITCHYARD_LOG_LEVEL: process.env.INPROC_LOG ?? "warn" };
const { config } = loadConfig({}, env);
config.server.port = 0;
let handler: ((req: Request) => Promise<Response>) | undefined;
const serve = Bun.serve;
(Bun as { serve: unknown }).serve = (o: { fetch: (req: Request) => Promise<Response> }) => {
  handler = o.fetch;
  return serve({ ...o, fetch: () => new Response("unused") } as never);
};
const { startServer } = await import("../../src/server/start");
// the request log as `serve` writes it (stdout: run with > /dev/null; the results go to stderr)
const gw = await startServer({ config, dataDir, log: createLogger(config.log.level, undefined, config.log.format) });
(Bun as { serve: unknown }).serve = serve;
await gw.pool.accounts.addByRefreshToken(account.refreshToken);

const headers = {
  "content-type": "application/json",
  "content-length": String(CLIENT_BODY.length),
  "x-goog-api-key": apiKey,
  host: "127.0.0.1:1",
};
const url = `http://127.0.0.1:1/v1beta/models/${MODEL}:generateContent`;
const viaGateway = async () => {
  const res = await handler!(new Request(url, { method: "POST", headers, body: CLIENT_BODY }));
  if (res.status !== 200) throw new Error(`gateway answered ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
};
// scripts/bench/bare-proxy.ts's handler, on the same fake upstream
const bareHandler = async (req: Request) => {
  const model = /\/models\/([^/:]+):/.exec(new URL(req.url).pathname)?.[1] ?? MODEL;
  const request = (await req.json()) as Record<string, unknown>;
  const envelope = {
    model,
    project: "inproc-project",
    requestId: `agent-${crypto.randomUUID()}`,
    requestType: "agent",
    userAgent: "antigravity",
    request: { ...request, sessionId: "-1" },
  };
  const res = await fake(`${sim.url}/v1internal:generateContent`, {
    method: "POST",
    headers: { authorization: "Bearer x", "content-type": "application/json" },
    body: JSON.stringify(envelope),
  });
  const answer = (await res.json()) as { response?: unknown };
  return Response.json(res.ok ? answer.response : answer, { status: res.status });
};
const viaBare = async () => {
  const res = await bareHandler(new Request(url, { method: "POST", headers, body: CLIENT_BODY }));
  await res.arrayBuffer();
};

async function run(f: () => Promise<void>, n: number): Promise<number> {
  let left = n;
  const c0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      // a turn of the event loop now and then, as a server gets between requests: timers (the usage
      // flush) run inside the measured time, as they do under load
      for (let i = 0; left-- > 0; i++) {
        await f();
        if (i % 16 === 0) await new Promise((r) => setImmediate(r));
      }
    }),
  );
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

await viaGateway();
await run(viaGateway, 3000);
await run(viaBare, 3000);
const rows: { bare: number; gateway: number }[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const bare = await run(viaBare, N);
  const gateway = await run(viaGateway, N);
  rows.push({ bare, gateway });
  console.error(
    `round ${r + 1}: bare ${bare.toFixed(1)} µs/req, gateway ${gateway.toFixed(1)} µs/req, gateway's own ${(gateway - bare).toFixed(1)} µs`,
  );
}
if (process.argv.includes("--heap")) {
  const { heapStats } = await import("bun:jsc");
  Bun.gc(true);
  const h = heapStats();
  console.error("usage buffer", (gw.ctx.keys as any).buffer.length);
  console.error("heap MB", (h.heapSize / 1048576).toFixed(1), "objects", h.objectCount);
  console.error(
    Object.entries(h.objectTypeCounts)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([k, v]) => `${k}:${v}`)
      .join(" "),
  );
}
console.error(
  `median: bare ${median(rows.map((r) => r.bare)).toFixed(1)}, gateway ${median(rows.map((r) => r.gateway)).toFixed(1)} µs/req`,
);
await gw.stop();
simServer.stop(true);
rmSync(dataDir, { recursive: true, force: true });
for (const c of children) c.kill();
process.exit(0);
