// The Pool API for account surfaces: add (project, onboarding, verification, quota), upsert by
// email, remove, enable/disable, refresh, export, listing without secrets.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { exchangeCode, fetchUserInfo, OAuthError, PoolError } from "../../src/pool";
import { until, userText } from "../helpers/util";
import { startRig, type Rig } from "../helpers/pool";

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

describe("addByRefreshToken", () => {
  test("resolves the user, project, tier and quota; lists them without secrets", async () => {
    rig = await startRig([{ email: "a@x.com", name: "Ada", tier: "g1-pro-tier", quota: { "gemini-2.5-flash": 0.25 } }]);
    const [a] = rig.pool.list();
    expect(a).toMatchObject({ email: "a@x.com", name: "Ada", state: "active", tier: "g1-pro-tier", requests: 0, failures: 0 });
    expect(a!.projectId).toStartWith("sim-");
    expect(a!.quota!["gemini-2.5-flash"]!.remainingFraction).toBe(0.25);
    expect(a!.quota!["gemini-2.5-pro"]!.remainingFraction).toBe(1);
    expect(Date.parse(a!.quota!["gemini-2.5-flash"]!.resetTime!)).toBeGreaterThan(Date.now());
    const text = JSON.stringify([rig.pool.list(), rig.pool.poolView(), rig.pool.get("a@x.com")]);
    const secret = rig.pool.exportAccounts().accounts[0]!.refreshToken;
    expect(text).not.toContain(secret);
    expect(text).not.toMatch(/accessToken|refreshToken/);
    const models = rig.pool.reportedModels();
    expect(models.find((m) => m.id === "gemini-2.5-flash")).toMatchObject({
      displayName: expect.any(String),
      inputTokenLimit: expect.any(Number),
    });
    expect(models.find((m) => m.id === "gemini-3.1-flash-image")?.image).toBe(true);
  });

  test("a bad token fails with Google's reason and stores nothing", async () => {
    rig = await startRig([]);
    const err = await rig.pool.addByRefreshToken("1//not-a-real-token").catch((e) => e);
    expect(err).toBeInstanceOf(PoolError);
    expect(err.message).toBe("invalid_grant: Token has been expired or revoked.");
    expect(rig.pool.list()).toEqual([]);
    expect(existsSync(`${rig.dir}/accounts.json`)).toBe(false);
  });

  test("an account without a project is onboarded (operation polled until done)", async () => {
    rig = await startRig([{ email: "new@x.com", project: null, onboardPolls: 3 }]);
    const a = rig.pool.get("new@x.com")!;
    expect(a.projectId).toStartWith("sim-managed-");
    expect(a.state).toBe("active");
    expect((await rig.pool.gateway.generate({ model: "gemini-2.5-flash", request: userText("hi") })).accountEmail).toBe("new@x.com");
  });

  test("VALIDATION_REQUIRED: stored as needs_verification with the URL, never picked", async () => {
    rig = await startRig([{ email: "v@x.com", validationRequired: true }, { email: "ok@x.com" }]);
    const v = rig.pool.get("v@x.com")!;
    expect(v.state).toBe("needs_verification");
    expect(v.verificationUrl).toContain("/_sim/verify");
    expect(v.projectId).toBeUndefined();
    for (let i = 0; i < 3; i++)
      expect((await rig.pool.gateway.generate({ model: "gemini-2.5-flash", request: userText("hi") })).accountEmail).toBe("ok@x.com");
    expect(rig.pool.counts()).toEqual({ total: 2, available: 1 });
  });

  test("upsert by email: same id, new token, disabled account re-enabled", async () => {
    rig = await startRig([{ email: "a@x.com" }]);
    const before = rig.pool.get("a@x.com")!;
    await rig.pool.setEnabled("a@x.com", false);
    const again = rig.sim.addAccount({ email: "a@x.com", refreshToken: "1//sim-rotated" });
    const r = await rig.pool.addByRefreshToken(again.refreshToken);
    expect(r.created).toBe(false);
    expect(r.account).toMatchObject({ id: before.id, state: "active" });
    expect(rig.pool.list()).toHaveLength(1);
    expect(rig.pool.exportAccounts().accounts[0]!.refreshToken).toBe("1//sim-rotated");
  });
});

