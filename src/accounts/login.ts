// Google OAuth authorization-code flow with PKCE (S256) and `state` (docs/upstream.md, "OAuth and project setup"), for
// `accounts login` and the admin OAuth routes. The code arrives either on a loopback callback or pasted
// by the user (headless servers, pain 7); whichever comes first wins.
import { randomBytes, sha256 } from "../core/hash";
import type { Config } from "../config/schema";
import { exchangeCode } from "./oauth";

export const OAUTH_SCOPES = [
  "https://www.googleapis.com/auth/cloud-platform",
  "https://www.googleapis.com/auth/userinfo.email",
  "https://www.googleapis.com/auth/userinfo.profile",
  "https://www.googleapis.com/auth/cclog",
  "https://www.googleapis.com/auth/experimentsandconfigs",
];
export const CALLBACK_PATH = "/oauth-callback";
/** used in the URL when no loopback port could be opened: the user pastes the redirect anyway */
export const FALLBACK_REDIRECT = `http://127.0.0.1:51121${CALLBACK_PATH}`;
export const LOGIN_TIMEOUT_MS = 10 * 60 * 1000;

const b64url = (buf: Buffer) => buf.toString("base64url");

export interface Pkce {
  verifier: string;
  challenge: string;
}

/** RFC 7636: 32 random bytes → 43-char verifier; challenge = BASE64URL(SHA256(verifier)). */
export function createPkce(): Pkce {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: pkceChallenge(verifier) };
}

export function pkceChallenge(verifier: string): string {
  return Buffer.from(sha256(verifier)).toString("base64url");
}

export function newState(): string {
  return b64url(randomBytes(24));
}

export function buildAuthUrl(
  oauth: Pick<Config["oauth"], "authUrl" | "clientId">,
  p: { redirectUri: string; state: string; challenge: string; loginHint?: string },
): string {
  const url = new URL(oauth.authUrl);
  const q = url.searchParams;
  q.set("client_id", oauth.clientId);
  q.set("redirect_uri", p.redirectUri);
  q.set("response_type", "code");
  q.set("scope", OAUTH_SCOPES.join(" "));
  q.set("access_type", "offline");
  // without consent Google may omit the refresh token on re-authorisation
  q.set("prompt", "consent");
  q.set("include_granted_scopes", "true");
  q.set("state", p.state);
  q.set("code_challenge", p.challenge);
  q.set("code_challenge_method", "S256");
  if (p.loginHint) q.set("login_hint", p.loginHint);
  return url.toString();
}

/** `refused`: Google's own `error` code (e.g. access_denied): the sign-in ended, retrying this URL cannot help */
export type PastedInput = { code: string; state?: string } | { error: string; refused?: string };

/**
 * What a user pastes: the whole redirect URL, its query string, or the bare code.
 * A URL whose `state` is not ours is refused (CSRF protection); a bare code carries no state to check.
 */
