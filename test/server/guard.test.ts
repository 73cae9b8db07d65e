// What a web page cannot do to a gateway on this machine: call it from another origin, reach it under a
// rebound host name, or freeze it with a deeply nested body. Unit tables, then a real gateway with auth off
// (the default on loopback), spoken to over HTTP.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { validateConfig } from "../../src/config/load";
import { hostAllowed, hostName, originAllowed } from "../../src/server/guard";
import { jsonDepthOver } from "../../src/core/validation";
import { startStack, type Stack } from "../helpers/stack";

const cfg = (server: Record<string, unknown> = {}) => validateConfig({ server: { host: "127.0.0.1", ...server } }, "test");

describe("pure checks", () => {
  test.each([
    ["127.0.0.1:8045", "127.0.0.1"],
    ["localhost", "localhost"],
    ["[::1]:8045", "::1"],
    ["Example.ORG:80", "example.org"],
  ])("hostName(%s) = %s", (v, want) => expect(hostName(v)).toBe(want));

  test.each([
    [{}, "127.0.0.1:8045", true],
    [{}, "localhost:8045", true],
    [{}, "[::1]:8045", true],
    [{}, "app.localhost:8045", true],
    [{}, "attacker.example:8045", false], // DNS rebinding
    [{}, null, false],
    [{ allowedHosts: ["gw.lan"] }, "gw.lan:8045", true],
    [{ host: "0.0.0.0" }, "anything.example", true], // every interface, no list: names unknown
    [{ host: "0.0.0.0", allowedHosts: ["gw.lan"] }, "other.example", false],
    [{ host: "10.0.0.5" }, "10.0.0.5:8045", true],
  ] as [Record<string, unknown>, string | null, boolean][])("%j: Host %p → %p", (server, host, want) => {
    expect(hostAllowed(cfg(server), host)).toBe(want);
  });

  test.each([
    [{}, null, true], // not a browser's cross-origin call (curl, SDKs)
    [{}, "http://127.0.0.1:8045", true], // same origin (Swagger UI)
    [{}, "https://evil.example", false],
    [{}, "null", false],
    [{ allowedOrigins: ["https://app.example"] }, "https://app.example", true],
    [{ allowedOrigins: ["*"] }, "https://evil.example", true],
  ] as [Record<string, unknown>, string | null, boolean][])("%j: Origin %p → %p", (server, origin, want) => {
    expect(originAllowed(cfg(server), origin, "127.0.0.1:8045")).toBe(want);
  });

  test.each([
    ['{"a":[1,{"b":[2]}]}', 3, true],
    ['{"a":[1,{"b":[2]}]}', 4, false],
    ['{"a":[1,{"b":[[2]]}]}', 4, true],
    ['{"s":"[[[[[[[[[[[[[[[["}', 2, false], // brackets in strings do not count
    ['{"s":"\\"[[[[["}', 2, false], // nor after an escaped quote
    ['{"s":"\\\\"}', 1, false], // an escaped backslash ends the string at the next quote
    ['{"s":"\\\\\\"[["}', 1, false], // three backslashes: the quote is escaped, the brackets are text
    ['{"s":"a\\\\","t":[[1]]}', 2, true], // after "a\\" the string is over: [[1]] nests
    ['{"s":"[[[', 1, false], // a string never closed (the parser refuses it)
    ["[".repeat(30000) + "]".repeat(30000), 128, true],
  ])("jsonDepthOver, case %#", (text, max, want) => expect(jsonDepthOver(text as string, max as number)).toBe(want as boolean));

  test("the depth check stops at the first character past the limit (work bounded by the limit, not the body)", () => {
    // a body whose tail would break any parser: the answer comes from the first 129 characters
    const text = "[".repeat(129) + "\u0000".repeat(1_000_000);
    let reads = 0;
    const counting = {
      length: text.length,
      charCodeAt: (i: number) => (reads++, text.charCodeAt(i)),
      indexOf: (s: string, from: number) => (reads++, text.indexOf(s, from)),
    };
    expect(jsonDepthOver(counting as unknown as string, 128)).toBe(true);
    expect(reads).toBeLessThanOrEqual(129);
  });
});

