// The listener's last line of defence: a failure the handler did not turn into an answer is a JSON
// 500, and its cause reaches the log.
import { expect, test } from "bun:test";
import { listen } from "../../src/server/listen";

test("a handler that throws: JSON 500 to the client, the cause to onError", async () => {
  const seen: unknown[] = [];
  const l = listen({
    host: "127.0.0.1",
    port: 0,
    maxBodyBytes: 1024,
    fetch: async () => {
      throw new Error("boom at the edge");
    },
    onError: (e) => seen.push(e),
  });
  try {
    const r = await fetch(`${l.url}/anything`);
    expect(r.status).toBe(500);
    expect(await r.json()).toEqual({ error: { message: "internal error", code: "internal" } });
    expect(String((seen[0] as Error)?.message)).toContain("boom at the edge");
  } finally {
    await l.stop(100);
  }
});

test("a connection idle between requests is closed; a request waiting on a slow upstream is not", { timeout: 15_000 }, async () => {
  let answer!: () => void;
  const upstream = new Promise<void>((r) => (answer = r));
  const l = listen({
    host: "127.0.0.1",
    port: 0,
    maxBodyBytes: 1024,
    idleSeconds: 1,
    fetch: async (req) => {
      if (new URL(req.url).pathname === "/slow") await upstream; // answered when the idle connection is gone
      return new Response("ok");
    },
  });
  try {
    const port = Number(new URL(l.url).port);
    // the limit is announced, so clients drop an idle connection before the server does
    expect((await fetch(`${l.url}/fast`)).headers.get("keep-alive")).toBe("timeout=1");
    const slow = fetch(`${l.url}/slow`).then((r) => r.text());
    // a keep-alive connection that made one request and then says nothing: the server closes it
    await new Promise<void>((closed) => {
      void Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: { open: (s) => void s.write("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"), data: () => {}, close: () => closed() },
      });
    });
    // the slow request outlived that idle limit, and is answered
    answer();
    expect(await slow).toBe("ok");
  } finally {
    await l.stop(100);
  }
});
