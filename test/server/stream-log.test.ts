// The request log line of a stream is written when its body ends: `ms` is the whole duration, with
// `ttfbMs` and the outcome. A real gateway logs into a sink; the simulator paces its chunks.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deepMerge, validateConfig } from "../../src/config/load";
import { createLogger } from "../../src/core/log";
import { startServer, type RunningServer } from "../../src/server/start";
import { startSimulator, type Simulator } from "../../src/simulator/index";
import { CHUNK_GAP_MS } from "../../src/simulator/generate";
import { simConfig } from "../helpers/stack";
import { until, userText } from "../helpers/util";
import { NO_LIMITS } from "../../src/keys/limits-input";

type Line = Record<string, any>;
let sim: Simulator;
let gateway: RunningServer;
let dataDir: string;
const lines: Line[] = [];
const API_KEY = "sk-test-stream-log";

beforeAll(async () => {
  sim = await startSimulator({ port: 0, hostname: "127.0.0.1" }); // paced chunks
  dataDir = mkdtempSync(join(tmpdir(), "switchyard-test-"));
  const config = validateConfig(
    deepMerge(
      {
        server: { host: "127.0.0.1", port: 0, shutdownGraceSeconds: 1 },
        auth: { mode: "strict", apiKeys: [API_KEY] },
        ...simConfig(sim.url),
      },
      {},
    ),
    "stream log test",
  );
  const log = createLogger("info", (l) => lines.push(JSON.parse(l)));
  gateway = await startServer({ config, dataDir, log });
  await gateway.pool.addByRefreshToken(sim.addAccount({ email: "streamer@example.com" }).refreshToken);
});
afterAll(async () => {
  await gateway?.stop();
  await sim?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});
beforeEach(() => {
  sim.clearFaults();
  lines.length = 0;
});

const LONG = "please answer with a long reply that arrives in many small chunks one after another";
const SSE_PATH = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse";

function post(path: string, requestId: string, body: unknown, signal?: AbortSignal) {
  return fetch(gateway.url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify(body),
    signal,
  });
}

async function requestLine(requestId: string): Promise<Line> {
  await until(() => lines.some((l) => l.msg === "request" && l.requestId === requestId), `the request line of ${requestId}`);
  return lines.find((l) => l.msg === "request" && l.requestId === requestId)!;
}

