// Tokens, scheduling modes, sessions, persistence and external edits, against the real simulator.
import { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import { afterEach, describe, expect, test } from "bun:test";
import { openPool, type Pool } from "../../src/pool/index";
import { AccountStore } from "../../src/accounts/store";
import { silentLogger } from "../../src/core/log";
import { ApiError } from "../../src/core/errors";
import { startSimulator, type SimAccount, type Simulator } from "../../src/simulator/index";
import { accountRecord, tempDir, until, userText } from "../helpers/util";
import { simConfig, startRig, type Rig } from "../helpers/pool";

const M = "gemini-2.5-flash";
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function rigWith(...args: Parameters<typeof startRig>): Promise<Rig> {
  const r = await startRig(...args);
  cleanups.push(() => r.stop());
  return r;
}

const gen = (p: Pool, sessionKey?: string, model = M) => p.gateway.generate({ model, request: userText("hi"), sessionKey });

/** accounts written straight into the store: no access token cached yet (a cold pool) */
async function seed(dir: string, accounts: SimAccount[]) {
  const s = await AccountStore.open(dir);
  await s.update((doc) => {
    for (const a of accounts) {
      doc.accounts.set(a.email, accountRecord(a.email, { refreshToken: a.refreshToken, projectId: a.project }));
    }
  });
  await s.close();
}

async function coldPool(sim: Simulator, accounts: SimAccount[], over = {}) {
  const { dir, cleanup } = tempDir("cold");
  await seed(dir, accounts);
  const pool = await openPool({ config: simConfig(sim, over), dataDir: dir, log: silentLogger(), background: false });
  cleanups.push(async () => {
    await pool.close();
    cleanup();
  });
  return { pool, dir };
}

async function sim() {
  const s = await startSimulator({ delays: false });
  cleanups.push(() => s.stop());
  return s;
}

describe("tokens", () => {
  test("200 concurrent requests on a cold account make exactly one token call", async () => {
    const s = await sim();
    const { pool } = await coldPool(s, [s.addAccount({ email: "cold@x.com" })]);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => pool.gateway.generate({ model: M, request: userText(`q${i}`) })),
    );
    expect(results.every((r) => r.accountEmail === "cold@x.com")).toBe(true);
    expect(s.stats().token).toBe(1);
    // before the account reported its models, the built-in lineup serves the name (a Gemini 3 model,
    // which goes upstream as a stream)
    expect((s.stats().generateContent ?? 0) + (s.stats().streamGenerateContent ?? 0)).toBe(200);
  });

  test("a token revoked early (401 with a cached token) is refreshed once and the request retried", async () => {
    const r = await rigWith([{ email: "a@x.com" }]);
    r.sim.expireTokens("a@x.com");
    expect((await gen(r.pool)).accountEmail).toBe("a@x.com");
    expect(r.sim.stats()).toMatchObject({ token: 1, generateContent: 2 });
  });

  test("50 requests in flight when Google drops the token: still one token call", async () => {
    const r = await rigWith([{ email: "a@x.com" }]);
    r.sim.expireTokens("a@x.com");
    const results = await Promise.all(Array.from({ length: 50 }, () => gen(r.pool)));
    expect(results.every((x) => x.accountEmail === "a@x.com")).toBe(true);
    expect(r.sim.stats().token).toBe(1);
  });

  test("invalid_grant disables the account with Google's reason, persisted; it is never picked again until re-added", async () => {
    const r = await rigWith([{ email: "a@x.com" }, { email: "b@x.com" }]);
    r.sim.revoke("a@x.com"); // also kills its access token
    expect((await gen(r.pool)).accountEmail).toBe("b@x.com");
    const a = r.pool.get("a@x.com")!;
    expect(a.state).toBe("disabled");
    expect(a.disabledReason).toBe("invalid_grant: Token has been expired or revoked.");
    for (let i = 0; i < 3; i++) expect((await gen(r.pool)).accountEmail).toBe("b@x.com");
    expect(r.sim.requests({ method: "token", email: "a@x.com" })).toHaveLength(1);
    const p2 = await r.reopen();
    expect(p2.get("a@x.com")!.state).toBe("disabled");
    // re-adding with a new token brings it back
    const fresh = r.sim.addAccount({ email: "a@x.com", refreshToken: "1//sim-new-token-for-a" });
    const added = await p2.addByRefreshToken(fresh.refreshToken);
    expect(added.created).toBe(false);
    expect(added.account).toMatchObject({ id: a.id, state: "active" });
  });

  test("an account whose token refresh fails goes last: new sessions are served by the healthy one at once", async () => {
    const r = await rigWith([{ email: "a@x.com" }, { email: "b@x.com" }, { email: "c@x.com" }]);
    for (const email of ["a@x.com", "b@x.com"]) {
      r.sim.addFault({ kind: "internal_500", method: "token", email });
      r.sim.expireTokens(email);
    }
    for (let i = 0; i < 6; i++) expect((await gen(r.pool, `s${i}`)).accountEmail).toBe("c@x.com");
    // each failing account was asked for a token once, not once per new session
    expect(r.sim.requests({ method: "token", email: "a@x.com" }).length).toBeLessThanOrEqual(1);
    expect(r.sim.requests({ method: "token", email: "b@x.com" }).length).toBeLessThanOrEqual(1);
  });

  test("tokens are refreshed ahead of expiry in the background", async () => {
    const r = await rigWith(
      [{ email: "a@x.com" }],
      { pool: { tokenRefreshAheadSeconds: 2 } },
      { internal: { tokenSweepMs: 30 } },
      { tokenTtlSeconds: 2.3 },
    );
    await gen(r.pool); // in use: only such accounts are kept current
    await r.reopen({}, { background: true });
    await until(() => (r.sim.stats().token ?? 0) >= 1, "a background refresh");
    r.sim.clearRequests();
    await gen(r.pool);
    expect(r.sim.requests({ method: "token" })).toHaveLength(0);
  });
});

