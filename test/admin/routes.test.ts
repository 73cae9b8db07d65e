// The /admin API over HTTP through the lead's stack (real gateway, real simulator, real pool).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startStack, type Stack } from "../helpers/stack";
import { cli } from "../helpers/accounts";
import { until } from "../helpers/util";

let stack: Stack;
const BOGUS = "1//0gBogusTokenNobodyIssued_abcdefghijklmnop";

beforeAll(async () => {
  stack = await startStack({ accounts: [{ email: "first@example.com", quota: { "claude-sonnet-4-6": 0.5 } }], delays: false });
});
afterAll(async () => {
  await stack?.stop();
});

async function admin(method: string, path: string, body?: unknown, key: string | null = stack.adminKey) {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${stack.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
}

describe("admin accounts", () => {
  test("needs the admin key (the API key is not enough)", async () => {
    expect((await admin("GET", "/admin/accounts", undefined, null)).status).toBe(401);
    expect((await admin("GET", "/admin/accounts", undefined, stack.apiKey)).status).toBe(401);
  });

  test("?key= carries the admin key on every route, those that check their query included", async () => {
    for (const path of ["/admin/accounts", "/admin/pool", "/admin/pool?limit=1", "/admin/usage", "/admin/keys"]) {
      const res = await fetch(`${stack.url}${path}${path.includes("?") ? "&" : "?"}key=${encodeURIComponent(stack.adminKey)}`);
      expect(res.status, path).toBe(200);
      await res.arrayBuffer();
    }
  });

  test("list without secrets", async () => {
    const r = await admin("GET", "/admin/accounts");
    expect(r.status).toBe(200);
    expect(r.json).toHaveLength(1);
    expect(r.json[0]).toMatchObject({ email: "first@example.com", state: "active" });
    expect(r.json[0].quota["claude-sonnet-4-6"].remainingFraction).toBe(0.5);
    expect(r.text).not.toContain(stack.accounts[0]!.refreshToken);
    expect(r.text).not.toMatch(/refresh_?token|accessToken/i);
  });

  test("add: 201 then 200 on update; a bad token is a 400 with Google's reason; bad bodies name the field", async () => {
    const acc = stack.sim.addAccount({ email: "added@example.com" });
    const first = await admin("POST", "/admin/accounts", { refreshToken: acc.refreshToken });
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ created: true, account: { email: "added@example.com", state: "active" } });
    expect(first.text).not.toContain(acc.refreshToken);
    expect((await admin("POST", "/admin/accounts", { refreshToken: acc.refreshToken })).json.created).toBe(false);

    const bad = await admin("POST", "/admin/accounts", { refreshToken: BOGUS });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain("invalid_grant");
    expect(bad.json.error.code).toBe("invalid_token");
    expect(bad.text).not.toContain(BOGUS);

    const missing = await admin("POST", "/admin/accounts", {});
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toContain("refreshToken");
  });

  test("disable, enable, refresh one, refresh all, remove; unknown id is a 404", async () => {
    const acc = stack.sim.addAccount({ email: "cycle@example.com" });
    const { json } = await admin("POST", "/admin/accounts", { refreshToken: acc.refreshToken });
    const id = json.account.id as string;

    expect((await admin("POST", `/admin/accounts/${id}/disable`)).json.state).toBe("disabled");
    expect((await admin("POST", `/admin/accounts/${encodeURIComponent("cycle@example.com")}/enable`)).json.state).toBe("active");
    const one = await admin("POST", `/admin/accounts/${id}/refresh`);
    expect(one.status).toBe(200);
    expect(one.json.result).toMatchObject({ email: "cycle@example.com", ok: true });
    const all = await admin("POST", "/admin/accounts/refresh");
    expect(all.json.results.length).toBeGreaterThanOrEqual(2);
    expect(all.json.results.every((r: { ok: boolean }) => r.ok)).toBe(true);

    expect((await admin("DELETE", `/admin/accounts/${id}`)).json).toMatchObject({ removed: true, email: "cycle@example.com" });
    const gone = await admin("DELETE", `/admin/accounts/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.json.error).toMatchObject({ code: "not_found" });
    expect((await admin("POST", "/admin/accounts/nobody@example.com/enable")).status).toBe(404);
  });

  test("'refresh now' lifts a quota cooldown for a model Google reports quota for again (no waiting out a stale reset)", async () => {
    const acc = stack.sim.addAccount({ email: "reset@example.com" });
    const { json } = await admin("POST", "/admin/accounts", { refreshToken: acc.refreshToken });
    const id = json.account.id as string;
    const ask = (model: string) =>
      fetch(`${stack.url}/v1beta/models/${model}:generateContent`, {
        method: "POST",
        headers: { "x-goog-api-key": stack.apiKey, "content-type": "application/json" },
        body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
      });
    // every account out of quota for one model (reset in an hour), rate-limited for another
    stack.sim.addFault({ kind: "quota_exhausted", model: "gemini-2.5-flash-lite", resetSeconds: 3600 });
    stack.sim.addFault({ kind: "rate_limited", model: "gemini-2.5-pro", resetSeconds: 60 });
    expect((await ask("gemini-2.5-flash-lite")).status).toBe(429);
    expect((await ask("gemini-2.5-pro")).status).toBe(429);
    stack.sim.clearFaults();
    const cooldowns = async (email: string) =>
      (await admin("GET", "/admin/pool")).json.accounts
        .find((a: { email: string }) => a.email === email)
        .cooldowns.map((c: { model: string }) => c.model);
    expect(await cooldowns("reset@example.com")).toEqual(["gemini-2.5-flash-lite", "gemini-2.5-pro"]);
    expect((await admin("POST", `/admin/accounts/${id}/refresh`)).json.result.ok).toBe(true);
    // Google reports quota left: the quota cooldown goes; a rate limit is not about quota: kept; the
    // account nobody refreshed keeps its own
    expect(await cooldowns("reset@example.com")).toEqual(["gemini-2.5-pro"]);
    expect(await cooldowns("first@example.com")).toContain("gemini-2.5-flash-lite");
    const served = await ask("gemini-2.5-flash-lite");
    expect(served.status).toBe(200);
    expect(served.headers.get("x-account-email")).toBe("reset@example.com");
    await admin("DELETE", `/admin/accounts/${id}`);
  });

  test("an account disabled while a request on it runs keeps no session once the request ends", async () => {
    const acc = stack.sim.addAccount({ email: "midway@example.com" });
    const { json } = await admin("POST", "/admin/accounts", { refreshToken: acc.refreshToken });
    const id = json.account.id as string;
    // the other accounts out of the way for this model, so the session lands here
    for (const a of stack.pool.list()) if (a.id !== id) await admin("POST", `/admin/accounts/${a.id}/disable`);
    stack.sim.addFault({ kind: "delay", delayMs: 300, email: "midway@example.com", times: 1 });
    const running = fetch(`${stack.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: "POST",
      headers: { "x-goog-api-key": stack.apiKey, "content-type": "application/json", "x-session-id": "midway-session" },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
    });
    await until(() => (stack.sim.inFlight().generateContent ?? 0) > 0, "the call upstream");
    await admin("POST", `/admin/accounts/${id}/disable`);
    expect((await running).status).toBe(200);
    const view = (await admin("GET", "/admin/pool")).json;
    expect(view.accounts.find((a: { email: string }) => a.email === "midway@example.com").sessionBindings).toBe(0);
    expect(view.sessions).toBe(view.accounts.reduce((n: number, a: { sessionBindings: number }) => n + a.sessionBindings, 0));
    for (const a of stack.pool.list()) await admin("POST", `/admin/accounts/${a.id}/enable`);
    await admin("DELETE", `/admin/accounts/${id}`);
  });

  test("import text or tokens → summary; export is no-store and round-trips", async () => {
    const a = stack.sim.addAccount({ email: "imp1@example.com" });
    const b = stack.sim.addAccount({ email: "imp2@example.com" });
    const text = `old notes\n${a.refreshToken}\n${BOGUS}\n`;
    const r = await admin("POST", "/admin/accounts/import", { text });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ format: "text", total: 2, added: 1, updated: 0, rejected: 1 });
    expect(r.json.results.find((x: { status: string }) => x.status === "rejected").reason).toContain("invalid_grant");
    expect(r.text).not.toContain(BOGUS);

    const byList = await admin("POST", "/admin/accounts/import", { tokens: [a.refreshToken, b.refreshToken] });
    expect(byList.json).toMatchObject({ added: 1, updated: 1, rejected: 0 });

    const exp = await admin("GET", "/admin/accounts/export");
    expect(exp.status).toBe(200);
    expect(exp.headers.get("cache-control")).toBe("no-store");
    expect(exp.json.version).toBe(1);
    expect(exp.text).toContain(b.refreshToken);
    const round = await admin("POST", "/admin/accounts/import", { text: exp.text });
    expect(round.json).toMatchObject({ format: "switchyard-export", added: 0, rejected: 0 });
    expect(round.json.updated).toBe(exp.json.accounts.length);

    expect((await admin("POST", "/admin/accounts/import", { text: "nothing" })).status).toBe(400);
    expect((await admin("POST", "/admin/accounts/import", {})).status).toBe(400);
    expect((await admin("POST", "/admin/accounts/import", { tokens: [] })).status).toBe(400);
  });
});

