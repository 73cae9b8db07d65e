import { describe, expect, test } from "bun:test";
import { dataUri, markdownImage, parseDataUri, sniffImageType } from "../../src/protocol/media";

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
