// The client-version gate end to end: the simulator answers an old User-Agent with a 200 notice; the
// gateway discovers the version from the simulator's updater, falls back when it cannot, never passes
// the notice on as an answer, and tells the client (in its protocol's shape) what the operator must do.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import OpenAI from "openai";
import { FALLBACK_CLIENT_VERSION } from "../../src/upstream/identity";
import { cleanEnv, freePort, MAIN, ROOT, runCli, waitForHealth } from "../helpers/cli";
import { startStack, type Stack } from "../helpers/stack";
import { tempDir, userText } from "../helpers/util";

const GEN = new Set(["generateContent", "streamGenerateContent"]);
const generations = (s: Stack) => s.sim.requests().filter((r) => GEN.has(r.method));
const health = async (s: Stack) =>
  (await (await fetch(`${s.url}/healthz`, { headers: { authorization: `Bearer ${s.apiKey}` } })).json()) as any;
const metric = async (s: Stack, outcome: string) => {
  const text = await (await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${s.apiKey}` } })).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith("switchyard_upstream_calls_total{") && l.includes(`outcome="${outcome}"`))
    .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
};
const gemini = (s: Stack, path: string) =>
  fetch(`${s.url}/v1beta/models/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-goog-api-key": s.apiKey },
    body: JSON.stringify(userText("hello gate")),
  });

describe("a discovered version", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ delays: false });
    await s.pool.identity.refresh(); // the start-up lookup runs in the background
  });
  afterAll(() => s.stop());

  test("passes the gate; /healthz and the User-Agent show it", async () => {
    s.sim.setClientGate({ minVersion: "2.9.3" });
    s.sim.setLatestClientVersion("2.9.4");
    expect((await health(s)).client).toMatchObject({ version: "2.9.4", source: "discovered" });
    const openai = new OpenAI({ apiKey: s.apiKey, baseURL: `${s.url}/v1`, maxRetries: 0 });
    const r = await openai.chat.completions.create({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "hello gate" }] });
    expect(r.choices[0]!.message.content).toBe("Echo: hello gate");
    const sent = generations(s).at(-1)!;
    expect(sent.headers["user-agent"]).toMatch(/^antigravity\/2\.9\.4 (linux|darwin|windows)\/(amd64|arm64)$/);
    expect(sent.headers["x-goog-api-client"]).toBe("google-cloud-sdk vscode_cloudshelleditor/0.1");
    expect(JSON.parse(sent.headers["client-metadata"]!)).toEqual({
      ideType: "IDE_UNSPECIFIED",
      platform: "PLATFORM_UNSPECIFIED",
      pluginType: "GEMINI",
    });
    expect(sent.body.userAgent).toBe("antigravity"); // the envelope names the family, not the version
    expect(s.sim.requests({ method: "loadCodeAssist" }).at(-1)!.headers["user-agent"]).toBe("google-api-nodejs-client/9.15.1");
  });
});

describe("the updater cannot be reached and the built-in version is below the gate", () => {
  let s: Stack;
  const before = { requests: 0 };
  beforeAll(async () => {
    s = await startStack({ delays: false, config: { upstream: { versionUrl: "http://127.0.0.1:1/api/update/{target}/stable/latest" } } });
    await s.pool.identity.refresh();
    s.sim.setClientGate({ minVersion: "9.0.0" });
    await s.pool.sync();
    before.requests = s.pool.list()[0]!.requests;
  });
  afterAll(() => s.stop());

  test("/healthz shows the fallback and why", async () => {
    const c = (await health(s)).client;
    expect(c).toMatchObject({ version: FALLBACK_CLIENT_VERSION, source: "fallback" });
    expect(c.note).toContain("version lookup failed");
  });

  const HINT = /SWITCHYARD_CLIENT_VERSION/;
  const UA = new RegExp(`antigravity/${FALLBACK_CLIENT_VERSION.replace(/\./g, "\\.")} `);

  test("Gemini: 502 in Google's error shape, unary and streamed (SSE and JSON array)", async () => {
    for (const path of [
      "gemini-2.5-flash:generateContent",
      "gemini-2.5-flash:streamGenerateContent?alt=sse",
      "gemini-3-flash:streamGenerateContent",
    ]) {
      const res = await gemini(s, path);
      expect(res.status).toBe(502);
      const err = ((await res.json()) as any).error;
      expect(err.code).toBe(502);
      expect(err.message).toMatch(HINT);
      expect(err.message).toMatch(UA);
      expect(err.message).toContain("This version of Antigravity is no longer supported");
    }
    // the Gemini SDK sees the same
    const ai = new GoogleGenAI({ apiKey: s.apiKey, httpOptions: { baseUrl: s.url } });
    const e = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "hi" }).catch((x) => x);
    expect(e.status).toBe(502);
  });

  test("OpenAI: 502 in OpenAI's shape, unary and streamed", async () => {
    const openai = new OpenAI({ apiKey: s.apiKey, baseURL: `${s.url}/v1`, maxRetries: 0 });
    const unary = (await openai.chat.completions
      .create({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "x" }] })
      .catch((x) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(unary.status).toBe(502);
    expect(unary.message).toMatch(HINT);
    expect((unary.error as any).type).toBeString();
    const streamed = (await (async () => {
      for await (const _ of await openai.chat.completions.create({
        model: "claude-sonnet-4-6",
        stream: true,
        messages: [{ role: "user", content: "x" }],
      }));
    })().catch((x) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(streamed.status).toBe(502);
    expect(streamed.message).toMatch(HINT);
  });

  test("Anthropic: 502 in Anthropic's shape, unary and streamed", async () => {
    const anthropic = new Anthropic({ apiKey: s.apiKey, baseURL: s.url, maxRetries: 0 });
    const params = { model: "claude-sonnet-4-6", max_tokens: 64, messages: [{ role: "user" as const, content: "x" }] };
    const unary = (await anthropic.messages.create(params).catch((x) => x)) as InstanceType<typeof Anthropic.APIError>;
    expect(unary.status).toBe(502);
    expect((unary.error as any).type).toBe("error");
    expect((unary.error as any).error.message).toMatch(HINT);
    const streamed = (await anthropic.messages
      .stream(params)
      .finalMessage()
      .catch((x) => x)) as InstanceType<typeof Anthropic.APIError>;
    expect(streamed.status).toBe(502);
    expect(String(streamed.message)).toMatch(HINT);
  });

  test("the account stays active, uncooled and not counted as served; the refusals are counted in /metrics", async () => {
    await s.pool.sync();
    const a = s.pool.list()[0]!;
    expect(a.state).toBe("active");
    expect(a.cooldowns).toEqual([]);
    expect(a.requests).toBe(before.requests);
    expect(await metric(s, "client_outdated")).toBeGreaterThanOrEqual(6);
    // every refused call was answered with the notice (200), never retried on another version
    expect(generations(s).every((r) => r.status === 200 && UA.test(r.headers["user-agent"]!))).toBe(true);
  });
});