describe("admin oauth", () => {
  const browser = async (url: string, email: string) => {
    const res = await fetch(`${url}&login_hint=${encodeURIComponent(email)}`, { redirect: "manual" });
    expect(res.status).toBe(302);
    return res.headers.get("location")!;
  };

  test("start → remote browser → complete with the redirect URL adds the account", async () => {
    stack.sim.addAccount({ email: "remote@example.com" });
    const start = await admin("POST", "/admin/oauth/start", { redirectUri: "http://localhost:9/cb" });
    expect(start.status).toBe(200);
    const q = new URL(start.json.url).searchParams;
    expect(q.get("state")).toBe(start.json.state);
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("redirect_uri")).toBe("http://localhost:9/cb");
    expect(start.text).not.toMatch(/verifier/i);

    const location = await browser(start.json.url, "remote@example.com");
    const done = await admin("POST", "/admin/oauth/complete", { redirectUrl: location });
    expect(done.status).toBe(201);
    expect(done.json.account.email).toBe("remote@example.com");
    // single use
    const replay = await admin("POST", "/admin/oauth/complete", { redirectUrl: location });
    expect(replay.status).toBe(400);
    expect(replay.json.error.message).toContain("unknown or expired");
  });

  test("complete with state + bare code; mismatched or unknown state is a 400", async () => {
    const start = await admin("POST", "/admin/oauth/start", {});
    expect(start.json.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oauth-callback$/);
    const location = new URL(await browser(start.json.url, "first@example.com"));
    const code = location.searchParams.get("code")!;

    const mismatch = await admin("POST", "/admin/oauth/complete", { state: "other", redirectUrl: location.toString() });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.error.message).toContain("state mismatch");
    expect((await admin("POST", "/admin/oauth/complete", { state: "never-issued", code })).status).toBe(400);
    expect((await admin("POST", "/admin/oauth/complete", { state: start.json.state })).status).toBe(400);

    const ok = await admin("POST", "/admin/oauth/complete", { state: start.json.state, code });
    expect(ok.status).toBe(200); // first@ was already there: updated
    expect(ok.json).toMatchObject({ created: false, account: { email: "first@example.com" } });
  });

  test("status: pending until the browser's redirect reaches /oauth-callback, then done (or failed, with why); unknown states say so", async () => {
    const status = async (state: string) => (await admin("GET", `/admin/oauth/status?state=${encodeURIComponent(state)}`)).json;
    const start = await admin("POST", "/admin/oauth/start", {});
    expect(await status(start.json.state)).toEqual({ status: "pending", expiresAt: start.json.expiresAt });
    // the browser on this machine follows Google's redirect to the gateway: the login ends there
    const page = await fetch(await browser(start.json.url, "first@example.com"));
    expect(await page.text()).toContain("Account first@example.com updated");
    expect(await status(start.json.state)).toEqual({ status: "done", email: "first@example.com", created: false });

    const refused = await admin("POST", "/admin/oauth/start", {});
    const cb = new URL(await browser(refused.json.url, "first@example.com"));
    cb.searchParams.set("code", "4/0not-a-real-code");
    expect((await fetch(cb)).status).toBe(400);
    expect(await status(refused.json.state)).toMatchObject({
      status: "failed",
      error: expect.stringContaining("Google refused the authorization code"),
    });

    const cancelled = await admin("POST", "/admin/oauth/start", {});
    const back = new URL((await admin("POST", "/admin/oauth/start", {})).json.redirectUri);
    back.search = new URLSearchParams({ error: "access_denied", state: cancelled.json.state }).toString();
    expect((await fetch(back)).status).toBe(400);
    expect(await status(cancelled.json.state)).toMatchObject({ status: "failed", error: expect.stringContaining("cancelled") });

    expect(await status("never-issued")).toEqual({ status: "unknown" });
    expect((await admin("GET", "/admin/oauth/status")).status).toBe(400);
    expect((await admin("GET", `/admin/oauth/status?state=${start.json.state}`, undefined, null)).status).toBe(401);
  });
});

