// The dashboard's security over plain HTTP (no browser): the session cookie's flags, the CSP, the Origin
// check on state changes, the sign-in slow-down, and no secret in any /ui answer.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startStack, type Stack } from "../helpers/stack";
import { userText } from "../helpers/util";
import { Sessions, SignInThrottle } from "../../src/ui/sessions";
import { bucketLabels } from "../../src/ui/routes";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: 2, delays: false });
});
afterAll(() => stack.stop());

/** a /ui call as the dashboard's page makes it: same origin, the session cookie */
const ui = (path: string, init: RequestInit & { cookie?: string; origin?: string | null } = {}) => {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (init.cookie) headers.cookie = init.cookie;
  const origin = init.origin === undefined ? stack.url : init.origin;
  if (origin !== null) headers.origin = origin;
  if (init.body) headers["content-type"] = "application/json";
  return fetch(`${stack.url}/ui${path}`, { ...init, headers, redirect: "manual" });
};

async function signIn(key = stack.adminKey): Promise<string> {
  const res = await ui("/login", { method: "POST", body: JSON.stringify({ key }) });
  expect(res.status).toBe(200);
  return res.headers.get("set-cookie")!.split(";")[0]!;
}

test("the session cookie: HttpOnly, SameSite=Strict, scoped to /ui, an expiry, a fresh random id each time", async () => {
  const res = await ui("/login", { method: "POST", body: JSON.stringify({ key: stack.adminKey }) });
  expect(res.status).toBe(200);
  const set = res.headers.get("set-cookie")!;
  expect(set).toMatch(/^switchyard_ui=[\w-]{43}; /);
  expect(set).toContain("HttpOnly");
  expect(set).toContain("SameSite=Strict");
  expect(set).toContain("Path=/ui");
  expect(set).toMatch(/Max-Age=43200/);
  expect(set).not.toContain(stack.adminKey);
  const other = await signIn();
  expect(other).not.toBe(set.split(";")[0]);
});

test("nothing but the form and its assets without a session; a forged cookie is no session", async () => {
  expect((await ui("/")).status).toBe(200);
  const form = await ui("");
  expect(form.status).toBe(200);
  const html = await form.text();
  expect(html).toContain('id="signin"');
  expect(html).not.toContain("app.js");
  expect((await ui("/assets/login.js")).status).toBe(200);
  expect((await ui("/assets/app.css")).status).toBe(200);
  for (const path of ["/assets/app.js", "/api/overview", "/api/usage", "/api/live", "/api/admin/accounts", "/api/admin/keys"]) {
    const res = await ui(path);
    expect(res.status, path).toBe(401);
    expect((await res.json()).error.message).toContain("sign in");
    expect((await ui(path, { cookie: "switchyard_ui=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" })).status, path).toBe(401);
  }
  // with a session, the page is the dashboard
  const page = await (await ui("", { cookie: await signIn() })).text();
  expect(page).toContain("app.js");
});

test("a wrong key, an API key while an admin key is set, and a key sent to /ui as a header are all refused", async () => {
  expect((await ui("/login", { method: "POST", body: JSON.stringify({ key: "sk-wrong" }) })).status).toBe(401);
  expect((await ui("/login", { method: "POST", body: JSON.stringify({ key: stack.apiKey }) })).status).toBe(401);
  const res = await ui("/api/admin/accounts", { headers: { authorization: `Bearer ${stack.adminKey}` } });
  expect(res.status).toBe(401);
  // a missing field is a 400 naming it
  const bad = await ui("/login", { method: "POST", body: JSON.stringify({}) });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(await bad.json())).toContain("key");
  await signIn(); // a success resets the count, so the slow-down test starts from zero
});

test("every /ui answer carries the CSP (no external source, frame-ancestors 'none') and no-store", async () => {
  const cookie = await signIn();
  for (const path of ["", "/assets/app.css", "/assets/login.js", "/assets/app.js", "/api/overview", "/api/admin/pool"]) {
    const res = await ui(path, { cookie });
    expect(res.status, path).toBe(200);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp, path).toContain("default-src 'none'");
    expect(csp, path).toContain("frame-ancestors 'none'");
    expect(csp, path).not.toMatch(/https?:|\*/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cache-control")).toBe("no-store");
    await res.arrayBuffer();
  }
});