describe("modes", () => {
  const emails = ["a@x.com", "b@x.com", "c@x.com"];

  test("sticky: a session keeps its account; sessions spread over accounts", async () => {
    const r = await rigWith(emails.map((email) => ({ email })));
    const first = new Map<string, string>();
    for (const s of ["s1", "s2", "s3"]) first.set(s, (await gen(r.pool, s)).accountEmail);
    expect(new Set(first.values()).size).toBe(3);
    for (let i = 0; i < 3; i++) for (const s of ["s1", "s2", "s3"]) expect((await gen(r.pool, s)).accountEmail).toBe(first.get(s)!);
    expect(r.pool.poolView()).toMatchObject({ sessions: 3, mode: "sticky" });
    expect(r.pool.poolView().accounts.map((a) => a.sessionBindings)).toEqual([1, 1, 1]);
  });

  test("sticky: new sessions arriving together spread too (bound when their account is chosen)", async () => {
    const r = await rigWith(emails.map((email) => ({ email })));
    // a slow upstream keeps all twelve in flight at once
    r.sim.addFault({ kind: "delay", delayMs: 200 });
    const served = await Promise.all(Array.from({ length: 12 }, (_, i) => gen(r.pool, `burst-${i}`)));
    const per = new Map<string, number>();
    for (const x of served) per.set(x.accountEmail, (per.get(x.accountEmail) ?? 0) + 1);
    expect([...per.values()]).toEqual([4, 4, 4]);
    expect(r.pool.poolView().accounts.map((a) => a.sessionBindings)).toEqual([4, 4, 4]);
  });

  test("sticky: a request the client got wrong (400 from two accounts) leaves its session where it was", async () => {
    const r = await rigWith(emails.map((email) => ({ email })));
    const home = (await gen(r.pool, "s")).accountEmail;
    r.sim.addFault({ kind: "bad_request_400", times: 2 });
    const err = await gen(r.pool, "s").catch((e) => e);
    expect(err.status).toBe(400);
    expect((await gen(r.pool, "s")).accountEmail).toBe(home);
  });

  test("sticky: a session moves when its account cools down", async () => {
    const r = await rigWith(emails.map((email) => ({ email })));
    const home = (await gen(r.pool, "s")).accountEmail;
    r.sim.addFault({ kind: "rate_limited", email: home, resetSeconds: 60 });
    const moved = (await gen(r.pool, "s")).accountEmail;
    expect(moved).not.toBe(home);
    expect((await gen(r.pool, "s")).accountEmail).toBe(moved);
  });

  test("sticky: bindings expire after the idle TTL", async () => {
    let clock = Date.now();
    const r = await rigWith(
      emails.map((email) => ({ email })),
      { scheduling: { sessionTtlMinutes: 1 } },
      { now: () => clock },
    );
    await gen(r.pool, "s");
    clock += 30_000;
    expect(r.pool.poolView().sessions).toBe(1);
    clock += 31_000; // a minute idle
    const view = r.pool.poolView();
    expect(view.sessions).toBe(0);
    // the per-account counts agree with the total
    expect(view.accounts.map((a) => a.sessionBindings)).toEqual([0, 0, 0]);
  });

  test("sticky: the number of bindings is capped", async () => {
    const r = await rigWith(
      emails.map((email) => ({ email })),
      { scheduling: { maxSessions: 2 } },
    );
    for (const s of ["s1", "s2", "s3", "s4"]) await gen(r.pool, s);
    expect(r.pool.poolView().sessions).toBe(2);
  });

  test("round-robin: every account in turn, sessions ignored", async () => {
    const r = await rigWith(
      emails.map((email) => ({ email })),
      { scheduling: { mode: "round-robin" } },
    );
    const served = [];
    for (let i = 0; i < 6; i++) served.push((await gen(r.pool, "same-session")).accountEmail);
    expect(served).toEqual([...emails, ...emails]);
  });

  test("quota-first: the most remaining quota for the model; ties to the least recently used", async () => {
    const r = await rigWith(
      [
        { email: "a@x.com", quota: { [M]: 0.3 } },
        { email: "b@x.com", quota: { [M]: 0.9 } },
        { email: "c@x.com", quota: { [M]: 0.9, "gemini-2.5-pro": 0.1 } },
      ],
      { scheduling: { mode: "quota-first" } },
    );
    const served = [];
    for (let i = 0; i < 4; i++) served.push((await gen(r.pool)).accountEmail);
    expect(served).toEqual(["b@x.com", "c@x.com", "b@x.com", "c@x.com"]);
    expect((await gen(r.pool, undefined, "gemini-2.5-pro")).accountEmail).not.toBe("c@x.com");
  });
});

