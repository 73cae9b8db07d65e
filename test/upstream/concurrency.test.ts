// upstream.maxConcurrentRequests end to end: a real gateway over HTTP, in front of the simulator through
// a small pass-through that holds generation calls until the test lets them go (so the overlap is made
// by the test, not by timing) and counts how many reach "Google" at once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EventLoopLag } from "../../src/core/metrics";
import { startStack, type Stack } from "../helpers/stack";
import { until, userText } from "../helpers/util";

const GENERATE = /^\/v1internal:(generateContent|streamGenerateContent)$/;

/** forwards to `target`; generation calls wait at the door while `holding` */
function holdingUpstream() {
  const door = {
    target: "",
    holding: true,
    atOnce: 0,
    most: 0,
    held: [] as (() => void)[],
    open() {
      this.holding = false;
      for (const go of this.held.splice(0)) go();
    },
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const generation = GENERATE.test(url.pathname);
      if (generation) {
        door.most = Math.max(door.most, ++door.atOnce);
        if (door.holding) await new Promise<void>((go) => door.held.push(go));
      }
      try {
        const headers = new Headers(req.headers);
        headers.delete("host");
        const res = await fetch(door.target + url.pathname + url.search, { method: req.method, headers, body: await req.arrayBuffer() });
        // the whole answer, then the call counts as done (the gateway's slot outlasts it)
        const body = await res.arrayBuffer();
        return new Response(body, { status: res.status, headers: res.headers });
      } finally {
        if (generation) door.atOnce--;
      }
    },
  });
  return { door, url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}

let s: Stack;
let up: ReturnType<typeof holdingUpstream>;

beforeAll(async () => {
  up = holdingUpstream();
  s = await startStack({ accounts: 0, config: { upstream: { endpoints: [up.url], maxConcurrentRequests: 2 } } });
  up.door.target = s.sim.url;
  const acc = s.sim.addAccount({ email: "limit@example.com" });
  await s.pool.addByRefreshToken(acc.refreshToken);
});
afterAll(async () => {
  await s.stop();
  up.stop();
});

async function metrics(): Promise<Record<string, number>> {
  const text = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${s.apiKey}` } })).text();
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m =
      /^(switchyard_(?:upstream_(?:requests_in_flight|queue_waiting|queue_waits_total|max_concurrent_requests)|event_loop_lag_seconds)) (\S+)$/.exec(
        line,
      );
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

const gemini = (path: string, text: string) =>
  fetch(`${s.url}/v1beta/models/gemini-2.5-flash:${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-goog-api-key": s.apiKey },
    body: JSON.stringify(userText(text)),
  });

test("with a limit of 2, five concurrent requests wait their turn, all succeed, and /metrics shows the wait", async () => {
  const before = await metrics();
  expect(before.switchyard_upstream_max_concurrent_requests).toBe(2);
  expect(before.switchyard_event_loop_lag_seconds).toBeGreaterThanOrEqual(0);

  const answers = [
    gemini("generateContent", "one"),
    gemini("streamGenerateContent?alt=sse", "two"),
    gemini("generateContent", "three"),
    gemini("streamGenerateContent?alt=sse", "four"),
    gemini("generateContent", "five"),
  ];
  for (const a of answers) a.catch(() => {}); // awaited below; a failed wait must not leave them unhandled
  // two calls reach upstream; the three others wait in the gateway, visibly
  await until(async () => up.door.held.length === 2 && (await metrics()).switchyard_upstream_queue_waiting === 3, "3 calls waiting");
  const during = await metrics();
  expect(during.switchyard_upstream_requests_in_flight).toBe(2);
  expect(during.switchyard_upstream_queue_waits_total - (before.switchyard_upstream_queue_waits_total ?? 0)).toBeGreaterThanOrEqual(3);
  expect(up.door.atOnce).toBe(2);

  up.door.open();
  const done = await Promise.all(answers);
  const texts = await Promise.all(done.map((r) => r.text()));
  expect(done.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  // a stream's answer comes in pieces: its texts joined
  const answered = texts.map((t) => [...t.matchAll(/"text":"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`)).join(""));
  expect(answered).toEqual(["one", "two", "three", "four", "five"].map((w) => expect.stringContaining(`Echo: ${w}`)));
  // never more than the limit at upstream, even once the door was open
  expect(up.door.most).toBe(2);

  await until(async () => (await metrics()).switchyard_upstream_requests_in_flight === 0, "every slot back");
  const after = await metrics();
  expect(after.switchyard_upstream_queue_waiting).toBe(0);
  expect(after.switchyard_upstream_queue_waits_total).toBeGreaterThanOrEqual(3);
}, 20_000);

test("a client that leaves while its call waits frees its place; the next ones still get through", async () => {
  up.door.holding = true;
  const first = [gemini("generateContent", "a"), gemini("generateContent", "b")];
  for (const a of first) a.catch(() => {});
  await until(() => up.door.held.length === 2, "two calls at upstream");
  const leaving = new AbortController();
  const left = fetch(`${s.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-goog-api-key": s.apiKey },
    body: JSON.stringify(userText("gone")),
    signal: leaving.signal,
  }).catch((e) => e);
  const stays = gemini("generateContent", "stays");
  stays.catch(() => {});
  await until(async () => (await metrics()).switchyard_upstream_queue_waiting === 2, "two calls waiting");
  leaving.abort();
  await left;
  await until(async () => (await metrics()).switchyard_upstream_queue_waiting === 1, "the client that left is out of the queue");

  up.door.open();
  const rest = await Promise.all([...first, stays]);
  expect(rest.map((r) => r.status)).toEqual([200, 200, 200]);
  expect(await rest[2]!.text()).toContain("Echo: stays");
  expect(s.sim.requests().some((r) => JSON.stringify(r.body ?? "").includes("gone"))).toBe(false);
  await until(async () => (await metrics()).switchyard_upstream_requests_in_flight === 0, "every slot back");
}, 20_000);

describe("switchyard_event_loop_lag_seconds", () => {
  test("holds the worst delay of the current and the previous window, then lets it go", () => {
    let value = -1;
    const lag = new EventLoopLag({ set: (v: number) => void (value = v) }, { windowTicks: 3 });
    lag.observe(2);
    expect(value).toBe(0.002);
    lag.observe(250); // a stall
    lag.observe(1);
    expect(value).toBe(0.25); // window 1 ends: it stays visible through window 2
    lag.observe(-3); // a timer early by a hair counts as no delay
    lag.observe(4);
    lag.observe(3);
    expect(value).toBe(0.25);
    lag.observe(5); // window 3: only window 2's worst and its own count now
    expect(value).toBe(0.005);
  });

  test("start and stop can be called more than once", () => {
    const lag = new EventLoopLag({ set: () => {} }, { intervalMs: 10 }).start().start();
    lag.stop();
    lag.stop();
  });
});
