// `switchyard keys` and `switchyard usage` as people and scripts use them: the real CLI in a child
// process on a temporary data dir.
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { runCli } from "../helpers/cli";
import { tempDir } from "../helpers/util";

const d = tempDir("keys-cli");
afterAll(() => d.cleanup());
const cli = (...args: string[]) => runCli([...args, "--data-dir", d.dir]);

test("create prints the key once; list shows no secret; update and revoke by name", async () => {
  const made = await cli("keys", "create", "--name", "team-a", "--models", "gemini-*", "--rpm", "60", "--daily-tokens", "200000", "--json");
  expect(made.code).toBe(0);
  const key = JSON.parse(made.stdout);
  expect(key.key).toMatch(/^sk-sy-[A-Za-z0-9_-]{32}$/);
  expect(key).toMatchObject({ name: "team-a", models: ["gemini-*"], rpm: 60, dailyTokens: 200000, tpm: null, revokedAt: null });
  const human = await cli("keys", "create", "--name", "team-b", "--expires", "30d");
  expect(human.stdout).toMatch(/sk-sy-\S+/);
  expect(human.stdout).toContain("shown only this once");

  const table = await cli("keys", "list");
  expect(table.code).toBe(0);
  expect(table.stdout).toContain("team-a");
  expect(table.stdout).toContain(key.key.slice(0, 10) + "…");
  expect(table.stdout).not.toContain(key.key);
  const list = JSON.parse((await cli("keys", "list", "--json")).stdout);
  expect(list.map((k: any) => [k.name, k.tokensToday])).toEqual([
    ["team-a", 0],
    ["team-b", 0],
  ]);
  expect(JSON.stringify(list)).not.toContain(key.key);
  expect(JSON.stringify(list)).not.toContain("hash");

  // "none" (or 0) lifts a model list as it lifts a number
  const unlisted = await cli("keys", "update", "team-a", "--models", "none", "--json");
  expect(JSON.parse(unlisted.stdout)).toMatchObject({ name: "team-a", models: null });
  expect((await cli("keys", "update", "team-a", "--models", "gemini-*")).code).toBe(0);
  const updated = await cli("keys", "update", "team-a", "--tpm", "1000", "--rpm", "none", "--json");
  expect(updated.code).toBe(0);
  expect(JSON.parse(updated.stdout)).toMatchObject({ id: key.id, name: "team-a", tpm: 1000, rpm: null, dailyTokens: 200000 });
  expect((await cli("keys", "update", "team-b", "--name", "team-c")).stdout).toContain('"team-c"');
  const revoked = await cli("keys", "revoke", key.id);
  expect(revoked.code).toBe(0);
  expect(revoked.stdout).toContain("team-a");
  const after = JSON.parse((await cli("keys", "list", "--json")).stdout);
  expect(after.map((k: any) => k.name)).toEqual(["team-a", "team-c"]);
  expect(after[0]).toMatchObject({ tpm: 1000, rpm: null });
  expect(after[0].revokedAt).toBeGreaterThan(0);
  expect((await cli("keys", "list")).stdout).toMatch(/team-a\s+\S+\s+revoked/);
  // a name taken already is a runtime failure, not a usage error
  const dup = await cli("keys", "create", "--name", "team-c");
  expect(dup.code).toBe(1);
  expect(dup.stderr).toContain("exists already");
});

test.each([
  [["keys", "create", "--name", "x", "--rpm", "-1"], 2, "--rpm"],
  [["keys", "create", "--name", "y", "--expires", "soon"], 2, "--expires"],
  [["keys", "create", "--rpm", "5"], 2, "--name"],
  [["keys", "create", "--name", "z", "--bogus", "1"], 2, "--bogus"],
  [["keys", "create", "--name", "w", "--daily-tokens", "lots"], 2, "--daily-tokens"],
  [["keys", "create", "--name", "v", "--models", "gemini 2"], 2, "--models"],
  [["keys", "create", "--name", "u", "--rpm"], 2, "--rpm"],
  [["keys", "update", "nobody", "--rpm", "abc"], 2, "--rpm"],
  [["keys", "revoke", "nobody"], 1, "no key"],
  [["keys", "update", "nobody", "--rpm", "5"], 1, "no key"],
  [["keys", "rotate", "x"], 2, "rotate"],
  [["keys"], 2, "subcommand"],
  [["usage", "--json", "extra"], 2, "extra"],
  [["usage", "--by", "week"], 2, "--by"],
  [["usage", "--since", "yesterday"], 2, "since"],
  [["usage", "--since", "99999999999d"], 2, "since"],
  [["usage", "--since", "7"], 2, "since"],
  [["keys", "create", "--name", "t", "--expires", "99999999999d"], 2, "--expires"],
  [["keys", "create", "--name", "t", "--expires", "2027-02-31"], 2, "--expires"],
  [["keys", "create", "--name", "t", "--expires", "2020-01-01"], 2, "in the future"],
  [["keys", "create", "--name", "t", "--models", ",,"], 2, "--models"],
  [["keys", "create", "--name", "t", "--rpm", "0x10"], 2, "--rpm"],
  [["keys", "create", "--name", "t", "--rpm="], 2, "--rpm needs a value"],
])("%j exits %d naming %s", async (args, code, named) => {
  const r = await cli(...args);
  expect(r.code).toBe(code);
  expect(r.stderr).toContain(named);
});

