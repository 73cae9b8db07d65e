#!/usr/bin/env bun
// What a request costs the gateway's process when it is served over real HTTP, without the load
// generator and the simulator in the same process (docs/performance.md, "How to measure"):
//   --objects  the objects a request leaves behind, by type (heap counts before and after 150 requests,
//              with collections held off: exact and repeatable, unlike CPU time on a shared machine)
//   --cpu      CPU time per request of this process (gateway, its fetch thread, its collector), in
//              alternating cells of --n requests, 32 in flight, --rounds times; medians per target, and
//              the median of the round-by-round differences to the first (with how many rounds were lower)
//              and, per target, the CPU of each of the process's threads (JavaScript, fetch, JIT, collector)
//   --trees A,B  gateways built from other checkouts of this repository (their src/), side by side in
//              this one process, cells alternating, so the machine's drift hits them alike. Default: this tree.
//              `bare` is the bench's bare proxy (scripts/bench/bare-proxy.ts), for the Gemini routes: the
//              floor, measured in the same harness.
//   --keys config,limited  which key the requests carry: the configured one, and/or a virtual key with
//              every limit set and none reached (the bench's "limited key" row); each tree with each key.
//   --routes R,…  which route: gemini, openai, anthropic (a short unary request, the same model and
//              upstream call), gemini-sse, anthropic-sse (streamed), anthropic-agent, openai-agent,
//              responses-agent, gemini-agent (a coding agent's ~270 KB turn in each shape); default gemini.
//   --chunks N  a streamed answer (the -sse routes) of N events instead of the recorded few: N − 1 events
//              of a few words each before the recorded one, for what each frame costs.
//   --model M  the model asked for (default the bench's; a Claude or Gemini 3 model is answered through
//              upstream's stream call, as Google wants).
// Upstream is a child process answering the simulator's recorded body (no simulator logic per request);
// the requests come from another child process. Usage:
//   bun scripts/bench/census.ts --objects
//   git worktree add OLD <commit>   (an earlier checkout to compare with; OLD is any folder name)
//   bun scripts/bench/census.ts --cpu --trees OLD,. [--n 3000] [--rounds 12]
//   bun scripts/bench/census.ts --cpu --trees bare,. --routes gemini,gemini-agent
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { silentLogger } from "../../src/core/log";
import { createFetch } from "../../src/simulator/server";
import { SimState } from "../../src/simulator/state";
import { loadConfig } from "../../src/config/load";
import { JSC_DEFAULTS } from "../../src/cli/startup-env";
import { CLIENT_BODY, gatewayEnv, MODEL, ROOT } from "./gateway";
import { children, firstLine, median, spawnChild, threadCpuMs, threadsPerRequest } from "./proc";
import { bareProxy } from "./bare-proxy";
import { agentTurn, chatAgentTurn, geminiAgentTurn, responsesAgentTurn } from "./agent-turn";

const args = process.argv.slice(2);
// a failure anywhere must not leave the upstream children running (they hold the caller's output open)
process.on("exit", () => {
  for (const c of children) c.kill();
});
const opt = (name: string, d: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : d;
};
const OBJECTS = args.includes("--objects");
const CPU = args.includes("--cpu");
if (!OBJECTS && !CPU) {
  console.error(
    "usage: bun scripts/bench/census.ts --objects | --cpu [--trees A,B] [--keys config,limited] [--routes R,…] [--chunks N] [--model M] [--n N] [--rounds R]",
  );
  process.exit(2);
}
// JavaScriptCore's JIT as `serve` sets it (src/cli/serve.ts). Not its heap sizing, which is made for a
// gateway's process: this one also holds the load's bodies, the simulator and perhaps the bare proxy,
// and under the gateway's sizing it would collect far more often than a gateway does (env-ab.ts
// measures the sizing on the binary). The object counts need a heap that does not collect in the
// middle: sized as if the machine had 16 GiB.
const jsc = {
  BUN_JSC_useFTLJIT: JSC_DEFAULTS.BUN_JSC_useFTLJIT!,
  ...(OBJECTS ? { BUN_JSC_forceRAMSize: String(16 * 2 ** 30) } : {}),
};
if (Object.keys(jsc).some((k) => !process.env[k])) {
  const p = Bun.spawn([process.execPath, ...process.argv.slice(1)], {
    env: { ...jsc, ...process.env },
    stdio: ["inherit", "inherit", "inherit"],
  });
  process.exit(await p.exited);
}
// "bare": the bench's bare proxy (scripts/bench/bare-proxy.ts) in this process, for the Gemini routes
const TREES = opt("trees", ROOT)
  .split(",")
  .map((t) => (t === "bare" ? t : resolve(t)));
