// Remote image_url through the OpenAI route (openai.fetchRemoteImages on): a local HTTP server plays
// the image host. The fetch rules themselves (cap, timeout, redirects, types) are in test/shared/remote.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startStack, type Stack } from "../helpers/stack";

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");

let stack: Stack;
let client: OpenAI;
let host: ReturnType<typeof Bun.serve>;

beforeAll(async () => {
  host = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const path = new URL(req.url).pathname;
      switch (path) {
        case "/cat.png":
          return new Response(PNG, { headers: { "content-type": "image/png" } });
        case "/page":
          return new Response("<html>not an image</html>", { headers: { "content-type": "text/html" } });
        default:
          return new Response("no", { status: 404 });
      }
    },
  });
  stack = await startStack({
    delays: false,
    config: { openai: { fetchRemoteImages: true, remoteImageMaxBytes: 2000, remoteFetchPrivate: true } },
  });
  client = new OpenAI({ apiKey: stack.apiKey, baseURL: stack.url + "/v1", maxRetries: 0 });
});
afterAll(async () => {
  host?.stop(true);
  await stack?.stop();
});

const ask = (url: string) =>
  client.chat.completions.create({
    model: "gemini-2.5-flash",
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "describe" },
          { type: "image_url", image_url: { url } },
        ],
      },
    ],
  });
const lastParts = () => stack.sim.requests({ method: "generateContent" }).at(-1)!.body.request.contents[0].parts;

describe("remote image_url with openai.fetchRemoteImages on", () => {
  test("fetched and sent as inlineData", async () => {
    await ask(`${host.url}cat.png`);
    expect(lastParts()[1]).toEqual({ inlineData: { mimeType: "image/png", data: PNG.toString("base64") } });
  });

  test("a fetch that fails → 400 naming the field", async () => {
    for (const path of ["page", "missing.png"]) {
      const err = await ask(`${host.url}${path}`).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.error.param).toBe("messages[0].content[1].image_url");
    }
  });

  test("local paths are never read, even with fetching on", async () => {
    for (const url of ["file:///etc/passwd", "/etc/passwd", "C:\\secret.png"]) {
      const err = await ask(url).catch((e) => e);
      expect(err.status).toBe(400);
      expect(err.error.param).toBe("messages[0].content[1].image_url");
    }
  });
});
