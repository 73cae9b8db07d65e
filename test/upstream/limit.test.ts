// The upstream client's own limit on calls in flight (src/upstream/limit.ts): slots in arrival order,
// waits abortable, and every way a call ends gives its slot back exactly once — for streams too, whose
// slot lasts until their reader (sseEvents, as the gateway reads them) stops or the request is aborted.
import { describe, expect, test } from "bun:test";
import { Slots, type Release } from "../../src/upstream/limit";
import { UpstreamClient } from "../../src/upstream/client";
import { createMetrics } from "../../src/core/metrics";
import { sseEvents } from "../../src/upstream/sse";

/** lets queued promise callbacks run (no timers involved) */
const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe("Slots", () => {
  test("grants up to the limit at once, then in arrival order as slots come back", async () => {
    const slots = new Slots(2);
    const r1 = await slots.acquire();
    const r2 = await slots.acquire();
    expect(slots.inFlight).toBe(2);
    const order: number[] = [];
    const later = [3, 4, 5].map((n) => slots.acquire().then((r) => (order.push(n), r)));
    await settle();
    expect(order).toEqual([]);
    expect(slots.waiting).toBe(3);

    r2();
    await settle();
    expect(order).toEqual([3]);
    expect(slots.inFlight).toBe(2);
    expect(slots.waiting).toBe(2);

    r1();
    const r3 = await later[0]!;
    r3();
    await settle();
    expect(order).toEqual([3, 4, 5]);
    for (const r of await Promise.all(later.slice(1))) r();
    expect(slots.inFlight).toBe(0);
    expect(slots.waiting).toBe(0);
  });

  test("a newcomer does not overtake calls already waiting", async () => {
    const slots = new Slots(1);
    const r1 = await slots.acquire();
    const order: string[] = [];
    const a = slots.acquire().then((r) => (order.push("a"), r));
    r1(); // frees the slot: it goes to "a", which was waiting, not to "b", asked for just now
    const b = slots.acquire().then((r) => (order.push("b"), r));
    (await a)();
    (await b)();
    expect(order).toEqual(["a", "b"]);
  });

  test("an abort while waiting rejects with the signal's reason, leaves the queue and takes no slot", async () => {
    const slots = new Slots(1);
    const r1 = await slots.acquire();
    const ac = new AbortController();
    const waiting = slots.acquire(ac.signal);
    const next = slots.acquire();
    expect(slots.waiting).toBe(2);
    const reason = new DOMException("client went away", "AbortError");
    ac.abort(reason);
    expect(await waiting.catch((e) => e)).toBe(reason);
    expect(slots.waiting).toBe(1);
    r1();
    const r2 = await next; // the aborted call's turn is skipped
    expect(slots.inFlight).toBe(1);
    r2();
    expect(slots.inFlight).toBe(0);
  });

  test("an already aborted signal is refused at once", async () => {
    const slots = new Slots(1);
    const ac = new AbortController();
    ac.abort(new Error("gone"));
    expect(((await slots.acquire(ac.signal).catch((e) => e)) as Error).message).toBe("gone");
    expect(slots.inFlight).toBe(0);
  });

  test("releasing twice gives back one slot", async () => {
    const slots = new Slots(1);
    const r1 = await slots.acquire();
    const second = slots.acquire();
    const third = slots.acquire();
    r1();
    r1();
    r1();
    const r2 = await second;
    await settle();
    expect(slots.inFlight).toBe(1);
    expect(slots.waiting).toBe(1);
    r2();
    (await third)();
    expect(slots.inFlight).toBe(0);
  });

  test("reports waits and every change of the counts", async () => {
    const seen: [number, number][] = [];
    let queued = 0;
    const slots = new Slots(1, { queued: () => queued++, changed: (f, w) => seen.push([f, w]) });
    const r1 = await slots.acquire();
    const p = slots.acquire();
    r1();
    (await p)();
    expect(queued).toBe(1);
    expect(seen).toEqual([
      [1, 0],
      [1, 1],
      [1, 0],
      [0, 0],
    ]);
  });

  test("refuses a limit that is not a positive integer", () => {
    expect(() => new Slots(0)).toThrow(RangeError);
    expect(() => new Slots(1.5)).toThrow(RangeError);
  });
});