describe("admin pool", () => {
  test("every account with state, cooldowns and session bindings, and the mode", async () => {
    const r = await admin("GET", "/admin/pool");
    expect(r.status).toBe(200);
    expect(r.json.mode).toBe("sticky");
    expect(typeof r.json.sessions).toBe("number");
    expect(r.json.accounts.length).toBeGreaterThan(0);
    for (const a of r.json.accounts) {
      expect(typeof a.sessionBindings).toBe("number");
      expect(Array.isArray(a.cooldowns)).toBe(true);
      expect(a.state).toBeDefined();
    }
    expect(r.text).not.toContain(stack.accounts[0]!.refreshToken);
  });

  test("a page of accounts (offset, limit), those matching q, and how many match; a bad number is a 400 naming it", async () => {
    const all = await admin("GET", "/admin/pool");
    const emails = all.json.accounts.map((a: { email: string }) => a.email);
    expect(all.json.total).toBe(emails.length);
    expect(emails.length).toBeGreaterThan(1);
    const page = await admin("GET", "/admin/pool?offset=1&limit=1");
    expect(page.json.accounts.map((a: { email: string }) => a.email)).toEqual([emails[1]]);
    expect(page.json.total).toBe(emails.length);
    const beyond = await admin("GET", `/admin/pool?offset=${emails.length}&limit=5`);
    expect(beyond.json.accounts).toEqual([]);
    const one = emails[0]!;
    const found = await admin("GET", `/admin/pool?q=${encodeURIComponent(one.toUpperCase())}`);
    expect(found.json.accounts.map((a: { email: string }) => a.email)).toEqual([one]);
    expect(found.json.total).toBe(1);
    expect((await admin("GET", "/admin/pool?q=active")).json.total).toBe(
      all.json.accounts.filter((a: { state: string }) => a.state === "active").length,
    );
    expect((await admin("GET", "/admin/pool?q=nobody-here")).json).toMatchObject({ accounts: [], total: 0 });
    for (const [param, value] of [
      ["limit", "ten"],
      ["offset", "-1"],
    ]) {
      const bad = await admin("GET", `/admin/pool?${param}=${value}`);
      expect(bad.status).toBe(400);
      expect(bad.text).toContain(param);
    }
  });

  test("documented in /swagger under Admin", async () => {
    const res = await fetch(`${stack.url}/swagger/json`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
    const doc = await res.json();
    for (const p of ["/admin/accounts", "/admin/accounts/import", "/admin/oauth/start", "/admin/oauth/complete", "/admin/pool"])
      expect(doc.paths[p]).toBeDefined();
    expect(doc.paths["/admin/accounts"].get.tags).toEqual(["Admin"]);
  });
});

describe("admin oauth with the browser on the gateway's own callback", () => {
  // The callback carries no key (a browser redirect cannot); it needs a mode where the app lets it through.
  let open: Stack;
  beforeAll(async () => {
    open = await startStack({ accounts: 0, authMode: "off", delays: false });
  });
  afterAll(async () => {
    await open?.stop();
  });

  test("start without redirectUri → Google → GET /oauth-callback on the gateway adds the account", async () => {
    open.sim.addAccount({ email: "tab@example.com" });
    const h = { authorization: `Bearer ${open.adminKey}`, "content-type": "application/json" };
    const start = await (await fetch(`${open.url}/admin/oauth/start`, { method: "POST", headers: h, body: "{}" })).json();
    expect(start.redirectUri).toBe(`${open.url}/oauth-callback`);
    const google = await fetch(`${start.url}&login_hint=tab%40example.com`, { redirect: "manual" });
    const location = google.headers.get("location")!;
    expect(location.startsWith(`${open.url}/oauth-callback?`)).toBe(true);

    const forged = new URL(location);
    forged.searchParams.set("state", "forged");
    const bad = await fetch(forged);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("unknown or expired");

    const tab = await fetch(location);
    expect(tab.status).toBe(200);
    expect(await tab.text()).toContain("Account tab@example.com added");
    expect(open.pool.get("tab@example.com")?.state).toBe("active");
    expect((await fetch(location)).status).toBe(400); // single use
  });
});

describe("CLI and server on one data dir", () => {
  test("an account added and disabled by the CLI shows up in the running server without a restart", async () => {
    const acc = stack.sim.addAccount({ email: "from-cli@example.com" });
    const opts = { config: stack.ctx.config, dataDir: stack.dataDir };
    expect((await cli(["add", "--refresh-token", acc.refreshToken], opts)).code).toBe(0);
    const seen = async (pred: (a: { email: string; state: string }) => boolean) => {
      for (let i = 0; i < 100; i++) {
        const list = (await admin("GET", "/admin/accounts")).json as { email: string; state: string }[];
        if (list.some(pred)) return true;
        await Bun.sleep(100);
      }
      return false;
    };
    expect(await seen((a) => a.email === "from-cli@example.com" && a.state === "active")).toBe(true);
    expect((await cli(["disable", "from-cli@example.com"], opts)).code).toBe(0);
    expect(await seen((a) => a.email === "from-cli@example.com" && a.state === "disabled")).toBe(true);
  });

  test("an account the CLI disabled or removed keeps no sessions in the running server", async () => {
    const opts = { config: stack.ctx.config, dataDir: stack.dataDir };
    const others = stack.pool.list().filter((a) => a.state === "active");
    for (const a of others) await admin("POST", `/admin/accounts/${a.id}/disable`);
    try {
      for (const email of ["left-a@example.com", "left-b@example.com"]) {
        const acc = stack.sim.addAccount({ email });
        expect((await admin("POST", "/admin/accounts", { refreshToken: acc.refreshToken })).status).toBe(201);
        const r = await fetch(`${stack.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
          method: "POST",
          headers: { "x-goog-api-key": stack.apiKey, "content-type": "application/json", "x-session-id": `s-${email}` },
          body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
        });
        expect(r.headers.get("x-account-email")).toBe(email);
        expect((await cli([email === "left-a@example.com" ? "disable" : "remove", email], opts)).code).toBe(0);
        const view = async () =>
          (await admin("GET", "/admin/pool")).json as {
            sessions: number;
            accounts: { email: string; state: string; sessionBindings: number }[];
          };
        await until(async () => {
          const v = await view();
          const a = v.accounts.find((x) => x.email === email);
          return a ? a.state === "disabled" : true;
        }, "the server to see the CLI's change");
        const v = await view();
        expect(v.accounts.find((x) => x.email === email)?.sessionBindings ?? 0).toBe(0);
        expect(v.sessions).toBe(v.accounts.reduce((n, a) => n + a.sessionBindings, 0));
      }
    } finally {
      for (const a of others) await admin("POST", `/admin/accounts/${a.id}/enable`);
    }
  });

  test("an account the CLI just removed: enabling it through the API is a 404, not a client error about the answer", async () => {
    const acc = stack.sim.addAccount({ email: "gone-by-cli@example.com" });
    expect((await admin("POST", "/admin/accounts", { refreshToken: acc.refreshToken })).status).toBe(201);
    expect((await cli(["remove", "gone-by-cli@example.com"], { config: stack.ctx.config, dataDir: stack.dataDir })).code).toBe(0);
    // at once, before the server's watch of the file saw it
    const r = await admin("POST", "/admin/accounts/gone-by-cli@example.com/enable");
    expect(r.status).toBe(404);
    expect(r.json.error.message).toContain("no account matches");
  });
});

describe("when the store cannot be written", () => {
  test("adding or disabling an account is a 507 naming the storage problem, and nothing changes", async () => {
    const { mkdirSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const bak = join(stack.dataDir, "accounts.json.bak");
    const before = (await admin("GET", "/admin/accounts")).json as { email: string; state: string }[];
    rmSync(bak, { force: true });
    mkdirSync(join(bak, "in-the-way"), { recursive: true }); // makes every write fail (the tests run as root)
    try {
      const acc = stack.sim.addAccount({ email: "unsaved@example.com" });
      const add = await admin("POST", "/admin/accounts", { refreshToken: acc.refreshToken });
      expect(add.status).toBe(507);
      expect(add.json.error.message).toContain("could not save the account store");
      expect(add.text).not.toContain(acc.refreshToken);
      const victim = before.find((a) => a.state === "active")!;
      const dis = await admin("POST", `/admin/accounts/${encodeURIComponent(victim.email)}/disable`);
      expect(dis.status).toBe(507);
      const after = (await admin("GET", "/admin/accounts")).json as { email: string; state: string }[];
      expect(after.map((a) => `${a.email}:${a.state}`)).toEqual(before.map((a) => `${a.email}:${a.state}`));
    } finally {
      rmSync(bak, { recursive: true, force: true });
    }
    // the next write succeeds, and with it nothing is left unsaved (otherwise shutdown would say so)
    const ok = await admin(
      "POST",
      `/admin/accounts/${encodeURIComponent(before[0]!.email)}/${before[0]!.state === "active" ? "enable" : "disable"}`,
    );
    expect(ok.status).toBe(200);
  });
});
