// state.db: one row per account written field by field, counters added atomically by any number of
// processes, other processes' writes found by the poll, a corrupt file set aside and rebuilt.
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SqliteState, STATE_FILE, type OpenNotice } from "../../src/state/sqlite";
import { SqliteKeys } from "../../src/state/keys";
import { SqliteUsage } from "../../src/state/usage";
import { NO_LIMITS } from "../../src/keys/limits-input";
import type { AccountRow } from "../../src/state/types";
import { runCli } from "../helpers/cli";
import { tempDir } from "../helpers/util";

const dirs: (() => void)[] = [];
afterAll(() => dirs.forEach((c) => c()));
function dir(): string {
  const d = tempDir("state");
  dirs.push(d.cleanup);
  return d.dir;
}

const row = (over: Partial<AccountRow> = {}): AccountRow => ({ quota: null, cooldowns: [], requests: 0, failures: 0, ...over });

/**
 * Fills `s` with enough account rows that their table spans pages past the schema's, closes it, and
 * overwrites the file from page `from(pages)` on; returns the page count.
 */
function damageAccounts(d: string, s: SqliteState, from: (pages: number) => number): number {
  for (let i = 0; i < 400; i++) s.saveToken(`account-${i}`, "ya29." + "t".repeat(200), i);
  s.close();
  const path = join(d, STATE_FILE);
  const db = new Database(path);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const pages = db.query<{ page_count: number }, []>("PRAGMA page_count").get()!.page_count;
  const size = db.query<{ page_size: number }, []>("PRAGMA page_size").get()!.page_size;
  db.close();
  const bytes = readFileSync(path);
  bytes.fill(0x5a, size * from(pages));
  writeFileSync(path, bytes);
  return pages;
}

