// Client identity: the version gate (200 notice for an old User-Agent), the updater endpoint that
// announces the latest version, and the Claude Agent SDK prompt that gets a bare 429.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GATE_NOTICES, startSimulator, type SimAccount, type Simulator } from "../../src/simulator";
import { accessToken, envelope, GENERATE_MODES, generateIn, texts, userText, v1 } from "../helpers/simulator";

let sim: Simulator;
let acc: SimAccount;
let tok: string;
beforeAll(async () => {
  sim = await startSimulator({ delays: false });
  acc = sim.addAccount({ email: "gate@example.com" });
  tok = await accessToken(sim, acc);
});
afterAll(() => sim.stop());

const ua = (v: string) => ({ "user-agent": v });
const ask = (model = "gemini-3-flash", extra: Record<string, unknown> = {}) =>
  envelope(acc, { contents: [userText("hi")], ...extra }, model);
const ctl = async (method: string, body?: unknown) => {
  const res = await fetch(`${sim.url}/_sim/client-gate`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as any };
};

describe("client-version gate", () => {
  test("off by default: any User-Agent passes", async () => {
    const r = await v1(sim, tok, "generateContent", ask(), ua("curl/8"));
    expect(texts(r.json.response)).toBe("Echo: hi");
    expect((await ctl("GET")).json).toEqual({ minVersion: null, wording: "unsupported", latestVersion: "2.9.4" });
  });

  test("below the minimum, or no version → 200 notice with zero usage in all three shapes", async () => {
    sim.setClientGate({ minVersion: "2.9.1" });
    for (const agent of [
      "antigravity/hub/2.9.0 darwin/arm64",
      "antigravity/1.23.2 linux/amd64",
      "antigravity/2.8.99 windows/amd64",
      "curl/8",
    ])
      for (const mode of GENERATE_MODES) {
        const r = await generateIn(mode, sim, tok, ask(), ua(agent));
        expect(r.status).toBe(200);
        expect(r.text).toBe(GATE_NOTICES.unsupported);
        expect(r.text).toBe("This version of Antigravity is no longer supported. Please update to receive the latest features!");
        expect(r.finishReason).toBe("STOP");
        expect(r.usage).toEqual({ promptTokenCount: 0, candidatesTokenCount: 0, totalTokenCount: 0 });
      }
    for (const agent of ["antigravity/hub/2.9.1 darwin/arm64", "antigravity/2.10.0 linux/amd64", "antigravity/10.0.0 x"]) {
      const r = await v1(sim, tok, "generateContent", ask(), ua(agent));
      expect(texts(r.json.response)).toBe("Echo: hi");
    }
    sim.setClientGate({ minVersion: null });
  });

  test("the first N.N.N counts; the gate comes before model and quota checks; other methods are not gated", async () => {
    sim.setClientGate({ minVersion: "3.0.0", wording: "outdated" });
    const old = ua("antigravity/2.9.4 (like 3.0.0)");
    const outdated =
      "Your current version of Antigravity is out of date. Please visit https://antigravity.google/download to download and install the latest version.";
    expect(texts((await v1(sim, tok, "generateContent", ask(), old)).json.response)).toBe(outdated);
    expect(texts((await v1(sim, tok, "generateContent", ask("no-such-model"), old)).json.response)).toBe(outdated);
    const broke = sim.addAccount({ email: "gate-broke@example.com", quota: { "*": 0 } });
    const bt = await accessToken(sim, broke);
    expect((await v1(sim, bt, "generateContent", envelope(broke, { contents: [userText("x")] }), old)).status).toBe(200);
    // auth still comes first
    expect((await v1(sim, "ya29.bogus", "generateContent", ask(), old)).status).toBe(401);
    expect((await v1(sim, tok, "fetchAvailableModels", {}, old)).status).toBe(200);
    expect((await v1(sim, tok, "loadCodeAssist", {}, old)).json.cloudaicompanionProject).toBe(acc.project!);
    expect(
      (await v1(sim, tok, "countTokens", { request: { model: "models/gemini-3-flash", contents: [userText("x")] } }, old)).json.totalTokens,
    ).toBe(1);
    sim.setClientGate({ minVersion: null, wording: "unsupported" });
  });

  test("options and the control route set it; bad values are refused", async () => {
    const gated = await startSimulator({
      delays: false,
      clientGate: { minVersion: "1.20.0", wording: "outdated" },
      latestClientVersion: "1.21.9",
    });
    try {
      const a = gated.addAccount({ email: "g@example.com" });
      const t = await accessToken(gated, a);
      const r = await v1(gated, t, "generateContent", envelope(a, { contents: [userText("x")] }), ua("antigravity/1.19.6 linux/amd64"));
      expect(texts(r.json.response)).toStartWith("Your current version of Antigravity is out of date.");
      const view = await (await fetch(`${gated.url}/_sim/client-gate`)).json();
      expect(view).toEqual({ minVersion: "1.20.0", wording: "outdated", latestVersion: "1.21.9" });
    } finally {
      await gated.stop();
    }
    await expect(startSimulator({ clientGate: { minVersion: "two" } })).rejects.toThrow("minVersion");

    const set = await ctl("POST", { minVersion: "2.9.1", latestVersion: "2.9.7" });
    expect(set.json).toEqual({ minVersion: "2.9.1", wording: "unsupported", latestVersion: "2.9.7" });
    expect(texts((await v1(sim, tok, "generateContent", ask(), ua("antigravity/2.9.0 x"))).json.response)).toBe(GATE_NOTICES.unsupported);
    expect((await ctl("POST", { wording: "rude" })).status).toBe(400);
    expect((await ctl("POST", { minVersion: "2.9", latestVersion: "3.0.0" })).status).toBe(400);
    // a refused change changes nothing
    expect((await ctl("GET")).json).toEqual({ minVersion: "2.9.1", wording: "unsupported", latestVersion: "2.9.7" });
    expect((await ctl("POST", { minVersion: null })).json.minVersion).toBeNull();
    expect(() => sim.setLatestClientVersion("latest")).toThrow();
    sim.setLatestClientVersion("2.9.4");
  });
});

