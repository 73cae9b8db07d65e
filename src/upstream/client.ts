// Calls `{endpoint}/v1internal:{method}`, trying the configured endpoints in order when one fails
// in a way another endpoint may not (5xx, 408, a non-Google 404, network). 429 and other 4xx are
// about the account or the request, so they are returned at once.
import { classify, networkFailure, type Failure } from "./classify";

export interface ClientConfig {
  endpoints: string[];
  requestTimeoutSeconds: number;
}

/** where the User-Agent comes from (ClientIdentity: it may change while we run) */
export interface UserAgentSource {
  readonly userAgent: string;
}

/** What the working clients send besides the User-Agent (docs/upstream.md, "Client identity"). */
const CLIENT_HEADERS = {
  "x-goog-api-client": "google-cloud-sdk vscode_cloudshelleditor/0.1",
  "client-metadata": JSON.stringify({ ideType: "IDE_UNSPECIFIED", platform: "PLATFORM_UNSPECIFIED", pluginType: "GEMINI" }),
};
/** project discovery answers some accounts only for Google's Node client library */
const SETUP_METHODS = new Set(["loadCodeAssist", "onboardUser"]);
const SETUP_USER_AGENT = "google-api-nodejs-client/9.15.1";

export type Outcome<T> = { ok: true; value: T; endpoint: string } | { ok: false; failure: Failure; endpoint?: string };

const NEXT_ENDPOINT = new Set(["server_error", "network"]);

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** a 200 that is not JSON (a proxy's or captive portal's page, an empty body) is not an answer */
function notJson(res: Response): Failure {
  const type = res.headers.get("content-type")?.split(";")[0] || "no content type";
  return { class: "server_error", status: 502, message: `upstream answered 200 with something that is not a JSON answer (${type})` };
}

function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return endpoint;
  }
}

export class UpstreamClient {
  constructor(
    private cfg: ClientConfig,
    private identity: UserAgentSource,
    private fetchImpl: typeof fetch = fetch,
  ) {}

  /** the User-Agent generation calls carry now (named in client_outdated errors) */
  get userAgent(): string {
    return this.identity.userAgent;
  }

  private headers(token: string, accept: string, method: string): Record<string, string> {
    const ua = SETUP_METHODS.has(method) ? SETUP_USER_AGENT : this.identity.userAgent;
    return { authorization: `Bearer ${token}`, "content-type": "application/json", "user-agent": ua, accept, ...CLIENT_HEADERS };
  }

  private get timeoutMs() {
    return this.cfg.requestTimeoutSeconds * 1000;
  }

  /** Unary JSON call. A 200 whose body is `{error}` is a failure. */
  async unary(method: string, body: unknown, token: string, signal?: AbortSignal): Promise<Outcome<unknown>> {
    return this.json("POST", method, `v1internal:${method}`, body, token, signal);
  }

  /** GET `{endpoint}/v1internal/{path}` (long-running operations). */
  async get(path: string, token: string, signal?: AbortSignal): Promise<Outcome<unknown>> {
    return this.json("GET", "operation", `v1internal/${path}`, undefined, token, signal);
  }

  private json(
    verb: "GET" | "POST",
    method: string,
    path: string,
    body: unknown,
    token: string,
    signal?: AbortSignal,
  ): Promise<Outcome<unknown>> {
    return this.tryEndpoints(async (endpoint) => {
      const deadline = AbortSignal.timeout(this.timeoutMs);
      const res = await this.fetchImpl(`${endpoint}/${path}`, {
        method: verb,
        headers: this.headers(token, "application/json", method),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
        redirect: "manual",
        timeout: false,
      } as RequestInit);
      const parsed = parseBody(await res.text());
      if (res.ok && (parsed === null || typeof parsed !== "object")) return { ok: false, failure: notJson(res), endpoint };
      if (res.ok && !("error" in (parsed as object))) return { ok: true, value: parsed, endpoint };
      return { ok: false, failure: classify({ status: res.status, body: parsed, headers: res.headers }), endpoint };
    }, signal);
  }

  /**
   * Streaming call: resolves with the Response once upstream answered 200 (the headers). The deadline
   * covers the wait for the headers; the caller bounds the gaps between chunks. Aborting `abort`
   * (returned) cancels the request.
   */
  async stream(
    method: string,
    body: unknown,
    token: string,
    signal?: AbortSignal,
  ): Promise<Outcome<{ response: Response; abort: AbortController }>> {
    return this.tryEndpoints(async (endpoint) => {
      const abort = new AbortController();
      const sig = signal ? AbortSignal.any([signal, abort.signal]) : abort.signal;
      const timer = setTimeout(() => abort.abort(new DOMException("upstream did not answer in time", "TimeoutError")), this.timeoutMs);
      try {
        const res = await this.fetchImpl(`${endpoint}/v1internal:${method}?alt=sse`, {
          method: "POST",
          headers: this.headers(token, "text/event-stream", method),
          body: JSON.stringify(body),
          signal: sig,
          redirect: "manual",
          timeout: false,
        } as RequestInit);
        if (res.ok && res.body) return { ok: true, value: { response: res, abort }, endpoint };
        const parsed = parseBody(await res.text());
        return { ok: false, failure: classify({ status: res.ok ? 502 : res.status, body: parsed, headers: res.headers }), endpoint };
      } finally {
        clearTimeout(timer);
      }
    }, signal);
  }

  private async tryEndpoints<T>(attempt: (endpoint: string) => Promise<Outcome<T>>, signal?: AbortSignal): Promise<Outcome<T>> {
    let last: Outcome<T> | undefined;
    for (const endpoint of this.cfg.endpoints) {
      try {
        last = await attempt(endpoint);
      } catch (e) {
        if (signal?.aborted) throw signal.reason ?? e; // the client went away: not the endpoint's fault
        last = {
          ok: false,
          failure: networkFailure(e, { host: hostOf(endpoint), timeoutSeconds: this.cfg.requestTimeoutSeconds }),
          endpoint,
        };
      }
      if (last.ok || !NEXT_ENDPOINT.has(last.failure.class)) return last;
    }
    return last!;
  }
}
