// Media as every protocol hands it upstream (inlineData: mime type + base64), data: URIs both ways,
// the markdown form images take in text answers, and image types by their magic bytes. Pure.

export interface InlineData {
  mimeType: string;
  data: string;
}

/** base64 (or its URL-safe form) without whitespace */
export const isBase64 = (s: string) => /^[A-Za-z0-9+/_-]*={0,2}$/.test(s);

/** data:[mime][;base64],payload → inlineData; undefined when it is not a usable data URI */
export function parseDataUri(uri: string): InlineData | undefined {
  const m = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s.exec(uri.trim());
  if (!m) return undefined;
  const mimeType = m[1]?.trim() || "application/octet-stream";
  const base64 = /;base64/i.test(m[2] ?? "");
  let data: string;
  if (base64) {
    data = m[3]!.replace(/\s+/g, "");
    if (!isBase64(data)) return undefined;
  } else {
    try {
      data = Buffer.from(decodeURIComponent(m[3]!)).toString("base64");
    } catch {
      return undefined;
    }
  }
  return data ? { mimeType, data } : undefined;
}

/** a base64 data: URI (an image without a type is taken for PNG, which upstream sends) */
export const dataUri = (mimeType: string, data: string) => `data:${mimeType || "image/png"};base64,${data}`;

/** an image inside a text answer: markdown with a data: URI (clients render it; replayed, it is an image again) */
export const markdownImage = (mimeType: string, data: string) => `![image](${dataUri(mimeType, data)})`;

/** a part of upstream's content: text, or an image */
export type TextOrImage = { text: string; inlineData?: undefined } | { inlineData: InlineData; text?: undefined };

const MD_IMAGE = /!\[[^\]]*\]\((data:[^)\s]+)\)/g;

/** text with markdown data-URI images (as this gateway returns them) → text and inlineData parts, as upstream takes them */
export function textParts(text: string): TextOrImage[] {
  const out: TextOrImage[] = [];
  let last = 0;
  for (const m of text.matchAll(MD_IMAGE)) {
    const img = parseDataUri(m[1]!);
    if (!img) continue;
    const before = text.slice(last, m.index);
    if (before.trim()) out.push({ text: before });
    out.push({ inlineData: img });
    last = m.index! + m[0].length;
  }
  const rest = text.slice(last);
  if (rest && (rest.trim() || out.length === 0)) out.push({ text: rest });
  return out.filter((p) => p.inlineData || (p.text ?? "") !== "");
}

/** PNG, JPEG, GIF or WebP by their magic bytes */
export function sniffImageType(b: Uint8Array): string | undefined {
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (b[0] === 0xff && b[1] === 0xd8) return "image/jpeg";
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return "image/gif";
  if (b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45) return "image/webp";
  return undefined;
}