/** a fake upstream: each call gets a body the test feeds and ends */
function fakeUpstream() {
  const calls: { url: string; signal: AbortSignal; push(s: string): void; end(): void; fail(e: Error): void; cancelled: boolean }[] = [];
  const pending: ((c: (typeof calls)[number]) => void)[] = [];
  const impl = (async (url: string, init: RequestInit) => {
    let ctrl!: ReadableStreamDefaultController<Uint8Array>;
    const call = {
      url,
      signal: init.signal!,
      cancelled: false,
      push: (s: string) => ctrl.enqueue(new TextEncoder().encode(s)),
      end: () => ctrl.close(),
      fail: (e: Error) => ctrl.error(e),
    };
    const body = new ReadableStream<Uint8Array>({
      start: (c) => void (ctrl = c),
      cancel: () => void (call.cancelled = true),
    });
    init.signal?.addEventListener("abort", () => {
      try {
        ctrl.error(init.signal!.reason);
      } catch {}
    });
    calls.push(call);
    pending.shift()?.(call);
    if (url.includes("status=500")) return new Response('{"error":{"code":500,"message":"boom","status":"INTERNAL"}}', { status: 500 });
    if (url.includes("throw")) throw new TypeError("fetch failed");
    return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
  }) as unknown as typeof fetch;
  return { impl, calls };
}

function client(limit: number, fetchImpl: typeof fetch, extra: { log?: { warn(m: string, f?: object): void }; now?: () => number } = {}) {
  const metrics = createMetrics();
  const c = new UpstreamClient(
    { endpoints: ["http://upstream.test"], requestTimeoutSeconds: 30, maxConcurrentRequests: limit },
    { userAgent: "antigravity/9.9.9 test" },
    { fetch: fetchImpl, metrics, log: extra.log, now: extra.now },
  );
  return { c, metrics };
}

/** a stream's events as the gateway reads them: the reader gives the call's slot back when it stops */
async function events(v: { response: Response; release: Release }, opts: { stopAfterFirst?: boolean } = {}) {
  const out: unknown[] = [];
  for await (const e of sseEvents(v.response.body!, { onEnd: v.release })) {
    out.push(e);
    if (opts.stopAfterFirst) break;
  }
  return out;
}

