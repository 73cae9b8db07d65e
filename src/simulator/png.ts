// A real (tiny) PNG encoder so image replies decode in any viewer: 8-bit RGB, filter 0, zlib IDAT.
import { deflateSync } from "node:zlib";

export const ASPECT_RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "5:4", "4:5", "21:9"];
const SIZE_SCALE: Record<string, number> = { "1K": 1, "2K": 2, "4K": 4 };
export const IMAGE_SIZES = Object.keys(SIZE_SCALE);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export function encodePng(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type RGB, deflate, filter 0, no interlace
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 3);
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), row + 1 + x * 3);
  }
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", new Uint8Array(deflateSync(raw))),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** pixel size for an aspect ratio: the ratio scaled so the long side is ≥16 px, times 1/2/4 for 1K/2K/4K */
export function imageDims(aspectRatio = "1:1", imageSize = "1K"): { width: number; height: number } {
  const [a, b] = aspectRatio.split(":").map(Number) as [number, number];
  const k = Math.ceil(16 / Math.max(a, b)) * (SIZE_SCALE[imageSize] ?? 1);
  return { width: a * k, height: b * k };
}

/** a gradient whose colour depends on `seed`, so different prompts give different images */
export function makeImage(aspectRatio: string | undefined, imageSize: string | undefined, seed: number) {
  const { width, height } = imageDims(aspectRatio, imageSize);
  const base = [seed & 0xff, (seed >>> 8) & 0xff, (seed >>> 16) & 0xff];
  const png = encodePng(width, height, (x, y) => [(base[0]! + (x * 255) / width) & 0xff, (base[1]! + (y * 255) / height) & 0xff, base[2]!]);
  return { width, height, png };
}
