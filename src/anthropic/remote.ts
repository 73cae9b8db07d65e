// Fetches `url` image/document sources when the operator allows it (openai.fetchRemoteImages — one
// switch for every protocol), with the same size cap and timeout, http(s) only (redirects too).
// I/O lives here, not in the mapper. (The OpenAI side has the same rules in src/openai/remote-images.ts.)
import type { Config } from "../config/schema";
import { badRequest } from "../server/errors";
import type { Media } from "./request";

type Source = { url: string; path: string; kind: string };
const MAX_URLS = 32;
const MAX_REDIRECTS = 5;

export async function fetchSources(sources: Source[], config: Config["openai"], signal?: AbortSignal): Promise<Map<string, Media>> {
  const out = new Map<string, Media>();
  if (!sources.length) return out;
  const first = sources[0]!;
  if (!config.fetchRemoteImages)
    throw badRequest(`${first.path}: URL ${first.kind} sources are disabled on this gateway (openai.fetchRemoteImages); send the ${first.kind} as base64`, first.path);
  const unique = [...new Map(sources.map((s) => [s.url, s])).values()];
  if (unique.length > MAX_URLS) throw badRequest(`at most ${MAX_URLS} URL sources per request`, first.path);
  await Promise.all(unique.map(async (s) => out.set(s.url, await fetchOne(s, config, signal))));
  return out;
}

const httpUrl = (u: URL) => u.protocol === "http:" || u.protocol === "https:";

async function fetchOne(s: Source, config: Config["openai"], signal?: AbortSignal): Promise<Media> {
  const fail = (why: string) => badRequest(`${s.path}: could not fetch ${s.url}: ${why}`, s.path);
  let u: URL;
  try {
    u = new URL(s.url);
  } catch {
    throw fail("not a valid URL");
  }
  if (!httpUrl(u)) throw fail("only http and https URLs are fetched");
  const deadline = AbortSignal.timeout(config.remoteImageTimeoutMs);
  const sig = signal ? AbortSignal.any([signal, deadline]) : deadline;
  try {
    return await download(u, s.kind, config.remoteImageMaxBytes, sig, fail);
  } catch (e) {
    if ((e as Error)?.name === "ApiError" || signal?.aborted) throw e;
    throw fail(deadline.aborted ? `no answer within ${config.remoteImageTimeoutMs} ms` : "network error");
  }
}

async function download(u: URL, kind: string, max: number, signal: AbortSignal, fail: (why: string) => Error): Promise<Media> {
  let res: Response;
  for (let hop = 0; ; hop++) {
    res = await fetch(u.href, { signal, redirect: "manual" });
    const location = res.status >= 300 && res.status < 400 ? res.headers.get("location") : null;
    if (!location) break;
    await res.body?.cancel();
    u = new URL(location, u);
    if (hop >= MAX_REDIRECTS || !httpUrl(u)) throw fail("too many or non-http redirects");
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw fail(`HTTP ${res.status}`);
  }
  if (Number(res.headers.get("content-length") ?? 0) > max) {
    await res.body?.cancel();
    throw fail(`larger than ${max} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of res.body ?? []) {
    size += c.byteLength;
    if (size > max) throw fail(`larger than ${max} bytes`);
    chunks.push(c);
  }
  const mimeType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const want = kind === "image" ? /^image\// : /^(application\/pdf|text\/)/;
  if (!want.test(mimeType)) throw fail(`unexpected content type "${mimeType || "none"}"`);
  return { mimeType, data: Buffer.concat(chunks).toString("base64") };
}
