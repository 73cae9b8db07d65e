// A version-1 accounts.json (tokens, quota, cooldowns, counters and the catalogue inside) moves its
// changing fields to state.db on first start: the CLI and the admin API show what they showed before,
// accounts.json becomes version 2 with identities only, and the old file is kept as accounts.json.bak.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/cli";
import { startStack, type Stack } from "../helpers/stack";
import { tempDir, until } from "../helpers/util";

const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
const anHourAgo = new Date(Date.now() - 3_600_000).toISOString();

function v1Account(email: string, extra: Record<string, unknown> = {}) {
  return {
    id: `id-${email}`,
    email,
    refreshToken: `1//rt-${email}`,
    accessToken: `ya29.secret-${email}`,
    accessTokenExpiresAt: inAnHour,
    projectId: `p-${email}`,
    tier: "free-tier",
    state: "active",
    quota: { "gemini-2.5-flash": { remainingFraction: 0.25, resetTime: inAnHour, fetchedAt: anHourAgo } },
    cooldowns: [{ model: "gemini-2.5-pro", until: inAnHour, reason: "rate_limited" }],
    lastUsedAt: anHourAgo,
    requests: 42,
    failures: 3,
    createdAt: anHourAgo,
    ...extra,
  };
}

const v1File = (accounts: unknown[]) =>
  JSON.stringify({
    version: 1,
    revision: 7,
    accounts,
    models: { "gemini-2.5-flash": { id: "gemini-2.5-flash", displayName: "Gemini 2.5 Flash" } },
    lineup: { recommended: ["gemini-2.5-flash"], forwards: { "gemini-old": "gemini-2.5-flash" }, imageModels: [] },
    learnedForwards: { "gemini-older": "gemini-2.5-flash" },
  });

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("migrating a version-1 store", () => {
  test("the CLI lists the same, the file keeps identities only, the old file is the .bak", async () => {
    const d = tempDir("migrate");
    cleanups.push(d.cleanup);
    const original = v1File([v1Account("a@x.com"), v1Account("b@x.com", { state: "disabled", disabledReason: "by hand" })]);
    writeFileSync(join(d.dir, "accounts.json"), original, { mode: 0o600 });
    const r = await runCli(["accounts", "list", "--json", "--data-dir", d.dir]);
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout);
    expect(listed.map((a: any) => [a.email, a.state, a.requests, a.failures])).toEqual([
      ["a@x.com", "active", 42, 3],
      ["b@x.com", "disabled", 42, 3],
    ]);
    expect(listed[0].quota["gemini-2.5-flash"]).toMatchObject({ remainingFraction: 0.25, resetTime: inAnHour });
    expect(listed[0].cooldowns).toEqual([{ model: "gemini-2.5-pro", until: inAnHour, reason: "rate_limited" }]);
    expect(listed[0].lastUsedAt).toBe(anHourAgo);
    expect(r.stdout).not.toContain("ya29.");

    const now = JSON.parse(readFileSync(join(d.dir, "accounts.json"), "utf8"));
    expect(now.version).toBe(2);
    expect(now.accounts.map((a: any) => Object.keys(a).sort())[0]).toEqual([
      "createdAt",
      "email",
      "id",
      "projectId",
      "refreshToken",
      "state",
      "tier",
    ]);
    expect(now.models).toBeUndefined();
    expect(readFileSync(join(d.dir, "accounts.json.bak"), "utf8")).toBe(original);
    expect(statSync(join(d.dir, "state.db")).mode & 0o777).toBe(0o600);

    // a second run reads the same from state.db (nothing was lost with the rewrite)
    const again = await runCli(["accounts", "list", "--json", "--data-dir", d.dir]);
    expect(JSON.parse(again.stdout)).toEqual(listed);
  });

  test("a running server migrates a version-1 file another program writes, and serves from it", async () => {
    const s: Stack = await startStack({ accounts: 0 });
    cleanups.push(() => s.stop());
    const sim = s.sim.addAccount({ email: "hot@x.com" });
    writeFileSync(
      join(s.dataDir, "accounts.json"),
      v1File([v1Account("hot@x.com", { refreshToken: sim.refreshToken, projectId: sim.project, accessToken: undefined, cooldowns: [] })]),
    );
    const admin = { authorization: `Bearer ${s.adminKey}` };
    const list = async () => (await fetch(`${s.url}/admin/accounts`, { headers: admin })).json();
    await until(async () => (await list()).length === 1, "the server to reload the file");
    const [view] = await list();
    expect(view).toMatchObject({ email: "hot@x.com", requests: 42, failures: 3 });
    expect(view.quota["gemini-2.5-flash"].remainingFraction).toBe(0.25);
    await until(() => JSON.parse(readFileSync(join(s.dataDir, "accounts.json"), "utf8")).version === 2, "the rewrite as version 2");
    const r = await fetch(`${s.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: "POST",
      headers: { "x-goog-api-key": s.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
    });
    expect(r.status).toBe(200);
    expect(existsSync(join(s.dataDir, "state.db"))).toBe(true);
  });
});