test("the page's headers are on its errors too (401, 403, 404, 400), and /swagger cannot be framed", async () => {
  const cookie = await signIn();
  const answers = [
    await ui("/api/overview"), // 401: no session
    await ui("/logout", { method: "POST", origin: "https://evil.example" }), // 403: another origin
    await ui("/assets/nope.js", { cookie }), // 404
    await ui("/login", { method: "POST", body: "{" }), // 400
  ];
  expect(answers.map((r) => r.status)).toEqual([401, 403, 404, 400]);
  for (const res of answers) {
    expect(res.headers.get("content-security-policy"), String(res.status)).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cache-control")).toBe("no-store");
    await res.arrayBuffer();
  }
  for (const path of ["/swagger", "/swagger/json"]) {
    const res = await fetch(stack.url + path);
    expect(res.headers.get("x-frame-options"), path).toBe("DENY");
    expect(res.headers.get("content-security-policy"), path).toContain("frame-ancestors 'none'");
    await res.arrayBuffer();
  }
});

test("state changes need this very origin: none or another is refused, even with a session", async () => {
  const cookie = await signIn();
  const email = stack.accounts[0]!.email;
  const disable = (origin: string | null) => ui(`/api/admin/accounts/${email}/disable`, { method: "POST", cookie, origin });
  expect((await disable(null)).status).toBe(403);
  expect((await disable("http://evil.example")).status).toBe(403);
  expect((await ui("/login", { method: "POST", origin: null, body: JSON.stringify({ key: stack.adminKey }) })).status).toBe(403);
  expect(stack.pool.get(email)!.state).toBe("active");
  const ok = await disable(stack.url);
  expect(ok.status).toBe(200);
  expect((await ok.json()).state).toBe("disabled");
  expect((await ui(`/api/admin/accounts/${email}/enable`, { method: "POST", cookie })).status).toBe(200);
  // reads need a session only
  expect((await ui("/api/admin/accounts", { cookie, origin: null })).status).toBe(200);
});

test("the dashboard reaches the admin routes it uses, never the export (which holds refresh tokens)", async () => {
  const cookie = await signIn();
  const exp = await ui("/api/admin/accounts/export", { cookie });
  expect(exp.status).toBe(404);
  expect(await exp.text()).not.toContain(stack.accounts[0]!.refreshToken);
  expect((await ui("/api/admin/accounts/import", { method: "POST", cookie, body: JSON.stringify({ text: "x" }) })).status).toBe(404);
  // the admin route's own validation answers through it
  const bad = await ui("/api/admin/keys", { method: "POST", cookie, body: JSON.stringify({ name: "" }) });
  expect(bad.status).toBe(400);
});

test("signing out ends the session at once", async () => {
  const cookie = await signIn();
  expect((await ui("/api/overview", { cookie })).status).toBe(200);
  const out = await ui("/logout", { method: "POST", cookie });
  expect(out.status).toBe(200);
  expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
  expect((await ui("/api/overview", { cookie })).status).toBe(401);
});

