import { describe, expect, test } from "bun:test";
import {
  ASPECT_RATIOS,
  aspectRatioFromSize,
  imageConfigFor,
  imageRequest,
  imageSizeFromQuality,
  imagesFromResponse,
  imagesUsage,
  noImageReason,
  parseImageModel,
} from "../../src/openai/images";
import { SEED_SIZES } from "../helpers/seed-sizes";

// the promised size table, row by row, plus the other OpenAI sizes clients send
const SIZES: [string | undefined, string | undefined][] = [
  ...SEED_SIZES,
  ["1792x1024", "16:9"],
  ["1024x1792", "9:16"],
  ["1536x1024", "3:2"],
  ["1024x1536", "2:3"],
  ["1280x1024", "5:4"],
  ["1024x1280", "4:5"],
  ["256x256", "1:1"],
  ["1024X768", "4:3"],
  // unparsable → 1:1
  ["big", "1:1"],
  ["1024", "1:1"],
  ["axb", "1:1"],
  ["0x100", "1:1"],
  ["100x0", "1:1"],
  ["-5x3", "1:1"],
  ["1024x", "1:1"],
  // literal ratios (the reference falls back to 1:1 for these; we take them)
  ["16:9", "16:9"],
  ["21:9", "21:9"],
  ["4:5", "4:5"],
  ["16:10", "3:2"],
  // absent / auto → upstream default
  [undefined, undefined],
  ["", undefined],
  ["auto", undefined],
];

describe("size → aspectRatio", () => {
  for (const [size, ratio] of SIZES) test(`${JSON.stringify(size)} → ${ratio}`, () => expect(aspectRatioFromSize(size)).toBe(ratio));
  test("every listed ratio is accepted literally", () => {
    for (const r of ASPECT_RATIOS) expect(aspectRatioFromSize(r)).toBe(r);
  });
});

const QUALITY: [string | undefined, string | undefined][] = [
  ["hd", "4K"],
  ["HD", "4K"],
  ["medium", "2K"],
  ["standard", undefined],
  ["low", undefined],
  ["auto", undefined],
  [undefined, undefined],
];

describe("quality → imageSize", () => {
  for (const [q, size] of QUALITY) test(`${q} → ${size}`, () => expect(imageSizeFromQuality(q)).toBe(size));
});

const MODELS: [string, { model: string; aspectRatio?: string; imageSize?: string }][] = [
  ["gemini-3-pro-image", { model: "gemini-3-pro-image" }],
  ["gemini-3-pro-image-16x9", { model: "gemini-3-pro-image", aspectRatio: "16:9" }],
  ["gemini-3-pro-image-4k", { model: "gemini-3-pro-image", imageSize: "4K" }],
  ["gemini-3-pro-image-16x9-4k", { model: "gemini-3-pro-image", aspectRatio: "16:9", imageSize: "4K" }],
  ["gemini-3-pro-image-2k-9x16", { model: "gemini-3-pro-image", aspectRatio: "9:16", imageSize: "2K" }],
  ["gemini-3-pro-image-21-9", { model: "gemini-3-pro-image", aspectRatio: "21:9" }],
  ["gemini-3-pro-image-hd", { model: "gemini-3-pro-image", imageSize: "4K" }],
  ["gemini-3.1-flash-image-1x1-1k", { model: "gemini-3.1-flash-image", aspectRatio: "1:1", imageSize: "1K" }],
  ["gemini-3-pro-image-7x3", { model: "gemini-3-pro-image-7x3" }],
];

describe("model-name suffixes", () => {
  for (const [name, want] of MODELS) test(name, () => expect(parseImageModel(name)).toEqual(want));
});

describe("imageConfigFor: explicit fields win over suffixes", () => {
  const rows: [string, Parameters<typeof imageConfigFor>[1], Record<string, string>][] = [
    ["gemini-3-pro-image", { size: "1920x1080", quality: "hd" }, { aspectRatio: "16:9", imageSize: "4K" }],
    ["gemini-3-pro-image", {}, {}],
    ["gemini-3-pro-image-16x9-4k", {}, { aspectRatio: "16:9", imageSize: "4K" }],
    ["gemini-3-pro-image-16x9-4k", { size: "600x800", quality: "medium" }, { aspectRatio: "3:4", imageSize: "2K" }],
    ["gemini-3-pro-image-16x9-4k", { quality: "standard" }, { aspectRatio: "16:9", imageSize: "4K" }],
    ["gemini-3-pro-image", { quality: "hd", image_size: "1k" }, { imageSize: "1K" }],
    ["gemini-3-pro-image", { size: "nonsense" }, { aspectRatio: "1:1" }],
  ];
  for (const [model, opts, want] of rows)
    test(`${model} ${JSON.stringify(opts)}`, () => expect(imageConfigFor(parseImageModel(model), opts)).toEqual(want));
});

describe("image request and answer", () => {
  test("request carries the prompt, input images and the imageConfig", () => {
    const img = { inlineData: { mimeType: "image/png", data: "AAAA" } };
    expect(imageRequest("a cat", { aspectRatio: "16:9" }, [img])).toEqual({
      contents: [{ role: "user", parts: [{ text: "a cat" }, img] }],
      generationConfig: { imageConfig: { aspectRatio: "16:9" } },
    });
    expect(imageRequest("a cat", {})).toEqual({ contents: [{ role: "user", parts: [{ text: "a cat" }] }] });
  });

  const resp = {
    candidates: [
      {
        content: {
          role: "model",
          parts: [{ text: "thinking", thought: true }, { text: "A cat." }, { inlineData: { mimeType: "image/jpeg", data: "QUJD" } }],
        },
        finishReason: "STOP",
      },
    ],
  };
  test("b64_json, with the model's text as revised_prompt", () => {
    expect(imagesFromResponse(resp, "b64_json")).toEqual([{ b64_json: "QUJD", revised_prompt: "A cat." }]);
  });
  test("url is a data URI with the mime type", () => {
    expect(imagesFromResponse(resp, "url")).toEqual([{ url: "data:image/jpeg;base64,QUJD", revised_prompt: "A cat." }]);
  });
  test("no image → empty", () => {
    expect(imagesFromResponse({ candidates: [{ content: { parts: [{ text: "no" }] } }] }, "b64_json")).toEqual([]);
  });
  test("usage is summed over the calls that answered", () => {
    expect(
      imagesUsage([
        { promptTokenCount: 3, candidatesTokenCount: 1290, totalTokenCount: 1293 },
        undefined,
        { promptTokenCount: 3, candidatesTokenCount: 1290, thoughtsTokenCount: 10, totalTokenCount: 1303 },
      ]),
    ).toEqual({ total_tokens: 2596, input_tokens: 6, output_tokens: 2590, input_tokens_details: { text_tokens: 6, image_tokens: 0 } });
    expect(imagesUsage([undefined])).toBeUndefined();
  });
  test("why no image: safety → 400, otherwise 502", () => {
    expect(noImageReason({ candidates: [{ finishReason: "IMAGE_SAFETY" }] }).status).toBe(400);
    expect(noImageReason({ promptFeedback: { blockReason: "SAFETY" } }).status).toBe(400);
    const other = noImageReason({ candidates: [{ content: { parts: [{ text: "I can only draw cats" }] }, finishReason: "STOP" }] });
    expect(other.status).toBe(502);
    expect(other.message).toContain("I can only draw cats");
  });
});