describe("a real gateway with auth off (loopback default)", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ delays: false, authMode: "off" });
  });
  afterAll(() => s.stop());

  const chat = { model: "gemini-2.5-flash", messages: [{ role: "user", content: "hi" }] };
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${s.url}${path}`, { method: "POST", headers: { "content-type": "text/plain", ...headers }, body });

  test("a CORS-simple POST from a web page is refused in the route's shape; curl's is served", async () => {
    const evil = await post("/v1/chat/completions", JSON.stringify(chat), { origin: "https://evil.example" });
    expect(evil.status).toBe(403);
    expect(((await evil.json()) as any).error.message).toContain("server.allowedOrigins");
    const anth = await post("/v1/messages", JSON.stringify({ ...chat, max_tokens: 10 }), { origin: "https://evil.example" });
    expect(anth.status).toBe(403);
    expect(((await anth.json()) as any).type).toBe("error");
    const gem = await post("/v1beta/models/gemini-2.5-flash:generateContent", JSON.stringify({ contents: [{ parts: [{ text: "x" }] }] }), {
      origin: "https://evil.example",
    });
    expect(gem.status).toBe(403);
    expect(((await gem.json()) as any).error.code).toBe(403);
    expect(s.sim.requests({ method: "generateContent" }).length).toBe(0); // no quota spent
    expect((await post("/v1/chat/completions", JSON.stringify(chat))).status).toBe(200);
    expect((await post("/v1/chat/completions", JSON.stringify(chat), { origin: s.url })).status).toBe(200); // same origin
  });

  test("a rebound Host name is refused", async () => {
    const r = await fetch(`${s.url}/v1/models`, { headers: { host: "attacker.example:8045" } });
    expect(r.status).toBe(403);
    expect(((await r.json()) as any).error.message).toContain("server.allowedHosts");
  });

  test("a 59 KB body nested 30,000 deep is a 400 naming the limit on every JSON route, and the gateway stays up", async () => {
    const deep = `{"model":"gemini-2.5-flash","messages":${"[".repeat(30000)}${"]".repeat(30000)}}`;
    for (const path of [
      "/v1/chat/completions",
      "/v1/messages",
      "/v1/messages/count_tokens",
      "/v1beta/models/gemini-2.5-flash:generateContent",
      "/admin/accounts",
    ]) {
      const r = await post(path, deep, { authorization: `Bearer ${s.adminKey}` });
      expect(r.status).toBe(400);
      expect(JSON.stringify(await r.json())).toContain("server.maxJsonDepth");
    }
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });
});

describe("model names", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ delays: false, authMode: "off" });
  });
  afterAll(() => s.stop());

  const json = (path: string, body: unknown) =>
    fetch(`${s.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  test("control, non-Latin-1 and huge model names are a 400 naming model, before any upstream call", async () => {
    for (const model of ["gemini\u0000flash", "gémini-☃", "x".repeat(5_000_000)]) {
      const o = await json("/v1/chat/completions", { model, messages: [{ role: "user", content: "x" }] });
      expect(o.status).toBe(400);
      expect(((await o.json()) as any).error.param).toBe("model");
      const a = await json("/v1/messages", { model, max_tokens: 5, messages: [{ role: "user", content: "x" }] });
      expect(a.status).toBe(400);
      expect(a.headers.get("x-mapped-model")).toBeNull();
    }
    for (const seg of ["%F0%9F%98%80:generateContent", "x%2500:generateContent", "%252e%252e:generateContent"]) {
      const g = await json(`/v1beta/models/${seg}`, { contents: [{ parts: [{ text: "x" }] }] });
      expect(g.status).toBe(400);
      expect(((await g.json()) as any).error.code).toBe(400);
    }
    expect(s.sim.requests().filter((r) => r.method === "generateContent" || r.method === "streamGenerateContent")).toEqual([]);
  });
});

