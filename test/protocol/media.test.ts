import { describe, expect, test } from "bun:test";
import { dataUri, markdownImage, parseDataUri, sniffImageType, textParts } from "../../src/protocol/media";

const PNG = "iVBORw0KGgo=";

describe("media", () => {
  test("parseDataUri", () => {
    expect(parseDataUri(`data:image/png;base64,${PNG}`)).toEqual({ mimeType: "image/png", data: PNG });
    expect(parseDataUri("data:text/plain,hello%20world")).toEqual({
      mimeType: "text/plain",
      data: Buffer.from("hello world").toString("base64"),
    });
    expect(parseDataUri("data:image/png;base64,$$")).toBeUndefined();
    expect(parseDataUri("http://x")).toBeUndefined();
  });

  test("dataUri and markdownImage round-trip through parseDataUri; a missing type is PNG", () => {
    expect(parseDataUri(dataUri("image/jpeg", PNG))).toEqual({ mimeType: "image/jpeg", data: PNG });
    expect(markdownImage("", PNG)).toBe(`![image](data:image/png;base64,${PNG})`);
  });

  test("sniffImageType by magic bytes", () => {
    expect(sniffImageType(Buffer.from(PNG, "base64"))).toBe("image/png");
    expect(sniffImageType(Buffer.from([0xff, 0xd8, 0xff]))).toBe("image/jpeg");
    expect(sniffImageType(Buffer.from("GIF89a"))).toBe("image/gif");
    expect(sniffImageType(Buffer.from("RIFF\0\0\0\0WEBP"))).toBe("image/webp");
    expect(sniffImageType(Buffer.from("<html>"))).toBeUndefined();
  });
});

describe("textParts: markdown data-URI images in text → image parts", () => {
  const img = { inlineData: { mimeType: "image/png", data: PNG } };
  const md = `![image](data:image/png;base64,${PNG})`;
  test.each([
    ["plain text", "a b", [{ text: "a b" }]],
    ["empty", "", []],
    ["an http link stays text", "a ![x](http://not-data) b", [{ text: "a ![x](http://not-data) b" }]],
    ["an image alone", md, [img]],
    ["text, image, text", `Here:\n\n${md}\nthere`, [{ text: "Here:\n\n" }, img, { text: "\nthere" }]],
    ["two images, any alt text", `${md}![a b](data:image/png;base64,${PNG})`, [img, img]],
    ["no closing parenthesis: text", `x ![i](data:image/png;base64,${PNG}`, [{ text: `x ![i](data:image/png;base64,${PNG}` }]],
    ["white space ends the target: text", `![i](data:image/png;base64,${PNG} x)`, [{ text: `![i](data:image/png;base64,${PNG} x)` }]],
    ["a bad data URI stays text", "![i](data:image/png;base64,$$)", [{ text: "![i](data:image/png;base64,$$)" }]],
    ["a bracket in the alt text: no image there, the next one found", `![a]b](data:x) ${md}`, [{ text: "![a]b](data:x) " }, img]],
  ])("%s", (_name, text, want) => {
    expect(textParts(text)).toEqual(want as never);
  });

  // each would take seconds if every "![" rescanned the rest of the text (a regex did): a frozen gateway
  test.each([
    ["![ ×200k", "![".repeat(200_000)],
    ["![image](data: ×40k", "![image](data:".repeat(40_000)],
    ["![] ×100k, then a link", "![]".repeat(100_000) + "](x)"],
    ["![](a ×60k", "![](a".repeat(60_000)],
  ])("linear on %s", (_name, text) => {
    expect(textParts(text)).toEqual([{ text }]);
  });
});