describe("a newer version appears while the server runs", () => {
  let s: Stack;
  let clock = Date.now();
  beforeAll(async () => {
    s = await startStack({ delays: false, now: () => clock });
    await s.pool.identity.refresh();
  });
  afterAll(() => s.stop());

  test("the refused call is retried at once with the freshly discovered version", async () => {
    s.sim.setClientGate({ minVersion: "3.0.0" });
    // the updater still says 2.9.4 and was asked moments ago: no new lookup, the client gets the 502
    expect((await gemini(s, "gemini-2.5-flash:generateContent")).status).toBe(502);
    // Antigravity ships 3.1.0; a minute later the next refusal looks again and retries on the spot
    s.sim.setLatestClientVersion("3.1.0");
    clock += 61_000;
    s.sim.clearRequests();
    const res = await gemini(s, "gemini-2.5-flash:generateContent");
    expect(res.status).toBe(200);
    const calls = generations(s);
    expect(calls.map((c) => c.headers["user-agent"]!.split(" ")[0])).toEqual(["antigravity/2.9.4", "antigravity/3.1.0"]);
    expect(new Set(calls.map((c) => c.email)).size).toBe(1); // the same account: it was never blamed
    expect((await health(s)).client).toMatchObject({ version: "3.1.0", source: "discovered" });
  });
});

describe("SWITCHYARD_CLIENT_VERSION", () => {
  test("a fixed version passes the gate and nothing is looked up (a real `serve` process)", async () => {
    const s = await startStack({ delays: false });
    const { dir, cleanup } = tempDir("client-version");
    s.sim.setClientGate({ minVersion: "3.0.0" });
    const env = {
      SWITCHYARD_UPSTREAM_ENDPOINTS: s.sim.url,
      SWITCHYARD_OAUTH_TOKEN_URL: `${s.sim.url}/token`,
      SWITCHYARD_USERINFO_URL: `${s.sim.url}/oauth2/v2/userinfo`,
      SWITCHYARD_VERSION_URL: `${s.sim.url}/api/update/{target}/stable/latest`,
      SWITCHYARD_CLIENT_VERSION: "3.0.1",
      SWITCHYARD_AUTH_MODE: "off",
    };
    const add = await runCli(["accounts", "add", "--refresh-token", s.accounts[0]!.refreshToken, "--data-dir", dir], { env });
    expect(add.code).toBe(0);
    const version = await runCli(["version"], { env });
    expect(version.stdout).toContain("antigravity/3.0.1");
    expect(version.stdout).toContain("SWITCHYARD_CLIENT_VERSION");
    const port = await freePort();
    const p = Bun.spawn([process.execPath, MAIN, "serve", "--data-dir", dir, "--port", String(port), "--log-level", "warn"], {
      cwd: ROOT,
      env: { ...cleanEnv(), ...env },
      stdout: "ignore",
      stderr: "pipe",
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitForHealth(url);
      s.sim.clearRequests();
      const res = await fetch(`${url}/v1beta/models/gemini-2.5-flash:generateContent`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(userText("fixed")),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).candidates[0].content.parts[0].text).toBe("Echo: fixed");
      expect(((await (await fetch(`${url}/healthz`)).json()) as any).client).toMatchObject({ version: "3.0.1", source: "configured" });
      expect(s.sim.requests({ method: "updater" })).toEqual([]);
    } finally {
      p.kill("SIGTERM");
      await p.exited;
      cleanup();
      await s.stop();
    }
  });
});