describe("raw HTTP edge cases", () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ delays: false, authMode: "off", config: { server: { bodyTimeoutSeconds: 0.2 } } });
  });
  afterAll(() => s.stop());

  /** what the server answers to raw bytes (the socket is closed after `holdMs` if the server has not) */
  const raw = (bytes: string, holdMs = 3000) =>
    new Promise<string>((resolve) => {
      let buf = "";
      const port = Number(new URL(s.url).port);
      void Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open: (sock) => void sock.write(bytes),
          data: (_sock, d) => void (buf += new TextDecoder().decode(d)),
          close: () => resolve(buf),
          error: () => resolve(buf),
        },
      }).then((sock) => setTimeout(() => (sock.end(), resolve(buf)), holdMs));
    });

  test("HTTP/1.0 without a Host, and CONNECT: 400 with a JSON body, not a 500", async () => {
    for (const head of ["GET /healthz HTTP/1.0\r\n\r\n", "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n"]) {
      const out = await raw(head, 500);
      expect(out).toStartWith("HTTP/1.1 400");
      expect(out).toContain('"error"');
      // every answer carries a request id, these too
      expect(out).toMatch(/\r\nx-request-id: [0-9a-f-]{36}\r\n/i);
    }
  });

  test("a body that stops arriving gets a 408 in the route's shape (server.bodyTimeoutSeconds), not a connection held forever", async () => {
    const head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n";
    const out = await raw(head + '{"model":"gemini', 3000);
    expect(out).toStartWith("HTTP/1.1 408");
    expect(out).toContain("server.bodyTimeoutSeconds");
  });
});

describe("a short Host cannot move the router's path away from the one auth checked", () => {
  let s: Stack;
  beforeAll(async () => {
    // any Host accepted (as with --host 0.0.0.0 and no list): the keys are the only guard
    s = await startStack({ delays: false, authMode: "all_except_health", config: { server: { allowedHosts: ["*"] } } });
  });
  afterAll(() => s.stop());

  const raw = (bytes: string) =>
    new Promise<string>((resolve) => {
      let buf = "";
      void Bun.connect({
        hostname: "127.0.0.1",
        port: Number(new URL(s.url).port),
        socket: {
          open: (sock) => void sock.write(bytes),
          data: (_sock, d) => void (buf += new TextDecoder().decode(d)),
          close: () => resolve(buf),
          error: () => resolve(buf),
        },
      });
    });

  test.each([
    ["a '#' padding the path, no key", "GET /##/admin/accounts/export", "a", ""],
    ["a one-letter host, no key", "POST /xx/admin/keys", "a", ""],
    ["a double slash with the client key", "GET //admin/accounts/export", "abc", "client"],
    ["a padded path with the client key", "GET /xx/admin/keys", "a", "client"],
  ])("%s: never the admin API", async (_name, line, host, who) => {
    const key = who === "client" ? `Authorization: Bearer ${s.apiKey}\r\n` : "";
    const body = line.startsWith("POST") ? '{"name":"minted"}' : "";
    const out = await raw(
      `${line} HTTP/1.1\r\nHost: ${host}\r\n${key}Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    const status = Number(out.slice(9, 12));
    expect([400, 401, 404]).toContain(status);
    expect(out).not.toContain("refreshToken");
    expect(out).not.toContain("sk-sy-");
  });

  test("an ordinary request with a short Host still works", async () => {
    const out = await raw(`GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    expect(out).toStartWith("HTTP/1.1 200");
    const admin = await raw(`GET /admin/keys HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${s.adminKey}\r\nConnection: close\r\n\r\n`);
    expect(admin).toStartWith("HTTP/1.1 200");
  });
});
