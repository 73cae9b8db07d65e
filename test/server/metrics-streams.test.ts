// /metrics with a stream open on each protocol: the open-stream, in-flight and time-to-first-byte series
// say so, `promtool check metrics` accepts that scrape, and when the streams end their requests, tokens and
// upstream's own time are counted; token refreshes and quota fetches are counted by outcome. A proxy
// between the gateway and the simulator holds each stream open after its first chunk until the test lets
// it finish, so "open" does not depend on timing.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startStack, type Stack } from "../helpers/stack";
import { until } from "../helpers/util";

let stack: Stack;
let target = "";
let release = Promise.withResolvers<void>();
const hold = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    headers.delete("host");
    const up = await fetch(target + url.pathname + url.search, { method: req.method, headers, body: await req.arrayBuffer() });
    const out = new Headers(up.headers);
    out.delete("content-encoding");
    out.delete("content-length");
    if (!url.pathname.endsWith(":streamGenerateContent") || !up.ok) return new Response(up.body, { status: up.status, headers: out });
    const reader = up.body!.getReader();
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        const first = await reader.read();
        if (!first.done) c.enqueue(first.value);
        await release.promise;
        for (let r = await reader.read(); !r.done; r = await reader.read()) c.enqueue(r.value);
        c.close();
      },
    });
    return new Response(body, { status: up.status, headers: out });
  },
});

beforeAll(async () => {
  stack = await startStack({ accounts: 0, delays: false, config: { upstream: { endpoints: [`http://127.0.0.1:${hold.port}`] } } });
  target = stack.sim.url;
  await stack.pool.addByRefreshToken(stack.sim.addAccount({ email: "streams@example.com" }).refreshToken);
});
afterAll(async () => {
  release.resolve();
  await stack.stop();
  hold.stop(true);
});

const MODEL = "gemini-2.5-flash";
const auth = () => ({ authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" });
const scrape = async () => (await fetch(`${stack.url}/metrics`, { headers: auth() })).text();
/** the value of one series (labels written as in the exposition), NaN when absent */
const value = (text: string, series: string) =>
  Number(
    text
      .split("\n")
      .find((l) => l.startsWith(series + " "))
      ?.slice(series.length + 1),
  );

const STREAMS = {
  gemini: [`/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`, { contents: [{ role: "user", parts: [{ text: "hi" }] }] }],
  openai: ["/v1/chat/completions", { model: MODEL, stream: true, messages: [{ role: "user", content: "hi" }] }],
  anthropic: ["/v1/messages", { model: MODEL, stream: true, max_tokens: 50, messages: [{ role: "user", content: "hi" }] }],
} as const;

let openScrape = "";
const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];

test("three streams open (one per protocol): open streams 3, in flight 4 with the scrape, one first byte each", async () => {
  for (const [path, body] of Object.values(STREAMS)) {
    const res = await fetch(stack.url + path, { method: "POST", headers: auth(), body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false); // its first chunk arrived; the rest is held
    readers.push(reader);
  }
  openScrape = await scrape();
  expect(value(openScrape, "switchyard_open_streams")).toBe(3);
  expect(value(openScrape, "switchyard_http_in_flight_requests")).toBe(4);
  for (const family of Object.keys(STREAMS))
    expect(value(openScrape, `switchyard_http_time_to_first_byte_seconds_count{family="${family}"}`)).toBe(1);
});

// skipped where promtool is missing, except in CI (CI=true), where that is a failure
const promtool = Bun.which("promtool");
test.skipIf(!promtool && process.env.CI !== "true")("promtool check metrics accepts the scrape taken with the streams open", () => {
  if (!promtool) throw new Error("promtool is required in CI (Debian: apt-get install prometheus); .ci/run installs it");
  expect(value(openScrape, "switchyard_open_streams")).toBe(3);
  const r = Bun.spawnSync([promtool, "check", "metrics"], { stdin: new TextEncoder().encode(openScrape), stderr: "pipe", stdout: "pipe" });
  expect(r.stdout.toString() + r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
});

test("when the streams end: no open streams, each protocol's stream counted with its model, account and tokens", async () => {
  release.resolve();
  for (const reader of readers) while (!(await reader.read()).done);
  await until(async () => value(await scrape(), "switchyard_open_streams") === 0, "the streams to close");
  const text = await scrape();
  expect(value(text, "switchyard_http_in_flight_requests")).toBe(1);
  for (const protocol of Object.keys(STREAMS)) {
    expect(
      value(text, `switchyard_requests_total{protocol="${protocol}",model="${MODEL}",account="streams@example.com",status="200"}`),
    ).toBe(1);
    expect(value(text, `switchyard_http_request_duration_seconds_count{family="${protocol}"}`)).toBeGreaterThanOrEqual(1);
  }
  for (const direction of ["input", "output", "thinking"])
    expect(value(text, `switchyard_tokens_total{direction="${direction}",model="${MODEL}",key="config"}`)).toBeGreaterThan(0);
  expect(value(text, `switchyard_upstream_calls_total{method="streamGenerateContent",outcome="ok"}`)).toBe(3);
  // upstream's own time, to the headers of each stream
  expect(value(text, `switchyard_upstream_request_duration_seconds_count{method="streamGenerateContent"}`)).toBe(3);
});

test("token refreshes and quota fetches are counted by outcome", async () => {
  const jobs = (text: string, job: string, outcome: string) =>
    value(text, `switchyard_account_jobs_total{job="${job}",outcome="${outcome}"}`) || 0;
  expect((await stack.pool.refresh())[0]).toMatchObject({ ok: true }); // token, project and quota
  const before = await scrape();
  expect(jobs(before, "token_refresh", "ok")).toBeGreaterThanOrEqual(1);
  expect(jobs(before, "quota_fetch", "ok")).toBe(1);
  stack.sim.addFault({ kind: "internal_500", method: "fetchAvailableModels", times: 1 });
  expect((await stack.pool.refresh())[0]).toMatchObject({ ok: false });
  const after = await scrape();
  expect(jobs(after, "token_refresh", "ok")).toBe(jobs(before, "token_refresh", "ok") + 1);
  expect(jobs(after, "quota_fetch", "server_error")).toBe(1);
  expect(jobs(after, "quota_fetch", "ok")).toBe(jobs(before, "quota_fetch", "ok"));
  expect(value(after, `switchyard_upstream_request_duration_seconds_count{method="fetchAvailableModels"}`)).toBeGreaterThanOrEqual(2);
});