describe("persistence", () => {
  test("cooldowns, states and counters survive a restart", async () => {
    const r = await rigWith([{ email: "a@x.com" }, { email: "b@x.com" }, { email: "c@x.com" }], { scheduling: { mode: "round-robin" } });
    r.sim.addFault({ kind: "quota_exhausted", email: "a@x.com", resetSeconds: 600 });
    r.sim.addFault({ kind: "permission_403", email: "b@x.com" });
    expect((await gen(r.pool)).accountEmail).toBe("c@x.com");
    await gen(r.pool);
    const p2 = await r.reopen();
    expect(p2.get("a@x.com")!.cooldowns).toMatchObject([{ model: M, reason: "quota_exhausted" }]);
    expect(p2.get("b@x.com")!.state).toBe("disabled");
    expect(p2.get("c@x.com")!.requests).toBe(2);
    expect(p2.get("c@x.com")!.lastUsedAt).toBeDefined();
    r.sim.clearFaults();
    r.sim.clearRequests();
    expect((await gen(p2)).accountEmail).toBe("c@x.com");
    expect(r.sim.requests({ method: "generateContent" }).map((q) => q.email)).toEqual(["c@x.com"]);
  });

  test("counters go to state.db on a timer, and traffic (cooldowns, tokens, quota) never rewrites accounts.json", async () => {
    const r = await rigWith([{ email: "a@x.com" }, { email: "b@x.com" }], {
      pool: { flushIntervalSeconds: 0.1 },
      scheduling: { mode: "round-robin" },
    });
    await r.reopen({}, { background: true });
    await r.pool.ready;
    const file = `${r.dir}/accounts.json`;
    const stamp = () => {
      const st = statSync(file, { bigint: true });
      return `${st.ino}:${st.mtimeNs}:${st.size}`;
    };
    const before = stamp();
    const db = new Database(`${r.dir}/state.db`, { readonly: true });
    const count = () => db.query<{ n: number }, []>("SELECT sum(requests) AS n FROM account_state").get()!.n;
    const c0 = count();
    r.sim.addFault({ kind: "rate_limited", email: "a@x.com", resetSeconds: 30, times: 1 });
    for (let i = 0; i < 4; i++) await gen(r.pool);
    await r.pool.refresh("b@x.com"); // token, project and quota: nothing about the identity changed
    expect(r.pool.get("a@x.com")!.cooldowns).toMatchObject([{ reason: "rate_limited" }]);
    await until(() => count() === c0 + 4, "the counter flush");
    expect(stamp()).toBe(before);
    db.close();
  });

  test("a running pool picks up edits from another process (the CLI) without a restart", async () => {
    const r = await rigWith([{ email: "a@x.com" }, { email: "b@x.com" }], { scheduling: { mode: "round-robin" } });
    const server = await r.reopen({}, { background: true });
    const cli = await openPool({ config: r.config, dataDir: r.dir, log: silentLogger(), background: false });
    await cli.setEnabled("a@x.com", false);
    await until(() => server.get("a@x.com")!.state === "disabled", "the server to see the disable");
    for (let i = 0; i < 3; i++) expect((await gen(server)).accountEmail).toBe("b@x.com");
    const c = await cli.addByRefreshToken(r.sim.addAccount({ email: "c@x.com" }).refreshToken);
    await cli.remove("b@x.com");
    await cli.close();
    await until(
      () =>
        server
          .list()
          .map((a) => a.email)
          .join() === "a@x.com,c@x.com",
      "the server to see the add and remove",
    );
    expect((await gen(server)).accountId).toBe(c.account.id);
    // and the server's own writes keep the CLI's edits
    await server.sync();
    const after = await openPool({ config: r.config, dataDir: r.dir, log: silentLogger(), background: false });
    expect(after.list().map((a) => [a.email, a.state])).toEqual([
      ["a@x.com", "disabled"],
      ["c@x.com", "active"],
    ]);
    expect(after.get("c@x.com")!.requests).toBe(1);
    await after.close();
  });
});

