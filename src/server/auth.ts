// Client and admin authentication (docs/contract.md §5). Runs before routing and body parsing, so a keyless
// request with a bad body gets 401, not 400.
import { sha256 } from "../core/hash";
import type { Config } from "../config/schema";
import { ApiError } from "../core/errors";
import { ANONYMOUS, CONFIG_CALLER, type Caller } from "../keys/scope";

export type AuthMode = Config["auth"]["mode"];

// "/" too: Claude Code probes HEAD / without its key before the first request
const HEALTH = new Set(["/healthz", "/health", "/readyz", "/"]);
// The docs hold no secrets and a browser cannot easily send a header: public unless mode is strict.
const isDocs = (path: string) => path === "/swagger" || path === "/swagger/json" || path.startsWith("/swagger/assets/");

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** `auto` is `off` on a loopback listener, else `all_except_health`. */
export function effectiveMode(config: Config): Exclude<AuthMode, "auto"> {
  const m = config.auth.mode;
  if (m !== "auto") return m;
  return isLoopback(config.server.host) ? "off" : "all_except_health";
}

/** The client's key from, in order: Authorization: Bearer, x-api-key, x-goog-api-key, ?key= */
export function presentedKey(req: Request, url: URL): string | undefined {
  const auth = req.headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1]!.trim();
  }
  return req.headers.get("x-api-key")?.trim() || req.headers.get("x-goog-api-key")?.trim() || url.searchParams.get("key") || undefined;
}

/** the configured keys' digests, computed once per key list (not per request) */
const configuredDigests = new WeakMap<readonly string[], { keys: string[]; digests: Uint8Array[] }>();
const sameKeys = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((k, i) => k === b[i]);

/** constant-time: compares fixed-length digests, and checks every key */
export function keyMatches(given: string, keys: readonly string[]): boolean {
  const g = sha256(given);
  let known = configuredDigests.get(keys);
  // the list may be edited in place (tests do): the digests follow it
  if (!known || !sameKeys(known.keys, keys)) configuredDigests.set(keys, (known = { keys: [...keys], digests: keys.map(sha256) }));
  let ok = false;
  for (const d of known.digests) ok = crypto.timingSafeEqual(g, d) || ok;
  return ok;
}

/** Throws ApiError(401) unless `key` opens /admin: the admin key, or an API key when no admin key is set. */
export function checkAdminKey(config: Config, key: string | undefined): void {
  const keys = config.auth.adminKey ? [config.auth.adminKey] : config.auth.apiKeys;
  if (keys.length === 0)
    throw new ApiError(
      401,
      "the admin API needs a key: set SWITCHYARD_ADMIN_KEY (or auth.adminKey, or an API key) and send it as Authorization: Bearer <key>",
      { reason: "no_key_configured" },
    );
  if (!key) throw new ApiError(401, "missing admin key: send it as Authorization: Bearer <key> or x-api-key", { reason: "missing_key" });
  if (!keyMatches(key, keys)) throw new ApiError(401, "invalid admin key", { reason: "invalid_key" });
}

/**
 * Throws ApiError(401) when the request may not pass; returns who is calling when it may. `identify`
 * knows the virtual keys (src/keys/): one is accepted wherever a configured key is, and with auth off a
 * request that presents one is still attributed to it (and held to its limits).
 */
export function checkAuth(
  config: Config,
  req: Request,
  url: URL,
  identify: (secret: string | undefined) => Caller | undefined = () => undefined,
): Caller {
  const path = url.pathname;
  const key = presentedKey(req, url);
  if (path === "/admin" || path.startsWith("/admin/")) {
    checkAdminKey(config, key);
    return CONFIG_CALLER;
  }
  // the dashboard's credential is its session cookie (src/ui/), checked by its routes; its sign-in form
  // takes the admin key through checkAdminKey
  if (path === "/ui" || path.startsWith("/ui/")) return ANONYMOUS;
  // A browser redirect cannot carry a key; the single-use, unguessable `state` issued by the
  // admin-authenticated /admin/oauth/start is the credential there.
  if (path === "/oauth-callback") return ANONYMOUS;
  // Swagger UI's own script and style (public files of swagger-ui-dist): a browser cannot attach a key to them
  if (path.startsWith("/swagger/assets/")) return ANONYMOUS;
  const mode = effectiveMode(config);
  // health and docs need no key here: a stale key a probe still sends is no reason to call the gateway down
  if (mode !== "strict" && (HEALTH.has(path) || isDocs(path))) return ANONYMOUS;
  // a virtual key (revoked or expired: 401 here) wherever a key is accepted
  const virtual = identify(key);
  if (virtual) return virtual;
  if (mode === "off") return key && config.auth.apiKeys.length && keyMatches(key, config.auth.apiKeys) ? CONFIG_CALLER : ANONYMOUS;
  const keys = config.auth.apiKeys;
  if (keys.length === 0)
    throw new ApiError(401, "authentication is on but no API key is configured: set SWITCHYARD_API_KEY or auth.apiKeys in config.json", {
      reason: "no_key_configured",
    });
  if (!key)
    throw new ApiError(401, "missing API key: send Authorization: Bearer <key>, x-api-key, x-goog-api-key or ?key=", {
      reason: "missing_key",
    });
  if (!keyMatches(key, keys)) throw new ApiError(401, "invalid API key", { reason: "invalid_key" });
  return CONFIG_CALLER;
}
