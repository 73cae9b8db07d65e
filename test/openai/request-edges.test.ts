// Requests at the edges of the OpenAI surface: JSON without a JSON content type, image requests
// naming a text model or an OpenAI image model, and the Swagger examples being valid requests.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI, { toFile } from "openai";
import { startStack, type Stack } from "../helpers/stack";

let st: Stack;
let client: OpenAI;
beforeAll(async () => {
  st = await startStack({ accounts: 1, delays: false });
  client = new OpenAI({ apiKey: st.apiKey, baseURL: st.url + "/v1", maxRetries: 0 });
});
afterAll(() => st.stop());

const post = (path: string, body: string, contentType?: string) =>
  fetch(st.url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${st.apiKey}`, ...(contentType ? { "content-type": contentType } : {}) },
    body,
  });
const chatBody = JSON.stringify({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "hello there" }] });

describe("JSON whatever the content type", () => {
  test.each([["application/x-www-form-urlencoded"], ["text/plain"], ["text/plain;charset=UTF-8"], [undefined]])(
    "chat with %s",
    async (ct) => {
      const r = await post("/v1/chat/completions", chatBody, ct);
      expect(r.status).toBe(200);
      const j = (await r.json()) as { choices: { message: { content: string } }[] };
      expect(j.choices[0]!.message.content.length).toBeGreaterThan(0);
    },
  );

  test("images with the form content type", async () => {
    const r = await post(
      "/v1/images/generations",
      JSON.stringify({ prompt: "a red kite", size: "1024x1024" }),
      "application/x-www-form-urlencoded",
    );
    expect(r.status).toBe(200);
    expect(((await r.json()) as { data: unknown[] }).data).toHaveLength(1);
  });

  test("malformed JSON: 400 naming body, whatever the content type", async () => {
    for (const ct of ["application/json", "application/x-www-form-urlencoded", "text/plain"]) {
      const r = await post("/v1/chat/completions", '{"model": "gemini-2.5-flash", "messages": [', ct);
      expect(r.status).toBe(400);
      const j = (await r.json()) as { error: { message: string; param: string } };
      expect(j.error.param).toBe("body");
      expect(j.error.message).toContain("malformed JSON");
    }
  });

  test("multipart image edits still work", async () => {
    const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
    const out = await client.images.edit({ prompt: "make it blue", image: await toFile(png, "in.png", { type: "image/png" }) });
    expect(out.data).toHaveLength(1);
  });
});

describe("the model of an image request", () => {
  test("a text model: 400 naming model, before any upstream call", async () => {
    st.sim.clearRequests();
    const r = await post("/v1/images/generations", JSON.stringify({ model: "gemini-2.5-flash", prompt: "a cat" }), "application/json");
    expect(r.status).toBe(400);
    const j = (await r.json()) as { error: { message: string; param: string; type: string } };
    expect(j.error.param).toBe("model");
    expect(j.error.type).toBe("invalid_request_error");
    expect(j.error.message).toContain('"gemini-2.5-flash"');
    expect(j.error.message).toContain("not an image model");
    expect(j.error.message).toContain("gemini-3.1-flash-image");
    expect(st.sim.requests({ method: "generateContent" })).toHaveLength(0);
  });

  test("an alias to a text model is refused the same way", async () => {
    const r = await post("/v1/images/generations", JSON.stringify({ model: "gpt-4o", prompt: "a cat" }), "application/json");
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { message: string } }).error.message).toContain(
      '"gpt-4o" (mapped to "gemini-3-flash") is not an image model',
    );
  });

  test.each([["dall-e-2"], ["dall-e-3"], ["gpt-image-1"], ["gpt-image-1-mini"]])("%s means the default image model", async (model) => {
    const { data, response } = await client.images.generate({ model, prompt: `a boat for ${model}` }).withResponse();
    expect(data.data).toHaveLength(1);
    expect(response.headers.get("x-mapped-model")).toBe("gemini-3.1-flash-image"); // the image model Google lists
  });

  test("edits refuse a text model too", async () => {
    const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
    const err = await client.images
      .edit({ model: "gemini-2.5-pro", prompt: "x", image: await toFile(png, "in.png", { type: "image/png" }) })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe("model");
  });
});

describe("Swagger examples", () => {
  const spec = async () =>
    (await (await fetch(st.url + "/swagger/json", { headers: { authorization: `Bearer ${st.apiKey}` } })).json()) as any;
  const example = (doc: any, path: string) => doc.paths[path].post.requestBody.content["application/json"].schema.examples[0];

  test("the chat example is a request the gateway answers", async () => {
    const ex = example(await spec(), "/v1/chat/completions");
    expect(ex).toEqual({ model: "gemini-3-flash", messages: [{ role: "user", content: "Hello" }] });
    expect((await post("/v1/chat/completions", JSON.stringify(ex), "application/json")).status).toBe(200);
  });

  test("the images example is a request the gateway answers", async () => {
    const ex = example(await spec(), "/v1/images/generations");
    expect(ex.size).toBe("1920x1080");
    expect((await post("/v1/images/generations", JSON.stringify(ex), "application/json")).status).toBe(200);
  });
});
