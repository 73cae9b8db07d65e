// The one fetcher for remote (http/https) images and documents a client names by URL, for every
// protocol. Only when openai.fetchRemoteImages is on (one switch for all); http(s) only, redirects
// included; a size cap and a timeout; the content type must fit the kind. Never reads files.
// I/O lives here, not in the mappers: the routes fetch first and hand the results in.
import type { Config } from "../config/schema";
import { ApiError, badRequest } from "../core/errors";
import { sniffImageType, type InlineData } from "./media";

export type RemoteRules = Pick<
  Config["openai"],
  "fetchRemoteImages" | "remoteImageMaxBytes" | "remoteImageTimeoutMs" | "remoteFetchPrivate"
>;

/** what the client's field may hold: image → image/*; document → PDF or text; image_url (OpenAI) → image or PDF */
export type RemoteKind = "image" | "document" | "image_url";

export interface RemoteSource {
  url: string;
  /** the request field that holds the URL: named in every error */
  param: string;
  kind: RemoteKind;
}

const ACCEPT: Record<RemoteKind, RegExp> = {
  image: /^image\//,
  document: /^(application\/pdf$|text\/)/,
  image_url: /^(image\/|application\/pdf$)/,
};
const MAX_URLS = 32;
const MAX_REDIRECTS = 5;

const httpUrl = (u: URL) => u.protocol === "http:" || u.protocol === "https:";

/**
 * One answer for every address the fetcher will not reach, and for failing to reach one: a client must
 * not learn from it what exists inside the network (which host answers, which port is open).
 */
const REFUSED = "not fetched: only public http(s) addresses are fetched, and this one is not (or did not answer)";

// node:net and node:dns load Node's stream modules (~15 ms of every start-up): only once an address is checked
let net: typeof import("node:net") | undefined;
const isIP = (s: string): number => (net ??= require("node:net") as typeof import("node:net")).isIP(s);

const v4 = (ip: string) => ip.split(".").map(Number);
/** loopback, private, shared, link-local (cloud metadata), reserved, multicast: never fetched */
export function isPrivateAddress(ip: string): boolean {
  let a = ip.toLowerCase().replace(/^\[|\]$/g, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) a = mapped[1]!;
  if (isIP(a) === 4) {
    const [x, y] = v4(a) as [number, number];
    return (
      x === 0 ||
      x === 10 ||
      x === 127 ||
      x >= 224 ||
      (x === 100 && y >= 64 && y < 128) ||
      (x === 169 && y === 254) ||
      (x === 172 && y >= 16 && y < 32) ||
      (x === 192 && (y === 168 || y === 0)) ||
      (x === 198 && (y === 18 || y === 19))
    );
  }
  if (isIP(a) === 6)
    return a === "::" || a === "::1" || /^f[cd]/.test(a) || /^fe[89ab]/.test(a) || a.startsWith("ff") || a.startsWith("::ffff:");
  return true; // not an address at all: refuse
}

/**
 * Every address the host resolves to must be public (checked again on each redirect); the one to
 * connect to is returned, so the fetch goes where the check looked (undefined: private ones allowed).
 */
async function checkDestination(u: URL, rules: RemoteRules, fail: (why: string) => ApiError): Promise<string | undefined> {
  if (rules.remoteFetchPrivate) return undefined;
  const host = u.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await (await import("node:dns/promises")).lookup(host, { all: true })).map((r) => r.address);
  } catch {
    throw fail(REFUSED);
  }
  if (!addresses.length || addresses.some(isPrivateAddress)) throw fail(REFUSED);
  return addresses[0];
}

/**
 * The fetch of `u` at the address checked: a name that resolves to a public address for the check and to
 * 127.0.0.1 a moment later (DNS rebinding, TTL 0) cannot send the fetch inside. The name still goes in
 * the Host header and, for https, in SNI and the certificate check.
 */
