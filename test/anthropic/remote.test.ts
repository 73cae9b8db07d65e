// URL sources: refused unless the operator enables fetching; when enabled, fetched from a real
// local HTTP server with the size cap, the content-type check and clear 400s naming the block.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fetchSources } from "../../src/anthropic/remote";
import { ApiError } from "../../src/server/errors";

const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
let server: ReturnType<typeof Bun.serve>;
let base: string;

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/a.png") return new Response(PNG, { headers: { "content-type": "image/png" } });
      if (path === "/doc.pdf") return new Response("%PDF-1.4", { headers: { "content-type": "application/pdf" } });
      if (path === "/big.png") return new Response(new Uint8Array(5000), { headers: { "content-type": "image/png" } });
      if (path === "/hop") return new Response(null, { status: 302, headers: { location: "/a.png" } });
      if (path === "/to-file") return new Response(null, { status: 302, headers: { location: "file:///etc/passwd" } });
      if (path === "/page.html") return new Response("<html>", { headers: { "content-type": "text/html" } });
      return new Response("no", { status: 404 });
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.stop(true));

const on = { fetchRemoteImages: true, remoteImageMaxBytes: 1000, remoteImageTimeoutMs: 5000 };
const src = (path: string, kind = "image") => ({ url: base + path, path: "messages[0].content[2].source", kind });

async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error("expected a failure");
}

describe("fetchSources", () => {
  test("nothing to fetch → empty map, no network", async () => {
    expect((await fetchSources([], { ...on, fetchRemoteImages: false })).size).toBe(0);
  });

  test("disabled → 400 naming the block and the switch", async () => {
    const err = await failure(fetchSources([src("/a.png")], { ...on, fetchRemoteImages: false }));
    expect(err.status).toBe(400);
    expect(err.param).toBe("messages[0].content[2].source");
    expect(err.message).toContain("messages[0].content[2].source");
    expect(err.message).toContain("fetchRemoteImages");
  });

  test("enabled → fetched and base64-encoded with the served content type", async () => {
    const got = await fetchSources([src("/a.png"), src("/a.png"), src("/doc.pdf", "document")], on);
    expect(got.get(base + "/a.png")).toEqual({ mimeType: "image/png", data: PNG.toString("base64") });
    expect(got.get(base + "/doc.pdf")).toEqual({ mimeType: "application/pdf", data: Buffer.from("%PDF-1.4").toString("base64") });
  });

  const bad: [string, string, string][] = [
    ["over the size cap", "/big.png", "larger than 1000 bytes"],
    ["not an image", "/page.html", 'unexpected content type "text/html"'],
    ["HTTP error", "/missing.png", "HTTP 404"],
    ["redirect to a file", "/to-file", "non-http redirects"],
  ];
  for (const [name, path, why] of bad)
    test(`${name} → 400`, async () => {
      const err = await failure(fetchSources([src(path)], on));
      expect(err.status).toBe(400);
      expect(err.message).toContain(why);
      expect(err.message).toContain("messages[0].content[2].source");
    });

  test("http redirects are followed", async () => {
    expect((await fetchSources([src("/hop")], on)).get(base + "/hop")?.mimeType).toBe("image/png");
  });

  test("non-http schemes are refused without fetching", async () => {
    const err = await failure(fetchSources([{ url: "file:///etc/passwd", path: "p", kind: "image" }], on));
    expect(err.message).toContain("only http and https");
  });
});
