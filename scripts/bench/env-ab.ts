#!/usr/bin/env bun
// Gateways (the binary `npm run bench` runs) started with different environments, side by side, and
// loaded in alternating cells (ABBA) of unary generateContent at 32 connections (--connections): for settings that a
// process reads only when it starts, such as JavaScriptCore's (BUN_JSC_*), which census.ts cannot
// vary inside one process (docs/performance.md, "How to measure"). Per variant: the median CPU per
// request, req/s, the medians of the cells' p50 and p99, the highest RSS and anonymous RSS sampled under load, and each cell's CPU per request
// by thread (JavaScript, fetch, JIT, collector). A variant's first cell includes its warm-up; with more
// than two variants, the two at the ends of the order sit quiet long enough between cells for the
// gateway's deep idle collection (src/server/idle-gc.ts), which drops compiled code.
// `--agent` sends a coding agent's turn in Gemini's shape (~200 KB, scripts/bench/agent-turn.ts) instead
// of the bench's few hundred bytes; `--stream` asks for the answer as a stream (`?alt=sse`);
// `--anthropic` sends to /v1/messages instead (Claude Code's shape with --agent). A variant's
// "@bin" runs another build (e.g. one made with SWITCHYARD_OUTFILE=dist/old npm run build). Usage:
//   bun scripts/bench/env-ab.ts '{"default":{},"big heap":{"BUN_JSC_forceRAMSize":"268435456"}}' [--rounds 6] [--seconds 5] [--agent]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentTurn, geminiAgentTurn } from "./agent-turn";
import { gatewayCommand, gatewayEnv, gatewayTargets, launchGateway, MODEL, ROOT, writeAccountsFile } from "./gateway";
import { loadWithCpu } from "./load";
import { anonMiB, children, firstLine, median, rssMiB, spawnChild, threadCpuMs, threadsPerRequest } from "./proc";

process.on("exit", () => {
  for (const c of children) c.kill();
});
const args = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};
let variants: Record<string, Record<string, string>>;
try {
  variants = JSON.parse(args[0] ?? "");
} catch {
  console.error(
    `usage: bun scripts/bench/env-ab.ts '{"name":{"VAR":"value"},…}' [--rounds R] [--seconds S] [--connections N] [--agent] [--stream] [--anthropic]`,
  );
  process.exit(2);
}
const ROUNDS = opt("rounds", 6);
const SECONDS = opt("seconds", 5);
const CONNECTIONS = opt("connections", 32);
const agent = args.includes("--agent");
const stream = args.includes("--stream");
const anthropic = args.includes("--anthropic");
const agentBody = agent ? (anthropic ? agentTurn(MODEL) : geminiAgentTurn(MODEL)) : undefined;
const target = (url: string) => {
  if (anthropic) {
    const body = JSON.parse(
      agentBody ?? JSON.stringify({ model: MODEL, max_tokens: 64, messages: [{ role: "user", content: "benchmark me" }] }),
    );
    return { url: `${url}/v1/messages`, headers: { "x-api-key": apiKey }, body: JSON.stringify({ ...body, stream }) };
  }
  const targets = gatewayTargets(url, apiKey);
  const t = stream ? targets.sse : targets.unary;
  return agentBody ? { ...t, body: agentBody } : t;
};

// the simulator with the seeded accounts the data dirs name (scripts/bench/upstream.ts)
const upstream = spawnChild([process.execPath, join(ROOT, "scripts/bench/upstream.ts"), "--seed", "3", "--gap-ms", "1500"], { cwd: ROOT });
const sim = (JSON.parse(await firstLine(upstream, "the simulator")) as { url: string }).url;
const { cmd, kind } = gatewayCommand({ fromSource: false, rebuild: false });
console.error(`gateway: ${kind}`);
const apiKey = "sk-bench-env-ab";
const dirs: string[] = [];
const gateways: { name: string; pid: number; url: string }[] = [];
for (const [name, { "@bin": bin, ...extra }] of Object.entries(variants)) {
  const dataDir = mkdtempSync(join(tmpdir(), "switchyard-env-ab-"));
  dirs.push(dataDir);
  writeAccountsFile(dataDir, 3);
  const gw = await launchGateway(bin ? [bin] : cmd, { ...gatewayEnv({ dataDir, upstream: sim, sim, apiKey }), ...extra }, apiKey);
  gateways.push({ name, pid: gw.proc.pid, url: gw.url });
}

interface Row {
  cpu: number[];
  rps: number[];
  p50: number[];
  p99: number[];
  peak: number;
  anon: number;
  threads: string[];
}
const rows = new Map<string, Row>(gateways.map((g) => [g.name, { cpu: [], rps: [], p50: [], p99: [], peak: 0, anon: 0, threads: [] }]));
for (let r = 0; r < ROUNDS; r++)
  for (const g of r % 2 ? [...gateways].reverse() : gateways) {
    const row = rows.get(g.name)!;
    const sample = setInterval(() => {
      row.peak = Math.max(row.peak, rssMiB(g.pid));
      row.anon = Math.max(row.anon, anonMiB(g.pid));
    }, 200);
    const before = threadCpuMs(g.pid);
    const cell = await loadWithCpu(target(g.url), CONNECTIONS, SECONDS, g.pid);
    row.threads.push(threadsPerRequest(before, threadCpuMs(g.pid), cell.requests));
    clearInterval(sample);
    row.cpu.push(cell.cpuUsPerReq!);
    row.rps.push(cell.reqPerSec);
    row.p50.push(cell.p50Ms);
    row.p99.push(cell.p99Ms);
  }

for (const [name, row] of rows) {
  console.log(
    `${name}: median ${median(row.cpu)} µs/req (${row.cpu.join(" ")}), ${median(row.rps)} req/s, p50 ${median(row.p50)} ms, p99 ${median(row.p99)} ms (${row.p99.join(" ")}), peak RSS ${row.peak} MiB (anonymous ${row.anon})`,
  );
  row.threads.forEach((t, i) => console.log(`  cell ${i + 1}: ${t}`));
}
for (const d of dirs) rmSync(d, { recursive: true, force: true });
process.exit(0);
