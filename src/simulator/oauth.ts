// Google's OAuth surface: the token endpoint (refresh_token and authorization_code + PKCE grants),
// the auto-consenting authorize endpoint, and userinfo. Errors use Google's OAuth body
// {"error","error_description"}; userinfo and bearer failures use google.rpc.Status.
import type { Call } from "./call";
import { json, oauthError } from "./errors";
import { applyFaults, faultError, tokenFaultError, unauthenticated } from "./faults";
import { DEFAULT_SCOPE, randomHex, type AccountState } from "./state";

const SECRET_FIELDS = new Set(["refresh_token", "client_secret", "code", "code_verifier", "assertion", "password"]);
const CODE_TTL_MS = 10 * 60_000;

/** the account behind `Authorization: Bearer <access token>`, or 401 UNAUTHENTICATED */
export function bearerAccount(call: Call): AccountState {
  const auth = call.req.headers.get("authorization") ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(auth.trim());
  if (!m) throw unauthenticated(true);
  const acc = call.state.accountByAccessToken(m[1]!);
  if (!acc) throw unauthenticated(false);
  call.email = acc.email;
  return acc;
}

async function readParams(req: Request): Promise<Record<string, string>> {
  const text = await req.text();
  if ((req.headers.get("content-type") ?? "").includes("json")) {
    try {
      const obj = JSON.parse(text || "{}");
      if (obj && typeof obj === "object" && !Array.isArray(obj))
        return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, String(v)]));
    } catch {}
    throw oauthError(400, "invalid_request", "Invalid JSON payload received.");
  }
  return Object.fromEntries(new URLSearchParams(text));
}

const masked = (p: Record<string, string>) =>
  Object.fromEntries(Object.entries(p).map(([k, v]) => [k, SECRET_FIELDS.has(k) ? "[redacted]" : v]));

export async function token(call: Call): Promise<Response> {
  const p = await readParams(call.req);
  call.body = masked(p);
  if (!p.client_id) throw oauthError(400, "invalid_request", "Could not determine client ID from request.");
  if (p.grant_type === "refresh_token") return refreshGrant(call, p);
  if (p.grant_type === "authorization_code") return codeGrant(call, p);
  if (!p.grant_type) throw oauthError(400, "invalid_request", "Missing required parameter: grant_type");
  throw oauthError(400, "unsupported_grant_type", `Invalid grant_type: ${p.grant_type}`);
}

async function tokenFaults(call: Call) {
  const fault = await applyFaults(call.state.faults, { method: "token", email: call.email });
  if (fault?.kind === "stream_cut") call.cut = true;
  else if (fault) throw tokenFaultError(fault);
}

async function refreshGrant(call: Call, p: Record<string, string>): Promise<Response> {
  if (!p.refresh_token) throw oauthError(400, "invalid_request", "Missing required parameter: refresh_token");
  const acc = call.state.accountByRefresh(p.refresh_token);
  call.email = acc?.email;
  await tokenFaults(call);
  if (!acc || acc.revoked) throw oauthError(400, "invalid_grant", "Token has been expired or revoked.");
  return json({
    access_token: call.state.issueAccessToken(acc.email),
    expires_in: call.state.tokenTtlSeconds,
    token_type: "Bearer",
    scope: DEFAULT_SCOPE,
  });
}

