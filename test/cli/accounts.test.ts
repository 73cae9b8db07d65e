// `switchyard accounts …` in-process against the real simulator and a real pool in a temp data dir.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { statSync, writeFileSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startSimulator, type Simulator, type SimAccount } from "../../src/simulator/index";
import type { Config } from "../../src/config/schema";
import { tempDir } from "../helpers/util";
import { cli, configFor } from "../helpers/accounts";

let sim: Simulator;
let config: Config;
let good: SimAccount[];
let revoked: SimAccount;
const BOGUS = "1//0gBogusTokenNobodyIssued_abcdefghijklmnop";
let dir: ReturnType<typeof tempDir>;
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, hostname: "127.0.0.1", delays: false });
  config = configFor(sim.url);
  good = [1, 2, 3].map((i) => sim.addAccount({ email: `cli${i}@example.com`, name: `Cli ${i}`, quota: { "gemini-3-flash": 0.25 } }));
  revoked = sim.addAccount({ email: "revoked@example.com" });
  const r = await fetch(`${sim.url}/_sim/accounts/${encodeURIComponent(revoked.email)}/revoke`, { method: "POST" });
  expect(r.ok).toBe(true);
});
afterAll(async () => {
  await sim.stop();
});

function freshDir() {
  dir = tempDir();
  cleanups.push(dir.cleanup);
  return dir.dir;
}
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

const listJson = async (dataDir: string) => {
  const r = await cli(["list", "--json"], { config, dataDir });
  expect(r.code).toBe(0);
  return JSON.parse(r.out) as {
    id: string;
    email: string;
    state: string;
    projectId?: string;
    quota: Record<string, { remainingFraction: number }> | null;
  }[];
};

describe("add and list", () => {
  test("add validates upstream and stores the account; list --json shows it without secrets", async () => {
    const d = freshDir();
    const r = await cli(["add", "--refresh-token", good[0]!.refreshToken], { config, dataDir: d });
    expect(r.code).toBe(0);
    expect(r.out).toContain("added cli1@example.com");
    const again = await cli(["add", `--refresh-token=${good[0]!.refreshToken}`], { config, dataDir: d });
    expect(again.out).toContain("updated cli1@example.com");

    const raw = await cli(["list", "--json"], { config, dataDir: d });
    expect(raw.out).not.toContain(good[0]!.refreshToken);
    const list = JSON.parse(raw.out);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ email: "cli1@example.com", state: "active" });
    expect(list[0].projectId).toBeTruthy();
    expect(list[0].quota["gemini-3-flash"].remainingFraction).toBe(0.25);

    const table = await cli(["list"], { config, dataDir: d });
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^EMAIL\s+STATE/);
    expect(table.out).toMatch(/cli1@example\.com\s+active/);
    expect(table.out).toContain("25%");
  });

  test("a bad token exits 1 with Google's reason and stores nothing", async () => {
    const d = freshDir();
    for (const token of [BOGUS, revoked.refreshToken]) {
      const r = await cli(["add", "--refresh-token", token], { config, dataDir: d });
      expect(r.code).toBe(1);
      expect(r.err).toContain("invalid_grant");
      expect(r.err).not.toContain(token);
    }
    expect(await listJson(d)).toEqual([]);
  });

  test("the token can come from stdin with --refresh-token -", async () => {
    const d = freshDir();
    const r = await cli(["add", "--refresh-token", "-"], {
      config,
      dataDir: d,
      stdin: (async function* () {
        yield good[1]!.refreshToken + "\n";
      })(),
    });
    expect(r.code).toBe(0);
    expect((await listJson(d)).map((a) => a.email)).toEqual(["cli2@example.com"]);
  });

  test("usage errors exit 2 with a one-line reason and the usage", async () => {
    const d = freshDir();
    for (const argv of [["add"], ["add", "--refresh-token"], ["list", "--bogus"], ["remove"], ["frobnicate"], ["enable", "a", "b"], []]) {
      const r = await cli(argv, { config, dataDir: d });
      expect(r.code).toBe(2);
      expect(r.err).toContain("usage: switchyard accounts");
    }
    expect((await cli(["list", "--bogus"], { config, dataDir: d })).err.split("\n")[0]).toBe(
      "switchyard accounts list: unknown flag --bogus",
    );
  });
});

test("login --timeout takes seconds from 0.1 to a day: 1e3, 0x10, Infinity and a timer's overflow are usage errors", async () => {
  const d = freshDir();
  for (const t of ["1e3", "0x10", "Infinity", "0", "0.05", "-5", "1.", " 60", "86401", "3000000"]) {
    const r = await cli(["login", "--no-browser", "--timeout", t], { config, dataDir: d });
    expect(r.code).toBe(2);
    expect(r.err.split("\n")[0]).toBe(`switchyard accounts login: --timeout expects seconds from 0.1 to 86400, got "${t}"`);
  }
  // in range: the login starts (and ends at once: nothing can be pasted)
  for (const t of ["1", "0.5", "86400"]) {
    const r = await cli(["login", "--no-browser", `--timeout=${t}`], { config, dataDir: d });
    expect(r.code).toBe(1);
    expect(r.err).toContain("login failed: the input closed");
  }
});