describe("updater endpoint", () => {
  const latest = async (target: string) => {
    const res = await fetch(`${sim.url}/api/update/${target}/stable/latest`);
    return { status: res.status, json: (await res.json()) as any };
  };

  test("answers url, sha256hash and timestamp, the version only inside the url", async () => {
    for (const target of ["linux-x64", "darwin-arm64", "linux-arm64", "darwin"]) {
      const r = await latest(target);
      expect(r.status).toBe(200);
      expect(Object.keys(r.json).sort()).toEqual(["sha256hash", "timestamp", "url"]);
      const m = new RegExp(`^${sim.url}/download/antigravity/stable/(\\d+\\.\\d+\\.\\d+)-(\\d{16})/${target}/Antigravity\\.tar\\.gz$`).exec(
        r.json.url,
      );
      expect(m?.[1]).toBe("2.9.4");
      expect(r.json.sha256hash).toMatch(/^[0-9a-f]{64}$/);
      expect(r.json.timestamp).toBeGreaterThan(Date.now() - 3600_000);
    }
    expect((await latest("linux-x64")).json).toEqual((await latest("linux-x64")).json);
  });

  test("follows setLatestClientVersion and POST /_sim/client-gate; calls are logged as updater", async () => {
    sim.clearRequests();
    sim.setLatestClientVersion("3.1.0");
    expect((await latest("linux-x64")).json.url).toContain("/stable/3.1.0-");
    await ctl("POST", { latestVersion: "3.2.5" });
    expect((await latest("darwin-arm64")).json.url).toContain("/stable/3.2.5-");
    const log = sim.requests({ method: "updater" });
    expect(log.map((r) => r.path)).toEqual(["/api/update/linux-x64/stable/latest", "/api/update/darwin-arm64/stable/latest"]);
    expect(log[0]!.status).toBe(200);
    sim.setLatestClientVersion("2.9.4");
  });
});

describe("Claude Agent SDK identity", () => {
  const system = (text: string) => ({ systemInstruction: { parts: [{ text: "preamble" }, { text }] } });
  const sdk = "You are a Claude agent, built on Anthropic's Claude Agent SDK.";

  test("the Agent SDK prompt on a Claude model → bare 429 on every account; Claude Code's prompt passes", async () => {
    const rich = sim.addAccount({ email: "rich@example.com", tier: "g1-ultra-tier" });
    const rt = await accessToken(sim, rich);
    for (const [a, t] of [
      [acc, tok],
      [rich, rt],
    ] as const)
      for (const mode of GENERATE_MODES) {
        const r = await v1(sim, t, mode, envelope(a, { contents: [userText("hi")], ...system(sdk) }, "claude-opus-4-6-thinking"));
        expect(r.status).toBe(429);
        expect(r.json).toEqual({
          error: { code: 429, message: "Resource has been exhausted (e.g. check quota).", status: "RESOURCE_EXHAUSTED" },
        });
      }
    const code = await v1(
      sim,
      tok,
      "generateContent",
      ask("claude-sonnet-4-6", system("You are Claude Code, Anthropic's official CLI for Claude.")),
    );
    expect(code.status).toBe(200);
    // Gemini models do not care
    expect((await v1(sim, tok, "generateContent", ask("gemini-3-flash", system(sdk)))).status).toBe(200);
  });
});
