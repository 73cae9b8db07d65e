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

/**
 * text with markdown data-URI images (as this gateway returns them: `![alt](data:…)`) → text and
 * inlineData parts, as upstream takes them. Linear: every search moves forward only and remembers what it
 * found (a regex retried from every "![" rescanned the rest of the text each time: seconds for 200 KB of "![").
 */
export function textParts(text: string): TextOrImage[] {
  // most text holds no image: one search, no scanners (an agent's history has hundreds of such blocks)
  if (!text.includes("](data:")) return text ? [{ text }] : [];
  const out: TextOrImage[] = [];
  const nextOpen = finder(text, (t, at) => t.indexOf("![", at));
  const nextLink = finder(text, (t, at) => t.indexOf("](", at));
  const nextBracket = finder(text, (t, at) => t.indexOf("]", at));
  const nextEnd = finder(text, uriEnd);
  let last = 0;
  let from = 0;
  for (;;) {
    const open = nextOpen(from);
    const close = open < 0 ? -1 : nextLink(open + 2);
    if (close < 0) break;
    // the alt text holds no "]": an earlier "]" means this "![" opens no image
    const bracket = nextBracket(open + 2);
    if (bracket < close) {
      from = bracket + 1;
      continue;
    }
    const end = nextEnd(close + 2);
    const uri = end < 0 ? "" : text.slice(close + 2, end);
    const img = end >= 0 && text.charCodeAt(end) === 0x29 && uri.startsWith("data:") ? parseDataUri(uri) : undefined;
    if (!img) {
      from = close + 2;
      continue;
    }
    const before = text.slice(last, open);
    if (before.trim()) out.push({ text: before });
    out.push({ inlineData: img });
    last = from = end + 1;
  }
  const rest = text.slice(last);
  if (rest && (rest.trim() || out.length === 0)) out.push({ text: rest });
  return out.filter((p) => p.inlineData || (p.text ?? "") !== "");
}

/**
 * `search(text, at)` (the first match at or after `at`, -1 for none) for positions that only grow: a
 * match still ahead is reused, so each search covers a stretch of the text once.
 */
function finder(text: string, search: (text: string, at: number) => number): (at: number) => number {
  let found = -2;
  return (at) => (found === -1 || found >= at ? found : (found = search(text, at)));
}

/** where a markdown link's target ends: its ")" or the first white space; -1 at the end of the text */
function uriEnd(text: string, at: number): number {
  for (let i = at; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x29 || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0c || c === 0x0b) return i;
  }
  return -1;
}

/** PNG, JPEG, GIF or WebP by their magic bytes */
export function sniffImageType(b: Uint8Array): string | undefined {
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (b[0] === 0xff && b[1] === 0xd8) return "image/jpeg";
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return "image/gif";
  if (b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45) return "image/webp";
  return undefined;
}