export function parsePastedInput(input: string, expectedState?: string): PastedInput {
  const text = input.trim().replace(/^["'<]+|["'>]+$/g, "");
  if (!text) return { error: "empty input" };
  let params: URLSearchParams | undefined;
  if (/^https?:\/\//i.test(text)) {
    try {
      params = new URL(text).searchParams;
    } catch {
      return { error: "not a valid URL" };
    }
  } else if (/(^|[?&])(code|error)=/.test(text)) {
    params = new URLSearchParams(text.replace(/^[^?]*\?/, ""));
  }
  if (!params) {
    if (/\s/.test(text)) return { error: "expected the redirect URL or the code (no spaces)" };
    return { code: text.includes("%") ? safeDecode(text) : text };
  }
  const state = params.get("state") ?? undefined;
  if (expectedState !== undefined && state !== undefined && state !== expectedState)
    return { error: "state mismatch: this redirect belongs to a different login attempt" };
  const error = params.get("error");
  if (error) return { error: refusalMessage(error, params.get("error_description")), refused: error };
  const code = params.get("code");
  if (!code) return { error: "the URL has no `code` parameter" };
  return { code, state };
}

function refusalMessage(error: string, description: string | null): string {
  if (error === "access_denied") return "sign-in was cancelled in the browser (access_denied)";
  return `Google ended the sign-in with an error (${error}${description ? `: ${description}` : ""})`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// ---- the interactive flow (CLI) ----

export interface TokenAdder<A> {
  addByRefreshToken(refreshToken: string): Promise<{ account: A; created: boolean }>;
}

/** code → refresh token (the pool's oauth.exchangeCode, bound to the config) */
export type CodeExchange = (code: string, redirectUri: string, codeVerifier: string) => Promise<{ refreshToken?: string }>;

export interface LoginOptions<A> {
  config: Config;
  adder: TokenAdder<A>;
  /** default: the pool's exchangeCode against config.upstream.oauthTokenUrl */
  exchange?: CodeExchange;
  /** pasted lines (stdin); always read, whether or not the loopback callback works */
  input: AsyncIterable<string>;
  /** instructions and notices */
  print: (s: string) => void;
  /** opens the URL in a browser; absent with --no-browser (then only a paste can finish a headless login) */
  openBrowser?: (url: string) => void;
  timeoutMs?: number;
  /** false: do not listen for the callback (tests of the paste path; default true) */
  listen?: boolean;
}

export class LoginError extends Error {}

/**
 * Print the URL, wait for the code from the loopback callback or the pasted redirect, exchange it,
 * then add the account. Throws LoginError with a message for the user.
 */
export async function runLogin<A>(o: LoginOptions<A>): Promise<{ account: A; created: boolean }> {
  const pkce = createPkce();
  const state = newState();
  const finish = Promise.withResolvers<string>(); // what the browser tab shows once the account is in (or not)
  const cb = o.listen === false ? undefined : startCallback(state, finish.promise);
  const redirectUri = cb?.redirectUri ?? FALLBACK_REDIRECT;
  const url = buildAuthUrl(o.config.oauth, { redirectUri, state, challenge: pkce.challenge });
  const timeoutMs = o.timeoutMs ?? LOGIN_TIMEOUT_MS;

  o.print(
    [
      "Sign in with the Google account to add:",
      "",
      `  ${url}`,
      "",
      cb
        ? `Waiting for Google's redirect on ${cb.redirectUri}.`
        : "Could not open a loopback port for Google's redirect; paste it instead.",
      "On a remote or headless machine the browser ends on a page that does not load: copy that page's",
      "full URL from the address bar (or just its `code` value), paste it here and press Enter.",
      `(gives up after ${Math.round(timeoutMs / 1000)} s)`,
      "",
    ].join("\n"),
  );
  o.openBrowser?.(url);

  let timer: ReturnType<typeof setTimeout> | undefined;
  let waiting = true;
  // Closed input ends the wait unless an opened browser can still reach the callback: without a
  // listener, or with --no-browser (typically headless), nobody is left to finish the sign-in.
  const pasted = readPasted(o.input, state, o.print, () => {
    if (!waiting) return; // the code is already in
    const closed = "the input closed before a redirect URL or code was pasted";
    if (!cb) return new LoginError(closed);
    if (!o.openBrowser) return new LoginError(`${closed}, and with --no-browser nothing else can finish the sign-in`);
    o.print(`Input closed; still waiting for the browser's redirect (gives up after ${Math.round(timeoutMs / 1000)} s).\n`);
  });
  try {
    const waits: Promise<string>[] = [
      pasted.code,
      new Promise<string>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new LoginError(
                `no redirect or code arrived within ${Math.round(timeoutMs / 1000)} s; run \`switchyard accounts login\` again`,
              ),
            ),
          timeoutMs,
        );
      }),
    ];
    if (cb) waits.push(cb.code);
    const code = await Promise.race(waits);
    waiting = false;
    o.print("Got the authorization code; exchanging it and checking the account…\n");
    const exchange = o.exchange ?? ((c, r, v) => exchangeCode(o.config, c, r, v));
    const tokens = await exchange(code, redirectUri, pkce.verifier).catch((e) => {
      throw new LoginError(`Google refused the code: ${(e as Error).message}`);
    });
    if (!tokens.refreshToken)
      throw new LoginError(
        "Google returned no refresh token (remove Switchyard's access at https://myaccount.google.com/permissions and log in again)",
      );
    const added = await o.adder.addByRefreshToken(tokens.refreshToken);
    finish.resolve("Account added. You can close this tab and return to the terminal.");
    return added;
  } catch (e) {
    finish.resolve(`Login failed: ${(e as Error).message}`);
    throw e instanceof LoginError ? e : new LoginError((e as Error).message);
  } finally {
    clearTimeout(timer);
    pasted.stop();
    // let the browser tab get its answer before the listener goes away
    await cb?.stop();
  }
}