export function pinnedFetch(
  u: URL,
  address: string,
): { url: string; init: { headers: Record<string, string>; tls?: { serverName: string } } } {
  const at = new URL(u.href);
  at.hostname = isIP(address) === 6 ? `[${address}]` : address;
  const name = u.hostname.replace(/^\[|\]$/g, "");
  const tls = u.protocol === "https:" && !isIP(name) ? { tls: { serverName: name } } : {};
  return { url: at.href, init: { headers: { host: u.host }, ...tls } };
}

/**
 * Fetches every distinct URL (url → inlineData). Nothing to fetch → an empty map, no network.
 * `disabled` words the 400 for the first source when fetching is off (each protocol names its own
 * alternative: a data: URI, base64).
 */
export async function fetchRemote(
  sources: RemoteSource[],
  rules: RemoteRules,
  opts: { signal?: AbortSignal; disabled: (first: RemoteSource) => string },
): Promise<Map<string, InlineData>> {
  const out = new Map<string, InlineData>();
  if (!sources.length) return out;
  const first = sources[0]!;
  if (!rules.fetchRemoteImages) throw badRequest(`${first.param}: ${opts.disabled(first)}`, first.param);
  const unique = new Map<string, RemoteSource>(); // a URL named twice is fetched once; errors name its first place
  for (const s of sources) if (!unique.has(s.url)) unique.set(s.url, s);
  if (unique.size > MAX_URLS) throw badRequest(`at most ${MAX_URLS} remote URLs per request`, first.param);
  await Promise.all([...unique.values()].map(async (s) => out.set(s.url, await fetchOne(s, rules, opts.signal))));
  return out;
}

async function fetchOne(s: RemoteSource, rules: RemoteRules, signal?: AbortSignal): Promise<InlineData> {
  const fail = (why: string) => badRequest(`${s.param}: could not fetch ${s.url}: ${why}`, s.param);
  let u: URL;
  try {
    u = new URL(s.url);
  } catch {
    throw fail("not a valid URL");
  }
  if (!httpUrl(u)) throw fail("only http and https URLs are fetched");
  const deadline = AbortSignal.timeout(rules.remoteImageTimeoutMs);
  const sig = signal ? AbortSignal.any([signal, deadline]) : deadline;
  try {
    return await download(u, s.kind, rules, sig, fail);
  } catch (e) {
    if (e instanceof ApiError || signal?.aborted) throw e;
    if (deadline.aborted) throw fail(`no answer within ${rules.remoteImageTimeoutMs} ms (openai.remoteImageTimeoutMs)`);
    throw fail(rules.remoteFetchPrivate ? `network error (${(e as Error).message})` : REFUSED);
  }
}

async function download(
  u: URL,
  kind: RemoteKind,
  rules: RemoteRules,
  signal: AbortSignal,
  fail: (why: string) => ApiError,
): Promise<InlineData> {
  const max = rules.remoteImageMaxBytes;
  let res: Response;
  for (let hop = 0; ; hop++) {
    const address = await checkDestination(u, rules, fail);
    const pinned = address === undefined ? { url: u.href, init: {} } : pinnedFetch(u, address);
    res = await fetch(pinned.url, { ...pinned.init, signal, redirect: "manual" } as RequestInit);
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
  const tooLarge = `larger than ${max} bytes (openai.remoteImageMaxBytes)`;
  if (Number(res.headers.get("content-length") ?? 0) > max) {
    await res.body?.cancel();
    throw fail(tooLarge);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of res.body ?? []) {
    size += c.byteLength;
    if (size > max) throw fail(tooLarge);
    chunks.push(c);
  }
  const bytes = Buffer.concat(chunks);
  const declared = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  // a server that does not say (or says octet-stream) may still be serving an image
  const mimeType = ACCEPT[kind].test(declared) ? declared : sniffImageType(bytes);
  if (!mimeType || !ACCEPT[kind].test(mimeType)) throw fail(`unexpected content type "${declared || "none"}"`);
  return { mimeType, data: bytes.toString("base64") };
}