describe("remove, enable, disable, refresh", () => {
  test("refresh reads a disabled account's quota too: it was asked for", async () => {
    const d = freshDir();
    const acc = sim.addAccount({ email: "resting@example.com", quota: { "gemini-3-flash": 0.25 } });
    expect((await cli(["add", "--refresh-token", acc.refreshToken], { config, dataDir: d })).code).toBe(0);
    expect((await cli(["disable", acc.email], { config, dataDir: d })).code).toBe(0);
    sim.addAccount({ email: acc.email, refreshToken: acc.refreshToken, quota: { "gemini-3-flash": 0.75 } });
    const r = await cli(["refresh", acc.email], { config, dataDir: d });
    expect(r.code).toBe(0);
    const [view] = await listJson(d);
    expect(view!.state).toBe("disabled");
    expect(view!.quota!["gemini-3-flash"]!.remainingFraction).toBe(0.75);
  });

  test("by email and by id; unknown account exits 1", async () => {
    const d = freshDir();
    for (const a of good.slice(0, 2)) expect((await cli(["add", "--refresh-token", a.refreshToken], { config, dataDir: d })).code).toBe(0);
    const [a1, a2] = await listJson(d);

    const dis = await cli(["disable", a1!.email], { config, dataDir: d });
    expect(dis.code).toBe(0);
    expect((await listJson(d)).find((a) => a.email === a1!.email)!.state).toBe("disabled");
    expect((await cli(["enable", a1!.id], { config, dataDir: d })).code).toBe(0);
    expect((await listJson(d)).find((a) => a.email === a1!.email)!.state).toBe("active");

    const ref = await cli(["refresh", a2!.email], { config, dataDir: d });
    expect(ref.code).toBe(0);
    expect(ref.out).toContain("refreshed 1 of 1");
    const all = await cli(["refresh"], { config, dataDir: d });
    expect(all.code).toBe(0);
    expect(all.err).toMatch(/\[2\/2\] \S+@example\.com: ok/);

    expect((await cli(["remove", a2!.id], { config, dataDir: d })).out).toContain(`removed ${a2!.email}`);
    expect((await listJson(d)).map((a) => a.email)).toEqual([a1!.email]);
    for (const sub of ["remove", "enable", "disable", "refresh"]) {
      const r = await cli([sub, "nobody@example.com"], { config, dataDir: d });
      expect(r.code).toBe(1);
      expect(r.err).toContain('no account matches "nobody@example.com"');
    }
  });
});