/**
 * Lines from the input; the first valid one gives the code. Bad lines are explained, not fatal; Google's
 * refusal is. When the input ends first, `onEnd` says whether that fails the login.
 */
function readPasted(input: AsyncIterable<string>, state: string, print: (s: string) => void, onEnd: () => LoginError | undefined) {
  const result = Promise.withResolvers<string>();
  result.promise.catch(() => {}); // the race may already be over
  let stopped = false;
  const it = input[Symbol.asyncIterator]();
  (async () => {
    let buf = "";
    const handle = (line: string): boolean => {
      if (!line.trim()) return false;
      const r = parsePastedInput(line, state);
      if ("code" in r) {
        result.resolve(r.code);
        return true;
      }
      if (r.refused) {
        result.reject(new LoginError(r.error));
        return true;
      }
      print(`That did not work: ${r.error}. Paste the full redirect URL (or the code) again.\n`);
      return false;
    };
    try {
      while (!stopped) {
        const { value, done } = await it.next();
        if (done || stopped) break;
        buf += value;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (handle(line)) return;
        }
      }
      if (stopped || handle(buf)) return;
    } catch {
      if (stopped) return;
      // unreadable input counts as closed
    }
    const failure = onEnd();
    if (failure) result.reject(failure);
  })();
  return {
    code: result.promise,
    stop() {
      stopped = true;
      void it.return?.();
    },
  };
}

/** A minimal HTML page for the browser tab (the message is escaped). */
export function htmlPage(status: number, message: string): Response {
  const safe = message.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
  return new Response(`<!doctype html><meta charset="utf-8"><title>Switchyard</title><p style="font:16px sans-serif">${safe}</p>`, {
    status,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
  });
}

/** resolves after ms; the timer is cleared when `cancel` is called so nothing lingers */
function delay(ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<void>((r) => (timer = setTimeout(r, ms)));
  return { promise, cancel: () => clearTimeout(timer) };
}

/** A loopback listener for Google's redirect, or undefined when no port can be opened. */
function startCallback(state: string, finished: Promise<string>) {
  const code = Promise.withResolvers<string>();
  code.promise.catch(() => {});
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const url = new URL(req.url);
        if (url.pathname !== CALLBACK_PATH) return new Response("not found", { status: 404 });
        const r = parsePastedInput(url.toString(), state);
        if ("error" in r) {
          // a stray or forged request must not end a login the user is still doing, except Google's own refusal
          if (r.refused && url.searchParams.get("state") === state) {
            code.reject(new LoginError(r.error));
            const what = r.refused === "access_denied" ? "Sign-in was cancelled" : `Sign-in failed: ${r.error}`;
            return htmlPage(200, `${what}. You can close this tab; run \`switchyard accounts login\` again to retry.`);
          }
          return htmlPage(400, r.error);
        }
        if (r.state !== state) return htmlPage(400, "this callback has no state; ignored");
        code.resolve(r.code);
        // answer once the account is in, bounded so a stuck exchange does not hang the tab forever
        const wait = delay(60_000);
        const msg = await Promise.race([finished, wait.promise.then(() => "Still working; see the terminal.")]);
        wait.cancel();
        return htmlPage(200, msg);
      },
    });
  } catch {
    return undefined;
  }
  return {
    redirectUri: `http://127.0.0.1:${server.port}${CALLBACK_PATH}`,
    code: code.promise,
    /** let the tab's answer go out, but never wait on a browser's idle keep-alive connection */
    async stop() {
      const grace = delay(2000);
      await Promise.race([server.stop(false), grace.promise]);
      grace.cancel();
      await server.stop(true);
    },
  };
}

