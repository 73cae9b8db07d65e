// Remote image_url fetching (openai.fetchRemoteImages on): a local HTTP server plays the image host.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startStack, type Stack } from "../helpers/stack";

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
const CAP = 2000;

let stack: Stack;
let client: OpenAI;
let host: ReturnType<typeof Bun.serve>;
const hanging: (() => void)[] = [];

beforeAll(async () => {
  host = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const path = new URL(req.url).pathname;
      switch (path) {
        case "/cat.png":
          return new Response(PNG, { headers: { "content-type": "image/png" } });
        case "/untyped":
          return new Response(PNG, { headers: { "content-type": "application/octet-stream" } });
        case "/big.png":
          return new Response(new Uint8Array(CAP * 3), { headers: { "content-type": "image/png" } });
        case "/endless.png":
          return new Response(
            new ReadableStream({
              pull(c) {
                c.enqueue(new Uint8Array(1024));
              },
            }),
            { headers: { "content-type": "image/png" } },
          );
        case "/slow.png":
          return new Promise<Response>((resolve) => hanging.push(() => resolve(new Response(PNG))));
        case "/page":
          return new Response("<html>not an image</html>", { headers: { "content-type": "text/html" } });
        case "/to-file":
          return new Response(null, { status: 302, headers: { location: "file:///etc/passwd" } });
        case "/to-cat":
          return new Response(null, { status: 302, headers: { location: "/cat.png" } });
        default:
          return new Response("no", { status: 404 });
      }
    },
  });
  stack = await startStack({ delays: false, config: { openai: { fetchRemoteImages: true, remoteImageMaxBytes: CAP, remoteImageTimeoutMs: 300 } } });
  client = new OpenAI({ apiKey: stack.apiKey, baseURL: stack.url + "/v1", maxRetries: 0 });
});
afterAll(async () => {
  for (const h of hanging) h();
  host?.stop(true);
  await stack?.stop();
});

const ask = (url: string) =>
  client.chat.completions.create({
    model: "gemini-2.5-flash",
    messages: [{ role: "user", content: [{ type: "text", text: "describe" }, { type: "image_url", image_url: { url } }] }],
  });
const lastParts = () => stack.sim.requests({ method: "generateContent" }).at(-1)!.body.request.contents[0].parts;

describe("remote image_url with openai.fetchRemoteImages on", () => {
  test("fetched and sent as inlineData", async () => {
    await ask(`${host.url}cat.png`);
    expect(lastParts()[1]).toEqual({ inlineData: { mimeType: "image/png", data: PNG.toString("base64") } });
  });

  test("a missing content type is sniffed; redirects within http(s) are followed", async () => {
    await ask(`${host.url}untyped`);
    expect(lastParts()[1].inlineData.mimeType).toBe("image/png");
    await ask(`${host.url}to-cat`);
    expect(lastParts()[1].inlineData.data).toBe(PNG.toString("base64"));
  });

  const refused: [string, string][] = [
    ["larger than the cap (declared)", "big.png"],
    ["larger than the cap (streamed)", "endless.png"],
    ["slower than the timeout", "slow.png"],
    ["not an image", "page"],
    ["HTTP 404", "missing.png"],
    ["a redirect to a local file", "to-file"],
  ];
  for (const [name, path] of refused)
    test(`refused: ${name} → 400 naming the field`, async () => {
      const err = await ask(`${host.url}${path}`).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.error.param).toBe("messages[0].content[1].image_url");
    });

  test("local paths are never read, even with fetching on", async () => {
    for (const url of ["file:///etc/passwd", "/etc/passwd", "C:\\secret.png"]) {
      const err = await ask(url).catch((e) => e);
      expect(err.status).toBe(400);
      expect(err.error.param).toBe("messages[0].content[1].image_url");
    }
  });
});
