// The admin API for keys and usage, on a running gateway; and keys made by the CLI on the same data
// dir reach the running server without a restart.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { runCli } from "../helpers/cli";
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
});

test("errors: no admin key 401, an unknown key 404, a bad field 400 naming it", async () => {
  expect((await admin("/keys", {}, "wrong")).status).toBe(401);
  const missing = await admin("/keys/nobody", { method: "DELETE" });
  expect(missing.status).toBe(404);
  const bad = await admin("/keys", { method: "POST", body: JSON.stringify({ name: "bad", rpm: -1 }) });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(await bad.json())).toContain("rpm");
  const expires = await admin("/keys", { method: "POST", body: JSON.stringify({ name: "bad2", expires: "soon" }) });
  expect(expires.status).toBe(400);
  expect((await expires.json()).error.message).toStartWith("expires");
  const dup = await admin("/keys", { method: "POST", body: JSON.stringify({ name: "twice" }) });
  expect(dup.status).toBe(201);
  expect((await admin("/keys", { method: "POST", body: JSON.stringify({ name: "twice" }) })).status).toBe(409);
  expect((await admin("/usage?since=whenever")).status).toBe(400);
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
});