export function tryOpenBrowser(url: string) {
  const cmd =
    process.platform === "darwin" ? ["open", url] : process.platform === "win32" ? ["cmd", "/c", "start", "", url] : ["xdg-open", url];
  try {
    const p = Bun.spawn(cmd, { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    p.exited.catch(() => {});
    p.unref();
  } catch {
    // no browser here: the printed URL is enough
  }
}

// ---- remote-browser logins (admin API): PKCE kept server-side, keyed by state ----

interface Pending {
  verifier: string;
  redirectUri: string;
  expiresAt: number;
}

/** how a login issued here ended: the account it added, or why not */
export type LoginOutcome = { ok: true; email: string; created: boolean } | { ok: false; error: string };

export type LoginStatus =
  | { status: "pending"; expiresAt: string }
  | ({ status: "done" } & { email: string; created: boolean })
  | { status: "failed"; error: string }
  | { status: "unknown" };

export class PendingLogins {
  private byState = new Map<string, Pending>();
  /** logins that ended, for whoever started them to ask (kept as long as a login may wait, as many) */
  private ended = new Map<string, { at: number; outcome: LoginOutcome }>();
  constructor(
    private ttlMs = LOGIN_TIMEOUT_MS,
    private max = 32,
  ) {}

  start(oauth: Pick<Config["oauth"], "authUrl" | "clientId">, redirectUri: string, loginHint?: string, now = Date.now()) {
    this.prune(now);
    // bounded: the oldest pending login makes room (Map keeps insertion order)
    while (this.byState.size >= this.max) this.byState.delete(this.byState.keys().next().value!);
    const pkce = createPkce();
    const state = newState();
    const expiresAt = now + this.ttlMs;
    this.byState.set(state, { verifier: pkce.verifier, redirectUri, expiresAt });
    return {
      url: buildAuthUrl(oauth, { redirectUri, state, challenge: pkce.challenge, loginHint }),
      state,
      redirectUri,
      expiresAt: new Date(expiresAt).toISOString(),
    };
  }

  /** single use: the entry is gone after this, whatever the exchange does */
  take(state: string, now = Date.now()): Pending | undefined {
    const p = this.byState.get(state);
    this.byState.delete(state);
    return p && p.expiresAt > now ? p : undefined;
  }

  /** record how a login taken from here ended (only states issued here: take() said so) */
  finished(state: string, outcome: LoginOutcome, now = Date.now()): void {
    this.ended.delete(state);
    this.ended.set(state, { at: now, outcome });
    while (this.ended.size > this.max) this.ended.delete(this.ended.keys().next().value!);
  }

  /** where the login of `state` is: waiting for Google's redirect, done, failed, or not known here */
  status(state: string, now = Date.now()): LoginStatus {
    const p = this.byState.get(state);
    if (p && p.expiresAt > now) return { status: "pending", expiresAt: new Date(p.expiresAt).toISOString() };
    const e = this.ended.get(state);
    if (!e || now - e.at > this.ttlMs) return { status: "unknown" };
    return e.outcome.ok
      ? { status: "done", email: e.outcome.email, created: e.outcome.created }
      : { status: "failed", error: e.outcome.error };
  }

  /** the state of the only live login, when there is exactly one (a pasted bare code carries none) */
  only(now = Date.now()): string | undefined {
    this.prune(now);
    return this.byState.size === 1 ? this.byState.keys().next().value : undefined;
  }

  get size() {
    return this.byState.size;
  }

  private prune(now: number) {
    for (const [s, p] of this.byState) if (p.expiresAt <= now) this.byState.delete(s);
  }
}