describe("stream request log lines", () => {
  test("a completed stream logs its whole duration, its time to first byte and the outcome", async () => {
    const res = await post(SSE_PATH, "stream-completed", userText(LONG));
    expect(res.status).toBe(200);
    // read frame by frame: the time between the first and the last data frame is the stream's duration
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = "";
    let first = 0;
    let last = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
      if (text.includes("data:")) ((first ||= performance.now()), (last = performance.now()));
    }
    const frames = text.split(/\r?\n\r?\n/).filter((f) => f.startsWith("data:")).length;
    expect(frames).toBeGreaterThanOrEqual(4);

    const line = await requestLine("stream-completed");
    expect(line).toMatchObject({
      level: "info",
      status: 200,
      stream: "completed",
      path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
    });
    expect(line.ms).toBeGreaterThanOrEqual((frames - 1) * CHUNK_GAP_MS);
    expect(line.ms).toBeGreaterThanOrEqual(last - first);
    expect(line.ttfbMs).toBeLessThan(line.ms);
    expect(line.error).toBeUndefined();
    expect(lines.filter((l) => l.requestId === "stream-completed")).toHaveLength(1);
  });

  test("a stream the client cancels logs stream: cancelled; its usage record says 499 cancelled and charges the prompt", async () => {
    const records: { status: number; errorClass: string | null; input: number }[] = [];
    const stop = gateway.ctx.keys!.onRecord((r) => records.push({ status: r.status, errorClass: r.errorClass, input: r.input }));
    const abort = new AbortController();
    const res = await post(SSE_PATH, "stream-cancelled", userText(LONG), abort.signal);
    const reader = res.body!.getReader();
    await reader.read(); // the stream has started
    abort.abort();
    await reader.read().catch(() => {});
    const line = await requestLine("stream-cancelled");
    expect(line.stream).toBe("cancelled");
    expect(line.ms).toBeGreaterThanOrEqual(line.ttfbMs);
    // the record waits for the prompt's count (upstream's usage never came: it is in the last chunk)
    await until(() => records.length > 0, "the usage record", 3000);
    stop();
    expect(records).toEqual([{ status: 499, errorClass: "cancelled", input: expect.any(Number) }]);
    expect(records[0]!.input).toBeGreaterThan(0);
  });

  test("a key with concurrency 1 may send its next request at once after cancelling a stream: the prompt's count does not hold its slot", async () => {
    const { secret } = gateway.ctx.keys!.book.create("one-at-a-time", { ...NO_LIMITS, concurrency: 1 });
    sim.addFault({ kind: "delay", method: "countTokens", delayMs: 1500, times: 1 }); // a slow count
    const records: number[] = [];
    const stop = gateway.ctx.keys!.onRecord((r) => r.keyName === "one-at-a-time" && records.push(r.input));
    const call = (requestId: string, signal?: AbortSignal) =>
      fetch(gateway.url + SSE_PATH, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json", "x-request-id": requestId },
        body: JSON.stringify(userText(LONG)),
        signal,
      });
    try {
      const abort = new AbortController();
      const reader = (await call("one-cancelled", abort.signal)).body!.getReader();
      await reader.read();
      abort.abort();
      await reader.read().catch(() => {});
      await requestLine("one-cancelled"); // the stream is over for the gateway; the count takes 1.5 s more
      expect(records).toEqual([]);
      const next = await call("one-next");
      expect(next.status).toBe(200);
      await next.text();
      await until(() => records.length === 2, "both records", 5000);
      expect(records.every((n) => n > 0)).toBe(true);
    } finally {
      stop();
    }
  });

  test("a failure after the first byte is logged with the request id, and the part the client got is charged", async () => {
    sim.addFault({ kind: "stream_cut", method: "streamGenerateContent", times: 1 });
    const records: { input: number; output: number; status: number }[] = [];
    const stopRecords = gateway.ctx.keys!.onRecord((r) => records.push({ input: r.input, output: r.output, status: r.status }));
    const res = await post(SSE_PATH, "stream-failed", userText(LONG));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('"error"'); // the stream's final error frame
    const line = await requestLine("stream-failed");
    expect(line).toMatchObject({ status: 200, stream: "failed" });
    expect(line.errorStatus).toBeGreaterThanOrEqual(500);
    expect(line.error).toBeString();
    expect(["warn", "error"]).toContain(line.level);
    // upstream's usage never came (it comes with the last chunk): the prompt and the part sent are counted
    await until(() => records.length > 0, "the stream's usage record", 5000);
    stopRecords();
    expect(records[0]!.input).toBeGreaterThan(0);
    expect(records[0]!.output).toBeGreaterThan(0);
  });

  test("the JSON array stream is logged at its end too", async () => {
    const res = await post("/v1beta/models/gemini-2.5-flash:streamGenerateContent", "stream-array", userText(LONG));
    expect(JSON.parse(await res.text())).toBeArray();
    expect((await requestLine("stream-array")).stream).toBe("completed");
  });

  test("a plain response is logged as it goes out, without stream fields", async () => {
    const res = await post("/v1beta/models/gemini-2.5-flash:generateContent", "plain", userText("hi"));
    expect(res.status).toBe(200);
    // written in the event-loop turn that sent the answer (src/server/app.ts afterReply), not at a body's end
    await new Promise((r) => setImmediate(r));
    const line = lines.find((l) => l.requestId === "plain");
    expect(line).toMatchObject({ msg: "request", status: 200 });
    expect(line!.stream).toBeUndefined();
    expect(line!.ttfbMs).toBeUndefined();
    await res.text();
  });

  test("the latency histogram observes the stream's whole duration", async () => {
    const sum = async () => {
      const text = await gateway.ctx.metrics.registry.getSingleMetricAsString("switchyard_http_request_duration_seconds");
      return Number(text.match(/_sum\{family="gemini"\} (\S+)/)?.[1] ?? 0) * 1000;
    };
    await new Promise((r) => setImmediate(r)); // the previous test's request is observed
    const before = await sum();
    await (await post(SSE_PATH, "stream-metric", userText(LONG))).text();
    const line = await requestLine("stream-metric");
    expect(line.ms).toBeGreaterThan(line.ttfbMs);
    expect(Math.abs((await sum()) - before - line.ms)).toBeLessThan(1); // the log rounds to 0.1 ms
  });
});
