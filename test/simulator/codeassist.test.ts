import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSimulator, SIM_MODELS, type Simulator } from "../../src/simulator";
import { accessToken, envelope, userText, v1 } from "../helpers/simulator";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ delays: false });
});
afterAll(() => sim.stop());

describe("loadCodeAssist", () => {
  test("an account with a project gets currentTier and cloudaicompanionProject", async () => {
    const acc = sim.addAccount({ email: "has-project@example.com", project: "my-proj-1" });
    const r = await v1(sim, await accessToken(sim, acc), "loadCodeAssist", { metadata: { ideType: "ANTIGRAVITY" } });
    expect(r.status).toBe(200);
    expect(r.json.currentTier.id).toBe("free-tier");
    expect(r.json.cloudaicompanionProject).toBe("my-proj-1");
    expect(r.json.ineligibleTiers).toBeUndefined();
  });

  test("a paid tier shows as paidTier", async () => {
    const acc = sim.addAccount({ email: "pro@example.com", tier: "g1-pro-tier" });
    const r = await v1(sim, await accessToken(sim, acc), "loadCodeAssist");
    expect(r.json.paidTier.id).toBe("g1-pro-tier");
    expect(r.json.currentTier).toBeDefined();
  });

  test("an account needing onboarding: no currentTier, a default allowed tier; onboardUser completes after N polls", async () => {
    const acc = sim.addAccount({ email: "fresh@example.com", project: null, onboardPolls: 2 });
    expect(acc.project).toBeUndefined();
    const tok = await accessToken(sim, acc);
    const load = await v1(sim, tok, "loadCodeAssist");
    expect(load.json.currentTier).toBeUndefined();
    expect(load.json.cloudaicompanionProject).toBeUndefined();
    const def = load.json.allowedTiers.find((t: any) => t.isDefault);
    expect(def.id).toBe("free-tier");

    const op = await v1(sim, tok, "onboardUser", { tierId: def.id, metadata: { pluginType: "GEMINI" } });
    expect(op.status).toBe(200);
    expect(op.json.done).toBe(false);
    expect(op.json.name).toStartWith("operations/");

    const poll = async () => {
      const res = await fetch(`${sim.url}/v1internal/${op.json.name}`, { headers: { authorization: `Bearer ${tok}` } });
      expect(res.status).toBe(200);
      return (await res.json()) as any;
    };
    expect((await poll()).done).toBe(false);
    const done = await poll();
    expect(done.done).toBe(true);
    const project = done.response.cloudaicompanionProject;
    expect(project.id).toBeTruthy();
    expect(project.name).toBe(project.id);
    expect(done.response["@type"]).toContain("OnboardUserResponse");

    const after = await v1(sim, tok, "loadCodeAssist");
    expect(after.json.currentTier.id).toBe("free-tier");
    expect(after.json.cloudaicompanionProject).toBe(project.id);
    // and the new project is usable for generation
    const gen = await v1(sim, tok, "generateContent", envelope({ ...acc, project: project.id }, { contents: [userText("hi")] }));
    expect(gen.status).toBe(200);
  });

  test("onboarding: free-tier with a project → Precondition Failed; missing tierId → 400; other accounts' operations → 404", async () => {
    const acc = sim.addAccount({ email: "fresh2@example.com", project: null });
    const tok = await accessToken(sim, acc);
    const bad = await v1(sim, tok, "onboardUser", { tierId: "free-tier", cloudaicompanionProject: "x" });
    expect(bad.status).toBe(400);
    expect(bad.json.error.status).toBe("FAILED_PRECONDITION");
    expect((await v1(sim, tok, "onboardUser", {})).status).toBe(400);
    const op = await v1(sim, tok, "onboardUser", { tierId: "free-tier" });
    const other = await accessToken(sim, sim.addAccount({ email: "other@example.com" }));
    const res = await fetch(`${sim.url}/v1internal/${op.json.name}`, { headers: { authorization: `Bearer ${other}` } });
    expect(res.status).toBe(404);
  });

  test("onboardPolls: 0 completes at once", async () => {
    const acc = sim.addAccount({ email: "instant@example.com", project: null, onboardPolls: 0 });
    const op = await v1(sim, await accessToken(sim, acc), "onboardUser", { tierId: "free-tier" });
    expect(op.json.done).toBe(true);
    expect(op.json.response.cloudaicompanionProject.id).toBeTruthy();
  });

  test("an account needing validation: ineligibleTiers VALIDATION_REQUIRED with a link that verifies it", async () => {
    const acc = sim.addAccount({ email: "verify@example.com", validationRequired: true });
    const tok = await accessToken(sim, acc);
    const r = await v1(sim, tok, "loadCodeAssist");
    expect(r.json.currentTier).toBeUndefined();
    const inel = r.json.ineligibleTiers[0];
    expect(inel.reasonCode).toBe("VALIDATION_REQUIRED");
    expect(inel.validationUrl).toStartWith("http");
    const gen = await v1(sim, tok, "generateContent", envelope(acc, { contents: [userText("hi")] }));
    expect(gen.status).toBe(403);
    expect(gen.json.error.details[0].reason).toBe("VALIDATION_REQUIRED");

    expect((await fetch(inel.validationUrl)).status).toBe(200);
    const after = await v1(sim, tok, "loadCodeAssist");
    expect(after.json.currentTier).toBeDefined();
    expect(after.json.cloudaicompanionProject).toBe(acc.project!);
  });
});

