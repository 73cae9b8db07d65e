import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { inflateSync } from "node:zlib";
import { startSimulator, type SimAccount, type Simulator } from "../../src/simulator";
import { encodePng, imageDims } from "../../src/simulator/png";
import { accessToken, envelope, userText, v1 } from "../helpers/simulator";

/** a minimal PNG reader: checks signature, chunk CRCs, IHDR and that IDAT inflates to the right size */
function readPng(bytes: Uint8Array) {
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  const types: string[] = [];
  while (at < bytes.length) {
    const len = view.getUint32(at);
    const type = new TextDecoder().decode(bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + len);
    expect(view.getUint32(at + 8 + len)).toBe(crc32(bytes.subarray(at + 4, at + 8 + len)));
    types.push(type);
    if (type === "IHDR") {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      expect([...data.subarray(8)]).toEqual([8, 2, 0, 0, 0]);
    }
    if (type === "IDAT") idat.push(data);
    at += 12 + len;
  }
  expect(types[0]).toBe("IHDR");
  expect(types[types.length - 1]).toBe("IEND");
  const raw = inflateSync(Buffer.concat(idat));
  expect(raw.length).toBe(height * (1 + width * 3));
  return { width, height };
}

// an independent bitwise CRC-32 (the encoder uses a table)
function crc32(b: Uint8Array) {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

describe("png", () => {
  test("encodes valid PNGs of the requested size", () => {
    expect(readPng(encodePng(3, 2, (x, y) => [x * 80, y * 100, 7]))).toEqual({ width: 3, height: 2 });
  });

  test("aspect ratios map to proportional pixel sizes", () => {
    expect(imageDims("16:9")).toEqual({ width: 16, height: 9 });
    expect(imageDims("1:1")).toEqual({ width: 16, height: 16 });
    expect(imageDims("9:16")).toEqual({ width: 9, height: 16 });
    expect(imageDims("4:3")).toEqual({ width: 16, height: 12 });
    expect(imageDims("16:9", "4K")).toEqual({ width: 64, height: 36 });
  });
});

let sim: Simulator;
let acc: SimAccount;
let tok: string;
beforeAll(async () => {
  sim = await startSimulator({ delays: false });
  acc = sim.addAccount({ email: "image@example.com" });
  tok = await accessToken(sim, acc);
});
afterAll(() => sim.stop());

describe("image models", () => {
  const ask = (imageConfig?: Record<string, string>, method = "generateContent") =>
    v1(
      sim,
      tok,
      method,
      envelope(
        acc,
        { contents: [userText("a lighthouse at dusk")], generationConfig: imageConfig ? { imageConfig } : {} },
        "gemini-3.1-flash-image",
        { requestType: "image_gen" },
      ),
    );

  test("answer a text part and an image/png inlineData part sized by aspectRatio", async () => {
    for (const [ratio, w, h] of [
      ["16:9", 16, 9],
      ["3:4", 12, 16],
      ["21:9", 21, 9],
    ] as const) {
      const r = await ask({ aspectRatio: ratio });
      expect(r.status).toBe(200);
      const parts = r.json.response.candidates[0].content.parts;
      expect(parts[0].text).toContain(ratio);
      const img = parts.find((p: any) => p.inlineData);
      expect(img.inlineData.mimeType).toBe("image/png");
      expect(readPng(new Uint8Array(Buffer.from(img.inlineData.data, "base64")))).toEqual({ width: w, height: h });
    }
    const def = await ask();
    const img = def.json.response.candidates[0].content.parts.find((p: any) => p.inlineData);
    expect(readPng(new Uint8Array(Buffer.from(img.inlineData.data, "base64")))).toEqual({ width: 16, height: 16 });
  });

  test("an unsupported aspect ratio → 400 naming the field", async () => {
    const r = await ask({ aspectRatio: "7:3" });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain("image_config.aspect_ratio");
  });

  test("streams the image whole in one chunk", async () => {
    const r = await ask({ aspectRatio: "1:1" }, "streamGenerateContent?alt=sse");
    const images = r.text.split("\r\n\r\n").filter((e) => e.includes("inlineData"));
    expect(images).toHaveLength(1);
  });
});
