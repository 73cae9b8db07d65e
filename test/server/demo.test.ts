// `switchyard demo` as a newcomer runs it: the banner's key and examples work, Ctrl-C exits cleanly.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { cleanEnv, freePort, MAIN, outputUntil, ROOT, waitForHealth } from "../helpers/cli";

test("demo serves all three protocols with the printed key and cleans up on SIGINT", async () => {
  const port = await freePort();
  const p = Bun.spawn([process.execPath, MAIN, "demo", "--port", String(port), "--log-level", "warn"], {
    cwd: ROOT,
    env: cleanEnv(),
    stdout: "pipe",
    stderr: "pipe",
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(base);
    // the banner is printed once the demo account is in
    const out = await outputUntil(p.stdout, "Press Ctrl-C");
    const key = /API key\s+(\S+)/.exec(out)?.[1];
    const dataDir = /data dir\s+(\S+)/.exec(out)?.[1];
    expect(key).toMatch(/^sk-demo-/);
    expect(out).toContain(`${base}/swagger`);
    const json = { "content-type": "application/json" };

    const g = await fetch(`${base}/v1beta/models/gemini-3-flash:generateContent`, {
      method: "POST",
      headers: { ...json, "x-goog-api-key": key! },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "Hello" }] }] }),
    });
    expect(g.status).toBe(200);
    expect((await g.json()).candidates[0].content.parts.at(-1).text).toContain("Hello");
    expect(g.headers.get("x-account-email")).toBe("demo@switchyard.local");

    const o = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { ...json, authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: "gemini-3-flash", messages: [{ role: "user", content: "Hello" }] }),
    });
    expect(o.status).toBe(200);
    expect((await o.json()).choices[0].message.content).toContain("Hello");

    const a = await fetch(`${base}/v1/messages`, {
      method: "POST",
      headers: { ...json, "x-api-key": key!, "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "claude-sonnet-4-6", max_tokens: 256, messages: [{ role: "user", content: "Hello" }] }),
    });
    expect(a.status).toBe(200);
    expect((await a.json()).content.at(-1).text).toContain("Hello");

    const i = await fetch(`${base}/v1/images/generations`, {
      method: "POST",
      headers: { ...json, authorization: `Bearer ${key}` },
      body: JSON.stringify({ prompt: "a lighthouse at dawn", size: "1920x1080", quality: "hd" }),
    });
    expect(i.status).toBe(200);
    expect((await i.json()).data[0].b64_json.length).toBeGreaterThan(100);

    expect((await fetch(`${base}/v1/models`)).status).toBe(401); // the demo key is required
    expect((await fetch(`${base}/swagger`)).status).toBe(200);

    p.kill("SIGINT");
    expect(await p.exited).toBe(0);
    expect(existsSync(dataDir!)).toBe(false);
  } finally {
    p.kill("SIGKILL");
  }
});