test("a key stored with an expiry past any date (before dates were checked) does not break the list", async () => {
  expect((await cli("keys", "create", "--name", "far-off", "--expires", "30d")).code).toBe(0);
  const db = new Database(join(d.dir, "state.db"));
  db.run("UPDATE api_keys SET expires_at = 8640001795901584384 WHERE name = 'far-off'");
  db.close();
  const r = await cli("keys", "list");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/far-off.*after 9999/);
  expect((await cli("keys", "revoke", "far-off")).code).toBe(0);
});

test("usage: an empty log is an empty list for scripts and a total row for people", async () => {
  expect(JSON.parse((await cli("usage", "--json")).stdout)).toEqual([]);
  const r = await cli("usage", "--by", "model", "--since", "7d");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("total");
});

test.each([
  "serve --help",
  "demo --help",
  "version --help",
  "service install --help",
  "accounts add --help",
  "models -h",
  "keys --help",
  "keys create --help",
  "keys list -h",
  "usage --help",
  "serve help",
  "demo help",
  "version help",
  "models help",
  "config help",
  "service help",
  "accounts help",
  "keys help",
  "usage help",
  // after a subcommand, and after its flags, as after `accounts add`
  "keys create help",
  "keys list help",
  "keys list --json help",
  "config show help",
  "config validate help",
  "usage --json help",
  "models --json help",
  "service install help",
  "accounts add help",
])("`switchyard %s` prints its own usage and exits 0", async (line) => {
  const args = line.split(" ");
  const r = await runCli(args);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`switchyard ${args[0]}`);
});

test("a flag's value that is the word help is that value, not a request for help", async () => {
  const d = tempDir("keys-help-name");
  try {
    const r = await runCli(["keys", "create", "--name", "help", "--data-dir", d.dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("help");
    const list = await runCli(["keys", "list", "--json", "--data-dir", d.dir]);
    expect(JSON.parse(list.stdout).map((k: { name: string }) => k.name)).toEqual(["help"]);
    // accounts too: an export to a file named help is an export
    const exported = await runCli(["accounts", "export", "--out", `${d.dir}/help`, "--data-dir", d.dir]);
    expect(exported.stdout).not.toContain("usage:");
    const asValue = await runCli(["accounts", "login", "--no-browser", "--timeout", "help", "--data-dir", d.dir]);
    expect(asValue.code).toBe(2);
    expect(asValue.stderr).toContain('--timeout expects seconds from 0.1 to 86400, got "help"');
  } finally {
    d.cleanup();
  }
});

test("`accounts help` and `accounts --help` print the same text", async () => {
  const [a, b] = await Promise.all([runCli(["accounts", "help"]), runCli(["accounts", "--help"])]);
  expect(a.code).toBe(0);
  expect(a.stdout).toBe(b.stdout);
  expect(a.stdout).toContain("--timeout SECONDS");
});

test("help needs no configuration: `keys --help` with a broken config file still prints help", async () => {
  const r = await runCli(["keys", "--help", "--config", "/nonexistent/config.json"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("switchyard keys create");
  expect((await runCli(["usage", "--help", "--config", "/nonexistent/config.json"])).stdout).toContain("--by key|account|model|day|hour");
});

test("a date-time without a zone is UTC, as a date alone is, whatever the machine's zone", async () => {
  const tokyo = { env: { TZ: "Asia/Tokyo" } };
  const args = (name: string, expires: string) => ["keys", "create", "--name", name, "--expires", expires, "--json", "--data-dir", d.dir];
  for (const [name, expires, want] of [
    ["tz-naive", "2027-01-31T18:00", Date.UTC(2027, 0, 31, 18)],
    ["tz-space", "2027-01-31 18:00:30", Date.UTC(2027, 0, 31, 18, 0, 30)],
    ["tz-offset", "2027-01-31T18:00+09:00", Date.UTC(2027, 0, 31, 9)],
    ["tz-date", "2027-01-31", Date.UTC(2027, 0, 31)],
  ] as const) {
    const r = await runCli(args(name, expires), tokyo);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).expiresAt).toBe(want);
  }
});
