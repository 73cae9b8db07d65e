import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startSimulator, type Simulator } from "../../src/simulator";
import { LOG_LIMIT, SimState } from "../../src/simulator/state";
import { CLIENT_ID, envelope, userText, v1 } from "../helpers/simulator";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ delays: false });
});
afterAll(() => sim.stop());

const ctl = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${sim.url}/_sim${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
};

const tokenFor = async (refreshToken: string) => {
  const res = await fetch(`${sim.url}/token`, {
    method: "POST",
    body: new URLSearchParams({ client_id: CLIENT_ID, client_secret: "shh", grant_type: "refresh_token", refresh_token: refreshToken }),
  });
  return { status: res.status, json: (await res.json()) as any };
};

describe("control API over HTTP", () => {
  test("accounts: add, upsert, list without secrets, revoke, expire-tokens", async () => {
    const add = await ctl("POST", "/accounts", { email: "Ctl@Example.com", quota: { "gemini-2.5-pro": 0.5 } });
    expect(add.status).toBe(200);
    expect(add.json.email).toBe("ctl@example.com");
    expect(add.json.refreshToken).toBeTruthy();
    expect(add.json.project).toBeTruthy();
    const up = await ctl("POST", "/accounts", { email: "ctl@example.com", tier: "standard-tier" });
    expect(up.json.refreshToken).toBe(add.json.refreshToken);

    const list = await ctl("GET", "/accounts");
    const mine = list.json.find((a: any) => a.email === "ctl@example.com");
    expect(mine).toMatchObject({ tier: "standard-tier", quota: { "gemini-2.5-pro": 0.5 } });
    expect(JSON.stringify(list.json)).not.toContain(add.json.refreshToken);

    const tok = (await tokenFor(add.json.refreshToken)).json.access_token;
    expect((await ctl("POST", "/accounts/ctl%40example.com/expire-tokens")).status).toBe(200);
    expect((await v1(sim, tok, "loadCodeAssist")).status).toBe(401);
    expect((await ctl("POST", "/accounts/ctl@example.com/revoke")).status).toBe(200);
    expect((await tokenFor(add.json.refreshToken)).json.error).toBe("invalid_grant");
    expect((await ctl("POST", "/accounts/nobody@example.com/revoke")).status).toBe(404);
  });

  test("accounts: bad specs → 400", async () => {
    expect((await ctl("POST", "/accounts", { email: "not-an-email" })).status).toBe(400);
    expect((await ctl("POST", "/accounts", { quota: { x: 2 } })).status).toBe(400);
    const a = sim.addAccount({ email: "owner@example.com" });
    expect((await ctl("POST", "/accounts", { email: "thief@example.com", refreshToken: a.refreshToken })).status).toBe(400);
  });

  test("faults: add, list, delete one, clear; bad kind → 400", async () => {
    const acc = (await ctl("POST", "/accounts", { email: "f@example.com" })).json;
    const tok = (await tokenFor(acc.refreshToken)).json.access_token;
    const { json } = await ctl("POST", "/faults", { kind: "internal_500", email: "f@example.com" });
    expect(json.id).toBeTruthy();
    expect((await ctl("GET", "/faults")).json.map((f: any) => f.id)).toContain(json.id);
    const body = envelope(acc, { contents: [userText("x")] });
    expect((await v1(sim, tok, "generateContent", body)).status).toBe(500);
    expect((await ctl("DELETE", `/faults/${json.id}`)).status).toBe(200);
    expect((await v1(sim, tok, "generateContent", body)).status).toBe(200);
    await ctl("POST", "/faults", { kind: "internal_500" });
    expect((await ctl("DELETE", "/faults")).status).toBe(200);
    expect((await ctl("GET", "/faults")).json).toEqual([]);
    expect((await ctl("POST", "/faults", { kind: "nope" })).status).toBe(400);
  });

  test("request log: filter by method and email, secrets masked, clear; stats, usage and reset", async () => {
    await ctl("POST", "/reset");
    const a = (await ctl("POST", "/accounts", { email: "log-a@example.com" })).json;
    const b = (await ctl("POST", "/accounts", { email: "log-b@example.com" })).json;
    const ta = (await tokenFor(a.refreshToken)).json.access_token;
    const tb = (await tokenFor(b.refreshToken)).json.access_token;
    await v1(sim, ta, "generateContent", envelope(a, { contents: [userText("1")] }));
    await v1(sim, ta, "generateContent", envelope(a, { contents: [userText("2")] }, "gemini-2.5-pro"));
    await v1(sim, tb, "streamGenerateContent?alt=sse", envelope(b, { contents: [userText("3")] }));
    await v1(sim, tb, "generateContent", envelope(b, { contents: [userText("4")] }, "no-such-model"));

    const all = (await ctl("GET", "/requests")).json;
    expect(all.map((r: any) => r.method)).toEqual([
      "token",
      "token",
      "generateContent",
      "generateContent",
      "streamGenerateContent",
      "generateContent",
    ]);
    const gens = (await ctl("GET", "/requests?method=generateContent&email=log-a@example.com")).json;
    expect(gens).toHaveLength(2);
    expect(gens[0]).toMatchObject({
      method: "generateContent",
      path: "/v1internal:generateContent",
      email: "log-a@example.com",
      status: 200,
    });
    expect(gens[0].body.request.contents[0].parts[0].text).toBe("1");
    expect(gens[0].headers.authorization).toBe("Bearer [redacted]");
    expect(new Date(gens[0].time).getTime()).toBeGreaterThan(0);
    const tok = all[0];
    expect(tok.body).toMatchObject({
      grant_type: "refresh_token",
      client_id: CLIENT_ID,
      refresh_token: "[redacted]",
      client_secret: "[redacted]",
    });
    expect(JSON.stringify(all)).not.toContain(a.refreshToken);
    expect(JSON.stringify(all)).not.toContain(ta);
    expect(all[5].status).toBe(404);
    expect(sim.requests({ method: "streamGenerateContent" })[0]!.path).toBe("/v1internal:streamGenerateContent?alt=sse");

    expect((await ctl("GET", "/stats")).json).toEqual({ token: 2, generateContent: 3, streamGenerateContent: 1 });
    expect(sim.stats()).toEqual({ token: 2, generateContent: 3, streamGenerateContent: 1 });
    expect((await ctl("GET", "/usage")).json).toEqual({
      "log-a@example.com": { "gemini-2.5-flash": 1, "gemini-2.5-pro": 1 },
      "log-b@example.com": { "gemini-2.5-flash": 1, "no-such-model": 1 },
    });

    expect((await ctl("DELETE", "/requests")).status).toBe(200);
    expect((await ctl("GET", "/requests")).json).toEqual([]);
    expect((await ctl("POST", "/reset")).status).toBe(200);
    expect((await ctl("GET", "/stats")).json).toEqual({});
    // accounts survive a reset
    expect((await tokenFor(a.refreshToken)).status).toBe(200);
  });

  test("count-tokens mirrors countTokens(); unknown control routes → 404", async () => {
    const req = { contents: [userText("twelve chars")] };
    expect((await ctl("POST", "/count-tokens", req)).json).toEqual({ totalTokens: sim.countTokens(req as any) });
    expect((await ctl("GET", "/nothing")).status).toBe(404);
  });

  test("unknown upstream paths → 404 in Google's shape", async () => {
    const res = await fetch(`${sim.url}/v2/whatever`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.status).toBe("NOT_FOUND");
  });
});

describe("request log bound", () => {
  test(`keeps the last ${LOG_LIMIT} entries`, () => {
    const state = new SimState(3600, false);
    for (let i = 0; i < LOG_LIMIT + 1500; i++)
      state.record({ time: "", method: "generateContent", path: "/", headers: {}, body: i, status: 200 });
    const log = state.requests();
    expect(log).toHaveLength(LOG_LIMIT);
    expect(log.at(-1)!.body).toBe(LOG_LIMIT + 1499);
    expect(state.stats().generateContent).toBe(LOG_LIMIT + 1500);
  });
});
