// What an operator reads: /metrics that promtool accepts (counters are counters), open streams counted
// as in flight until they end, build_info, and /readyz beside the /healthz liveness check.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startStack, type Stack } from "../helpers/stack";
import { until } from "../helpers/util";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ accounts: 1, delays: false });
});
afterAll(() => stack.stop());

const scrape = async () => (await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).text();
const value = (text: string, series: string) =>
  Number(
    text
      .split("\n")
      .find((l) => l.startsWith(series + " "))
      ?.split(" ")[1],
  );

test("process CPU is a counter, and build_info names the build", async () => {
  const text = await scrape();
  expect(text).toContain("# TYPE switchyard_process_cpu_seconds_total counter");
  expect(text).toMatch(/switchyard_process_cpu_seconds_total\{mode="user"\} [\d.e-]+/);
  expect(text).toMatch(/switchyard_build_info\{version="[^"]+",commit="[^"]+",bun="[^"]+"\} 1/);
  for (const line of text.split("\n").filter((l) => l.startsWith("# TYPE")))
    if (line.split(" ")[2]!.endsWith("_total")) expect(line).toEndWith("counter");
});

test("an open stream counts as in flight until its body ends", async () => {
  stack.sim.addFault({ kind: "delay", method: "streamGenerateContent", delayMs: 300, times: 1 });
  const res = fetch(`${stack.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, {
    method: "POST",
    headers: { "x-goog-api-key": stack.apiKey, "content-type": "application/json" },
    body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
  });
  // the stream itself and this scrape
  await until(async () => value(await scrape(), "switchyard_http_in_flight_requests") >= 2, "the stream to count as in flight");
  await (await res).text();
  await until(async () => value(await scrape(), "switchyard_http_in_flight_requests") === 1, "only the scrape in flight");
});

test("/readyz: 200 with an account that can serve, 503 without (authenticated like /healthz)", async () => {
  const get = (path: string) => fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
  const ok = await get("/readyz");
  expect(ok.status).toBe(200);
  expect(await ok.json()).toMatchObject({ status: "ready", accounts: { total: 1, available: 1 } });
  await stack.pool.setEnabled(stack.accounts[0]!.email, false);
  const not = await get("/readyz");
  expect(not.status).toBe(503);
  expect(await not.json()).toMatchObject({ status: "not_ready", reason: "no account can serve right now" });
  expect((await get("/healthz")).status).toBe(200);
  await stack.pool.setEnabled(stack.accounts[0]!.email, true);
  expect((await get("/readyz")).status).toBe(200);

  // out of quota for every model it serves: not ready either, though no cooldown is account-wide
  const email = stack.accounts[0]!.email;
  await stack.pool.refresh();
  const models = Object.keys(stack.pool.get(email)!.quota ?? {});
  expect(models.length).toBeGreaterThan(1);
  stack.sim.addAccount({ email, quota: Object.fromEntries(models.map((m) => [m, 0])) });
  await stack.pool.refresh();
  const empty = await get("/readyz");
  expect(empty.status).toBe(503);
  expect(await empty.json()).toMatchObject({ accounts: { total: 1, available: 0 } });
  expect(value(await scrape(), 'switchyard_pool_accounts{kind="available"}')).toBe(0);
  // one model back: ready again
  stack.sim.addAccount({ email, quota: { [models[0]!]: 0.5 } });
  await stack.pool.refresh();
  expect((await get("/readyz")).status).toBe(200);
  stack.sim.addAccount({ email, quota: Object.fromEntries(models.map((m) => [m, 1])) });
  await stack.pool.refresh();
});

test("after traffic on all three protocols: requests by protocol, model, account and status; tokens; per-account quota and state", async () => {
  const body = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] });
  const h = { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" };
  await stack.pool.refresh(); // quota for every account
  expect((await fetch(`${stack.url}/v1beta/models/gemini-2.5-flash:generateContent`, { method: "POST", headers: h, body })).status).toBe(
    200,
  );
  const chat = { model: "gemini-2.5-flash", messages: [{ role: "user", content: "hi" }] };
  expect((await fetch(`${stack.url}/v1/chat/completions`, { method: "POST", headers: h, body: JSON.stringify(chat) })).status).toBe(200);
  const msg = { model: "gemini-2.5-flash", max_tokens: 20, messages: [{ role: "user", content: "hi" }] };
  expect((await fetch(`${stack.url}/v1/messages`, { method: "POST", headers: h, body: JSON.stringify(msg) })).status).toBe(200);
  const text = await scrape();
  const email = stack.accounts[0]!.email;
  for (const protocol of ["gemini", "openai", "anthropic"])
    expect(text).toContain(`switchyard_requests_total{protocol="${protocol}",model="gemini-2.5-flash",account="${email}",status="200"} `);
  expect(text).toMatch(/switchyard_tokens_total\{direction="output",model="gemini-2\.5-flash",key="config"\} [1-9]/);
  expect(text).toContain('switchyard_accounts{state="active"} 1');
  expect(text).toMatch(
    new RegExp(`switchyard_account_quota_remaining_ratio\\{account="${email.replace(".", "\\.")}",model="gemini-2\\.5-flash"\\} [\\d.]+`),
  );
  expect(text).toContain("# TYPE switchyard_open_streams gauge");
});

test("a rate-limited account: its cooldown with the seconds left and the reason", async () => {
  const email = stack.accounts[0]!.email;
  stack.sim.addFault({ kind: "rate_limited", email, resetSeconds: 60, times: 1 });
  const body = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] });
  const res = await fetch(`${stack.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" },
    body,
  });
  expect(res.status).toBe(429);
  const text = await scrape();
  // a failed request is counted under the account and model it was tried on, not "-"
  expect(text).toContain(`switchyard_requests_total{protocol="gemini",model="gemini-2.5-flash",account="${email}",status="429"} 1`);
  const line = text.split("\n").find((l) => l.startsWith("switchyard_account_cooldown_seconds{"));
  expect(line).toMatch(
    new RegExp(`^switchyard_account_cooldown_seconds\\{account="${email.replace(".", "\\.")}",model="[^"]+",reason="[^"]+"\\} `),
  );
  const left = Number(line!.split(" ")[1]);
  expect(left).toBeGreaterThan(0);
  expect(left).toBeLessThanOrEqual(60);
});

test('made-up model names add no series: they count as model="other"', async () => {
  const h = { authorization: `Bearer ${stack.apiKey}`, "content-type": "application/json" };
  for (let i = 0; i < 20; i++) {
    const body = JSON.stringify({ model: `no-such-model-${i}`, messages: [{ role: "user", content: "x" }] });
    expect((await fetch(`${stack.url}/v1/chat/completions`, { method: "POST", headers: h, body })).status).toBe(404);
  }
  const text = await scrape();
  expect(text).not.toContain("no-such-model-");
  expect(text).toMatch(/switchyard_requests_total\{protocol="openai",model="other",account="[^"]+",status="404"\} 20/);
});
