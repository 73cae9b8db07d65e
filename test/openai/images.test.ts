// The promised image behaviour with the real OpenAI SDK: /v1/images/generations and /v1/images/edits against a running
// gateway backed by the upstream simulator; every mapping row is checked in what upstream received.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI, { toFile } from "openai";
import { startStack, type Stack } from "../helpers/stack";
import { SEED_SIZES } from "../helpers/seed-sizes";

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  // one attempt per call, so an injected failure is not retried away on another account
  stack = await startStack({ accounts: 3, delays: false, config: { scheduling: { maxAttempts: 1 } } });
  client = new OpenAI({ apiKey: stack.apiKey, baseURL: stack.url + "/v1", maxRetries: 0 });
});
afterAll(() => stack?.stop());

let seq = 0;
const uniquePrompt = (what: string) => `${what} #${++seq}`;
/** the generateContent calls upstream received for this prompt */
const received = (prompt: string) =>
  stack.sim.requests({ method: "generateContent" }).filter((r) => r.body?.request?.contents?.[0]?.parts?.[0]?.text?.startsWith(prompt));
const PNG_MAGIC = "iVBORw0KGgo";

describe("POST /v1/images/generations", () => {
  test("checkpoints: an image, X-Account-Email, 1920x1080 → 16:9, hd → 4K", async () => {
    const prompt = uniquePrompt("a lighthouse at dusk");
    const { data, response } = await client.images.generate({ prompt, size: "1920x1080" as any, quality: "hd" }).withResponse();
    expect(data.data).toHaveLength(1);
    expect(data.data![0]!.b64_json!.startsWith(PNG_MAGIC)).toBe(true);
    expect(data.created).toBeGreaterThan(0);
    expect(data.data![0]!.revised_prompt).toContain("lighthouse");
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    const calls = received(prompt);
    expect(calls).toHaveLength(1);
    const email = response.headers.get("x-account-email");
    expect(email).toBe(calls[0]!.email!);
    expect(response.headers.get("x-mapped-model")).toBe("gemini-3.1-flash-image");
    expect(calls[0]!.body.model).toBe("gemini-3.1-flash-image");
    expect(calls[0]!.body.requestType).toBe("image_gen");
    expect(calls[0]!.body.request.generationConfig.imageConfig).toEqual({ aspectRatio: "16:9", imageSize: "4K" });
  });

  // the promised size table (every row) plus literal ratios; what upstream received is the check
  const SIZES: [string, string][] = [
    ...SEED_SIZES,
    ["widescreen", "1:1"],
    ["12x", "1:1"],
    ["0x0", "1:1"],
    ["16:9", "16:9"],
    ["3:2", "3:2"],
  ];
  for (const [size, ratio] of SIZES)
    test(`size ${size} → aspectRatio ${ratio}`, async () => {
      const prompt = uniquePrompt(`size ${size}`);
      const res = await client.images.generate({ prompt, size: size as any });
      expect(res.data).toHaveLength(1);
      expect(received(prompt)[0]!.body.request.generationConfig.imageConfig.aspectRatio).toBe(ratio);
    });

  const QUALITIES: [string, string | undefined][] = [
    ["hd", "4K"],
    ["high", "4K"], // gpt-image-1's best: not smaller than its medium
    ["medium", "2K"],
    ["standard", undefined],
    ["low", undefined],
  ];
  for (const [quality, imageSize] of QUALITIES)
    test(`quality ${quality} → imageSize ${imageSize ?? "(unset)"}`, async () => {
      const prompt = uniquePrompt(`quality ${quality}`);
      await client.images.generate({ prompt, quality: quality as any, size: "1024x1024" });
      expect(received(prompt)[0]!.body.request.generationConfig.imageConfig.imageSize).toBe(imageSize);
    });

  test("stream: true is a 400 naming stream (the SDK's stream reader would drop a JSON answer without a word)", async () => {
    const err = await client.images.generate({ prompt: uniquePrompt("stream"), stream: true } as any).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error.param).toBe("stream");
  });

  test("no size and no quality → no imageConfig (upstream default)", async () => {
    const prompt = uniquePrompt("plain");
    await client.images.generate({ prompt });
    expect(received(prompt)[0]!.body.request.generationConfig).toBeUndefined();
  });

  test("model-name suffixes set ratio and size; the clean model goes upstream", async () => {
    const prompt = uniquePrompt("suffix");
    const { response } = await client.images.generate({ prompt, model: "gemini-3.1-flash-image-9x16-2k" }).withResponse();
    const call = received(prompt)[0]!;
    expect(call.body.model).toBe("gemini-3.1-flash-image");
    expect(call.body.request.generationConfig.imageConfig).toEqual({ aspectRatio: "9:16", imageSize: "2K" });
    expect(response.headers.get("x-mapped-model")).toBe("gemini-3.1-flash-image");
  });

  test("n=3: three parallel upstream calls merged into data[], accounts listed", async () => {
    const prompt = uniquePrompt("three foxes");
    const { data, response } = await client.images.generate({ prompt, n: 3, size: "1024x1024" }).withResponse();
    expect(data.data).toHaveLength(3);
    for (const d of data.data!) expect(d.b64_json!.startsWith(PNG_MAGIC)).toBe(true);
    const calls = received(prompt);
    expect(calls).toHaveLength(3);
    expect(calls.every((c) => c.body.request.generationConfig.candidateCount === undefined)).toBe(true);
    const listed = response.headers.get("x-account-email")!.split(/,\s*/);
    expect(new Set(listed)).toEqual(new Set(calls.map((c) => c.email!)));
    expect(data.usage?.output_tokens).toBeGreaterThan(0);
  });

  test("response_format url → data: URI", async () => {
    const res = await client.images.generate({ prompt: uniquePrompt("url"), response_format: "url", n: 2 });
    expect(res.data).toHaveLength(2);
    for (const d of res.data!) {
      expect(d.url!.startsWith("data:image/png;base64," + PNG_MAGIC)).toBe(true);
      expect(d.b64_json).toBeUndefined();
    }
  });

  test("partial failure: the images that succeeded are returned", async () => {
    stack.sim.addFault({ kind: "internal_500", times: 1, method: "generateContent" });
    const prompt = uniquePrompt("partial");
    const { data, response } = await client.images.generate({ prompt, n: 3 }).withResponse();
    expect(data.data).toHaveLength(2);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-images-failed")).toBe("1");
  });

  test("every call failed → the error, in OpenAI's shape", async () => {
    stack.sim.addFault({ kind: "internal_500", times: 2, method: "generateContent" });
    const err = await client.images.generate({ prompt: uniquePrompt("doomed"), n: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBeGreaterThanOrEqual(500);
    expect(typeof err.error.message).toBe("string");
    expect(typeof err.error.type).toBe("string");
  });

  test("missing prompt → 400 naming prompt", async () => {
    const err = await client.images.generate({} as any).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error.param).toBe("prompt");
    expect(err.error.type).toBe("invalid_request_error");
  });

  test("n out of range → 400 naming n", async () => {
    const err = await client.images.generate({ prompt: "x", n: 11 }).catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.error.param).toBe("n");
  });
});

