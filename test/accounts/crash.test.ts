// Crash safety: a server process running a pool under a burst of requests (cooldowns, counters into
// state.db) and a CLI-like process flipping accounts (accounts.json), both killed with SIGKILL 20
// times; after each kill both files open (no torn file, no corrupt database), every account is there,
// and the counters state.db committed never go backwards.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { AccountStore } from "../../src/accounts/store";
import { SqliteState } from "../../src/state/sqlite";
import { startSimulator, type Simulator } from "../../src/simulator/index";
import { accountRecord, tempDir } from "../helpers/util";

const CHILD = resolve(import.meta.dir, "fixtures/crash-child.ts");
const ROUNDS = 20;
const ACCOUNTS = 6;
/** disabled accounts with full quota data: a store of a realistic size (~0.5 MB), so a write takes a while */
const FILLER = 300;

let sim: Simulator;
const data = tempDir("crash");
beforeAll(async () => {
  sim = await startSimulator({ delays: false });
});
afterAll(async () => {
  await sim.stop();
  data.cleanup();
});

async function waitForReady(p: Bun.Subprocess<"ignore", "pipe", "pipe">) {
  const reader = p.stdout.getReader();
  let out = "";
  while (!out.includes("ready")) {
    const r = await reader.read();
    if (r.done) throw new Error(`child exited before it was ready: ${await new Response(p.stderr).text()}`);
    out += new TextDecoder().decode(r.value);
  }
  reader.releaseLock();
}

test(`SIGKILL during a burst, ${ROUNDS} times: the store always loads with every account`, async () => {
  const emails = Array.from({ length: ACCOUNTS }, (_, i) => `crash${i}@x.com`);
  const fillers = Array.from({ length: FILLER }, (_, i) => `filler${i}@x.com`);
  const quota = Object.fromEntries(
    Array.from({ length: 20 }, (_, i) => [
      `gemini-model-${i}`,
      { remainingFraction: 0.5, resetTime: Date.now() + 3_600_000, fetchedAt: Date.now() },
    ]),
  );
  const seedStore = await AccountStore.open(data.dir);
  await seedStore.update((doc) => {
    for (const email of fillers) {
      doc.accounts.set(
        email,
        accountRecord(email, { refreshToken: `1//filler-${email}`, projectId: "p", state: "disabled", disabledReason: "filler", quota }),
      );
    }
    for (const email of emails) {
      const a = sim.addAccount({ email });
      doc.accounts.set(email, accountRecord(email, { refreshToken: a.refreshToken, projectId: a.project }));
    }
  });
  await seedStore.close();
  sim.addFault({ kind: "rate_limited", email: emails[0], resetSeconds: 0.001 });
  sim.addFault({ kind: "quota_exhausted", email: emails[1], resetSeconds: 0.001 });

  let served = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const children = (["server", "cli"] as const).map((role) =>
      Bun.spawn([process.execPath, CHILD, data.dir, sim.url, role], { stdout: "pipe", stderr: "pipe" }),
    );
    for (const c of children) await waitForReady(c);
    await Bun.sleep(30 + ((round * 37) % 120)); // kill at a different point of the burst each round
    for (const c of children) c.kill("SIGKILL");
    for (const c of children) expect(await c.exited).not.toBe(0);
    const store = await AccountStore.open(data.dir); // throws on a torn or corrupt file
    expect([...store.current.accounts.keys()].sort()).toEqual([...emails, ...fillers].sort());
    await store.close();
    const notices: string[] = [];
    const state = SqliteState.open(data.dir, (n) => notices.push(n.message)); // a corrupt file would be set aside
    expect(notices).toEqual([]);
    const now = [...state.loadAll().values()].reduce((n, r) => n + r.requests, 0);
    state.close();
    expect(now).toBeGreaterThanOrEqual(served); // nothing committed is lost
    served = now;
  }
  // the children really were busy: requests were served and counted between kills
  expect(served).toBeGreaterThan(0);
  const stats = sim.stats();
  expect((stats.generateContent ?? 0) + (stats.streamGenerateContent ?? 0)).toBeGreaterThan(ROUNDS);
  expect(readdirSync(data.dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
}, 120_000);