const KEYS = opt("keys", "config").split(",");
const model = opt("model", MODEL);
/** a route whose ~270 KB body is made only when the route is chosen (this process's heap is measured) */
function agentRoute(path: string, header: string, make: (model: string) => string) {
  let body: string | undefined;
  return {
    path,
    header,
    get body() {
      return (body ??= make(model));
    },
  };
}

const ROUTES: Record<string, { path: string; header: string; body: string }> = {
  gemini: { path: `/v1beta/models/${model}:generateContent`, header: "x-goog-api-key", body: CLIENT_BODY },
  openai: {
    path: "/v1/chat/completions",
    header: "authorization",
    body: JSON.stringify({ model, messages: [{ role: "user", content: "benchmark me, please" }] }),
  },
  anthropic: {
    path: "/v1/messages",
    header: "x-api-key",
    body: JSON.stringify({ model, max_tokens: 64, messages: [{ role: "user", content: "benchmark me, please" }] }),
  },
  // a coding agent's whole turn (Claude Code's shape), answered unary
  "anthropic-agent": agentRoute("/v1/messages", "x-api-key", agentTurn),
  "openai-agent": agentRoute("/v1/chat/completions", "authorization", chatAgentTurn),
  "responses-agent": agentRoute("/v1/responses", "authorization", responsesAgentTurn),
  "gemini-agent": agentRoute(`/v1beta/models/${model}:generateContent`, "x-goog-api-key", geminiAgentTurn),
  // streamed answers: the client reads the events to the end
  "gemini-sse": { path: `/v1beta/models/${model}:streamGenerateContent?alt=sse`, header: "x-goog-api-key", body: CLIENT_BODY },
  "anthropic-sse": {
    path: "/v1/messages",
    header: "x-api-key",
    body: JSON.stringify({ model, max_tokens: 64, stream: true, messages: [{ role: "user", content: "benchmark me, please" }] }),
  },
};
const routes = opt("routes", "gemini")
  .split(",")
  .map((r) => {
    if (!ROUTES[r]) throw new Error(`--routes: ${r} is not one of ${Object.keys(ROUTES).join(", ")}`);
    return [r, ROUTES[r]!] as const;
  });
const N = Number(opt("n", "3000"));
const CHUNKS = Number(opt("chunks", "1"));
const ROUNDS = Number(opt("rounds", "12"));

// the simulator answers the set-up calls (token, project, models) and records one generateContent answer
const sim = new SimState(3600, false);
const simServer = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: createFetch(sim, silentLogger()) });
sim.url = `http://127.0.0.1:${simServer.port}`;
const account = sim.addAccount({ email: "census@example.com", refreshToken: "1//census", project: "census-project" });
const TRIVIAL_UPSTREAM = `
  const canned = await Bun.file(process.env.CANNED_FILE).text();
  const events = canned.startsWith("data:") ? canned.split(/(?<=\\r?\\n\\r?\\n)/) : [];
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", async fetch(req) {
    await req.arrayBuffer();
    if (events.length < 2) return new Response(canned, { headers: { "content-type": process.env.TYPE } });
    // a long streamed answer goes out an event at a time, as Google sends it
    return new Response(new ReadableStream({ type: "direct", async pull(c) {
      for (const e of events) { c.write(e); c.flush(); await new Promise((r) => setImmediate(r)); }
      c.close();
    } }), { headers: { "content-type": process.env.TYPE } });
  } });
  console.log(JSON.stringify({ url: "http://127.0.0.1:" + s.port }));`;