describe("managing accounts", () => {
  test("disable / enable / remove, by email or id", async () => {
    rig = await startRig([{ email: "a@x.com" }, { email: "b@x.com" }]);
    const a = rig.pool.get("A@X.com")!;
    expect((await rig.pool.setEnabled(a.id, false)).state).toBe("disabled");
    expect(rig.pool.get(a.id)!.disabledReason).toBe("disabled by the operator");
    expect(rig.pool.counts()).toEqual({ total: 2, available: 1 });
    expect((await rig.pool.setEnabled("a@x.com", true)).state).toBe("active");
    expect(await rig.pool.remove("b@x.com")).toBe(true);
    expect(await rig.pool.remove("b@x.com")).toBe(false);
    await expect(rig.pool.setEnabled("nobody@x.com", true)).rejects.toBeInstanceOf(PoolError);
    const p2 = await rig.reopen();
    expect(p2.list().map((x) => [x.email, x.state])).toEqual([["a@x.com", "active"]]);
  });

  test("refresh re-reads token, project and quota and reports per account", async () => {
    rig = await startRig([{ email: "a@x.com" }, { email: "b@x.com" }]);
    rig.sim.addAccount({ email: "a@x.com", quota: { "gemini-2.5-flash": 0.5 } });
    rig.sim.revoke("b@x.com");
    const res = await rig.pool.refresh();
    expect(res).toEqual([
      { email: "a@x.com", ok: true },
      { email: "b@x.com", ok: false, error: "invalid_grant: Token has been expired or revoked." },
    ]);
    expect(rig.pool.get("a@x.com")!.quota!["gemini-2.5-flash"]!.remainingFraction).toBe(0.5);
    expect(rig.pool.get("b@x.com")!.state).toBe("disabled");
    expect(rig.sim.stats()).toMatchObject({ token: 2, loadCodeAssist: 1, fetchAvailableModels: 1 });
  });

  test("export carries what is needed to re-add", async () => {
    rig = await startRig([{ email: "a@x.com", name: "Ada" }]);
    const e = rig.pool.exportAccounts();
    expect(e.version).toBe(1);
    expect(e.accounts).toEqual([
      { email: "a@x.com", name: "Ada", refreshToken: expect.stringMatching(/^1\/\//), projectId: rig.pool.get("a@x.com")!.projectId },
    ]);
  });
});

describe("quota refresh and OAuth helpers", () => {
  test("quota is re-read every pool.quotaRefreshMinutes in the background", async () => {
    rig = await startRig([{ email: "a@x.com" }], { pool: { quotaRefreshMinutes: 0.003 } }); // 180 ms
    await rig.pool.gateway.generate({ model: "gemini-2.5-flash", request: userText("hi") }); // in use: kept current
    rig.sim.addAccount({ email: "a@x.com", quota: { "gemini-2.5-flash": 0.1 } });
    await rig.reopen({}, { background: true });
    await until(() => rig!.pool.get("a@x.com")!.quota!["gemini-2.5-flash"]!.remainingFraction === 0.1, "the quota refresh");
    expect(rig.sim.requests({ method: "fetchAvailableModels" })[0]!.body).toEqual({ project: rig.pool.get("a@x.com")!.projectId });
  });

  test("onboarding gives up after the bounded number of polls, without a made-up project", async () => {
    rig = await startRig([]);
    const slow = rig.sim.addAccount({ email: "slow@x.com", project: null, onboardPolls: 50 });
    await rig.reopen({}, { internal: { onboardPollMs: 1, onboardMaxPolls: 3 } });
    const r = await rig.pool.addByRefreshToken(slow.refreshToken);
    expect(r.account.projectId).toBeUndefined();
    expect(rig.pool.counts()).toEqual({ total: 1, available: 0 });
    expect(rig.sim.requests({ method: "operation" })).toHaveLength(3);
    const [res] = await rig.pool.refresh("slow@x.com");
    expect(res!.ok).toBe(false);
    expect(res!.error).toContain("did not finish");
  });

  test("exchangeCode (PKCE) and fetchUserInfo against the authorize flow", async () => {
    rig = await startRig([]);
    const acc = rig.sim.addAccount({ email: "login@x.com", name: "Lo Gin" });
    const verifier = "v".repeat(64);
    const challenge = Buffer.from(new Bun.CryptoHasher("sha256").update(verifier).digest()).toString("base64url");
    const redirect = "http://127.0.0.1:9/oauth-callback";
    const q = new URLSearchParams({
      client_id: rig.config.oauth.clientId,
      redirect_uri: redirect,
      response_type: "code",
      state: "st",
      login_hint: acc.email,
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    const res = await fetch(`${rig.config.oauth.authUrl}?${q}`, { redirect: "manual" });
    const code = new URL(res.headers.get("location")!).searchParams.get("code")!;
    const grant = await exchangeCode(rig.config, code, redirect, verifier);
    expect(grant.refreshToken).toBe(acc.refreshToken);
    expect(grant.expiresAt).toBeGreaterThan(Date.now());
    expect(await fetchUserInfo(rig.config, grant.accessToken)).toMatchObject({ email: "login@x.com", name: "Lo Gin" });
    const bad = await exchangeCode(rig.config, code, redirect, verifier).catch((e) => e); // codes are single use
    expect(bad).toBeInstanceOf(OAuthError);
    expect(bad.message).toStartWith("invalid_grant");
  });
});
