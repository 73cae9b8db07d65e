// A client that stops reading a stream holds upstream back: the gateway reads upstream only as fast as
// the client takes the answer, instead of holding all of it in memory (a slow or suspended reader made
// the gateway pull a fast upstream's gigabyte). Upstream here is the simulator behind a proxy that
// answers every streamGenerateContent with an endless stream and counts what the gateway pulled.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deepMerge, validateConfig } from "../../src/config/load";
import { createLogger } from "../../src/core/log";
import { startServer, type RunningServer } from "../../src/server/start";
import { startSimulator, type Simulator } from "../../src/simulator/index";
import { simConfig } from "../helpers/stack";

const API_KEY = "sk-test-backpressure";
let sim: Simulator;
let proxy: ReturnType<typeof Bun.serve>;
let gateway: RunningServer;
let dataDir: string;
let pulled = 0;

const FRAME = new TextEncoder().encode(
  `data: ${JSON.stringify({ response: { candidates: [{ content: { role: "model", parts: [{ text: "x".repeat(4000) }] }, index: 0 }] } })}\r\n\r\n`,
);

beforeAll(async () => {
  sim = await startSimulator({ port: 0, hostname: "127.0.0.1", delays: false });
  proxy = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname.endsWith(":streamGenerateContent")) {
        await req.arrayBuffer();
        // endless: a frame whenever the gateway asks for more
        const body = new ReadableStream<Uint8Array>(
          {
            pull(c) {
              pulled += FRAME.length;
              c.enqueue(FRAME);
            },
          },
          { highWaterMark: 0 },
        );
        return new Response(body, { headers: { "content-type": "text/event-stream" } });
      }
      const headers = new Headers(req.headers);
      headers.delete("host");
      const up = await fetch(sim.url + url.pathname + url.search, {
        method: req.method,
        headers,
        body: req.method === "GET" ? undefined : await req.arrayBuffer(),
      });
      return new Response(await up.arrayBuffer(), { status: up.status, headers: { "content-type": "application/json" } });
    },
  });
  dataDir = mkdtempSync(join(tmpdir(), "switchyard-test-"));
  const base = simConfig(sim.url);
  const config = validateConfig(
    deepMerge(
      { server: { host: "127.0.0.1", port: 0, shutdownGraceSeconds: 1 }, auth: { mode: "strict", apiKeys: [API_KEY] }, ...base },
      { upstream: { endpoints: [proxy.url.origin] } },
    ),
    "backpressure test",
  );
  gateway = await startServer({ config, dataDir, log: createLogger("silent") });
  await gateway.pool.addByRefreshToken(sim.addAccount({ email: "slow-reader@example.com" }).refreshToken);
});

afterAll(async () => {
  await gateway?.stop();
  proxy?.stop(true);
  await sim?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test("a client that stops reading stops the gateway reading upstream (memory stays bounded)", async () => {
  const url = new URL(gateway.url);
  const body = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "flood me" }] }] });
  const socket = connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.write(
    `POST /v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse HTTP/1.1\r\nhost: ${url.host}\r\n` +
      `authorization: Bearer ${API_KEY}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  // read the head and a little, then stop reading: the socket's buffers fill and the gateway must wait
  await new Promise<void>((resolve) => socket.once("data", () => resolve()));
  socket.pause();
  try {
    // pulled grows while the buffers fill, then stops; it never stopped before (gigabytes in seconds)
    let last = -1;
    for (let i = 0; i < 100 && pulled !== last; i++) {
      last = pulled;
      await Bun.sleep(100);
    }
    expect(pulled).toBe(last); // it stopped
    expect(pulled).toBeLessThan(64 * 1024 * 1024);
    // reading again lets it go on
    socket.resume();
    const before = pulled;
    for (let i = 0; i < 50 && pulled === before; i++) await Bun.sleep(20);
    expect(pulled).toBeGreaterThan(before);
  } finally {
    socket.destroy();
  }
});
