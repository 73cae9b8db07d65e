// Shared state on Redis, end to end: a real redis-server, three real gateways over HTTP, one simulator.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startSimulator, type Simulator } from "../../src/simulator/index";
import { redisMissing, startRedis, type RedisServer } from "../helpers/redis";
import { generate, instanceConfig, startInstances, type Instances } from "../helpers/instances";
import { startServer, type RunningServer } from "../../src/server/start";
import { createLogger } from "../../src/core/log";
import { until } from "../helpers/util";
import { sessionFromConversation } from "../../src/protocol/session";
import { NO_LIMITS } from "../../src/keys/limits-input";
import type { KeyLimits } from "../../src/state/keys";

const skip = redisMissing();

describe.skipIf(!!skip)("shared state on Redis", () => {
  let redis: RedisServer;
  let sim: Simulator;

  beforeAll(async () => {
    redis = await startRedis({ appendonly: true });
    sim = await startSimulator({ port: 0, hostname: "127.0.0.1", delays: false });
  });

  afterAll(async () => {
    await sim?.stop();
    await redis?.cleanup();
  });

  /** a virtual key made on the first instance, once every instance knows it */
  async function keyOnEvery(p: Instances, name: string, limits: Partial<KeyLimits>): Promise<string> {
    const { secret } = p.list[0]!.server.ctx.keys!.book.create(name, { ...NO_LIMITS, ...limits });
    await until(() => p.list.every((i) => i.server.ctx.keys!.book.lookup(secret) !== undefined), "the key on every instance");
    return secret;
  }

  /** Redis stopped, then one more instance of pool `p` started on `dataDir`; `end` has Redis back and stops it */
  async function startWhileDown(p: Instances, dataDir: string) {
    await redis.stop();
    let down = true;
    const redisBack = async () => {
      if (down) await redis.start();
      down = false;
    };
    const server = await startServer({
      config: instanceConfig(sim.url, redis.url, p.prefix, p.apiKey),
      dataDir,
      log: createLogger("silent"),
    }).catch(async (e) => {
      await redisBack();
      throw e;
    });
    return { server, redisBack, end: async () => (await redisBack(), await server.stop()) };
  }

  async function pool(n: number, accounts: number, config = {}, now?: () => number): Promise<Instances> {
    const accts = Array.from({ length: accounts }, () => sim.addAccount({ email: `u-${crypto.randomUUID().slice(0, 8)}@example.com` }));
    return startInstances(n, { sim, accounts: accts, redisUrl: redis.url, config, now });
  }

  test("one token refresh per account across three instances", async () => {
    const p = await pool(3, 2, { scheduling: { mode: "round-robin" } });
    try {
      const emails = p.list[0]!.server.pool.list().map((a) => a.email);
      // Google forgets every token: each instance meets a 401 and must refresh both accounts
      for (const e of emails) expect((await fetch(`${sim.url}/_sim/accounts/${e}/expire-tokens`, { method: "POST" })).ok).toBe(true);
      const before = sim.stats().token ?? 0;
      const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => generate(p.list[i % 3]!, p.apiKey, `hello ${i}`)));
      expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
      const served = new Set(answers.map((r) => r.headers.get("x-account-email")));
      expect(served.size).toBe(2);
      expect((sim.stats().token ?? 0) - before).toBe(2);
    } finally {
      await p.stop();
    }
  });

  test("a quota 429 seen by one instance is honoured by the others within 100 ms", async () => {
    const p = await pool(3, 2);
    try {
      const [a, b, c] = p.list;
      expect((await generate(a!, p.apiKey, "warm up")).status).toBe(200);
      // the next call, whichever account it goes to, meets an exhausted quota; a rotates to the other
      sim.addFault({ kind: "quota_exhausted", model: "gemini-2.5-flash", times: 1, resetSeconds: 3600 });
      const r = await generate(a!, p.apiKey, "again");
      const seenAt = Date.now();
      expect(r.status).toBe(200);
      const hit = a!.server.pool.list().find((x) => x.email !== r.headers.get("x-account-email"))!.email;
      expect(a!.server.pool.eligible(hit, "gemini-2.5-flash")).toBe(false);
      expect(sim.requests({ email: hit }).length).toBeGreaterThan(0);
      await until(
        () => !b!.server.pool.eligible(hit, "gemini-2.5-flash") && !c!.server.pool.eligible(hit, "gemini-2.5-flash"),
        "cooldown shared",
        100,
      );
      expect(Date.now() - seenAt).toBeLessThanOrEqual(100);
      // and they do not send to it (the fault is used up: a call to it would now succeed, so count them)
      const calls = sim.requests({ email: hit }).length;
      for (const inst of [b!, c!])
        for (let i = 0; i < 3; i++) expect((await generate(inst, p.apiKey, `x${i}`)).headers.get("x-account-email")).not.toBe(hit);
      expect(sim.requests({ email: hit }).length).toBe(calls);
    } finally {
      await p.stop();
    }
  });

  test("two instances cooling different models of one account at the same moment both keep theirs", async () => {
    const p = await pool(2, 1);
    try {
      const [a, b] = p.list;
      const id = a!.server.pool.list()[0]!.id;
      const end = Date.now() + 3_600_000;
      // written in the same tick: neither has heard of the other's when it writes (a whole-list write lost one)
      a!.server.pool.sharedState!.saveCooldowns(id, [{ model: "gemini-2.5-flash", until: end, reason: "quota" }]);
      b!.server.pool.sharedState!.saveCooldowns(id, [{ model: "gemini-2.5-pro", until: end, reason: "quota" }]);
      for (const inst of [a!, b!])
        await until(
          () => !inst.server.pool.eligible(id, "gemini-2.5-flash") && !inst.server.pool.eligible(id, "gemini-2.5-pro"),
          "both cooldowns on every instance",
        );
      const cli = new RedisClient(redis.url);
      try {
        const stored = JSON.parse((await cli.send("HGET", [`${p.prefix}acct:${id}`, "cooldowns"])) as string);
        expect(stored.map((c: { model: string }) => c.model).sort()).toEqual(["gemini-2.5-flash", "gemini-2.5-pro"]);
      } finally {
        cli.close();
      }
      // and a cooldown dropped on one instance is dropped everywhere, the other kept
      a!.server.pool.sharedState!.saveCooldowns(id, [{ model: "gemini-2.5-pro", until: end, reason: "quota" }]);
      await until(() => b!.server.pool.eligible(id, "gemini-2.5-flash"), "the dropped one gone on the other instance");
      expect(b!.server.pool.eligible(id, "gemini-2.5-pro")).toBe(false);
    } finally {
      await p.stop();
    }
  });

  test("a conversation stays on one account whichever instance serves it", async () => {
    const p = await pool(3, 3, { scheduling: { mode: "sticky" } });
    try {
      // each instance meets the conversations in another order: alone, each would bind them differently
      const orders = [
        [0, 1, 2, 3, 4, 5],
        [5, 4, 3, 2, 1, 0],
        [2, 5, 0, 3, 1, 4],
        [3, 0, 4, 1, 5, 2],
      ];
      const turns = orders[0]!.map((c) => [`conversation ${c}: hello`]);
      const served = turns.map(() => new Set<string | null>());
      for (const [round, order] of orders.entries()) {
        for (const c of order) {
          const r = await generate(p.list[round % 3]!, p.apiKey, turns[c]!);
          expect(r.status).toBe(200);
          served[c]!.add(r.headers.get("x-account-email"));
          turns[c]!.push(`answer ${round}`, `follow-up ${round}`);
        }
        // a conversation's next turn comes after its answer, which takes a model seconds and the
        // simulator a millisecond: let the bindings of the first round reach every instance first
        if (round === 0) await until(() => p.list.every((i) => i.server.pool.poolView().sessions === turns.length), "bindings everywhere");
      }
      expect(served.map((s) => s.size)).toEqual(served.map(() => 1));
      expect(new Set(served.map((s) => [...s][0])).size).toBe(3); // spread over the pool, not all on one
    } finally {
      await p.stop();
    }
  });

  test("two instances taking a conversation's first turn at the same moment agree on one account", async () => {
    const p = await pool(2, 2, { scheduling: { mode: "sticky" } });
    try {
      // each instance meets the conversations in the other order, all at once: alone, each would bind
      // every one to the other account than its peer did
      const turns = [0, 1, 2, 3].map((c) => [`race ${c}: hello`]);
      const first = await Promise.all([
        ...turns.map((t) => generate(p.list[0]!, p.apiKey, t)),
        ...turns.toReversed().map((t) => generate(p.list[1]!, p.apiKey, t)),
      ]);
      expect(first.map((r) => r.status)).toEqual(first.map(() => 200));
      // each instance's own binding of each conversation (the scheduler is the pool's, not public)
      const keys = turns.map((t) => sessionFromConversation(undefined, t[0]));
      const bound = (i: number) => keys.map((k) => (p.list[i]!.server.pool as any).scheduler.sessions.get(k, Date.now()));
      await until(
        () => JSON.stringify(bound(0)) === JSON.stringify(bound(1)) && !bound(0).includes(undefined),
        "one binding per conversation",
      );
      for (const [c, t] of turns.entries()) {
        t.push("answer", "follow-up");
        const next = await Promise.all([generate(p.list[0]!, p.apiKey, t), generate(p.list[1]!, p.apiKey, t)]);
        expect(new Set(next.map((r) => r.headers.get("x-account-email"))).size, `conversation ${c}`).toBe(1);
      }
    } finally {
      await p.stop();
    }
  });

  test("an account another instance disabled keeps no sessions here either", async () => {
    const p = await pool(2, 2, { scheduling: { mode: "sticky" } });
    try {
      for (let c = 0; c < 4; c++) expect((await generate(p.list[1]!, p.apiKey, `kept ${c}`)).status).toBe(200);
      const view = (i: number) => p.list[i]!.server.pool.poolView();
      const busy = view(1).accounts.find((a) => a.sessionBindings > 0)!;
      await p.list[0]!.server.pool.setEnabled(busy.id, false);
      await until(() => view(1).accounts.find((a) => a.id === busy.id)?.state === "disabled", "the disable on the other instance");
      await until(() => view(1).accounts.find((a) => a.id === busy.id)!.sessionBindings === 0, "its sessions let go");
      expect(view(1).sessions).toBe(view(1).accounts.reduce((n, a) => n + a.sessionBindings, 0));
    } finally {
      await p.stop();
    }
  });

  test("a key with rpm 60 gets 60 requests a minute across all three instances together, in turn or at once", async () => {
    let clock = Date.UTC(2026, 10, 29, 12, 0, 0);
    const p = await pool(3, 2, {}, () => clock);
    try {
      const secret = await keyOnEvery(p, "team", { rpm: 60 });
      const minute = async () => {
        const answers: Response[] = [];
        for (let i = 0; i < 75; i++) {
          answers.push(await generate(p.list[i % 3]!, secret, `req ${i}`));
          clock += 500; // 75 requests over 37.5 s of the injected clock: all inside one minute
        }
        return answers;
      };
      // the count is kept in Redis: not one request more, however quickly they follow each other
      for (let round = 0; round < 2; round++) {
        const answers = await minute();
        expect(answers.map((r) => r.status)).toEqual(answers.map((_, i) => (i < 60 ? 200 : 429)));
        // the 61st comes 30 s after the first, which leaves the minute 30 s later
        expect(answers[60]!.headers.get("retry-after")).toBe("30");
        expect(answers[59]!.headers.get("x-ratelimit-remaining-requests")).toBe("0");
        clock += 61_000; // the next minute
      }
      // nor when they arrive together, spread over the three instances
      const burst = await Promise.all(Array.from({ length: 75 }, (_, i) => generate(p.list[i % 3]!, secret, `burst ${i}`)));
      expect(burst.filter((r) => r.status === 200).length).toBe(60);
      expect(burst.filter((r) => r.status === 429).length).toBe(15);
    } finally {
      await p.stop();
    }
  });

  test("a key revoked on one instance is refused by the others as soon as they hear of it (not at their next reload)", async () => {
    const p = await pool(2, 1);
    try {
      const secret = await keyOnEvery(p, "short-lived", {});
      const [a, b] = p.list.map((i) => i.server.ctx.keys!.book);
      const id = a!.lookup(secret)!.id;
      a!.revoke(id);
      // the moment b's shared copy has the revocation, its book has it too
      const heard = () => (b as any).store.list().find((r: { id: string }) => r.id === id)?.revokedAt != null;
      await until(heard, "the revocation to reach the other instance");
      expect(b!.lookup(secret)?.revokedAt).not.toBeNull();
      expect((await generate(p.list[1]!, secret, "after revoke")).status).toBe(401);
    } finally {
      await p.stop();
    }
  });

  test("the shared scripts run by their digest, and are sent again after Redis forgets them (SCRIPT FLUSH)", async () => {
    const p = await pool(2, 1);
    const cli = new RedisClient(redis.url);
    try {
      const secret = await keyOnEvery(p, "flushed", { rpm: 4 });
      const statuses: number[] = [];
      for (let i = 0; i < 2; i++) statuses.push((await generate(p.list[i % 2]!, secret, `before ${i}`)).status);
      await cli.send("SCRIPT", ["FLUSH"]);
      await cli.send("CONFIG", ["RESETSTAT"]);
      for (let i = 0; i < 3; i++) statuses.push((await generate(p.list[i % 2]!, secret, `after ${i}`)).status);
      // counted in Redis before and after: the fifth request of the minute is the one refused
      expect(statuses).toEqual([200, 200, 200, 200, 429]);
      // by digest; the source again only when Redis had forgotten it
      const stats = String(await cli.send("INFO", ["commandstats"]));
      const calls = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      expect(calls("evalsha")).toBeGreaterThanOrEqual(3);
      expect(calls("eval")).toBeGreaterThanOrEqual(1);
      expect(calls("eval")).toBeLessThan(calls("evalsha"));
    } finally {
      cli.close();
      await p.stop();
    }
  });

  test("a key with concurrency 2 holds 2 requests in flight across all three instances together, in turn or at once", async () => {
    const p = await pool(3, 2);
    try {
      const secret = await keyOnEvery(p, "narrow", { concurrency: 2 });
      // two slow upstream answers, one through each of two instances
      sim.addFault({ kind: "delay", delayMs: 1500, times: 2 });
      const slow = [generate(p.list[0]!, secret, "slow a"), generate(p.list[1]!, secret, "slow b")];
      await until(() => (sim.inFlight().generateContent ?? 0) >= 2, "both slow calls upstream");
      const third = await generate(p.list[2]!, secret, "third");
      expect(third.status).toBe(429);
      expect(await third.text()).toContain("2 requests in flight");
      expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
      await until(async () => (await generate(p.list[2]!, secret, "after")).status === 200, "the key free again");
      // six at once, two through each instance: the count is kept in Redis, so two go upstream, four wait
      sim.addFault({ kind: "delay", delayMs: 1000, times: 2 });
      const burst = await Promise.all(Array.from({ length: 6 }, (_, i) => generate(p.list[i % 3]!, secret, `burst ${i}`)));
      expect(burst.map((r) => r.status).sort()).toEqual([200, 200, 429, 429, 429, 429]);
      // an instance that died holding two: they count until its lease (15 s) runs out, then no longer
      const held = `${p.prefix}keyheld:${p.list[0]!.server.ctx.keys!.book.find("narrow")!.id}`;
      const cli = new RedisClient(redis.url);
      try {
        await cli.send("HSET", [held, "killed", `2:${Date.now() - 14_000}`]);
        expect((await generate(p.list[1]!, secret, "while it counts")).status).toBe(429);
        await cli.send("HSET", [held, "killed", `2:${Date.now() - 15_001}`]);
        expect((await generate(p.list[1]!, secret, "after its lease")).status).toBe(200);
        expect(await cli.send("HEXISTS", [held, "killed"])).toBe(0); // and dropped
      } finally {
        cli.close();
      }
    } finally {
      await p.stop();
    }
  });

  test("usage totals on any instance equal the simulator's, across all three", async () => {
    const p = await pool(3, 2);
    try {
      const before = sim.reportedUsage();
      for (let batch = 0; batch < 4; batch++)
        await Promise.all(
          p.list.flatMap((inst, i) => [0, 1, 2].map((j) => generate(inst, p.apiKey, `usage ${batch} ${i} ${j} ${"word ".repeat(j * 7)}`))),
        );
      const after = sim.reportedUsage();
      const want = {
        requests: 36,
        input: after.promptTokenCount - before.promptTokenCount,
        output: after.candidatesTokenCount - before.candidatesTokenCount,
        thinking: after.thoughtsTokenCount - before.thoughtsTokenCount,
      };
      expect(after.answers - before.answers).toBe(36);
      expect(want.input).toBeGreaterThan(0);
      for (const inst of p.list) inst.server.ctx.keys!.flush();
      const total = async (inst: (typeof p.list)[number]) => {
        const rows = await inst.server.ctx.keys!.report(Date.now() - 3_600_000, "model");
        const sum = (f: "requests" | "input" | "output" | "thinking") => rows.reduce((n, r) => n + r[f], 0);
        return { requests: sum("requests"), input: sum("input"), output: sum("output"), thinking: sum("thinking") };
      };
      await until(
        async () => (await Promise.all(p.list.map(total))).every((t) => JSON.stringify(t) === JSON.stringify(want)),
        "one total on every instance",
        2000,
      ).catch(async () => expect(await Promise.all(p.list.map(total))).toEqual(p.list.map(() => want)));
      // a new instance reads the same total from Redis
      const late = await p.add();
      expect(await total(late)).toEqual(want);
    } finally {
      await p.stop();
    }
  });

  test("Redis unreachable: degraded, still serving; back: caught up both ways", async () => {
    const p = await pool(2, 2);
    try {
      const [a, b] = p.list;
      const health = async (i: typeof a) => ((await (await fetch(`${i!.url}/healthz`)).json()) as { state?: string }).state;
      expect(await health(a)).toBe("shared");
      await redis.stop();
      await until(async () => (await health(a)) === "degraded", "degraded health", 3000);
      const metrics = await (await fetch(`${a!.url}/metrics`, { headers: { authorization: `Bearer ${p.apiKey}` } })).text();
      expect(metrics).toMatch(/^switchyard_state_degraded 1$/m);
      // still serving from the last known state, and learning a cooldown while apart
      expect((await generate(a!, p.apiKey, "while apart")).status).toBe(200);
      sim.addFault({ kind: "quota_exhausted", model: "gemini-2.5-flash", times: 1, resetSeconds: 3600 });
      const r = await generate(a!, p.apiKey, "hits the fault");
      expect(r.status).toBe(200);
      const hit = a!.server.pool.list().find((x) => x.email !== r.headers.get("x-account-email"))!.email;
      expect(a!.server.pool.eligible(hit, "gemini-2.5-flash")).toBe(false);
      expect(b!.server.pool.eligible(hit, "gemini-2.5-flash")).toBe(true); // b cannot know yet
      await redis.start();
      await until(async () => (await health(a)) === "shared" && (await health(b)) === "shared", "reconnected", 5000);
      await until(() => !b!.server.pool.eligible(hit, "gemini-2.5-flash"), "cooldown caught up", 2000);
    } finally {
      await p.stop();
    }
  });

  test("a gateway started while Redis is down shares what it did once Redis comes up: its accounts, its usage", async () => {
    await redis.stop();
    let down = true;
    let p: Instances | undefined;
    try {
      p = await pool(1, 1);
      const a = p.list[0]!;
      expect(a.server.pool.stateStatus()).toBe("degraded");
      expect((await generate(a, p.apiKey, "before Redis")).status).toBe(200);
      a.server.ctx.keys!.flush();
      // a report older than the mirror needs Redis: a 503 that says so, not a total with hours left out
      const old = await fetch(`${a.url}/admin/usage?since=60d`, { headers: { authorization: `Bearer ${p.apiKey}` } });
      expect(old.status).toBe(503);
      expect(((await old.json()) as { error: unknown }).error).toMatchObject({
        code: "shared_state_unavailable",
        message: expect.stringMatching(/^since reaches back more than 35 days/),
      });
      expect((await fetch(`${a.url}/admin/usage?since=7d`, { headers: { authorization: `Bearer ${p.apiKey}` } })).status).toBe(200);
      await redis.start();
      down = false;
      await until(() => a.server.pool.stateStatus() === "shared", "connected", 5000);
      // its first connection: the accounts it holds and the usage it counted reach Redis
      const direct = new RedisClient(redis.url);
      try {
        await until(async () => Object.keys(await direct.hgetall(`${p!.prefix}accounts`)).length === 1, "the account in Redis", 3000);
        const late = await p.add();
        await until(
          async () => (await late.server.ctx.keys!.report(Date.now() - 3_600_000, "key")).reduce((n, r) => n + r.requests, 0) === 1,
          "the request counted in the shared totals",
          3000,
        );
      } finally {
        direct.close();
      }
    } finally {
      await p?.stop();
      if (down) await redis.start();
    }
  });

  test("an instance started from a stale accounts.json while Redis is down takes Redis's accounts when it comes up", async () => {
    const p = await pool(2, 3);
    let late: Awaited<ReturnType<typeof startWhileDown>> | undefined;
    try {
      const [a, b] = p.list;
      const [x, y] = a!.server.pool.list().map((v) => v.email);
      await b!.server.stop(); // b is off while the operator works on a
      const stale = readFileSync(join(b!.dataDir, "accounts.json"), "utf8");
      await a!.server.pool.remove(x!);
      await a!.server.pool.setEnabled(y!, false);
      const direct = new RedisClient(redis.url);
      const inRedis = async () =>
        Object.values((await direct.hgetall(`${p.prefix}accounts`)) as Record<string, string>)
          .map((r) => `${JSON.parse(r).email} ${JSON.parse(r).state ?? "active"}`)
          .sort();
      try {
        await until(async () => (await inRedis()).length === 2, "the removal in Redis", 3000);
        const want = await inRedis();
        expect(want).toContain(`${y} disabled`);
        // a stopped instance hears nothing more (its subscription lingers a moment after close)
        expect(readFileSync(join(b!.dataDir, "accounts.json"), "utf8")).toBe(stale);
        // b comes back from its old accounts.json (x still there, y active) before Redis does
        late = await startWhileDown(p, b!.dataDir);
        const server = late.server;
        expect(server.pool.stateStatus()).toBe("degraded");
        await late.redisBack();
        await until(() => server.pool.stateStatus() === "shared", "connected", 5000);
        const view = (s: RunningServer) =>
          s.pool
            .list()
            .map((v) => `${v.email} ${v.state}`)
            .sort();
        await until(() => JSON.stringify(view(server)) === JSON.stringify(want), "b takes Redis's accounts", 3000);
        expect(await inRedis()).toEqual(want); // nothing of b's stale copy was pushed
        expect(view(a!.server)).toEqual(want);
      } finally {
        direct.close();
      }
    } finally {
      await late?.end();
      await p.stop();
    }
  });

  test("a virtual key works on an instance that starts while Redis is down (state.db keeps a copy of the shared keys)", async () => {
    const p = await pool(1, 1);
    let late: Awaited<ReturnType<typeof startWhileDown>> | undefined;
    try {
      const a = p.list[0]!;
      const secret = await keyOnEvery(p, "kept", { rpm: 100 });
      const later = a.server.ctx.keys!.book.create("made-later", { ...NO_LIMITS }).secret;
      await a.server.stop();
      late = await startWhileDown(p, a.dataDir);
      expect(late.server.pool.stateStatus()).toBe("degraded");
      const inst = { url: late.server.url, dataDir: a.dataDir, server: late.server };
      expect((await generate(inst, secret, "while Redis is down")).status).toBe(200);
      expect((await generate(inst, later, "while Redis is down")).status).toBe(200);
      expect((await generate(inst, "sk-sy-nobody-has-this-key-000000000000", "x")).status).toBe(401);
    } finally {
      await late?.end();
      await p.stop();
    }
  });

  test("conversations bound while Redis was away keep their account on every instance once it is back", async () => {
    const p = await pool(2, 3);
    try {
      const [a, b] = p.list;
      await redis.stop();
      await until(() => a!.server.pool.stateStatus() === "degraded", "degraded", 3000);
      const turns = [0, 1, 2, 3, 4, 5].map((c) => [`apart ${c}: hello`]);
      const bound: (string | null)[] = [];
      for (const t of turns) {
        const r = await generate(a!, p.apiKey, t);
        expect(r.status).toBe(200);
        bound.push(r.headers.get("x-account-email"));
        t.push("answer", "follow-up");
      }
      expect(new Set(bound).size).toBe(3);
      await redis.start();
      // bindings per account, as the pool view shows them
      const view = (i: typeof a) =>
        JSON.stringify(
          i!.server.pool
            .poolView()
            .accounts.map((x) => [x.email, x.sessionBindings])
            .sort(),
        );
      await until(() => view(b) === view(a), "b holds the bindings a made while apart", 5000);
      // b meets them in the other order: binding them on its own, it would spread them differently
      for (const c of [5, 4, 3, 2, 1, 0]) expect((await generate(b!, p.apiKey, turns[c]!)).headers.get("x-account-email")).toBe(bound[c]!);
    } finally {
      await p.stop();
    }
  });

  test("a request of a key with concurrency that ends while Redis is away stops counting when it is back", async () => {
    const p = await pool(2, 2);
    try {
      const [a, b] = p.list;
      const secret = await keyOnEvery(p, "single", { concurrency: 1 });
      sim.addFault({ kind: "delay", delayMs: 800, times: 1 });
      const slow = generate(a!, secret, "slow");
      await until(() => (sim.inFlight().generateContent ?? 0) >= 1, "the slow call upstream");
      expect((await generate(b!, secret, "while a holds it")).status).toBe(429);
      // Redis (which keeps its data: appendonly) goes away while a's request is in flight, and a's request ends
      await redis.stop();
      expect((await slow).status).toBe(200);
      await redis.start();
      await until(() => a!.server.pool.stateStatus() === "shared" && b!.server.pool.stateStatus() === "shared", "reconnected", 5000);
      // a says its count again when Redis is back: b is not kept waiting for a's 15 s lease
      await until(async () => (await generate(b!, secret, "after")).status === 200, "the key free on b", 3000);
    } finally {
      await p.stop();
    }
  }, 15_000);

  test("a Redis that comes back empty gets the keys back from the instances (it lost them on every instance, state.db's copy too)", async () => {
    const p = await pool(2, 1);
    try {
      const secret = await keyOnEvery(p, "survivor", {});
      const [a, b] = p.list;
      await redis.stop();
      redis.wipe();
      await redis.start();
      await until(async () => a!.server.pool.stateStatus() === "shared" && b!.server.pool.stateStatus() === "shared", "reconnected", 5000);
      await until(async () => (await generate(b!, secret, "after the wipe")).status === 200, "the key served again", 5000);
      expect((await generate(a!, secret, "and here")).status).toBe(200);
      expect(b!.server.ctx.keys!.book.list().map((k) => k.name)).toContain("survivor");
    } finally {
      await p.stop();
    }
  });

  test("a key revoked while Redis was away is revoked on every instance once it is back", async () => {
    const p = await pool(2, 1);
    try {
      const secret = await keyOnEvery(p, "revoked-apart", {});
      const [a, b] = p.list;
      await redis.stop();
      a!.server.ctx.keys!.book.revoke("revoked-apart");
      await redis.start();
      await until(async () => a!.server.pool.stateStatus() === "shared" && b!.server.pool.stateStatus() === "shared", "reconnected", 5000);
      // told, not just written: the other instance may have read Redis before the revocation reached it
      await until(() => b!.server.ctx.keys!.book.lookup(secret)?.revokedAt != null, "the revocation on the other instance", 5000);
      expect((await generate(b!, secret, "after")).status).toBe(401);
    } finally {
      await p.stop();
    }
  });

  test("tokens a key used while Redis was away count against its shared budget once it is back", async () => {
    const p = await pool(2, 1);
    try {
      const secret = await keyOnEvery(p, "spent-apart", { dailyTokens: 1_000_000 });
      const [a] = p.list;
      const id = a!.server.ctx.keys!.book.lookup(secret)!.id;
      const shared = a!.server.pool.sharedState!;
      const today = `d:${Math.floor(Date.now() / 86_400_000) * 86_400_000}`;
      const usedInRedis = async () => Number((await shared.command("HGET", [shared.keyOf(`keyuse:${id}`), today])) ?? 0);
      expect((await generate(a!, secret, "before")).status).toBe(200);
      await until(async () => (await usedInRedis()) > 0, "the first tokens in Redis");
      const before = await usedInRedis();
      await redis.stop();
      for (let i = 0; i < 3; i++) expect((await generate(a!, secret, `apart ${i}`)).status).toBe(200);
      await redis.start();
      await until(async () => a!.server.pool.stateStatus() === "shared", "reconnected", 5000);
      // the outage's tokens reached Redis: the other instances' budgets see them
      await until(async () => (await usedInRedis()) > before * 3, "the outage's tokens in Redis", 5000);
    } finally {
      await p.stop();
    }
  });

  test("a Redis restart loses nothing written before it", async () => {
    const p = await pool(2, 1);
    try {
      const [a, b] = p.list;
      expect((await generate(a!, p.apiKey, "hello")).status).toBe(200);
      await a!.server.pool.sync();
      const email = a!.server.pool.list()[0]!.email;
      const token = () => sim.stats().token ?? 0;
      const before = token();
      await redis.stop();
      await redis.start();
      await until(async () => a!.server.pool.stateStatus() === "shared" && b!.server.pool.stateStatus() === "shared", "reconnected", 5000);
      // the token survived in Redis: a fresh instance's requests need no /token call
      const c = await p.add();
      expect((await generate(c, p.apiKey, "after restart")).headers.get("x-account-email")).toBe(email);
      expect(token()).toBe(before);
    } finally {
      await p.stop();
    }
  });
});
