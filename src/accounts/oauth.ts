// Google OAuth: refresh-token grant, authorization-code exchange, userinfo. Errors carry Google's
// reason ("invalid_grant: Token has been expired or revoked.") and never a token.
import type { Config } from "../config/schema";
import { PoolError } from "./types";

const TIMEOUT_MS = 30_000;

export interface TokenGrant {
  accessToken: string;
  /** ms since epoch */
  expiresAt: number;
  /** present on code exchange, and when Google rotates the refresh token */
  refreshToken?: string;
  scope?: string;
}

export interface UserInfo {
  email: string;
  name?: string;
  id?: string;
}

export class OAuthError extends PoolError {
  /** Google's `error` (invalid_grant, invalid_client, …), or "network" / "http_<status>" */
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = "OAuthError";
    this.code = code;
    this.status = status;
  }
  /** the refresh token itself is dead: only re-adding the account helps */
  get revoked(): boolean {
    return this.code === "invalid_grant";
  }
}

async function send(url: string, init: RequestInit, what: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "manual" });
  } catch (e) {
    throw new OAuthError("network", `${what} failed: ${(e as Error).message}`, 0);
  }
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.ok && body && typeof body === "object" && !body.error) return body;
  // token endpoint: {error, error_description}; userinfo: Google's {error:{code,message,status}}
  const err = body?.error;
  if (typeof err === "string") {
    throw new OAuthError(err, body.error_description ? `${err}: ${body.error_description}` : err, res.status);
  }
  if (err && typeof err === "object") {
    throw new OAuthError(String(err.status ?? `http_${res.status}`), `${what} failed: ${err.message ?? res.status}`, res.status);
  }
  throw new OAuthError(`http_${res.status}`, `${what} failed: HTTP ${res.status}${text ? ` ${text.slice(0, 200)}` : ""}`, res.status);
}

function grant(body: any, now: number): TokenGrant {
  if (typeof body.access_token !== "string" || !body.access_token)
    throw new OAuthError("bad_response", "token endpoint answered without an access_token", 200);
  const expiresIn = typeof body.expires_in === "number" ? body.expires_in : Number(body.expires_in ?? 3599);
  return {
    accessToken: body.access_token,
    expiresAt: now + (Number.isFinite(expiresIn) ? expiresIn : 3599) * 1000,
    refreshToken: typeof body.refresh_token === "string" && body.refresh_token ? body.refresh_token : undefined,
    scope: typeof body.scope === "string" ? body.scope : undefined,
  };
}

function form(fields: Record<string, string>): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams(fields).toString(),
  };
}

export async function refreshAccessToken(config: Config, refreshToken: string): Promise<TokenGrant> {
  const now = Date.now();
  const body = await send(
    config.upstream.oauthTokenUrl,
    form({
      client_id: config.oauth.clientId,
      client_secret: config.oauth.clientSecret,
      refresh_token: refreshToken,
      grant_type: "refresh_token",
    }),
    "token refresh",
  );
  return grant(body, now);
}

export async function exchangeCode(config: Config, code: string, redirectUri: string, codeVerifier?: string): Promise<TokenGrant> {
  const now = Date.now();
  const fields: Record<string, string> = {
    client_id: config.oauth.clientId,
    client_secret: config.oauth.clientSecret,
    code,
    redirect_uri: redirectUri,
    grant_type: "authorization_code",
  };
  if (codeVerifier) fields.code_verifier = codeVerifier;
  return grant(await send(config.upstream.oauthTokenUrl, form(fields), "code exchange"), now);
}

export async function fetchUserInfo(config: Config, accessToken: string): Promise<UserInfo> {
  const body = (await send(
    config.upstream.userinfoUrl,
    { headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" } },
    "userinfo",
  )) as any;
  if (typeof body.email !== "string" || !body.email) throw new OAuthError("bad_response", "userinfo answered without an email", 200);
  const name =
    typeof body.name === "string" && body.name ? body.name : [body.given_name, body.family_name].filter(Boolean).join(" ") || undefined;
  return { email: body.email, name, id: typeof body.id === "string" ? body.id : undefined };
}