describe("POST /v1/images/edits (multipart)", () => {
  let png: Buffer;
  beforeAll(async () => {
    const res = await client.images.generate({ prompt: uniquePrompt("source image") });
    png = Buffer.from(res.data![0]!.b64_json!, "base64");
  });

  test("image + prompt → inlineData with the prompt; size and quality mapped", async () => {
    const prompt = uniquePrompt("make it night");
    const { data, response } = await client.images
      .edit({ image: await toFile(png, "in.png", { type: "image/png" }), prompt, size: "1536x1024", quality: "medium" as any, n: 2 })
      .withResponse();
    expect(data.data).toHaveLength(2);
    expect(response.headers.get("x-account-email")).toBeTruthy();
    const call = received(prompt)[0]!;
    const parts = call.body.request.contents[0].parts;
    expect(parts[0].text).toBe(prompt);
    expect(parts[1].inlineData).toEqual({ mimeType: "image/png", data: png.toString("base64") });
    expect(call.body.request.generationConfig.imageConfig).toEqual({ aspectRatio: "3:2", imageSize: "2K" });
    expect(received(prompt)).toHaveLength(2);
  });

  test("several images and a mask", async () => {
    const prompt = uniquePrompt("combine");
    const images = [await toFile(png, "a.png", { type: "image/png" }), await toFile(png, "b.png")];
    const res = await client.images.edit({
      image: images,
      mask: await toFile(png, "mask.png", { type: "image/png" }),
      prompt,
      response_format: "url",
    });
    expect(res.data![0]!.url!.startsWith("data:image/png;base64,")).toBe(true);
    const parts = received(prompt)[0]!.body.request.contents[0].parts;
    expect(parts).toHaveLength(4);
    expect(parts[0].text).toContain("mask");
    expect(parts.slice(1).every((p: any) => p.inlineData?.mimeType === "image/png")).toBe(true);
  });

  test("missing image → 400 naming image", async () => {
    const form = new FormData();
    form.append("prompt", "no image");
    const res = await fetch(`${stack.url}/v1/images/edits`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.apiKey}` },
      body: form,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as any;
    expect(body.error.param).toBe("image");
    expect(body.error.type).toBe("invalid_request_error");
  });

  test.each(["-1", "1000", "2.5", "many"])("n=%s on an edit → 400 naming n", async (n) => {
    const form = new FormData();
    form.append("prompt", "count");
    form.append("image", new File([new Uint8Array(png)], "a.png", { type: "image/png" }));
    form.append("n", n);
    const res = await fetch(`${stack.url}/v1/images/edits`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.apiKey}` },
      body: form,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.param).toBe("n");
  });

  test("a non-image file → 400", async () => {
    const err = await client.images
      .edit({ image: await toFile(Buffer.from("hello"), "a.txt", { type: "text/plain" }), prompt: "x" })
      .catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.error.param).toBe("image");
  });
});
