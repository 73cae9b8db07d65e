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
});
