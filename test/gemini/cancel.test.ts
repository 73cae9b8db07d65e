// A client that goes away mid-stream must cancel the upstream call: the route passes the request's
// signal to the Gateway and stops reading its chunks. A scripted Gateway records what happened.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { geminiRoutes } from "../../src/gemini/routes";
import { buildApp, createHandler } from "../../src/server/app";
import type { Gateway, GenerateArgs, StreamResult } from "../../src/gateway/port";
import { scriptedContext } from "../helpers/context";
import { until } from "../helpers/util";

const events: string[] = [];
let server: ReturnType<typeof Bun.serve>;

/** streams chunks forever (until cancelled); "held" models answer only after 300 ms */
const gateway: Gateway = {
  generate: () => Promise.reject(new Error("unused")),
  countTokens: () => Promise.reject(new Error("unused")),
  async stream(args: GenerateArgs): Promise<StreamResult> {
    args.signal?.addEventListener("abort", () => events.push("signal aborted"));
    if (args.model === "held") await Bun.sleep(300);
    return {
      accountId: "a1",
      accountEmail: "a@example.com",
      mappedModel: args.model,
      chunks: (async function* () {
        try {
          for (let i = 0; ; i++) {
            yield { candidates: [{ content: { role: "model", parts: [{ text: `w${i} ` }] } }] };
            await Bun.sleep(20);
          }
        } finally {
          events.push("chunks closed");
        }
      })(),
    };
  },
};

beforeAll(() => {
  const ctx = scriptedContext(gateway, { auth: { mode: "off" }, log: { level: "silent" }, server: { keepAliveSeconds: 0.1 } });
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 0, fetch: createHandler(ctx, buildApp(ctx, [geminiRoutes(ctx)])) });
});
afterAll(() => server?.stop(true));

test.each([
  ["while chunks flow", "flowing"],
  ["while upstream has not answered yet (keep-alive phase)", "held"],
])("a client disconnect %s aborts the signal and closes the upstream stream", async (_, model) => {
  events.length = 0;
  const ac = new AbortController();
  const res = await fetch(`${server.url}v1beta/models/${model}:streamGenerateContent?alt=sse`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "go on forever" }] }] }),
    signal: ac.signal,
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  expect(first).toMatch(model === "held" ? /^: keep-alive/ : /^data: /);
  ac.abort();
  await until(() => events.includes("signal aborted") && events.includes("chunks closed"), "the upstream call to be cancelled");
  expect(events).toContain("signal aborted");
  expect(events).toContain("chunks closed");
});
