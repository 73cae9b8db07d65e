// The admin API for keys and usage, on a running gateway; and keys made by the CLI on the same data
// dir reach the running server without a restart.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { adminKeyRoutes } from "../../src/admin/keys";
import type { Gateway } from "../../src/gateway/port";
import { buildApp, createHandler } from "../../src/server/app";
import { runCli } from "../helpers/cli";
import { scriptedContext } from "../helpers/context";
import { startStack, type Stack } from "../helpers/stack";
import { until } from "../helpers/util";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: 1, delays: false });
});
afterAll(() => stack.stop());

const admin = (path: string, init: RequestInit = {}, key = stack.adminKey) =>
  fetch(`${stack.url}/admin${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...(init.headers ?? {}) },
  });

test("create, list, change, revoke; the new key works at once and then answers 401", async () => {
  const made = await admin("/keys", { method: "POST", body: JSON.stringify({ name: "ci", models: "gemini-*", rpm: 100 }) });
  expect(made.status).toBe(201);
  const k = await made.json();
  expect(k.key).toStartWith("sk-sy-");
  const call = () =>
    fetch(`${stack.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: "POST",
      headers: { "x-goog-api-key": k.key, "content-type": "application/json" },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
    });
  expect((await call()).status).toBe(200);
  const list = await (await admin("/keys")).json();
  expect(list.map((x: any) => x.name)).toContain("ci");
  expect(JSON.stringify(list)).not.toContain(k.key);
  const changed = await admin(`/keys/ci`, { method: "PATCH", body: JSON.stringify({ tpm: 5000, rpm: null }) });
  expect(await changed.json()).toMatchObject({ name: "ci", tpm: 5000, rpm: null });
  expect((await admin(`/keys/${k.id}`, { method: "DELETE" })).status).toBe(200);
  expect((await call()).status).toBe(401);
  const usage = await (await admin("/usage?since=1h&by=key")).json();
  expect(usage.find((r: any) => r.group === "ci")).toMatchObject({ requests: 1, errors: 0 });
  const listed = (await (await admin("/keys")).json()).find((x: any) => x.name === "ci");
  expect(listed.revokedAt).toBeGreaterThan(0);
  const ci = usage.find((r: any) => r.group === "ci");
  expect(listed.tokensToday).toBe(ci.input + ci.output + ci.thinking);
  const byModel = await admin("/usage?by=model");
  expect(byModel.status).toBe(200);
  expect((await byModel.json()).map((r: any) => r.group)).toContain("gemini-2.5-flash");
});

test("create takes models as a list, renames by PATCH, and a revoked key stays listed", async () => {
  const made = await admin("/keys", {
    method: "POST",
    body: JSON.stringify({ name: "lister", models: ["gemini-*", "claude-*"], concurrency: 2, monthlyTokens: 1000000, expires: "7d" }),
  });
  expect(made.status).toBe(201);
  const k = await made.json();
  expect(k).toMatchObject({ name: "lister", models: ["gemini-*", "claude-*"], concurrency: 2, monthlyTokens: 1000000, revokedAt: null });
  expect(k.expiresAt).toBeGreaterThan(Date.now() + 6 * 86_400_000);
  const renamed = await admin(`/keys/${k.id}`, {
    method: "PATCH",
    body: JSON.stringify({ name: "lister2", expires: "never", models: null }),
  });
  expect(renamed.status).toBe(200);
  expect(await renamed.json()).toMatchObject({ id: k.id, name: "lister2", expiresAt: null, models: null, concurrency: 2 });
  // 0 removes a model list as it removes a limit
  await admin(`/keys/${k.id}`, { method: "PATCH", body: JSON.stringify({ models: ["gemini-*"] }) });
  const zero = await admin(`/keys/${k.id}`, { method: "PATCH", body: JSON.stringify({ models: 0 }) });
  expect(zero.status).toBe(200);
  expect((await zero.json()).models).toBeNull();
  const gone = await admin("/keys/lister2", { method: "DELETE" });
  expect((await gone.json()).revokedAt).toBeGreaterThan(0);
  // a revoked key is not changed any more (an edit form left open must not look as if it saved)
  const late = await admin("/keys/lister2", { method: "PATCH", body: JSON.stringify({ rpm: 5 }) });
  expect(late.status).toBe(409);
  expect((await late.json()).error.message).toContain("revoked");
  expect((await (await admin("/keys")).json()).find((x: any) => x.id === k.id)).toMatchObject({ name: "lister2" });
});