async function codeGrant(call: Call, p: Record<string, string>): Promise<Response> {
  if (!p.code) throw oauthError(400, "invalid_request", "Missing required parameter: code");
  const grant = call.state.codes.get(p.code);
  call.state.codes.delete(p.code); // single use
  call.email = grant?.email;
  await tokenFaults(call);
  if (!grant || grant.expiresAt < Date.now()) throw oauthError(400, "invalid_grant", "Malformed auth code.");
  if (p.redirect_uri !== grant.redirectUri) throw oauthError(400, "redirect_uri_mismatch", "Bad Request");
  if (p.client_id !== grant.clientId) throw oauthError(401, "invalid_client", "Unauthorized");
  if (grant.challenge) {
    if (!p.code_verifier) throw oauthError(400, "invalid_grant", "Missing code verifier.");
    const computed = grant.challengeMethod === "S256" ? s256(p.code_verifier) : p.code_verifier;
    if (computed !== grant.challenge) throw oauthError(400, "invalid_grant", "Invalid code verifier.");
  }
  let acc = call.state.account(grant.email);
  if (!acc) throw oauthError(400, "invalid_grant", "Malformed auth code.");
  // consenting again after a revoke issues a fresh refresh token, as Google does
  if (acc.revoked) {
    call.state.addAccount({ email: acc.email, refreshToken: `1//sim-${randomHex(24)}` });
    acc = call.state.account(acc.email)!;
  }
  const now = Math.floor(Date.now() / 1000);
  return json({
    access_token: call.state.issueAccessToken(acc.email),
    expires_in: call.state.tokenTtlSeconds,
    token_type: "Bearer",
    scope: grant.scope,
    refresh_token: acc.refreshToken,
    ...(grant.scope.split(" ").includes("openid")
      ? {
          id_token: fakeJwt({
            iss: "https://accounts.google.com",
            aud: grant.clientId,
            sub: acc.id,
            email: acc.email,
            email_verified: true,
            iat: now,
            exp: now + 3600,
          }),
        }
      : {}),
  });
}

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");
const s256 = (verifier: string) => b64url(new Bun.CryptoHasher("sha256").update(verifier).digest());
const fakeJwt = (payload: object) =>
  `${b64url(JSON.stringify({ alg: "RS256", kid: "sim", typ: "JWT" }))}.${b64url(JSON.stringify(payload))}.${b64url("sim-signature")}`;

/** GET /o/oauth2/v2/auth: consents at once and redirects back with ?code=…&state=… */
export async function authorize(call: Call): Promise<Response> {
  const q = call.url.searchParams;
  call.body = Object.fromEntries([...q].filter(([k]) => k !== "code_challenge"));
  for (const name of ["client_id", "redirect_uri", "response_type"])
    if (!q.get(name)) throw oauthError(400, "invalid_request", `Missing required parameter: ${name}`);
  if (q.get("response_type") !== "code")
    throw oauthError(400, "unsupported_response_type", `Invalid response_type: ${q.get("response_type")}`);
  let redirect: URL;
  try {
    redirect = new URL(q.get("redirect_uri")!);
  } catch {
    throw oauthError(400, "invalid_request", `Invalid parameter value for redirect_uri: ${q.get("redirect_uri")}`);
  }
  const challenge = q.get("code_challenge") ?? undefined;
  const method = q.get("code_challenge_method") ?? (challenge ? "plain" : undefined);
  if (method && method !== "S256" && method !== "plain")
    throw oauthError(400, "invalid_request", `Invalid code_challenge_method: ${method}`);
  const hint = q.get("login_hint");
  const acc = hint ? call.state.account(hint) : call.state.firstAccount();
  if (!acc)
    throw oauthError(400, "invalid_request", hint ? `No simulated account for login_hint ${hint}` : "No simulated account to sign in with");
  call.email = acc.email;
  const fault = await applyFaults(call.state.faults, { method: "authorize", email: acc.email });
  if (fault?.kind === "stream_cut") call.cut = true;
  else if (fault) throw tokenFaultError(fault);
  const code = `4/0sim-${randomHex(24)}`;
  const scope = q.get("scope")?.trim() || DEFAULT_SCOPE;
  call.state.codes.set(code, {
    email: acc.email,
    clientId: q.get("client_id")!,
    redirectUri: q.get("redirect_uri")!,
    challenge,
    challengeMethod: method,
    scope,
    expiresAt: Date.now() + CODE_TTL_MS,
  });
  redirect.searchParams.set("code", code);
  if (q.get("state") !== null) redirect.searchParams.set("state", q.get("state")!);
  redirect.searchParams.set("scope", scope);
  return new Response(null, { status: 302, headers: { location: redirect.toString() } });
}

/** GET /oauth2/v2/userinfo */
export async function userinfo(call: Call): Promise<Response> {
  const acc = bearerAccount(call);
  const fault = await applyFaults(call.state.faults, { method: "userinfo", email: acc.email });
  if (fault?.kind === "stream_cut") call.cut = true;
  else if (fault) throw faultError(fault, undefined);
  const [given, ...rest] = acc.name.split(" ");
  return json({
    id: acc.id,
    email: acc.email,
    verified_email: true,
    name: acc.name,
    given_name: given,
    ...(rest.length ? { family_name: rest.join(" ") } : {}),
    picture: `https://lh3.googleusercontent.com/a/sim-${acc.id.slice(0, 8)}=s96-c`,
  });
}
