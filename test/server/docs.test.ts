// /swagger is served from the binary with no external URL; /swagger/json documents every route.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startStack, type Stack } from "../helpers/stack";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ authMode: "all_except_health" });
});
afterAll(() => stack.stop());

describe("/swagger", () => {
  test("the page and its assets load from the gateway itself", async () => {
    const r = await fetch(stack.url + "/swagger");
    expect(r.status).toBe(200);
    const html = await r.text();
    expect(html).toContain("SwaggerUIBundle");
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(2);
    for (const ref of refs) {
      expect(ref.startsWith("/")).toBe(true);
      const a = await fetch(stack.url + ref);
      expect(a.status).toBe(200);
      expect((await a.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain('"validatorUrl":"none"');
  });

  test("an asset name that is a property of every object (__proto__, toString) is a 404, not a 500", async () => {
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty", "nope.js"]) {
      const r = await fetch(`${stack.url}/swagger/assets/${name}`);
      expect(r.status, name).toBe(404);
      await r.arrayBuffer();
    }
  });

  test("a trailing slash redirects to /swagger (the UI loads the spec relatively)", async () => {
    const r = await fetch(stack.url + "/swagger/", { redirect: "manual" });
    expect(r.status).toBe(301);
    expect(r.headers.get("location")).toBe("/swagger");
  });

  test("the OpenAPI document lists every route, grouped by tag, with the auth schemes", async () => {
    const doc = await (await fetch(stack.url + "/swagger/json")).json();
    const tags = doc.tags.map((t: { name: string }) => t.name);
    expect(tags).toEqual(expect.arrayContaining(["Gemini", "OpenAI", "Anthropic", "Admin", "Operations"]));
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(["bearer", "xApiKey", "googApiKey", "queryKey"]));
    const paths = Object.keys(doc.paths);
    for (const p of [
      "/healthz",
      "/health",
      "/metrics",
      "/v1/models",
      "/v1/chat/completions",
      "/v1/images/generations",
      "/v1/images/edits",
      "/v1/messages",
      "/v1/messages/count_tokens",
      "/admin/pool",
    ])
      expect(paths).toContain(p);
    expect(paths.some((p) => p.startsWith("/v1beta/models"))).toBe(true);
    // every operation has a tag
    for (const [path, ops] of Object.entries<Record<string, { tags?: string[] }>>(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        if (!op || typeof op !== "object" || !("responses" in op || "tags" in op)) continue;
        expect({ path, method, tags: op.tags?.length ?? 0 }).toEqual({ path, method, tags: expect.any(Number) });
        expect(op.tags?.length ?? 0).toBeGreaterThan(0);
      }
  });
});

describe("/metrics", () => {
  test("Prometheus text with request, latency, in-flight, memory and pool series", async () => {
    await fetch(stack.url + "/v1/models", { headers: { authorization: `Bearer ${stack.apiKey}` } });
    await fetch(stack.url + "/v1/models");
    const r = await fetch(stack.url + "/metrics", { headers: { authorization: `Bearer ${stack.apiKey}` } });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/plain");
    const text = await r.text();
    expect(text).toMatch(/switchyard_http_requests_total\{family="openai",status="200"\} [1-9]/);
    expect(text).toMatch(/switchyard_http_requests_total\{family="openai",status="401"\} [1-9]/);
    expect(text).toContain("switchyard_http_request_duration_seconds_bucket");
    expect(text).toContain("switchyard_http_in_flight_requests");
    expect(text).toMatch(/switchyard_process_resident_memory_bytes \d+/);
    expect(text).toMatch(/switchyard_pool_accounts\{kind="total"\} 1/);
  });

  test("/healthz reports the account counts and the client identity in use", async () => {
    await stack.pool.identity.refresh(); // the start-up lookup runs in the background
    const b = await (await fetch(stack.url + "/healthz")).json();
    expect(b).toEqual({
      status: "ok",
      version: expect.any(String),
      accounts: { total: 1, available: 1 },
      client: {
        userAgent: expect.stringMatching(/^antigravity\/2\.9\.4 (linux|darwin|windows)\/(amd64|arm64)$/),
        version: "2.9.4", // what the simulator's updater announces
        source: "discovered",
        versionUrl: expect.stringContaining("/api/update/"),
        checkedAt: expect.any(String),
      },
    });
  });
});
