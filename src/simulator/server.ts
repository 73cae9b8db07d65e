// The HTTP front: routes Google's URLs (and the Antigravity updater's) to the handlers, renders thrown
// HttpErrors, and records every upstream call (not /_sim/… control calls) in the request log.
import type { Logger } from "../core/log";
import type { Call } from "./call";
import { control } from "./control";
import { googleError, HttpError, json } from "./errors";
import { cutResponse } from "./generate";
import { authorize, token, userinfo } from "./oauth";
import type { SimState } from "./state";
import { updater } from "./updater";
import { v1Method, v1Operation } from "./v1internal";

const SECRET_HEADERS = /^(authorization|proxy-authorization|cookie|x-goog-api-key|x-api-key)$/;

function maskedHeaders(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => {
    out[k] = SECRET_HEADERS.test(k) ? v.replace(/^(\w+\s+)?.*$/, "$1[redacted]") : v;
  });
  return out;
}

function route(call: Call): Promise<Response> | Response {
  const { req, url } = call;
  const path = url.pathname;
  if (path.startsWith("/v1internal:")) {
    call.method = path.slice("/v1internal:".length);
    return v1Method(call, call.method);
  }
  const op = /^\/v1internal\/operations\/([^/]+)$/.exec(path);
  if (op && req.method === "GET") {
    call.method = "operation";
    return v1Operation(call, op[1]!);
  }
  if (path === "/token" && req.method === "POST") {
    call.method = "token";
    return token(call);
  }
  if (path === "/o/oauth2/v2/auth" && req.method === "GET") {
    call.method = "authorize";
    return authorize(call);
  }
  if ((path === "/oauth2/v2/userinfo" || path === "/oauth2/v1/userinfo") && req.method === "GET") {
    call.method = "userinfo";
    return userinfo(call);
  }
  const update = /^\/api\/update\/([^/]+)\/stable\/latest$/.exec(path);
  if (update && req.method === "GET") {
    call.method = "updater";
    return updater(call, decodeURIComponent(update[1]!));
  }
  throw googleError(404, "NOT_FOUND", `The requested URL ${path} was not found on this server.`);
}

export function createFetch(state: SimState, log?: Logger) {
  return async function fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname.startsWith("/_sim/")) return control(req, url, state);
    const call: Call = { req, url, state, method: "unknown" };
    let res: Response;
    let entered: string | undefined;
    try {
      const answer = route(call); // runs up to its first await: the method is known by then
      state.enter((entered = call.method));
      res = await answer;
    } catch (e) {
      if (e instanceof HttpError) res = json(e.body, e.status, e.headers);
      else {
        log?.error("simulator handler failed", { method: call.method, error: String(e) });
        res = json(googleError(500, "INTERNAL", "Internal error encountered.").body, 500);
      }
    } finally {
      if (entered) state.leave(entered);
    }
    if (call.cut) res = await cutResponse(res);
    state.record(
      {
        time: new Date().toISOString(),
        method: call.method,
        path: url.pathname + url.search,
        headers: maskedHeaders(req.headers),
        body: call.body,
        email: call.email,
        status: res.status,
      },
      call.model,
    );
    log?.debug("simulator request", { method: call.method, status: res.status, email: call.email });
    return res;
  };
}