const realFetch = globalThis.fetch;
/** the recorded SSE answer with n − 1 events of a few words each before it (--chunks) */
function longer(sse: string, n: number): string {
  const first = JSON.parse(/^data: ?(.*)$/m.exec(sse)![1]!);
  const c = first.response.candidates[0];
  delete c.finishReason;
  delete first.response.usageMetadata;
  c.content.parts = [{ text: "a few more words " }];
  return `data: ${JSON.stringify(first)}\r\n\r\n`.repeat(n - 1) + sse;
}
/** per upstream method (a unary call, a stream call): a child answering the simulator's recorded answer */
const trivial = new Map<string, Promise<string>>();
async function trivialFor(method: string, input: string | URL | Request, init?: RequestInit): Promise<string> {
  let url = trivial.get(method);
  if (!url) {
    url = (async () => {
      const res = await realFetch(input, init);
      const text = await res.text();
      const canned = join(bodyDir, `${method}.answer`);
      writeFileSync(canned, method === "streamGenerateContent" && CHUNKS > 1 ? longer(text, CHUNKS) : text);
      const env = { ...process.env, CANNED_FILE: canned, TYPE: res.headers.get("content-type") ?? "application/json" };
      const p = spawnChild([process.execPath, "-e", TRIVIAL_UPSTREAM], { env });
      return JSON.parse(await firstLine(p, "trivial upstream")).url as string;
    })();
    trivial.set(method, url);
  }
  return url;
}
globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
  const url = String(input instanceof Request ? input.url : input);
  const method = /v1internal:(generateContent|streamGenerateContent)/.exec(url)?.[1];
  if (!method) return realFetch(input, init);
  return realFetch(`${await trivialFor(method, input, init)}/v1internal:${method}`, init);
}) as typeof fetch;

// one gateway per tree, each with its own data dir, logging as `serve` does (to stdout: > /dev/null)
const apiKey = "sk-census-0123456789abcdef";
const dirs: string[] = [];
/** what a cell loads: one gateway, one key, one route */
interface Target {
  label: string;
  /** the route and key, the same across trees: a target is compared with the first tree's twin */
  what: string;
  url: string;
  key: string;
  header: string;
  body: string;
}
const gateways: Target[] = [];
const stops: (() => Promise<void>)[] = [];
for (const tree of TREES) {
  if (tree === "bare") {
    const token = sim.issueAccessToken(account.email);
    const bare = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: bareProxy(sim.url, token, "census-project") });
    stops.push(async () => void bare.stop(true));
    for (const [name, r] of routes)
      if (r.path.startsWith("/v1beta/") && !r.path.includes("stream"))
        gateways.push({
          label: `bare proxy (${name})`,
          what: `${name}, config`,
          url: `http://127.0.0.1:${bare.port}${r.path}`,
          key: "-",
          header: r.header,
          body: r.body,
        });
    continue;
  }
  const dataDir = mkdtempSync(join(tmpdir(), "switchyard-census-"));
  dirs.push(dataDir);
  const { config } = loadConfig({}, gatewayEnv({ dataDir, upstream: sim.url, sim: sim.url, apiKey }));
  config.server.port = 0;
  const { startServer } = await import(join(tree, "src/server/start.ts"));
  const { createLogger } = await import(join(tree, "src/core/log.ts"));
  const gw = await startServer({ config, dataDir, log: createLogger(config.log.level, undefined, config.log.format) });
  await gw.pool.accounts.addByRefreshToken(account.refreshToken);
  stops.push(() => gw.stop());
  const base = gw.url.replace(/\/$/, "");
  const big = 1e12;
  const limits = { models: ["gemini-*"], rpm: big, tpm: big, concurrency: 100_000, dailyTokens: big, monthlyTokens: big, expiresAt: null };
  for (const k of KEYS) {
    const key = k === "limited" ? gw.ctx.keys.book.create(`census-limited`, limits).secret : apiKey;
    for (const [name, r] of routes)
      gateways.push({
        label: `${tree} (${name}, ${k} key)`,
        what: `${name}, ${k}`,
        url: base + r.path,
        key,
        header: r.header,
        body: r.body,
      });
  }
}