describe("import and export", () => {
  const summary = (out: string) =>
    out
      .match(/added (\d+), updated (\d+), rejected (\d+)/)!
      .slice(1)
      .map(Number);

  test("export writes 0600 JSON with refresh tokens and round-trips through import", async () => {
    const src = freshDir();
    for (const a of good) await cli(["add", "--refresh-token", a.refreshToken], { config, dataDir: src });
    const file = join(src, "export.json");
    const r = await cli(["export", "--out", file], { config, dataDir: src });
    expect(r.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const data = JSON.parse(readFileSync(file, "utf8"));
    expect(data.version).toBe(1);
    expect(data.accounts.map((a: { refreshToken: string }) => a.refreshToken).sort()).toEqual(good.map((a) => a.refreshToken).sort());

    const toStdout = await cli(["export"], { config, dataDir: src });
    expect(JSON.parse(toStdout.out).accounts).toHaveLength(3);

    // plus one account whose token no longer works
    data.accounts.push({ email: "gone@example.com", refreshToken: BOGUS });
    const mixed = join(src, "mixed.json");
    writeFileSync(mixed, JSON.stringify(data));
    const dst = freshDir();
    const imp = await cli(["import", mixed], { config, dataDir: dst });
    expect(imp.code).toBe(1); // one entry failed: a partial import is not a success
    expect(summary(imp.out)).toEqual([3, 0, 1]);
    expect(imp.out).toContain("switchyard-export");
    expect(imp.err).toMatch(/\[\d\/4\] #3 1\/\/\S+…[0-9a-f]{8} cli\d@example\.com: added/);
    expect(imp.err).toMatch(/\[\d\/4\] #4 1\/\/0g…[0-9a-f]{8}: rejected \(invalid_grant/);
    expect((await listJson(dst)).map((a) => a.email).sort()).toEqual(good.map((a) => a.email).sort());
    // importing the same file again updates
    expect(summary((await cli(["import", file], { config, dataDir: dst })).out)).toEqual([0, 3, 0]);
  });

  test("an export that cannot be written names the path given and leaves no copy of the tokens behind", async () => {
    const src = freshDir();
    await cli(["add", "--refresh-token", good[0]!.refreshToken], { config, dataDir: src });
    const folder = join(src, "a-folder");
    mkdirSync(folder);
    const before = readdirSync(src).sort();
    const intoFolder = await cli(["export", "--out", folder], { config, dataDir: src });
    expect(intoFolder.code).toBe(1);
    expect(intoFolder.err).toContain(`cannot write ${folder}: it is a folder`);
    expect(readdirSync(src).sort()).toEqual(before); // no .tmp with refresh tokens in it
    const missing = join(src, "no-such-folder", "x.json");
    const r = await cli(["export", "--out", missing], { config, dataDir: src });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`cannot write ${missing}: its folder does not exist`);
    expect(r.err).not.toContain(".tmp");
  });

  test("each format with a mix of good and bad tokens gives the right summary", async () => {
    const files = freshDir();
    const [g1, g2, g3] = good.map((a) => a.refreshToken);
    // Antigravity-Manager data dir
    const am = join(files, "am");
    mkdirSync(join(am, "accounts"), { recursive: true });
    writeFileSync(join(am, "accounts.json"), JSON.stringify({ accounts: [], current_account_id: null }));
    const amFile = (email: string, rt: string) =>
      JSON.stringify({ id: crypto.randomUUID(), email, token: { access_token: "ya29.x", refresh_token: rt, expires_in: 3599 } });
    writeFileSync(join(am, "accounts", "a.json"), amFile("cli1@example.com", g1!));
    writeFileSync(join(am, "accounts", "b.json"), amFile("revoked@example.com", revoked.refreshToken));
    // a JSON array of both spellings
    const arr = join(files, "array.json");
    writeFileSync(arr, JSON.stringify([{ refresh_token: g2 }, { refreshToken: BOGUS }, { refreshToken: g3 }]));
    // free text
    const txt = join(files, "notes.txt");
    writeFileSync(txt, `tokens from the old box:\n - ${g1}\n - ${BOGUS} (probably dead)\n - ${g1} again\n`);

    const cases: [string, number[], string][] = [
      [am, [1, 0, 1], "antigravity-manager"],
      [join(am, "accounts"), [0, 1, 1], "antigravity-manager"],
      [arr, [2, 0, 1], "json"],
      [txt, [0, 1, 1], "text"],
    ];
    const d = freshDir();
    for (const [path, want, format] of cases) {
      const r = await cli(["import", path], { config, dataDir: d });
      expect(r.code).toBe(1);
      expect(summary(r.out)).toEqual(want);
      expect(r.out).toContain(format);
      expect(r.out).toMatch(/rejected 1\/\/\S{2}…[0-9a-f]{8}: invalid_grant/);
      expect(r.out + r.err).not.toContain(BOGUS);
      expect(r.out + r.err).not.toContain(revoked.refreshToken);
    }
    expect((await listJson(d)).map((a) => a.email).sort()).toEqual(good.map((a) => a.email).sort());
  });

  test("import - reads stdin, in any format a file may have", async () => {
    const d = freshDir();
    const stdin = (text: string) =>
      (async function* () {
        yield text.slice(0, 10);
        yield text.slice(10);
      })();
    const text = await cli(["import", "-"], { config, dataDir: d, stdin: stdin(`old notes: ${good[0]!.refreshToken}\n`) });
    expect(text.err).not.toContain("cannot read");
    expect(text.code).toBe(0);
    expect(summary(text.out)).toEqual([1, 0, 0]);
    expect(text.err).toContain("found 1 refresh token in stdin (text)");
    const array = JSON.stringify([{ refresh_token: good[1]!.refreshToken }, { refreshToken: good[0]!.refreshToken }]);
    const json = await cli(["import", "-"], { config, dataDir: d, stdin: stdin(array) });
    expect(json.code).toBe(0);
    expect(summary(json.out)).toEqual([1, 1, 0]);
    expect(json.out).toContain("format json");
    expect(await cli(["import", "-"], { config, dataDir: d, stdin: stdin("nothing here") })).toMatchObject({
      code: 1,
      err: expect.stringContaining("no refresh tokens found in stdin"),
    });
  });

  test("nothing importable exits 1", async () => {
    const d = freshDir();
    const onlyBad = join(d, "bad.txt");
    writeFileSync(onlyBad, BOGUS);
    const r = await cli(["import", onlyBad], { config, dataDir: d });
    expect(r.code).toBe(1);
    expect(summary(r.out)).toEqual([0, 0, 1]);
    const none = join(d, "none.txt");
    writeFileSync(none, "nothing here");
    expect(await cli(["import", none], { config, dataDir: d })).toMatchObject({
      code: 1,
      err: expect.stringContaining("no refresh tokens found"),
    });
    expect((await cli(["import", join(d, "missing")], { config, dataDir: d })).code).toBe(1);
  });
});