describe("state.db", () => {
  test("created 0600 in WAL mode; each write touches one field of one row", () => {
    const d = dir();
    const s = SqliteState.open(d);
    s.put("a", row({ requests: 5, quota: { m: { remainingFraction: 0.5, fetchedAt: 1 } } }));
    s.saveToken("a", "ya29.t", 99);
    s.saveCooldowns("a", [{ model: "m", until: 5, reason: "rate_limited" }]);
    s.saveQuota("b", null); // a row for an account that had none
    expect(s.load("a")).toEqual(
      row({
        accessToken: "ya29.t",
        accessTokenExpiresAt: 99,
        quota: { m: { remainingFraction: 0.5, fetchedAt: 1 } },
        cooldowns: [{ model: "m", until: 5, reason: "rate_limited" }],
        requests: 5,
      }),
    );
    expect(s.load("b")).toEqual(row());
    expect(s.loadMany(["a", "b", "c"]).size).toBe(2);
    s.remove("a");
    expect(s.load("a")).toBeUndefined();
    for (const f of readdirSync(d).filter((f) => f.startsWith(STATE_FILE))) expect(statSync(join(d, f)).mode & 0o777).toBe(0o600);
    expect(readdirSync(d)).toContain(`${STATE_FILE}-wal`);
    s.close();
  });

  test("counters from several connections add up; last use never goes back", () => {
    const d = dir();
    const [a, b] = [SqliteState.open(d), SqliteState.open(d)];
    for (let i = 0; i < 50; i++) {
      a.addCounters([{ id: "x", requests: 1, failures: 0, lastUsedAt: 1000 + i }]);
      b.addCounters([{ id: "x", requests: 2, failures: 1, lastUsedAt: 10 }]);
    }
    expect(a.load("x")).toMatchObject({ requests: 150, failures: 50, lastUsedAt: 1049 });
    a.close();
    b.close();
  });

  test("a row another connection changed is not taken over by this one's write before it looked: the change still reaches it", () => {
    const d = dir();
    const [server, cli] = [SqliteState.open(d), SqliteState.open(d)];
    server.saveCooldowns("x", [{ model: "m", until: Date.now() + 3_600_000, reason: "quota_exhausted" }]);
    cli.othersChanges();
    // the CLI lifts the cooldown; the server, before its next look, adds its counters to the same row
    cli.saveCooldowns("x", []);
    cli.setMeta("models", { m: 1 });
    server.addCounters([{ id: "x", requests: 1, failures: 0 }]);
    server.setMeta("models", { m: 2 });
    const seen = server.othersChanges()!;
    expect(seen.rows.get("x")).toMatchObject({ cooldowns: [], requests: 1 });
    expect(seen.meta).toBe(true);
    // once it looked, its own writes are its own again
    server.addCounters([{ id: "x", requests: 1, failures: 0 }]);
    expect(server.othersChanges()).toBeUndefined();
    // the mirror: the server writes, then a process that has not looked since (the CLI) writes the row
    server.saveCooldowns("y", [{ model: "m", until: Date.now() + 3_600_000, reason: "quota_exhausted" }]);
    cli.saveCooldowns("y", []);
    expect(server.othersChanges()!.rows.get("y")).toMatchObject({ cooldowns: [] });
    server.close();
    cli.close();
  });

  test("othersChanges: nothing until another connection commits, then only its rows and meta", () => {
    const d = dir();
    const [a, b] = [SqliteState.open(d), SqliteState.open(d)];
    a.saveToken("mine", "t", 1);
    expect(a.othersChanges()).toBeUndefined();
    b.saveToken("theirs", "u", 2);
    b.setMeta("models", { m: 1 });
    const seen = a.othersChanges()!;
    expect([...seen.rows.keys()]).toEqual(["theirs"]);
    expect(seen.meta).toBe(true);
    expect(a.othersChanges()).toBeUndefined();
    expect(a.getMeta("models")).toEqual({ m: 1 });
    a.close();
    b.close();
  });

  test.each([
    ["garbage", "this is not a database at all, just text that is long enough to fill a header of one hundred bytes"],
    ["a torn header", "SQLite format 3\0\x10\0\x01\x01\0@  \0\0\0\x02"],
  ])("a corrupt file (%s) is set aside with a clear message and rebuilt", (_n, text) => {
    const d = dir();
    writeFileSync(join(d, STATE_FILE), text, { mode: 0o600 });
    const notices: OpenNotice[] = [];
    const s = SqliteState.open(d, (n) => notices.push(n));
    expect(notices).toHaveLength(1);
    expect(notices[0]!.level).toBe("error");
    expect(notices[0]!.message).toMatch(/state\.db was unreadable .* set aside as .*state\.db\.corrupt-.* accounts are unaffected/);
    s.saveToken("a", "t", 1);
    expect(s.load("a")!.accessToken).toBe("t");
    expect(readdirSync(d).some((f) => f.startsWith(`${STATE_FILE}.corrupt-`))).toBe(true);
    s.close();
  });

  test("damage inside the accounts' table (the header intact) is found at start too", () => {
    const d = dir();
    // every page after the first (the header and the schema) overwritten
    expect(damageAccounts(d, SqliteState.open(d), () => 1)).toBeGreaterThan(3);
    const notices: OpenNotice[] = [];
    const again = SqliteState.open(d, (n) => notices.push(n));
    expect(notices.map((n) => n.message)).toEqual([expect.stringMatching(/state\.db was unreadable [\s\S]*set aside/)]);
    again.close();
  });

  test("a damaged state.db gives up what it still holds that nothing re-learns: the virtual keys, the usage totals", () => {
    const d = dir();
    const s = SqliteState.open(d);
    const keys = new SqliteKeys(s.database);
    const k = { id: "k1", name: "ci", prefix: "sk-sy-abcd", hash: "h".repeat(64), createdAt: 1, revokedAt: null, ...NO_LIMITS };
    keys.insert(k);
    new SqliteUsage(s.database).append([
      {
        at: 3_600_000,
        keyId: "k1",
        keyName: "ci",
        account: "a@x.com",
        model: "m",
        upstreamModel: "m",
        protocol: "openai",
        route: "/v1/chat/completions",
        status: 200,
        input: 5,
        output: 7,
        thinking: 0,
        cached: 0,
        latencyMs: 1,
        ttfbMs: null,
        streamed: false,
      } as any,
    ]);
    // then the accounts' rows, on the pages after the keys': the second half overwritten holds only them
    damageAccounts(d, s, (pages) => Math.floor(pages / 2));
    const notices: OpenNotice[] = [];
    const again = SqliteState.open(d, (n) => notices.push(n));
    expect(notices[0]!.message).toContain("1 virtual keys recovered from it");
    expect(notices[0]!.message).toContain("1 hours of usage totals recovered from it");
    expect(new SqliteKeys(again.database).list()).toEqual([k]);
    again.close();
  });

  test("the CLI with a corrupt state.db: a clear message, every account still listed", async () => {
    const d = dir();
    writeFileSync(
      join(d, "accounts.json"),
      JSON.stringify({
        version: 2,
        accounts: [{ id: "a", email: "a@x.com", refreshToken: "1//rt", state: "active", createdAt: new Date().toISOString() }],
      }),
      { mode: 0o600 },
    );
    writeFileSync(join(d, STATE_FILE), "x".repeat(4096), { mode: 0o600 });
    const r = await runCli(["accounts", "list", "--json", "--data-dir", d]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).map((a: any) => a.email)).toEqual(["a@x.com"]);
    expect(r.stderr).toContain("set aside as");
    expect((await runCli(["accounts", "list", "--json", "--data-dir", d])).stderr).not.toContain("set aside");
  });
});