const value = async (metrics: ReturnType<typeof createMetrics>, name: string) =>
  (await metrics.registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;

describe("UpstreamClient slots", () => {
  test("a stream holds its slot until its body is read to the end", async () => {
    const up = fakeUpstream();
    const { c, metrics } = client(1, up.impl);
    const opened = await c.stream("streamGenerateContent", {}, "t");
    if (!opened.ok) throw new Error("expected a stream");
    expect(c.slots.inFlight).toBe(1);
    expect(await value(metrics, "switchyard_upstream_requests_in_flight")).toBe(1);

    const second = c.stream("streamGenerateContent", {}, "t");
    await settle();
    expect(c.slots.waiting).toBe(1);
    expect(await value(metrics, "switchyard_upstream_queue_waiting")).toBe(1);
    expect(up.calls.length).toBe(1); // the second call has not reached upstream

    const reading = events(opened.value);
    up.calls[0]!.push('data: {"a":1}\n\n');
    await settle();
    expect(c.slots.inFlight).toBe(1); // an event read, the body not ended
    up.calls[0]!.end();
    expect(await reading).toEqual([{ a: 1 }]);
    const s2 = await second;
    expect(s2.ok).toBe(true);
    expect(up.calls.length).toBe(2);
    expect(c.slots.inFlight).toBe(1);
    expect(await value(metrics, "switchyard_upstream_queue_waits_total")).toBe(1);
    if (s2.ok) s2.value.abort.abort();
    expect(c.slots.inFlight).toBe(0);
  });

  test("aborting the returned controller gives the slot back once, however often it ends", async () => {
    const up = fakeUpstream();
    const { c } = client(1, up.impl);
    const opened = await c.stream("streamGenerateContent", {}, "t");
    if (!opened.ok) throw new Error("expected a stream");
    const second = c.stream("streamGenerateContent", {}, "t");
    const third = c.stream("streamGenerateContent", {}, "t");
    opened.value.abort.abort();
    // the body fails and is cancelled after the abort too: still only one slot came back
    await opened.value.response.body!.cancel().catch(() => {});
    opened.value.abort.abort();
    const s2 = await second;
    await settle();
    expect(c.slots.inFlight).toBe(1);
    expect(c.slots.waiting).toBe(1);
    if (s2.ok) s2.value.abort.abort();
    const s3 = await third;
    if (s3.ok) s3.value.abort.abort();
    expect(c.slots.inFlight).toBe(0);
  });

  test("the caller's signal ends the stream's hold; a reader that stops early ends it too", async () => {
    const up = fakeUpstream();
    const { c } = client(2, up.impl);
    const client1 = new AbortController();
    const a = await c.stream("streamGenerateContent", {}, "t", client1.signal);
    const b = await c.stream("streamGenerateContent", {}, "t");
    expect(c.slots.inFlight).toBe(2);
    client1.abort();
    expect(c.slots.inFlight).toBe(1);
    if (!b.ok || !a.ok) throw new Error("expected streams");
    up.calls[1]!.push('data: {"b":1}\n\n');
    expect(await events(b.value, { stopAfterFirst: true })).toEqual([{ b: 1 }]);
    expect(c.slots.inFlight).toBe(0);
    expect(up.calls[1]!.cancelled).toBe(true);
  });

  test("a body that fails gives the slot back", async () => {
    const up = fakeUpstream();
    const { c } = client(1, up.impl);
    const opened = await c.stream("streamGenerateContent", {}, "t");
    if (!opened.ok) throw new Error("expected a stream");
    const reading = events(opened.value).catch((e) => e);
    up.calls[0]!.fail(new Error("connection reset"));
    expect(((await reading) as Error).message).toBe("connection reset");
    expect(c.slots.inFlight).toBe(0);
  });

  test("failures before a stream is handed over give the slot back: an error status, a network error", async () => {
    const up = fakeUpstream();
    const { c } = client(1, up.impl);
    const failed = await c.stream("streamGenerateContent?status=500", {}, "t");
    expect(failed.ok).toBe(false);
    expect(c.slots.inFlight).toBe(0);
    const thrown = await c.stream("throw", {}, "t");
    expect(thrown.ok).toBe(false);
    if (!thrown.ok) expect(thrown.failure.class).toBe("network");
    expect(c.slots.inFlight).toBe(0);
  });

  test("a body that cannot be written (too deep, a cycle) takes no slot, unary or stream", async () => {
    const up = fakeUpstream();
    const { c } = client(1, up.impl);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const call of [() => c.unary("countTokens", cyclic, "t"), () => c.stream("streamGenerateContent", cyclic, "t")]) {
      expect(await call().catch((e) => e)).toBeInstanceOf(TypeError);
      expect(c.slots.inFlight).toBe(0);
    }
    expect(up.calls.length).toBe(0);
  });

  test("a call whose client leaves while it waits never reaches upstream", async () => {
    const up = fakeUpstream();
    const { c, metrics } = client(1, up.impl);
    const first = await c.stream("streamGenerateContent", {}, "t");
    const gone = new AbortController();
    const waiting = c.unary("countTokens", {}, "t", gone.signal);
    await settle();
    expect(c.slots.waiting).toBe(1);
    gone.abort(new DOMException("client left", "AbortError"));
    expect(((await waiting.catch((e) => e)) as DOMException).message).toBe("client left");
    expect(c.slots.waiting).toBe(0);
    expect(await value(metrics, "switchyard_upstream_queue_waiting")).toBe(0);
    expect(up.calls.length).toBe(1);
    if (first.ok) first.value.abort.abort();
    expect(c.slots.inFlight).toBe(0);
  });

  test("unary calls hold a slot until their answer is read", async () => {
    let answer!: (r: Response) => void;
    const impl = (() => new Promise<Response>((r) => (answer = r))) as unknown as typeof fetch;
    const { c } = client(1, impl);
    const call = c.unary("countTokens", {}, "t");
    await settle();
    expect(c.slots.inFlight).toBe(1);
    answer(new Response('{"totalTokens":3}', { status: 200, headers: { "content-type": "application/json" } }));
    expect((await call).ok).toBe(true);
    expect(c.slots.inFlight).toBe(0);
  });

  test("waiting is logged at most once a minute, with the waits since the last line", async () => {
    const up = fakeUpstream();
    const lines: { msg: string; fields?: any }[] = [];
    let now = 1_000_000;
    const { c } = client(1, up.impl, { log: { warn: (msg, fields) => lines.push({ msg, fields }) }, now: () => now });
    const hold = await c.stream("streamGenerateContent", {}, "t");
    const waits: Promise<unknown>[] = [];
    waits.push(c.stream("streamGenerateContent", {}, "t"));
    waits.push(c.stream("streamGenerateContent", {}, "t"));
    now += 59_000;
    waits.push(c.stream("streamGenerateContent", {}, "t"));
    expect(lines.length).toBe(1);
    expect(lines[0]!.fields).toMatchObject({
      maxConcurrentRequests: 1,
      inFlight: 1,
      waiting: 1,
      setting: "upstream.maxConcurrentRequests",
    });
    now += 1_000;
    waits.push(c.stream("streamGenerateContent", {}, "t"));
    expect(lines.length).toBe(2);
    expect(lines[1]!.fields).toMatchObject({ waiting: 4, waitsSinceLastLine: 3 });
    // let everything through
    const done = async (p: Promise<unknown>) => {
      const r = (await p) as Awaited<ReturnType<typeof c.stream>>;
      if (r.ok) r.value.abort.abort();
    };
    if (hold.ok) hold.value.abort.abort();
    for (const w of waits) await done(w);
    expect(c.slots.inFlight).toBe(0);
  });

  test("without a configured limit nothing waits", async () => {
    const up = fakeUpstream();
    const c = new UpstreamClient(
      { endpoints: ["http://upstream.test"], requestTimeoutSeconds: 30 },
      { userAgent: "x" },
      { fetch: up.impl },
    );
    const opened = await Promise.all(Array.from({ length: 300 }, () => c.stream("streamGenerateContent", {}, "t")));
    expect(c.slots.waiting).toBe(0);
    expect(c.slots.inFlight).toBe(300);
    for (const o of opened) if (o.ok) o.value.abort.abort();
    expect(c.slots.inFlight).toBe(0);
  });
});

