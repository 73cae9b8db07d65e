// `accounts login` end to end: the simulator's authorize endpoint auto-consents with a 302 to our
// redirect_uri; the test plays the browser (and the user pasting the URL).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSimulator, type Simulator, type SimAccount } from "../../src/simulator/index";
import type { Config } from "../../src/config/schema";
import { tempDir } from "../helpers/util";
import { cli, configFor, typedInput, waitFor } from "../helpers/accounts";

let sim: Simulator;
let config: Config;
let alice: SimAccount;
let bob: SimAccount;
const dirs: ReturnType<typeof tempDir>[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, hostname: "127.0.0.1", delays: false });
  config = configFor(sim.url);
  alice = sim.addAccount({ email: "alice@example.com", name: "Alice" });
  bob = sim.addAccount({ email: "bob@example.com", name: "Bob" });
});
afterAll(async () => {
  await sim.stop();
  for (const d of dirs) d.cleanup();
});

const URL_RE = /(http:\/\/127\.0\.0\.1:\d+\/o\/oauth2\/v2\/auth\?\S+)/;

/** The browser: open the authorize URL as `email`, return where Google redirects to. */
async function consent(authUrl: string, email: string): Promise<string> {
  const res = await fetch(`${authUrl}&login_hint=${encodeURIComponent(email)}`, { redirect: "manual" });
  expect(res.status).toBe(302);
  return res.headers.get("location")!;
}

function startLogin(argv: string[], stdin: AsyncIterable<string>, openBrowser?: (url: string) => void) {
  const d = tempDir();
  dirs.push(d);
  const url = waitFor(URL_RE);
  const done = cli(["login", ...argv], { config, dataDir: d.dir, stdin, onErr: url.feed, openBrowser });
  return { dataDir: d.dir, url: url.found.then((m) => m[1]!), done };
}