test("errors: no admin key 401, an unknown key 404, a bad field 400 naming it", async () => {
  expect((await admin("/keys", {}, "wrong")).status).toBe(401);
  expect((await admin("/keys", {}, stack.apiKey)).status).toBe(401);
  expect((await admin("/usage", {}, "wrong")).status).toBe(401);
  const missing = await admin("/keys/nobody", { method: "DELETE" });
  expect(missing.status).toBe(404);
  expect((await missing.json()).error.message).toContain("nobody");
  expect((await admin("/keys/nobody", { method: "PATCH", body: JSON.stringify({ rpm: 5 }) })).status).toBe(404);
  const bad = await admin("/keys", { method: "POST", body: JSON.stringify({ name: "bad", rpm: -1 }) });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(await bad.json())).toContain("rpm");
  const expires = await admin("/keys", { method: "POST", body: JSON.stringify({ name: "bad2", expires: "soon" }) });
  expect(expires.status).toBe(400);
  expect((await expires.json()).error.message).toStartWith("expires");
  const dup = await admin("/keys", { method: "POST", body: JSON.stringify({ name: "twice" }) });
  expect(dup.status).toBe(201);
  expect((await admin("/keys", { method: "POST", body: JSON.stringify({ name: "twice" }) })).status).toBe(409);
  // the names usage gives configured keys and keyless callers: a key of that name would share their budget
  for (const name of ["config", "anonymous", "Config"]) {
    const reserved = await admin("/keys", { method: "POST", body: JSON.stringify({ name }) });
    expect(reserved.status).toBe(400);
    expect((await reserved.json()).error.message).toStartWith(`the name "${name}" is reserved`);
  }
  expect((await admin("/keys/twice", { method: "PATCH", body: JSON.stringify({ name: "config" }) })).status).toBe(400);
  expect((await admin("/usage?since=whenever")).status).toBe(400);
  const by = await admin("/usage?by=week");
  expect(by.status).toBe(400);
  expect(JSON.stringify(await by.json())).toContain("by");
  const patch = await admin("/keys/twice", { method: "PATCH", body: JSON.stringify({ dailyTokens: "lots" }) });
  expect(patch.status).toBe(400);
  expect(JSON.stringify(await patch.json())).toContain("dailyTokens");
  // a number written as a string is not a number: refused, not silently converted
  const quoted = await admin("/keys", { method: "POST", body: JSON.stringify({ name: "quoted", rpm: "10" }) });
  expect(quoted.status).toBe(400);
  expect((await quoted.json()).error.message).toContain("rpm");
  const quotedPatch = await admin("/keys/twice", { method: "PATCH", body: JSON.stringify({ concurrency: "2" }) });
  expect(quotedPatch.status).toBe(400);
  expect(JSON.stringify(await quotedPatch.json())).toContain("concurrency");
});

test("a server without virtual keys answers 503 on these routes", async () => {
  const ctx = scriptedContext({} as Gateway, {
    auth: { mode: "strict", apiKeys: ["sk-api"], adminKey: "sk-admin" },
    log: { level: "silent" },
  });
  const handle = createHandler(ctx, buildApp(ctx, [adminKeyRoutes(ctx)]));
  const call = (path: string, init: RequestInit = {}) =>
    handle(
      new Request(`http://127.0.0.1${path}`, {
        ...init,
        headers: { host: "127.0.0.1", authorization: "Bearer sk-admin", "content-type": "application/json" },
      }),
    );
  for (const r of [
    await call("/admin/keys"),
    await call("/admin/usage"),
    await call("/admin/keys", { method: "POST", body: '{"name":"x"}' }),
  ]) {
    expect(r.status).toBe(503);
    expect((await r.json()).error.message).toContain("virtual keys");
  }
});

test("a key the CLI creates on the server's data dir works without a restart", async () => {
  const r = await runCli(["keys", "create", "--name", "from-cli", "--json", "--data-dir", stack.dataDir]);
  expect(r.code).toBe(0);
  const secret = JSON.parse(r.stdout).key;
  await until(async () => (await (await admin("/keys")).json()).some((k: any) => k.name === "from-cli"), "the server to see the key");
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "hi" }] }),
  });
  expect(res.status).toBe(200);

  // a name the CLI has just taken, before the server's next reload: 409, not a 500 from SQLite
  expect((await runCli(["keys", "create", "--name", "cli-race", "--data-dir", stack.dataDir])).code).toBe(0);
  const dup = await admin("/keys", { method: "POST", body: JSON.stringify({ name: "cli-race" }) });
  expect(dup.status).toBe(409);
  expect((await admin("/keys/from-cli", { method: "PATCH", body: JSON.stringify({ name: "cli-race" }) })).status).toBe(409);
});
