// What a web page must not do with a gateway on this machine (README, "Security model"): reach it under
// another host name (DNS rebinding), call it from another origin, or freeze it with a deeply nested body.
// Checked before routing, like authentication.
import type { Config } from "../config/schema";
import { ApiError } from "../core/errors";
import { isLoopback } from "./auth";

const ANY_INTERFACE = new Set(["0.0.0.0", "::", "[::]"]);

/** the host name of a Host header value ("[::1]:8045" → "::1", "example.org:80" → "example.org") */
export function hostName(value: string): string {
  const v = value.trim().toLowerCase();
  if (v.startsWith("[")) return v.slice(1, v.indexOf("]") > 0 ? v.indexOf("]") : undefined);
  const colon = v.lastIndexOf(":");
  return colon > 0 && v.indexOf(":") === colon ? v.slice(0, colon) : v;
}

/** A Host that names this listener: a loopback name, the bind address, or server.allowedHosts. */
export function hostAllowed(config: Config, host: string | null): boolean {
  if (!host) return false;
  const name = hostName(host);
  const allowed = config.server.allowedHosts;
  if (allowed.includes("*") || allowed.includes(name)) return true;
  if (isLoopback(name) || name.endsWith(".localhost")) return true;
  const bind = config.server.host.toLowerCase().replace(/^\[|\]$/g, "");
  if (name === bind) return true;
  // bound to every interface: the names it is reached by are not known unless listed
  return ANY_INTERFACE.has(bind) && allowed.length === 0;
}

/** A request a browser sent from another origin is refused unless server.allowedOrigins lists it. */
export function originAllowed(config: Config, origin: string | null, host: string | null): boolean {
  if (origin === null) return true; // not a browser's cross-origin call
  const allowed = config.server.allowedOrigins;
  if (allowed.includes("*") || allowed.includes(origin)) return true;
  try {
    const o = new URL(origin);
    return !!host && o.host.toLowerCase() === host.trim().toLowerCase(); // same origin (Swagger UI, /ui)
  } catch {
    return false; // "null" (sandboxed frames, file://) and garbage
  }
}

/** Host values already judged (a gateway sees the same few over and over): the check is a lookup */
const seenHosts = new WeakMap<Config, Map<string, boolean>>();

function hostAllowedCached(config: Config, host: string | null): boolean {
  if (host === null) return false;
  let seen = seenHosts.get(config);
  if (!seen) seenHosts.set(config, (seen = new Map()));
  let ok = seen.get(host);
  if (ok === undefined) {
    ok = hostAllowed(config, host);
    if (seen.size < 256) seen.set(host, ok); // bounded: a flood of invented names is judged, not stored
  }
  return ok;
}

export function checkBrowser(config: Config, req: Request): void {
  const host = req.headers.get("host");
  if (!hostAllowedCached(config, host)) {
    throw new ApiError(
      host ? 403 : 400,
      host
        ? `host ${JSON.stringify(hostName(host).slice(0, 100))} is not served here; list it in server.allowedHosts`
        : "the Host header is required",
      {
        reason: host ? "host_not_allowed" : "invalid_request",
      },
    );
  }
  const origin = req.headers.get("origin");
  if (!originAllowed(config, origin, host)) {
    throw new ApiError(
      403,
      `requests from the web origin ${JSON.stringify(origin!.slice(0, 200))} are refused; list it in server.allowedOrigins to allow them`,
      {
        reason: "origin_not_allowed",
      },
    );
  }
}
