// The one remote fetcher (OpenAI image_url, Anthropic url sources): a real local HTTP server plays
// the host. Every refusal is a 400 naming the client's field and saying why.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiError } from "../../src/core/errors";
import {
  fetchRemote,
  isPrivateAddress,
  pinnedFetch,
  type RemoteKind,
  type RemoteRules,
  type RemoteSource,
} from "../../src/protocol/remote";

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
const CAP = 2000;
const PARAM = "messages[0].content[2].source";

let host: ReturnType<typeof Bun.serve>;
const hits: string[] = [];
const hanging: (() => void)[] = [];

beforeAll(() => {
  host = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const path = new URL(req.url).pathname;
      hits.push(path);
      switch (path) {
        case "/a.png":
          return new Response(PNG, { headers: { "content-type": "image/png" } });
        case "/untyped":
          return new Response(PNG, { headers: { "content-type": "application/octet-stream" } });
        case "/doc.pdf":
          return new Response("%PDF-1.4", { headers: { "content-type": "application/pdf" } });
        case "/big.png":
          return new Response(new Uint8Array(CAP * 3), { headers: { "content-type": "image/png" } });
        case "/endless.png":
          return new Response(new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(1024)) }), {
            headers: { "content-type": "image/png" },
          });
        case "/slow.png":
          return new Promise<Response>((resolve) => hanging.push(() => resolve(new Response(PNG))));
        case "/page.html":
          return new Response("<html>not an image</html>", { headers: { "content-type": "text/html" } });
        case "/hop":
          return new Response(null, { status: 302, headers: { location: "/a.png" } });
        case "/to-file":
          return new Response(null, { status: 302, headers: { location: "file:///etc/passwd" } });
        default:
          return new Response("no", { status: 404 });
      }
    },
  });
});
afterAll(() => {
  for (const h of hanging) h();
  host?.stop(true);
});

// the host plays on loopback: these rules allow private addresses; "the destination policy" below does not
const on: RemoteRules = { fetchRemoteImages: true, remoteImageMaxBytes: CAP, remoteImageTimeoutMs: 300, remoteFetchPrivate: true };
const publicOnly: RemoteRules = { ...on, remoteFetchPrivate: false };
const off: RemoteRules = { ...on, fetchRemoteImages: false };
const src = (path: string, kind: RemoteKind = "image"): RemoteSource => ({
  url: `http://127.0.0.1:${host.port}${path}`,
  param: PARAM,
  kind,
});
const disabled = (s: RemoteSource) => `URL ${s.kind} sources are disabled (openai.fetchRemoteImages)`;
const fetchAll = (sources: RemoteSource[], rules = on, signal?: AbortSignal) => fetchRemote(sources, rules, { signal, disabled });

async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error("expected a failure");
}

describe("fetchRemote", () => {
  test("nothing to fetch → empty map, no network, even when off", async () => {
    expect((await fetchAll([], off)).size).toBe(0);
  });

  test("off → 400 naming the first field, in the protocol's own words", async () => {
    const err = await failure(fetchAll([src("/a.png", "document")], off));
    expect(err.status).toBe(400);
    expect(err.param).toBe(PARAM);
    expect(err.message).toBe(`${PARAM}: URL document sources are disabled (openai.fetchRemoteImages)`);
  });

  test("fetched and base64-encoded with the served type; a URL named twice is fetched once", async () => {
    hits.length = 0;
    const got = await fetchAll([src("/a.png"), src("/a.png"), src("/doc.pdf", "document")]);
    expect(got.get(src("/a.png").url)).toEqual({ mimeType: "image/png", data: PNG.toString("base64") });
    expect(got.get(src("/doc.pdf").url)).toEqual({ mimeType: "application/pdf", data: Buffer.from("%PDF-1.4").toString("base64") });
    expect(hits.filter((h) => h === "/a.png")).toHaveLength(1);
    const twice = await failure(fetchAll([src("/page.html"), { ...src("/page.html"), param: "later" }]));
    expect(twice.param).toBe(PARAM);
  });

  test("a missing or generic content type is sniffed; http redirects are followed", async () => {
    expect((await fetchAll([src("/untyped")])).get(src("/untyped").url)?.mimeType).toBe("image/png");
    expect((await fetchAll([src("/hop")])).get(src("/hop").url)?.data).toBe(PNG.toString("base64"));
  });

  test("the kind decides the content types: image_url also takes a PDF, a document no PNG", async () => {
    expect((await fetchAll([src("/doc.pdf", "image_url")])).get(src("/doc.pdf").url)?.mimeType).toBe("application/pdf");
    expect((await failure(fetchAll([src("/a.png", "document")]))).message).toContain('unexpected content type "image/png"');
  });

  const refused: [string, string, string][] = [
    ["over the size cap (declared)", "/big.png", `larger than ${CAP} bytes`],
    ["over the size cap (streamed)", "/endless.png", `larger than ${CAP} bytes`],
    ["slower than the timeout", "/slow.png", "no answer within 300 ms"],
    ["not an image", "/page.html", 'unexpected content type "text/html"'],
    ["HTTP error", "/missing.png", "HTTP 404"],
    ["a redirect to a local file", "/to-file", "non-http redirects"],
  ];
  for (const [name, path, why] of refused)
    test(`refused: ${name} → 400 naming the field`, async () => {
      const err = await failure(fetchAll([src(path, "image_url")]));
      expect(err.status).toBe(400);
      expect(err.param).toBe(PARAM);
      expect(err.message).toContain(PARAM);
      expect(err.message).toContain(why);
    });

  test("local paths and other schemes are never read", async () => {
    for (const url of ["file:///etc/passwd", "/etc/passwd", "C:\\secret.png"]) {
      const err = await failure(fetchAll([{ url, param: "p", kind: "image" }]));
      expect(err.status).toBe(400);
      expect(err.message).toMatch(/only http and https|not a valid URL/);
    }
  });

  test("more than 32 distinct URLs → 400", async () => {
    const many = Array.from({ length: 33 }, (_, i) => src(`/a.png?${i}`));
    expect((await failure(fetchAll(many))).message).toContain("at most 32");
  });

  test("the client going away is not turned into a 400", async () => {
    const err = await fetchAll([src("/a.png")], on, AbortSignal.abort()).catch((e) => e);
    expect(err).not.toBeInstanceOf(ApiError);
  });
});

