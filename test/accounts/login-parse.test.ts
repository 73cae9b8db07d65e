// PKCE, state, authorize URL and pasted-input parsing (pure).
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { buildAuthUrl, createPkce, newState, OAUTH_SCOPES, parsePastedInput, PendingLogins, pkceChallenge } from "../../src/accounts/login";

describe("PKCE and state", () => {
  test("RFC 7636 appendix B test vector", () => {
    expect(pkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  test("a fresh verifier is 43 url-safe chars and its challenge is S256 of it; states differ", () => {
    const p = createPkce();
    expect(p.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.challenge).toBe(createHash("sha256").update(p.verifier).digest("base64url"));
    expect(createPkce().verifier).not.toBe(p.verifier);
    expect(newState()).not.toBe(newState());
    expect(newState()).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });
});

describe("buildAuthUrl", () => {
  test("carries every parameter Google needs for an offline, consented, PKCE login", () => {
    const url = new URL(
      buildAuthUrl(
        { authUrl: "http://127.0.0.1:9/o/oauth2/v2/auth?hl=en", clientId: "cid.apps.googleusercontent.com" },
        { redirectUri: "http://127.0.0.1:5555/oauth-callback", state: "st", challenge: "ch", loginHint: "a@b" },
      ),
    );
    expect(url.origin + url.pathname).toBe("http://127.0.0.1:9/o/oauth2/v2/auth");
    const q = Object.fromEntries(url.searchParams);
    expect(q).toEqual({
      hl: "en",
      client_id: "cid.apps.googleusercontent.com",
      redirect_uri: "http://127.0.0.1:5555/oauth-callback",
      response_type: "code",
      scope: OAUTH_SCOPES.join(" "),
      access_type: "offline",
      prompt: "consent",
      include_granted_scopes: "true",
      state: "st",
      code_challenge: "ch",
      code_challenge_method: "S256",
      login_hint: "a@b",
    });
    for (const s of ["cloud-platform", "userinfo.email", "userinfo.profile", "cclog", "experimentsandconfigs"])
      expect(q.scope).toContain(`https://www.googleapis.com/auth/${s}`);
  });
});

describe("parsePastedInput", () => {
  const cases: { name: string; input: string; want: unknown }[] = [
    {
      name: "full redirect URL",
      input: "http://127.0.0.1:5555/oauth-callback?state=S1&code=4%2F0AbC-d_e&scope=x",
      want: { code: "4/0AbC-d_e", state: "S1" },
    },
    {
      name: "URL with spaces and quotes around it",
      input: '  "http://localhost:1/oauth-callback?code=abc&state=S1"\n',
      want: { code: "abc", state: "S1" },
    },
    { name: "bare code", input: "4/0AbCdEf-gh_ij\n", want: { code: "4/0AbCdEf-gh_ij" } },
    { name: "bare code, url-encoded", input: "4%2F0AbCdEf", want: { code: "4/0AbCdEf" } },
    { name: "query string only", input: "?code=xyz&state=S1", want: { code: "xyz", state: "S1" } },
    { name: "URL without state is accepted (nothing to check)", input: "http://127.0.0.1/oauth-callback?code=abc", want: { code: "abc" } },
  ];
  for (const c of cases) test(c.name, () => expect(parsePastedInput(c.input, "S1")).toEqual(c.want as never));

  test("a URL with a different state is rejected", () => {
    const r = parsePastedInput("http://127.0.0.1:5555/oauth-callback?state=OTHER&code=abc", "S1");
    expect(r).toEqual({ error: expect.stringContaining("state mismatch") });
  });

  test("Google's error in the redirect, a URL without code, empty input and prose are errors", () => {
    expect(parsePastedInput("http://127.0.0.1/cb?error=access_denied&state=S1", "S1")).toEqual({
      error: "sign-in was cancelled in the browser (access_denied)",
      refused: "access_denied",
    });
    expect(parsePastedInput("?error=invalid_scope&error_description=bad", "S1")).toEqual({
      error: expect.stringContaining("invalid_scope: bad"),
      refused: "invalid_scope",
    });
    // someone else's refusal does not end this login
    expect(parsePastedInput("http://127.0.0.1/cb?error=access_denied&state=OTHER", "S1")).toEqual({
      error: expect.stringContaining("state mismatch"),
    });
    expect(parsePastedInput("http://127.0.0.1/cb?state=S1", "S1")).toEqual({ error: expect.stringContaining("no `code`") });
    expect(parsePastedInput("   ", "S1")).toEqual({ error: "empty input" });
    expect(parsePastedInput("i do not know", "S1")).toEqual({ error: expect.stringContaining("no spaces") });
  });
});

describe("PendingLogins (admin OAuth)", () => {
  const oauth = { authUrl: "http://127.0.0.1:9/auth", clientId: "cid" };

  test("single use, expires, bounded (oldest goes first), only() names the lone pending login", () => {
    const p = new PendingLogins(1000, 3);
    const a = p.start(oauth, "http://127.0.0.1:1/oauth-callback", undefined, 0);
    expect(new URL(a.url).searchParams.get("state")).toBe(a.state);
    expect(p.only(10)).toBe(a.state);
    const got = p.take(a.state, 10)!;
    expect(pkceChallenge(got.verifier)).toBe(new URL(a.url).searchParams.get("code_challenge")!);
    expect(got.redirectUri).toBe("http://127.0.0.1:1/oauth-callback");
    expect(p.take(a.state, 10)).toBeUndefined();

    const b = p.start(oauth, "r", undefined, 0);
    expect(p.take(b.state, 1000)).toBeUndefined(); // expired

    const states = [1, 2, 3, 4].map((i) => p.start(oauth, "r", undefined, i).state);
    expect(p.size).toBe(3);
    expect(p.take(states[0]!, 5)).toBeUndefined();
    expect(p.only(5)).toBeUndefined();
    expect(p.take(states[3]!, 5)).toBeDefined();
  });
});