test("an endpoint that hung goes last; when its time is up one call tries it again, not every call at once", async () => {
  let now = 0;
  const tried: string[] = [];
  const impl = ((url: string, init: RequestInit) => {
    const host = new URL(url).host;
    tried.push(host);
    if (host === "hang.test")
      return new Promise<Response>((_, reject) =>
        init.signal!.addEventListener("abort", () => reject(new DOMException("t", "TimeoutError"))),
      );
    return Promise.resolve(new Response('{"totalTokens":1}', { status: 200, headers: { "content-type": "application/json" } }));
  }) as unknown as typeof fetch;
  const c = new UpstreamClient(
    { endpoints: ["http://hang.test", "http://ok.test"], requestTimeoutSeconds: 0.05 },
    { userAgent: "antigravity/9.9.9 test" },
    { fetch: impl, now: () => now },
  );
  const gen = () => c.unary("generateContent", {}, "t");
  expect((await gen()).ok).toBe(false); // waited out on the hanging one: the next account's turn
  for (let i = 0; i < 3; i++) expect((await gen()).ok).toBe(true);
  expect(tried.filter((h) => h === "hang.test").length).toBe(1);
  now += 10 * 60_000; // the mark ran out: three calls at once, one of them probes
  const three = await Promise.all([gen(), gen(), gen()]);
  expect(three.filter((r) => r.ok).length).toBe(2);
  expect(tried.filter((h) => h === "hang.test").length).toBe(2);
});
