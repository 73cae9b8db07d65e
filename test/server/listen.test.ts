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
