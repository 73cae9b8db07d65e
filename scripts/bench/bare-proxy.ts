#!/usr/bin/env bun
// The floor the gateway is read against: the least a Bun proxy must do for a Gemini generateContent —
// parse the client's JSON, wrap it in the v1internal envelope as the gateway does, call the simulator,
// unwrap `response`, answer. No accounts, auth, validation, logging or metrics.
// Run as a script: env BARE_UPSTREAM (simulator URL), BARE_TOKEN (its access token), BARE_PROJECT; prints
// {url} when ready.
/** the bare proxy's request handler (also run in-process by scripts/bench/census.ts --trees bare,…) */
export function bareProxy(upstream: string, token: string, project: string) {
  return async function fetch(req: Request): Promise<Response> {
    // /v1beta/models/<model>:generateContent
    const model = /\/models\/([^/:]+):/.exec(new URL(req.url).pathname)?.[1] ?? "gemini-2.5-flash";
    const request = (await req.json()) as Record<string, unknown>;
    const envelope = {
      model,
      project,
      requestId: `agent-${crypto.randomUUID()}`,
      requestType: "agent",
      userAgent: "antigravity",
      request: { ...request, sessionId: "-1" },
    };
    const res = await globalThis.fetch(`${upstream}/v1internal:generateContent`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(envelope),
    });
    const answer = (await res.json()) as { response?: unknown };
    return Response.json(res.ok ? answer.response : answer, { status: res.status });
  };
}

if (import.meta.main) {
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: bareProxy(process.env.BARE_UPSTREAM!, process.env.BARE_TOKEN!, process.env.BARE_PROJECT!),
  });
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.port}` }));
}
