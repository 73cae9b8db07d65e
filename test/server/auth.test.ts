// Every auth mode × every key carrier, admin rules, and 401 before 400 — over HTTP.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startStack, type Stack } from "../helpers/stack";

type Carrier = (key: string) => { headers?: Record<string, string>; query?: string };
const CARRIERS: Record<string, Carrier> = {
  "Authorization: Bearer": (k) => ({ headers: { authorization: `Bearer ${k}` } }),
  "x-api-key": (k) => ({ headers: { "x-api-key": k } }),
  "x-goog-api-key": (k) => ({ headers: { "x-goog-api-key": k } }),
  "?key=": (k) => ({ query: `?key=${encodeURIComponent(k)}` }),
};

async function get(stack: Stack, path: string, carrier?: Carrier, key?: string) {
  const c = carrier && key !== undefined ? carrier(key) : {};
  return fetch(stack.url + path + (c.query ?? ""), { headers: c.headers });
}

const MODES = ["off", "strict", "all_except_health", "auto"] as const;

for (const mode of MODES) {
  describe(`auth.mode=${mode}`, () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ authMode: mode, config: { auth: { apiKeys: ["first-key", "second-key"] } } });
    });
    afterAll(() => stack.stop());
    // on a loopback listener `auto` means `off`
    const needsKey = mode === "strict" || mode === "all_except_health";

    for (const [name, carrier] of Object.entries(CARRIERS)) {
      test(`${name}: right key → 200, wrong key → ${needsKey ? 401 : 200}`, async () => {
        expect((await get(stack, "/v1beta/models", carrier, "second-key")).status).toBe(200);
        const wrong = await get(stack, "/v1beta/models", carrier, "nope");
        expect(wrong.status).toBe(needsKey ? 401 : 200);
        if (needsKey) expect((await wrong.json()).error.status).toBe("UNAUTHENTICATED");
      });
    }

    test(`no key → ${needsKey ? 401 : 200}`, async () => {
      expect((await get(stack, "/v1/models")).status).toBe(needsKey ? 401 : 200);
    });

    test("health", async () => {
      expect((await get(stack, "/healthz")).status).toBe(mode === "strict" ? 401 : 200);
      expect((await get(stack, "/health")).status).toBe(mode === "strict" ? 401 : 200);
    });

    test("Swagger UI's own script and style load without a key (a browser cannot attach one to them); the document needs one with strict", async () => {
      expect((await get(stack, "/swagger/assets/swagger-ui-bundle.js")).status).toBe(200);
      expect((await get(stack, "/swagger/assets/swagger-ui.css")).status).toBe(200);
      expect((await get(stack, "/swagger/json")).status).toBe(mode === "strict" ? 401 : 200);
    });

    test("admin always needs the admin key, never an API key when an admin key is set", async () => {
      expect((await get(stack, "/admin/accounts")).status).toBe(401);
      expect((await get(stack, "/admin/accounts", CARRIERS["Authorization: Bearer"], "first-key")).status).toBe(401);
      expect((await get(stack, "/admin/accounts", CARRIERS["x-api-key"], stack.adminKey)).status).toBe(200);
    });

    if (needsKey)
      test("401 comes before body validation", async () => {
        const r = await fetch(stack.url + "/v1/chat/completions", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{not json",
        });
        expect(r.status).toBe(401);
        const body = await r.json();
        expect(body.error.type).toBe("authentication_error");
      });
  });
}

describe("admin without an admin key", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ authMode: "off" });
    stack.ctx.config.auth.adminKey = undefined;
  });
  afterAll(() => stack.stop());

  test("an API key opens /admin, even with auth.mode=off no key does not", async () => {
    expect((await fetch(stack.url + "/admin/pool")).status).toBe(401);
    expect((await fetch(stack.url + "/admin/pool", { headers: { authorization: `Bearer ${stack.apiKey}` } })).status).toBe(200);
  });
});

describe("auth on with no key configured", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ authMode: "strict" });
    stack.ctx.config.auth.apiKeys = [];
  });
  afterAll(() => stack.stop());

  test("every protected request gets 401 saying how to set a key", async () => {
    const r = await fetch(stack.url + "/v1/models", { headers: { authorization: "Bearer anything" } });
    expect(r.status).toBe(401);
    expect((await r.json()).error.message).toContain("SWITCHYARD_API_KEY");
  });
});