describe("login", () => {
  test("the URL carries PKCE S256, state, offline access and consent", async () => {
    const input = typedInput();
    const run = startLogin(["--no-browser"], input.iterable);
    const q = new URL(await run.url).searchParams;
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("state")).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(q.get("access_type")).toBe("offline");
    expect(q.get("prompt")).toBe("consent");
    expect(q.get("client_id")).toBe(config.oauth.clientId);
    expect(q.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oauth-callback$/);
    input.type("not a code at all\n");
    // the loopback listener is still waiting: finish through it so the run ends
    await fetch(await consent(await run.url, alice.email));
    expect((await run.done).code).toBe(0);
    input.end();
  });

  test("pasted redirect URL (headless): a wrong-state URL is refused, the right one adds the account", async () => {
    const input = typedInput();
    const run = startLogin(["--no-browser"], input.iterable);
    const location = await consent(await run.url, bob.email);
    const forged = new URL(location);
    forged.searchParams.set("state", "someone-elses-state");
    input.type(forged.toString() + "\n");
    input.type("  " + location + "  \n");
    const r = await run.done;
    expect(r.err).toContain("state mismatch");
    expect(r.code).toBe(0);
    expect(r.out).toContain("added bob@example.com");
    const list = JSON.parse((await cli(["list", "--json"], { config, dataDir: run.dataDir })).out);
    expect(list.map((a: { email: string }) => a.email)).toEqual(["bob@example.com"]);
    // the code was exchanged with the PKCE verifier
    const exchange = sim.requests({ method: "token" }).find((q) => q.body?.grant_type === "authorization_code");
    expect(exchange?.body?.code_verifier).toBeTruthy();
  });

  test("bare code pasted", async () => {
    const input = typedInput();
    const run = startLogin(["--no-browser"], input.iterable);
    const code = new URL(await consent(await run.url, alice.email)).searchParams.get("code")!;
    input.type(code + "\n");
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.out).toContain("alice@example.com");
  });

  test("loopback callback: the browser lands on our listener and the tab says it worked", async () => {
    const input = typedInput(); // the user types nothing
    const run = startLogin(["--no-browser"], input.iterable);
    const location = await consent(await run.url, alice.email);
    const tab = await fetch(location);
    expect(tab.status).toBe(200);
    expect(await tab.text()).toContain("Account added");
    const r = await run.done;
    input.end();
    expect(r.code).toBe(0);
    expect(r.out).toContain("added alice@example.com");
  });

  test("a callback with the wrong state is refused and does not end the login", async () => {
    const input = typedInput();
    const run = startLogin(["--no-browser"], input.iterable);
    const location = new URL(await consent(await run.url, alice.email));
    const wrong = new URL(location);
    wrong.searchParams.set("state", "forged");
    expect((await fetch(wrong)).status).toBe(400);
    expect((await fetch(location)).status).toBe(200);
    expect((await run.done).code).toBe(0);
    input.end();
  });

  test("a code Google refuses, and the time limit, exit 1 with a clear message", async () => {
    const input = typedInput();
    const run = startLogin(["--no-browser"], input.iterable);
    await run.url;
    input.type("4/0not-a-real-code\n");
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(r.err).toContain("login failed: Google refused the code");
    input.end();

    const slow = startLogin(["--no-browser", "--timeout", "0.2"], typedInput().iterable);
    const t = await slow.done;
    expect(t.code).toBe(1);
    expect(t.err).toContain("run `switchyard accounts login` again");
  });

  test("closed stdin with --no-browser fails at once: nobody is left to finish the sign-in", async () => {
    const input = typedInput();
    input.end();
    const started = Date.now();
    const r = await startLogin(["--no-browser"], input.iterable).done;
    expect(r.code).toBe(1);
    expect(r.err).toContain("login failed: the input closed before a redirect URL or code was pasted");
    expect(r.err).toContain("--no-browser");
    expect(Date.now() - started).toBeLessThan(5000); // far below the 600 s default limit
  });

  test("closed stdin with a browser opened keeps waiting for the callback", async () => {
    const opened: string[] = [];
    const input = typedInput();
    input.end();
    const run = startLogin([], input.iterable, (u) => opened.push(u));
    const url = await run.url;
    expect(opened).toEqual([url]);
    await Bun.sleep(50); // the input has ended by now, the login has not
    const tab = await fetch(await consent(url, alice.email));
    expect(await tab.text()).toContain("Account added");
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.err).toContain("Input closed; still waiting for the browser's redirect");
  });

  test("closed stdin with a browser opened still ends at the time limit", async () => {
    const input = typedInput();
    input.end();
    const r = await startLogin(["--timeout", "0.2"], input.iterable).done;
    expect(r.code).toBe(1);
    expect(r.err).toContain("run `switchyard accounts login` again");
  });

  /** what Google sends the browser to when the user clicks Cancel on the consent screen */
  function deniedRedirect(authUrl: string, state?: string): URL {
    const q = new URL(authUrl).searchParams;
    const u = new URL(q.get("redirect_uri")!);
    u.searchParams.set("error", "access_denied");
    u.searchParams.set("state", state ?? q.get("state")!);
    return u;
  }

  test("a callback with error=access_denied ends the login: the tab says so, exit 1", async () => {
    const input = typedInput();
    const run = startLogin(["--no-browser"], input.iterable);
    const tab = await fetch(deniedRedirect(await run.url));
    expect(tab.headers.get("content-type")).toContain("text/html");
    expect(await tab.text()).toContain("Sign-in was cancelled");
    const r = await run.done;
    input.end();
    expect(r.code).toBe(1);
    expect(r.err).toContain("login failed: sign-in was cancelled in the browser (access_denied)");
  });

  test("a callback with error= and a foreign state is ignored", async () => {
    const input = typedInput();
    const run = startLogin(["--no-browser"], input.iterable);
    const url = await run.url;
    expect((await fetch(deniedRedirect(url, "forged"))).status).toBe(400);
    expect((await fetch(await consent(url, alice.email))).status).toBe(200);
    expect((await run.done).code).toBe(0);
    input.end();
  });

  test("a pasted redirect URL with error=access_denied ends the login, exit 1", async () => {
    const input = typedInput();
    const run = startLogin(["--no-browser"], input.iterable);
    input.type(deniedRedirect(await run.url).toString() + "\n");
    const r = await run.done;
    input.end();
    expect(r.code).toBe(1);
    expect(r.err).toContain("login failed: sign-in was cancelled in the browser (access_denied)");
    expect(r.err).not.toContain("That did not work");
  });
});
