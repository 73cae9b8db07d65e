// A call's signal (src/upstream/client.ts `linked`): the caller's abort reaches the upstream request in
// flight, the deadline aborts it as a TimeoutError, and a finished call leaves no listener behind.
import { expect, test } from "bun:test";
import { UpstreamClient } from "../../src/upstream/client";

/** an upstream that answers only when told, and fails the call when its signal aborts */
function heldUpstream() {
  const seen: AbortSignal[] = [];
  const answers: ((r: Response) => void)[] = [];
  const impl = ((_url: string, init: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      const signal = init.signal!;
      seen.push(signal);
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      answers.push(resolve);
    })) as unknown as typeof fetch;
  return { impl, seen, answers };
}

const client = (impl: typeof fetch, timeoutSeconds = 30) =>
  new UpstreamClient(
    { endpoints: ["http://upstream.test"], requestTimeoutSeconds: timeoutSeconds },
    { userAgent: "antigravity/9.9.9 test" },
    { fetch: impl },
  );

/** a signal whose listeners are counted */
function countedSignal() {
  const ac = new AbortController();
  let listeners = 0;
  const add = ac.signal.addEventListener.bind(ac.signal);
  const remove = ac.signal.removeEventListener.bind(ac.signal);
  ac.signal.addEventListener = ((...a: Parameters<typeof add>) => (listeners++, add(...a))) as typeof add;
  ac.signal.removeEventListener = ((...a: Parameters<typeof remove>) => (listeners--, remove(...a))) as typeof remove;
  return { ac, listeners: () => listeners };
}

test("the caller's abort aborts the upstream request in flight, with the caller's reason", async () => {
  const up = heldUpstream();
  const caller = new AbortController();
  const call = client(up.impl).unary("generateContent", {}, "t", caller.signal);
  await Bun.sleep(0);
  expect(up.seen[0]!.aborted).toBe(false);
  const reason = new DOMException("the client went away", "AbortError");
  caller.abort(reason);
  expect(up.seen[0]!.aborted).toBe(true);
  expect(await call.catch((e) => e)).toBe(reason);
});

test("a caller's signal that is already aborted: the call fails with its reason and nothing goes out", async () => {
  const up = heldUpstream();
  const caller = new AbortController();
  const reason = new DOMException("gone before the call", "AbortError");
  caller.abort(reason);
  expect(
    await client(up.impl)
      .unary("generateContent", {}, "t", caller.signal)
      .catch((e) => e),
  ).toBe(reason);
  expect(up.seen).toEqual([]);
});

test("a finished call takes its listener off the caller's signal", async () => {
  const up = heldUpstream();
  const { ac, listeners } = countedSignal();
  const c = client(up.impl);
  for (let i = 0; i < 3; i++) {
    const call = c.unary("generateContent", {}, "t", ac.signal);
    await Bun.sleep(0);
    expect(listeners()).toBe(1);
    up.answers[i]!(new Response('{"response":{}}', { headers: { "content-type": "application/json" } }));
    expect((await call).ok).toBe(true);
    expect(listeners()).toBe(0);
  }
});

test("the deadline aborts the call as a timeout: a network failure naming the limit", async () => {
  const up = heldUpstream();
  const out = await client(up.impl, 0.05).unary("generateContent", {}, "t");
  expect(up.seen[0]!.aborted).toBe(true);
  expect((up.seen[0]!.reason as Error).name).toBe("TimeoutError");
  expect(out).toMatchObject({
    ok: false,
    failure: { class: "network", reason: "timeout", message: "upstream did not answer within 0.05 s" },
  });
});
