// Remote image_url values (http/https) are fetched only when openai.fetchRemoteImages is on: with a
// size cap, a timeout, no redirect to anything but http(s), and an image content type. Never files.
import type { Config } from "../config/schema";
import { ApiError, badRequest } from "../server/errors";
import type { InlineData } from "./chat-request";
import { sniffImageType } from "./images";
import type { ChatRequest } from "./schemas";

const MAX_REDIRECTS = 5;
const MAX_URLS = 32;

/** every http(s) image_url in the conversation, with the field that holds it */
export function remoteImageUrls(body: ChatRequest): Map<string, string> {
  const urls = new Map<string, string>();
  body.messages.forEach((m, i) => {
    if (!Array.isArray(m.content)) return;
    m.content.forEach((p, j) => {
      const url = typeof p.image_url === "string" ? p.image_url : p.image_url?.url;
      if (url && /^https?:\/\//i.test(url) && !urls.has(url)) urls.set(url, `messages[${i}].content[${j}].image_url`);
    });
  });
  return urls;
}

async function fetchOne(url: string, param: string, cfg: Config["openai"], signal?: AbortSignal): Promise<InlineData> {
  const deadline = AbortSignal.timeout(cfg.remoteImageTimeoutMs);
  const sig = signal ? AbortSignal.any([signal, deadline]) : deadline;
  let current = url;
  try {
    for (let hop = 0; ; hop++) {
      const res = await fetch(current, { signal: sig, redirect: "manual" });
      if (res.status >= 300 && res.status < 400 && res.headers.get("location")) {
        await res.body?.cancel();
        const next = new URL(res.headers.get("location")!, current);
        if (hop >= MAX_REDIRECTS || !/^https?:$/.test(next.protocol)) throw badRequest(`${param}: too many or unsafe redirects`, param);
        current = next.href;
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw badRequest(`${param}: fetching the image failed with HTTP ${res.status}`, param);
      }
      const declared = Number(res.headers.get("content-length") ?? 0);
      if (declared > cfg.remoteImageMaxBytes) {
        await res.body?.cancel();
        throw badRequest(`${param}: the image is larger than ${cfg.remoteImageMaxBytes} bytes (openai.remoteImageMaxBytes)`, param);
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of res.body ?? []) {
        size += chunk.byteLength;
        if (size > cfg.remoteImageMaxBytes) throw badRequest(`${param}: the image is larger than ${cfg.remoteImageMaxBytes} bytes (openai.remoteImageMaxBytes)`, param);
        chunks.push(chunk);
      }
      const bytes = Buffer.concat(chunks);
      const type = res.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
      const mimeType = type && (type.startsWith("image/") || type === "application/pdf") ? type : sniffImageType(bytes);
      if (!mimeType) throw badRequest(`${param}: the URL did not return an image (content-type ${type ?? "missing"})`, param);
      return { mimeType, data: bytes.toString("base64") };
    }
  } catch (e) {
    if (deadline.aborted) throw badRequest(`${param}: fetching the image timed out after ${cfg.remoteImageTimeoutMs} ms`, param);
    if (e instanceof ApiError) throw e;
    if (signal?.aborted) throw e;
    throw badRequest(`${param}: could not fetch the image (${(e as Error).message})`, param);
  }
}

/** fetch the conversation's remote images (400 naming the field when off or failing) */
export async function fetchRemoteImages(body: ChatRequest, cfg: Config["openai"], signal?: AbortSignal): Promise<Map<string, InlineData>> {
  const urls = remoteImageUrls(body);
  const out = new Map<string, InlineData>();
  if (urls.size === 0) return out;
  const firstParam = urls.values().next().value!;
  if (!cfg.fetchRemoteImages)
    throw badRequest(`${firstParam}: remote image URLs are not fetched by this gateway (openai.fetchRemoteImages is off); send a data: URI`, firstParam);
  if (urls.size > MAX_URLS) throw badRequest(`at most ${MAX_URLS} remote image URLs per request`, firstParam);
  await Promise.all([...urls].map(async ([url, param]) => out.set(url, await fetchOne(url, param, cfg, signal))));
  return out;
}