test("no secret in any /ui answer: refresh and access tokens, the admin and API keys, a virtual key", async () => {
  const cookie = await signIn();
  // a virtual key made through the dashboard: its secret is in that one answer, and nowhere after
  const made = await (await ui("/api/admin/keys", { method: "POST", cookie, body: JSON.stringify({ name: "secret-check" }) })).json();
  expect(made.key).toStartWith("sk-sy-");
  const live = await ui("/api/live", { cookie });
  const reader = live.body!.getReader();
  const call = await fetch(`${stack.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
    method: "POST",
    headers: { "x-goog-api-key": made.key, "content-type": "application/json" },
    body: JSON.stringify(userText("a prompt that must not appear")),
  });
  expect(call.status).toBe(200);
  let stream = "";
  while (!stream.includes("event: request")) stream += new TextDecoder().decode((await reader.read()).value);
  await reader.cancel();
  expect(stream).toContain('"keyName":"secret-check"');
  const answers = [stream];
  for (const path of ["", "/assets/app.js", "/assets/login.js", "/api/overview", "/api/usage?range=7d&split=key"])
    answers.push(await (await ui(path, { cookie })).text());
  for (const path of ["accounts", "pool", "keys", "usage"]) answers.push(await (await ui(`/api/admin/${path}`, { cookie })).text());
  answers.push(await (await ui(`/api/admin/accounts/${stack.accounts[0]!.email}/refresh`, { method: "POST", cookie })).text());
  const all = answers.join("\n");
  expect(all).toContain(stack.accounts[0]!.email);
  const secrets = [stack.adminKey, stack.apiKey, made.key, ...stack.accounts.map((a) => a.refreshToken)];
  for (const s of secrets) expect(all).not.toContain(s);
  expect(all).not.toContain("ya29."); // the simulator's access tokens
  expect(all).not.toContain("a prompt that must not appear");
});

test("usage by hour, split by model, with every bucket of the range", async () => {
  const cookie = await signIn();
  const u = await (await ui("/api/usage?range=24h&split=model", { cookie })).json();
  expect(u.bucket).toBe("hour");
  expect(u.buckets.length).toBeGreaterThanOrEqual(24);
  expect(u.rows.length).toBeGreaterThan(0);
  for (const r of u.rows) expect(u.buckets).toContain(r.group);
  const bad = await ui("/api/usage?range=1y", { cookie });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(await bad.json())).toContain("range");
});

// last: it leaves the throttle counting
test("an asset name that is a property of every object is a 404, not a 500", async () => {
  const cookie = await signIn();
  for (const name of ["__proto__", "constructor", "toString"]) {
    const res = await ui(`/assets/${name}`, { cookie });
    expect(res.status, name).toBe(404);
    await res.arrayBuffer();
  }
});

test("the dashboard takes small bodies only: a big one at the open sign-in is a 413 before it is read", async () => {
  const res = await ui("/login", { method: "POST", body: JSON.stringify({ key: "x".repeat(1024 * 1024) }) });
  expect(res.status).toBe(413);
  expect(((await res.json()) as { error: { message: string } }).error.message).toContain("(the dashboard's)");
});

test("repeated wrong keys are slowed down: after three, a wait that even the right key must honour", async () => {
  for (let i = 0; i < 4; i++)
    expect((await ui("/login", { method: "POST", body: JSON.stringify({ key: `wrong-${i}` }) })).status).toBe(401);
  const held = await ui("/login", { method: "POST", body: JSON.stringify({ key: stack.adminKey }) });
  expect(held.status).toBe(429);
  expect(Number(held.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
});

describe("sessions and the throttle, on an injected clock", () => {
  test("a session expires; the oldest goes when too many are open", () => {
    let now = 0;
    const s = new Sessions(() => now, 1000);
    const a = s.create();
    expect(s.valid(a.id)).toBe(true);
    now = 999;
    expect(s.valid(a.id)).toBe(true);
    now = 1000;
    expect(s.valid(a.id)).toBe(false);
    const ids = Array.from({ length: 65 }, () => s.create().id);
    expect(s.valid(ids[0])).toBe(false);
    expect(s.valid(ids[64])).toBe(true);
    expect(s.valid(undefined)).toBe(false);
  });

  test("each address has its own count: a guesser elsewhere never delays the admin's sign-in", () => {
    let now = 0;
    const t = new SignInThrottle(() => now);
    for (let i = 0; i < 20; i++) {
      now += t.wait("203.0.113.9"); // a guesser that retries the moment its wait ends
      t.failed("203.0.113.9");
    }
    expect(t.wait("203.0.113.9")).toBe(60_000);
    expect(t.wait("127.0.0.1")).toBe(0);
    t.succeeded("127.0.0.1");
    expect(t.wait("203.0.113.9")).toBe(60_000);
  });

  test("the wait doubles from 1 s up to 60 s, and a quiet quarter hour forgets", () => {
    let now = 0;
    const t = new SignInThrottle(() => now);
    for (let i = 0; i < 3; i++) t.failed();
    expect(t.wait()).toBe(0);
    const waits = [];
    for (let i = 0; i < 8; i++) {
      t.failed();
      waits.push(t.wait());
      now += t.wait();
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    t.failed();
    now += 15 * 60_000 + 1;
    expect(t.wait()).toBe(0);
    t.failed();
    expect(t.wait()).toBe(0);
  });
});

test("bucket labels match the usage query's names", () => {
  const h = Date.UTC(2026, 0, 2, 3, 0, 0);
  expect(bucketLabels(h - 3_600_000, h + 60_000, "hour")).toEqual(["2026-01-02T02:00Z", "2026-01-02T03:00Z"]);
  expect(bucketLabels(h - 86_400_000, h, "day")).toEqual(["2026-01-01", "2026-01-02"]);
});
