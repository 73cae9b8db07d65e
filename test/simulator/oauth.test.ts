import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSimulator, type SimAccount, type Simulator } from "../../src/simulator";
import { accessToken, CLIENT_ID, v1 } from "../helpers/simulator";

let sim: Simulator;
let alice: SimAccount;
let bob: SimAccount;

beforeAll(async () => {
  sim = await startSimulator({ delays: false, tokenTtlSeconds: 120 });
  alice = sim.addAccount({ email: "alice@example.com", name: "Alice Liddell" });
  bob = sim.addAccount({ email: "bob@example.com" });
});
afterAll(() => sim.stop());

const form = (params: Record<string, string>) =>
  fetch(`${sim.url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params),
  });

describe("refresh_token grant", () => {
  test("a known refresh token gives a bearer access token with the configured lifetime", async () => {
    const res = await form({ client_id: CLIENT_ID, grant_type: "refresh_token", refresh_token: alice.refreshToken });
    expect(res.status).toBe(200);
    const body: any = await res.json();
    expect(body.token_type).toBe("Bearer");
    expect(body.expires_in).toBe(120);
    expect(body.access_token).toStartWith("ya29.");
    expect(body.scope).toContain("https://www.googleapis.com/auth/cloud-platform");
    expect(body.refresh_token).toBeUndefined();
    expect((await v1(sim, body.access_token, "loadCodeAssist")).status).toBe(200);
  });

  test("unknown refresh token → 400 invalid_grant", async () => {
    const res = await form({ client_id: CLIENT_ID, grant_type: "refresh_token", refresh_token: "1//nope" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "Token has been expired or revoked." });
  });

  test("missing client_id, refresh_token or grant_type → 400 invalid_request; unknown grant → unsupported_grant_type", async () => {
    let res = await form({ grant_type: "refresh_token", refresh_token: alice.refreshToken });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toBe("invalid_request");
    res = await form({ client_id: CLIENT_ID, grant_type: "refresh_token" });
    expect(((await res.json()) as any).error_description).toContain("refresh_token");
    res = await form({ client_id: CLIENT_ID });
    expect(((await res.json()) as any).error_description).toContain("grant_type");
    res = await form({ client_id: CLIENT_ID, grant_type: "password" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toBe("unsupported_grant_type");
  });

  test("expire-tokens makes current access tokens 401 until the next refresh", async () => {
    const tok = await accessToken(sim, bob);
    expect((await v1(sim, tok, "loadCodeAssist")).status).toBe(200);
    expect(sim.expireTokens("bob@example.com")).toBe(true);
    const r = await v1(sim, tok, "loadCodeAssist");
    expect(r.status).toBe(401);
    expect(r.json.error.status).toBe("UNAUTHENTICATED");
    const fresh = await accessToken(sim, bob);
    expect((await v1(sim, fresh, "loadCodeAssist")).status).toBe(200);
  });

  test("access tokens really expire after tokenTtlSeconds", async () => {
    let clock = Date.now();
    const short = await startSimulator({ delays: false, tokenTtlSeconds: 1, now: () => clock });
    try {
      const acc = short.addAccount();
      const tok = await accessToken(short, acc);
      clock += 900;
      expect((await v1(short, tok, "loadCodeAssist")).status).toBe(200);
      clock += 200;
      expect((await v1(short, tok, "loadCodeAssist")).status).toBe(401);
    } finally {
      await short.stop();
    }
  });

  test("revoke → invalid_grant on refresh and 401 for the live access token", async () => {
    const carol = sim.addAccount({ email: "carol@example.com" });
    const tok = await accessToken(sim, carol);
    expect(sim.revoke("carol@example.com")).toBe(true);
    const res = await form({ client_id: CLIENT_ID, grant_type: "refresh_token", refresh_token: carol.refreshToken });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toBe("invalid_grant");
    expect((await v1(sim, tok, "loadCodeAssist")).status).toBe(401);
  });
});

const verifier = "test-verifier-" + "x".repeat(43);
const challenge = Buffer.from(new Bun.CryptoHasher("sha256").update(verifier).digest()).toString("base64url");
const redirectUri = "http://127.0.0.1:5555/oauth2callback";

async function authorize(params: Record<string, string>) {
  const res = await fetch(`${sim.url}/o/oauth2/v2/auth?${new URLSearchParams(params)}`, { redirect: "manual" });
  return res;
}

const authParams = (extra: Record<string, string> = {}) => ({
  client_id: CLIENT_ID,
  redirect_uri: redirectUri,
  response_type: "code",
  scope: "openid https://www.googleapis.com/auth/cloud-platform",
  state: "st-123",
  code_challenge: challenge,
  code_challenge_method: "S256",
  access_type: "offline",
  ...extra,
});

describe("authorization_code grant with PKCE", () => {
  test("authorize auto-consents and redirects with code and state; the code exchanges once", async () => {
    const res = await authorize(authParams({ login_hint: "bob@example.com" }));
    expect(res.status).toBe(302);
    const loc = new URL(res.headers.get("location")!);
    expect(loc.origin + loc.pathname).toBe(redirectUri);
    expect(loc.searchParams.get("state")).toBe("st-123");
    const code = loc.searchParams.get("code")!;
    expect(code).toBeTruthy();

    const ok = await form({
      client_id: CLIENT_ID,
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
    expect(ok.status).toBe(200);
    const body: any = await ok.json();
    expect(body.refresh_token).toBe(bob.refreshToken);
    expect(body.id_token.split(".")).toHaveLength(3);
    const info: any = await (
      await fetch(`${sim.url}/oauth2/v2/userinfo`, { headers: { authorization: `Bearer ${body.access_token}` } })
    ).json();
    expect(info.email).toBe("bob@example.com");

    const again = await form({
      client_id: CLIENT_ID,
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
    expect(again.status).toBe(400);
    expect(((await again.json()) as any).error).toBe("invalid_grant");
  });

  test("without login_hint the first account consents", async () => {
    const loc = new URL((await authorize(authParams())).headers.get("location")!);
    const res = await form({
      client_id: CLIENT_ID,
      grant_type: "authorization_code",
      code: loc.searchParams.get("code")!,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
    expect(((await res.json()) as any).refresh_token).toBe(alice.refreshToken);
  });

  test("a wrong or missing code_verifier, or another redirect_uri, is rejected", async () => {
    const code = async () => new URL((await authorize(authParams())).headers.get("location")!).searchParams.get("code")!;
    let res = await form({
      client_id: CLIENT_ID,
      grant_type: "authorization_code",
      code: await code(),
      redirect_uri: redirectUri,
      code_verifier: "wrong",
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "Invalid code verifier." });
    res = await form({ client_id: CLIENT_ID, grant_type: "authorization_code", code: await code(), redirect_uri: redirectUri });
    expect(((await res.json()) as any).error_description).toBe("Missing code verifier.");
    res = await form({
      client_id: CLIENT_ID,
      grant_type: "authorization_code",
      code: await code(),
      redirect_uri: "http://127.0.0.1:1/other",
      code_verifier: verifier,
    });
    expect(((await res.json()) as any).error).toBe("redirect_uri_mismatch");
  });

  test("authorize without a required parameter → 400 naming it; unknown login_hint → 400", async () => {
    for (const name of ["client_id", "redirect_uri", "response_type"]) {
      const params: Record<string, string> = authParams();
      delete params[name];
      const res = await authorize(params);
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error_description).toContain(name);
    }
    expect((await authorize(authParams({ login_hint: "nobody@example.com" }))).status).toBe(400);
  });
});

describe("userinfo", () => {
  test("returns the account's profile for a valid bearer token", async () => {
    const tok = await accessToken(sim, alice);
    const res = await fetch(`${sim.url}/oauth2/v2/userinfo`, { headers: { authorization: `Bearer ${tok}` } });
    expect(res.status).toBe(200);
    const info: any = await res.json();
    expect(info).toMatchObject({ email: "alice@example.com", verified_email: true, name: "Alice Liddell", given_name: "Alice" });
    expect(info.id).toMatch(/^\d{21}$/);
    expect(info.picture).toStartWith("https://");
  });

  test("missing or unknown token → 401 UNAUTHENTICATED", async () => {
    for (const headers of [{}, { authorization: "Bearer ya29.unknown" }] as Record<string, string>[]) {
      const res = await fetch(`${sim.url}/oauth2/v2/userinfo`, { headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as any).error.status).toBe("UNAUTHENTICATED");
    }
  });
});