describe("models and quota", () => {
  test("fetchAvailableModels lists the catalogue with per-account quota overrides", async () => {
    const acc = sim.addAccount({ email: "quota@example.com", quota: { "gemini-2.5-pro": 0.25, "claude-sonnet-4-5": 0 } });
    const r = await v1(sim, await accessToken(sim, acc), "fetchAvailableModels", { project: acc.project });
    expect(r.status).toBe(200);
    const models = r.json.models;
    // the served models plus the retired ids Google still lists
    expect(Object.keys(models).sort()).toEqual([...SIM_MODELS.map((m) => m.id), "claude-sonnet-4-5", "gemini-3-pro-high"].sort());
    expect(models["gemini-2.5-flash"]).toMatchObject({ displayName: "Gemini 2.5 Flash", maxTokens: 1048576, maxOutputTokens: 65536 });
    expect(models["gemini-2.5-flash"].quotaInfo.remainingFraction).toBe(1);
    expect(models["gemini-2.5-pro"].quotaInfo.remainingFraction).toBe(0.25);
    expect(new Date(models["gemini-2.5-pro"].quotaInfo.resetTime).getTime()).toBeGreaterThan(Date.now());
    // protobuf JSON drops zero values: exhausted = no remainingFraction
    expect(models["claude-sonnet-4-5"].quotaInfo.remainingFraction).toBeUndefined();
    expect(r.json.imageGenerationModelIds).toEqual(["gemini-3.1-flash-image"]);
  });

  test("fetchAvailableModels with another account's project → 403", async () => {
    const acc = sim.addAccount({ email: "q2@example.com" });
    const r = await v1(sim, await accessToken(sim, acc), "fetchAvailableModels", { project: "someone-else" });
    expect(r.status).toBe(403);
    expect(r.json.error.details[0].reason).toBe("IAM_PERMISSION_DENIED");
  });

  test("a model at quota 0 → 429 QUOTA_EXHAUSTED with ErrorInfo first, then RetryInfo", async () => {
    const acc = sim.addAccount({ email: "empty@example.com", quota: { "gemini-2.5-pro": 0 } });
    const tok = await accessToken(sim, acc);
    const r = await v1(sim, tok, "generateContent", envelope(acc, { contents: [userText("hi")] }, "gemini-2.5-pro"));
    expect(r.status).toBe(429);
    expect(r.json.error.status).toBe("RESOURCE_EXHAUSTED");
    const [info, retry] = r.json.error.details;
    expect(info.reason).toBe("QUOTA_EXHAUSTED");
    expect(info.metadata.model).toBe("gemini-2.5-pro");
    expect(info.metadata.quotaResetDelay).toMatch(/^\d+h\d+m[\d.]+s$/);
    expect(retry["@type"]).toContain("RetryInfo");
    expect(retry.retryDelay).toMatch(/^[\d.]+s$/);
    // other models of the account still work; an upsert restores the quota
    expect((await v1(sim, tok, "generateContent", envelope(acc, { contents: [userText("hi")] }))).status).toBe(200);
    sim.addAccount({ email: "empty@example.com", quota: { "gemini-2.5-pro": 1 } });
    expect((await v1(sim, tok, "generateContent", envelope(acc, { contents: [userText("hi")] }, "gemini-2.5-pro"))).status).toBe(200);
  });

  test("retrieveUserQuota and retrieveUserQuotaSummary report the same fractions", async () => {
    const acc = sim.addAccount({ email: "q3@example.com", quota: { "gemini-2.5-pro": 0.5 } });
    const tok = await accessToken(sim, acc);
    const q = await v1(sim, tok, "retrieveUserQuota", { project: acc.project });
    const pro = q.json.buckets.find((b: any) => b.modelId === "gemini-2.5-pro");
    expect(pro).toMatchObject({ tokenType: "REQUESTS", remainingFraction: 0.5, remainingAmount: "500" });
    const s = await v1(sim, tok, "retrieveUserQuotaSummary", { project: acc.project });
    expect(s.json.groups.find((g: any) => g.displayName === "Gemini").buckets[0].remainingFraction).toBe(0.5);
  });

  test("telemetry and settings methods answer {}; unknown methods 404", async () => {
    const tok = await accessToken(sim, sim.addAccount({ email: "aux@example.com" }));
    for (const m of ["recordCodeAssistMetrics", "fetchAdminControls"]) expect((await v1(sim, tok, m, { x: 1 })).json).toEqual({});
    expect((await v1(sim, tok, "listExperiments")).status).toBe(200);
    expect((await v1(sim, tok, "noSuchMethod")).status).toBe(404);
  });

  test("every v1internal method needs a valid bearer token", async () => {
    for (const m of ["loadCodeAssist", "fetchAvailableModels", "generateContent", "countTokens", "onboardUser"]) {
      const missing = await v1(sim, undefined, m);
      expect(missing.status).toBe(401);
      expect(missing.json.error.message).toContain("missing required authentication credential");
      const bad = await v1(sim, "ya29.bogus", m);
      expect(bad.status).toBe(401);
      expect(bad.json.error).toMatchObject({ code: 401, status: "UNAUTHENTICATED" });
    }
  });
});
