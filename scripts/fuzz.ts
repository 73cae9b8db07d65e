#!/usr/bin/env bun
// `npm run fuzz [COUNT]`: a larger run of the hostile-request generator (test/helpers/fuzz.ts) against a
// real `switchyard serve` process backed by the simulator. Prints the status histogram, the problems
// found (5xx, wrong error shapes, no answer) and the gateway's RSS before, at its peak and after.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSimulator } from "../src/simulator/index";
import { fuzzRequests, shapeProblem } from "../test/helpers/fuzz";

const COUNT = Number(process.argv[2] ?? 50_000);
const ROOT = join(import.meta.dir, "..");
const rssMb = (pid: number) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
};

const sim = await startSimulator({ delays: false });
const dir = mkdtempSync(join(tmpdir(), "switchyard-fuzz-"));
const apiKey = "sk-fuzz-" + crypto.randomUUID();
const adminKey = "sk-fuzz-admin-" + crypto.randomUUID();
const env = {
  ...process.env,
  SWITCHYARD_DATA_DIR: dir,
  SWITCHYARD_UPSTREAM_ENDPOINTS: sim.url,
  SWITCHYARD_OAUTH_TOKEN_URL: `${sim.url}/token`,
  SWITCHYARD_USERINFO_URL: `${sim.url}/oauth2/v2/userinfo`,
  SWITCHYARD_VERSION_URL: `${sim.url}/api/update/{target}/stable/latest`,
  SWITCHYARD_API_KEY: apiKey,
  SWITCHYARD_ADMIN_KEY: adminKey,
  SWITCHYARD_AUTH_MODE: "strict",
  SWITCHYARD_LOG_LEVEL: "silent",
};
for (let i = 0; i < 2; i++) {
  const a = sim.addAccount();
  // not spawnSync: the simulator answering it lives in this process
  const p = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "accounts", "add", "--refresh-token", a.refreshToken], {
    env,
    stdout: "ignore",
    stderr: "pipe",
  });
  if ((await p.exited) !== 0) throw new Error(`accounts add failed: ${await new Response(p.stderr).text()}`);
}
const port = 20000 + Math.floor(Math.random() * 20000);
const gw = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "serve", "--port", String(port)], {
  env,
  stdout: "ignore",
  stderr: "inherit",
});
const url = `http://127.0.0.1:${port}`;
for (
  let i = 0;
  !(await fetch(`${url}/healthz`, { headers: { authorization: `Bearer ${apiKey}` } }).then(
    (r) => r.ok,
    () => false,
  ));
  i++
) {
  if (i > 150) throw new Error("the gateway did not start");
  await Bun.sleep(100);
}
const before = rssMb(gw.pid);
let peak = before;
const sampler = setInterval(() => (peak = Math.max(peak, rssMb(gw.pid))), 100);

const statuses = new Map<number, number>();
const problems: string[] = [];
const reqs = fuzzRequests(0x5eed, COUNT, { url, apiKey, adminKey });
let done = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: 16 }, async () => {
    for (let r = reqs.next(); !r.done; r = reqs.next()) {
      const { label, path, init } = r.value;
      try {
        const res = await fetch(url + path, init);
        const text = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const why = res.status >= 500 ? text.slice(0, 160) : res.status >= 400 ? shapeProblem(path, text) : undefined;
        if (why) problems.push(`${label}: ${res.status} ${why}`);
      } catch (e) {
        problems.push(`${label}: no answer (${(e as Error).message})`);
      }
      if (++done % 10_000 === 0) process.stderr.write(`${done} / ${COUNT}\n`);
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
await Bun.sleep(1000);
const after = rssMb(gw.pid);
const alive = await fetch(`${url}/healthz`, { headers: { authorization: `Bearer ${apiKey}` } }).then(
  (r) => r.ok,
  () => false,
);
gw.kill("SIGTERM");
await gw.exited;
await sim.stop();
rmSync(dir, { recursive: true, force: true });

console.log(`${COUNT} hostile requests in ${seconds.toFixed(1)} s (${Math.round(COUNT / seconds)}/s), gateway ${alive ? "alive" : "DEAD"}`);
console.log(
  `status histogram: ${[...statuses]
    .sort((a, b) => a[0] - b[0])
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ")}`,
);
console.log(`RSS MB before / peak / after: ${before.toFixed(0)} / ${peak.toFixed(0)} / ${after.toFixed(0)}`);
console.log(`problems: ${problems.length}`);
for (const p of problems.slice(0, 20)) console.log(`  ${p}`);
process.exit(problems.length || !alive ? 1 : 0);