describe("the destination policy (openai.remoteFetchPrivate off, the default)", () => {
  test.each([
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["10.1.2.3", true],
    ["172.16.0.1", true],
    ["172.32.0.1", false],
    ["192.168.1.1", true],
    ["169.254.169.254", true], // cloud metadata
    ["100.64.0.1", true],
    ["0.0.0.0", true],
    ["224.0.0.1", true],
    ["8.8.8.8", false],
    ["::1", true],
    ["::", true],
    ["fd00::1", true], // ULA
    ["fe80::1", true],
    ["::ffff:127.0.0.1", true],
    ["2001:4860:4860::8888", false],
    ["not-an-address", true],
  ])("isPrivateAddress(%s) = %p", (ip, want) => expect(isPrivateAddress(ip)).toBe(want));

  test("loopback in every spelling, a redirect to loopback, and metadata: one identical refusal, nothing fetched", async () => {
    const port = host.port;
    const urls = [
      `http://127.0.0.1:${port}/a.png`,
      `http://2130706433:${port}/a.png`, // 127.0.0.1 as one number
      `http://0x7f.1:${port}/a.png`,
      `http://[::1]:${port}/a.png`,
      `http://localhost:${port}/a.png`,
      `http://169.254.169.254/latest/meta-data/`,
      `http://10.0.0.1:${port}/a.png`,
    ];
    hits.length = 0;
    const messages = new Set<string>();
    for (const url of urls) {
      const err = await failure(fetchRemote([{ url, param: PARAM, kind: "image" }], publicOnly, { disabled }));
      expect(err.status).toBe(400);
      expect(err.param).toBe(PARAM);
      messages.add(err.message.replace(url, "<url>"));
    }
    expect(messages.size).toBe(1);
    expect([...messages][0]).toContain("only public http(s) addresses");
    expect(hits).toEqual([]); // not one connection reached the host
  });
});

describe("the fetch goes to the address the check looked at (no DNS rebinding between them)", () => {
  test.each([
    [
      "http, a name",
      "http://img.example:8080/a.png?x=1",
      "93.184.216.34",
      "http://93.184.216.34:8080/a.png?x=1",
      "img.example:8080",
      undefined,
    ],
    [
      "https, a name: SNI and the certificate check keep the name",
      "https://img.example/a.png",
      "93.184.216.34",
      "https://93.184.216.34/a.png",
      "img.example",
      "img.example",
    ],
    [
      "an IPv6 address",
      "https://img.example/a.png",
      "2606:2800:220:1::1",
      "https://[2606:2800:220:1::1]/a.png",
      "img.example",
      "img.example",
    ],
    [
      "a literal address: no name to keep",
      "https://93.184.216.34/a.png",
      "93.184.216.34",
      "https://93.184.216.34/a.png",
      "93.184.216.34",
      undefined,
    ],
  ])("%s", (_name, url, address, want, host, serverName) => {
    const p = pinnedFetch(new URL(url), address);
    expect(p.url).toBe(want);
    expect(p.init.headers.host).toBe(host);
    expect(p.init.tls?.serverName).toBe(serverName);
  });
});

test("a pinned fetch reaches the address with the name in its Host header", async () => {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => new Response(req.headers.get("host")) });
  try {
    const p = pinnedFetch(new URL(`http://img.example:${server.port}/a.png`), "127.0.0.1");
    expect(await (await fetch(p.url, p.init)).text()).toBe(`img.example:${server.port}`);
  } finally {
    server.stop(true);
  }
});