test("a running pool picks up state another process wrote to state.db (the CLI refreshing quota)", async () => {
  const r = await rigWith([{ email: "a@x.com" }]);
  const server = await r.reopen({}, { background: true, internal: { watchIntervalMs: 20 } });
  await server.ready;
  r.sim.addAccount({ email: "a@x.com", quota: { [M]: 0.125 } });
  const cli = await openPool({ config: r.config, dataDir: r.dir, log: silentLogger(), background: false });
  await cli.refresh("a@x.com");
  await cli.close();
  await until(() => server.get("a@x.com")!.quota?.[M]?.remainingFraction === 0.125, "the server to see the CLI's quota");
});

describe("the envelope", () => {
  test("stable field order, agent- request ids, a stable sessionId per session, our User-Agent", async () => {
    const r = await rigWith([{ email: "a@x.com" }], { upstream: { userAgent: "switchyard-test/1" } });
    await gen(r.pool, "conv-1");
    await gen(r.pool, "conv-1");
    await gen(r.pool, "conv-2");
    const reqs = r.sim.requests({ method: "generateContent" });
    expect(Object.keys(reqs[0]!.body)).toEqual(["model", "project", "requestId", "requestType", "userAgent", "request"]);
    expect(reqs[0]!.body).toMatchObject({
      model: M,
      project: r.pool.get("a@x.com")!.projectId,
      requestType: "agent",
      userAgent: "antigravity",
    });
    expect(reqs[0]!.body.requestId).toMatch(/^agent-[0-9a-f-]{36}$/);
    expect(reqs[0]!.body.requestId).not.toBe(reqs[1]!.body.requestId);
    const sid = reqs.map((q) => q.body.request.sessionId);
    expect(sid[0]).toBe(sid[1]);
    expect(sid[2]).not.toBe(sid[0]);
    expect(reqs[0]!.headers["user-agent"]).toBe("switchyard-test/1");
  });

  test("image models go as image_gen; aliases are applied", async () => {
    const r = await rigWith([{ email: "a@x.com" }], { models: { aliases: { "my-*": "gemini-2.5-pro" } } });
    const img = await r.pool.gateway.generate({ model: "models/gemini-3.1-flash-image", request: userText("a cat") });
    expect(img.mappedModel).toBe("gemini-3.1-flash-image");
    expect(r.sim.requests({ method: "generateContent" })[0]!.body.requestType).toBe("image_gen");
    expect((await gen(r.pool, undefined, "my-model")).mappedModel).toBe("gemini-2.5-pro");
  });

  test("countTokens asks upstream and returns its count", async () => {
    const r = await rigWith([{ email: "a@x.com" }]);
    const request = { ...userText("count these words please"), systemInstruction: { parts: [{ text: "be brief" }] } };
    const c = await r.pool.gateway.countTokens({ model: M, request });
    expect(c.totalTokens).toBe(r.sim.countTokens(request));
    expect(c.totalTokens).toBeGreaterThan(0);
    expect(r.sim.requests({ method: "countTokens" })[0]!.body).toEqual({
      request: { model: `models/${M}`, contents: request.contents, systemInstruction: request.systemInstruction },
    });
  });

  test("a client that goes away cancels the call without blaming the account", async () => {
    const r = await rigWith([{ email: "a@x.com" }]);
    r.sim.addFault({ kind: "delay", delayMs: 2000 });
    const ac = new AbortController();
    const p = r.pool.gateway.generate({ model: M, request: userText("slow"), signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    const err = await p.catch((e) => e);
    expect(err).toBeDefined();
    expect(err).not.toBeInstanceOf(ApiError);
    expect(err.name).toBe("AbortError");
    expect(r.pool.get("a@x.com")!).toMatchObject({ cooldowns: [], failures: 0, state: "active" });
  });
});