const LOAD = `
  const [url, n, conc] = [process.env.U, Number(process.env.N), Number(process.env.C)];
  const body = await Bun.file(process.env.BODY_FILE).text();
  const key = process.env.H === "authorization" ? "Bearer " + process.env.K : process.env.K;
  const headers = { "content-type": "application/json", [process.env.H]: key };
  let left = n;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (left-- > 0) {
      const r = await fetch(url, { method: "POST", headers, body });
      if (r.status !== 200) { console.error(r.status, await r.text()); process.exit(1); }
      await r.arrayBuffer();
    }
  }));
  console.log("done");`;
// a body goes to the load process as a file (an agent's turn is too long for the environment)
const bodies = new Map<string, string>();
const bodyDir = mkdtempSync(join(tmpdir(), "switchyard-census-bodies-"));
dirs.push(bodyDir);
function bodyFile(body: string): string {
  let f = bodies.get(body);
  if (!f) {
    f = join(bodyDir, `${bodies.size}.json`);
    writeFileSync(f, body);
    bodies.set(body, f);
  }
  return f;
}
async function load(t: Target, n: number, conc: number) {
  const p = spawnChild([process.execPath, "-e", LOAD], {
    env: { ...process.env, U: t.url, K: t.key, H: t.header, BODY_FILE: bodyFile(t.body), N: String(n), C: String(conc) },
  });
  await firstLine(p, "load", 600_000);
}

for (const g of gateways) await load(g, 3000, 32); // compiled, caches warm
if (OBJECTS) {
  const { heapStats } = await import("bun:jsc");
  const M = 150;
  for (const g of gateways) {
    Bun.gc(true);
    const before = heapStats().objectTypeCounts;
    await load(g, M, 8);
    const after = heapStats().objectTypeCounts;
    const per = Object.entries(after)
      .map(([type, n]) => [type, (n - (before[type] ?? 0)) / M] as const)
      .filter(([, n]) => n >= 0.05)
      .sort((a, b) => b[1] - a[1]);
    const total = per.reduce((s, [, n]) => s + n, 0);
    console.error(`${g.label}: ${total.toFixed(0)} objects per request`);
    console.error("  " + per.map(([t, n]) => `${t} ${n.toFixed(1)}`).join(", "));
  }
}
if (CPU) {
  const cells: number[][] = gateways.map(() => []);
  const threads: Map<string, number>[] = gateways.map(() => new Map());
  for (let r = 0; r < ROUNDS; r++)
    for (let k = 0; k < gateways.length; k++) {
      const i = r % 2 === 0 ? k : gateways.length - 1 - k; // ABBA: neither goes first every time
      const t0 = threadCpuMs("self");
      const c0 = process.cpuUsage();
      await load(gateways[i]!, N, 32);
      const c = process.cpuUsage(c0);
      cells[i]!.push((c.user + c.system) / N);
      for (const [name, ms] of threadCpuMs("self")) threads[i]!.set(name, (threads[i]!.get(name) ?? 0) + ms - (t0.get(name) ?? 0));
    }
  // which thread spends it: the JavaScript thread, fetch's, the JIT's, the collector's
  for (let k = 0; k < gateways.length; k++)
    console.error(`${gateways[k]!.label} by thread, µs/req: ${threadsPerRequest(new Map(), threads[k]!, N * ROUNDS)}`);
  for (let k = 0; k < gateways.length; k++)
    console.error(`${gateways[k]!.label}: median ${median(cells[k]!).toFixed(1)} µs/req (${cells[k]!.map((x) => x.toFixed(0)).join(" ")})`);
  // the machine drifts between rounds more than two versions differ: compare within each round, each
  // target with the first target of the same route and key (another tree's, or another key's)
  for (let k = 1; k < gateways.length; k++) {
    const twin = gateways.findIndex((g) => g.what === gateways[k]!.what);
    const j = twin < k ? twin : KEYS.length > 1 ? k - routes.length : -1;
    if (j < 0 || j === k) continue;
    const d = cells[k]!.map((x, r) => x - cells[j]![r]!);
    const lower = d.filter((x) => x < 0).length;
    console.error(
      `${gateways[k]!.label} − ${gateways[j]!.label}, round by round: median ${median(d).toFixed(1)} µs/req, lower in ${lower} of ${d.length} rounds`,
    );
  }
}

for (const stop of stops) await stop();
simServer.stop(true);
for (const d of dirs) rmSync(d, { recursive: true, force: true });
for (const c of children) c.kill();
process.exit(0);
