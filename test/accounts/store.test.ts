// The account store: atomic 0600 writes, backup, refusing a corrupt file, stale temp files,
// merging edits from other writers (in this process and in child processes).
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { StorageError } from "../../src/core/errors";
import { parseStore } from "../../src/accounts/store-format";
import { AccountStore, STORE_FILE, type StoreDoc } from "../../src/accounts/store";
import { PoolError, type Account } from "../../src/accounts/types";
import { accountRecord, tempDir } from "../helpers/util";

const BUN = process.execPath;
const STORE_TS = resolve(import.meta.dir, "../../src/accounts/store.ts");

const account = (id: string, extra: Partial<Account> = {}): Account =>
  accountRecord(`${id}@x.com`, { id, refreshToken: `1//rt-${id}`, ...extra });
const add = (a: Account) => (doc: StoreDoc) => void doc.accounts.set(a.id, a);

const cleanups: (() => void)[] = [];
function dir() {
  const t = tempDir("store");
  cleanups.push(t.cleanup);
  return t.dir;
}
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

describe("account store", () => {
  test("writes schema-versioned JSON, mode 0600, and reads it back", async () => {
    const d = dir();
    const s = await AccountStore.open(d);
    expect(existsSync(join(d, STORE_FILE))).toBe(false); // nothing written until there is something to write
    const until = Date.now() + 60_000;
    await s.update(
      add(
        account("a", {
          quota: { m: { remainingFraction: 0.25, resetTime: until, fetchedAt: 1 } },
          cooldowns: [{ model: "m", until, reason: "rate_limited" }],
        }),
      ),
    );
    const file = join(d, STORE_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const raw = JSON.parse(readFileSync(file, "utf8"));
    expect(raw.version).toBe(2);
    // identity and credentials only: what changes on its own lives in state.db
    expect(Object.keys(raw.accounts[0]).sort()).toEqual(["createdAt", "email", "id", "refreshToken", "state"]);
    await s.close();
    const again = await AccountStore.open(d);
    expect(again.get("a")).toMatchObject({ email: "a@x.com", refreshToken: "1//rt-a", quota: null, cooldowns: [], requests: 0 });
    await again.close();
  });

  test("a write replaces the file whole (new inode by rename): a reader never sees a half-written file", async () => {
    const d = dir();
    const s = await AccountStore.open(d);
    await s.update(add(account("a")));
    const file = join(d, STORE_FILE);
    const before = readFileSync(file, "utf8");
    const ino = statSync(file).ino;
    const fd = openSync(file, "r"); // a reader that opened the file before the write
    await s.update(add(account("b", { name: "x".repeat(100_000) })));
    expect(statSync(file).ino).not.toBe(ino);
    expect(readFileSync(fd, "utf8")).toBe(before);
    closeSync(fd);
    expect(readdirSync(d).filter((f) => f.includes(".tmp-"))).toEqual([]);
    await s.close();
  });

  test("keeps the previous version as accounts.json.bak", async () => {
    const d = dir();
    const s = await AccountStore.open(d);
    await s.update(add(account("a")));
    const first = readFileSync(join(d, STORE_FILE), "utf8");
    await s.update(add(account("b")));
    expect(readFileSync(join(d, STORE_FILE + ".bak"), "utf8")).toBe(first);
    expect(statSync(join(d, STORE_FILE + ".bak")).mode & 0o777).toBe(0o600);
    await s.close();
  });

  test.each([
    ["not JSON", '{"version":1,"accounts":[{"id":"a"'],
    ["empty", ""],
    ["wrong shape", '{"version":1,"accounts":{}}'],
    ["an account without a refresh token", '{"version":1,"accounts":[{"id":"a","email":"a@x.com"}]}'],
    ["a newer schema", '{"version":99,"accounts":[]}'],
    [
      "version 2, an email that is not a string",
      '{"version":2,"accounts":[{"id":"a","email":5,"refreshToken":"r","createdAt":"2026-01-01T00:00:00Z"}]}',
    ],
    ["version 2, an unknown state", '{"version":2,"accounts":[{"id":"a","email":"a@x.com","refreshToken":"r","state":"on"}]}'],
  ])("a corrupt file (%s) stops start-up, names the file, and is never overwritten", async (_n, text) => {
    const d = dir();
    const file = join(d, STORE_FILE);
    writeFileSync(file, text, { mode: 0o600 });
    const err = await AccountStore.open(d).catch((e) => e);
    expect(err).toBeInstanceOf(PoolError);
    expect(err.message).toContain(file);
    expect(readFileSync(file, "utf8")).toBe(text);
  });

  test.each([
    ['{"version":2,"accounts":[{"id":"a","email":5,"refreshToken":"r"}]}', "accounts[0].email must be a string"],
    ['{"version":2,"accounts":[{"id":"a","email":"a@x.com","refreshToken":"r","state":"on"}]}', "accounts[0].state must be one of"],
    [
      '{"version":2,"accounts":[{"id":"a","email":"a@x.com","refreshToken":"r","disabledAt":"soon"}]}',
      "accounts[0].disabledAt is not a time",
    ],
  ])("a bad version-2 record is named by its path: %s", (text, message) => {
    expect(() => parseStore(text)).toThrow(message);
  });

  test("a file corrupted while running: the last good state stays, writes are refused, the file is untouched", async () => {
    const d = dir();
    const errors: Error[] = [];
    const s = await AccountStore.open(d, { onError: (e) => errors.push(e) });
    await s.update(add(account("a")));
    await s.update(add(account("a2")));
    writeFileSync(join(d, STORE_FILE), "garbage{");
    expect(await s.reloadIfChanged()).toBe(false);
    expect(errors).toHaveLength(1);
    expect(s.get("a")).toBeDefined();
    // what the server holds (a, a2) is kept readable beside the file, and the advice says where
    const recovered = join(d, STORE_FILE + ".recovered");
    expect(errors[0]!.message).toContain(recovered);
    expect(
      JSON.parse(readFileSync(recovered, "utf8"))
        .accounts.map((a: { id: string }) => a.id)
        .sort(),
    ).toEqual(["a", "a2"]);
    expect(statSync(recovered).mode & 0o777).toBe(0o600);
    const err = await s.update(add(account("b"))).catch((e) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err.message).toContain("the change was not applied");
    expect(s.get("b")).toBeUndefined(); // a change that was not saved does not take effect
    expect(s.get("a2")).toBeDefined();
    expect(readFileSync(join(d, STORE_FILE), "utf8")).toBe("garbage{");
    expect(JSON.parse(readFileSync(join(d, STORE_FILE + ".bak"), "utf8")).accounts).toHaveLength(1);
    expect(s.unsaved).toBeInstanceOf(StorageError);
    await s.close().catch(() => {});
  });

  test("a store that cannot be written: the change is refused, not applied, and reported", async () => {
    const d = dir();
    const s = await AccountStore.open(d);
    await s.update(add(account("a")));
    await s.update(add(account("a2")));
    // (the tests run as root, so permissions cannot make a write fail: a directory in the way can)
    rmSync(join(d, STORE_FILE + ".bak"), { force: true });
    mkdirSync(join(d, STORE_FILE + ".bak", "x"), { recursive: true });
    try {
      const err = await s.update(add(account("b"))).catch((e) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect(s.get("b")).toBeUndefined();
      expect(s.get("a")).toBeDefined();
      expect(s.unsaved?.message).toContain("could not save the account store");
    } finally {
      rmSync(join(d, STORE_FILE + ".bak"), { recursive: true, force: true });
      await s.close().catch(() => {});
    }
  });

  test("a data dir that cannot be created is a PoolError naming it", async () => {
    const d = dir();
    writeFileSync(join(d, "file"), "");
    const err = await AccountStore.open(join(d, "file", "sub")).catch((e) => e);
    expect(err).toBeInstanceOf(PoolError);
    expect(err.message).toContain(join(d, "file", "sub"));
  });

  test("stale temp files are removed at start", async () => {
    const d = dir();
    writeFileSync(join(d, `.${STORE_FILE}.tmp-123-abc`), "half a fi");
    writeFileSync(join(d, `.${STORE_FILE}.bak.tmp-123-abc`), "x");
    writeFileSync(join(d, "unrelated.tmp-1"), "keep me");
    const s = await AccountStore.open(d);
    expect(readdirSync(d).sort()).toEqual([STORE_FILE + ".lock", "unrelated.tmp-1"]);
    await s.close();
  });

  test("two writers never lose each other's edits (read-modify-write under the lock)", async () => {
    const d = dir();
    const a = await AccountStore.open(d);
    const b = await AccountStore.open(d); // loaded before a writes anything
    await a.update(add(account("from-a")));
    await b.update(add(account("from-b")));
    // a has not seen from-b yet: the mutator runs again on the file's version under the lock
    await a.update((doc) => {
      const x = doc.accounts.get("from-b");
      if (x) x.tier = "standard-tier";
    });
    const c = await AccountStore.open(d);
    expect([...c.current.accounts.keys()].sort()).toEqual(["from-a", "from-b"]);
    expect(c.get("from-b")!.tier).toBe("standard-tier");
    for (const s of [a, b, c]) await s.close();
  });

  test("updates close together share one write", async () => {
    const d = dir();
    const s = await AccountStore.open(d);
    const rev0 = s.current.revision;
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.update(add(account(`a${i}`)))));
    expect(s.current.accounts.size).toBe(50);
    expect(s.current.revision - rev0).toBeLessThanOrEqual(2);
    await s.close();
  });

  test("another process's change is picked up by reloadIfChanged and announced", async () => {
    const d = dir();
    const seen: number[] = [];
    const s = await AccountStore.open(d, { onExternalChange: (doc) => seen.push(doc.accounts.size) });
    await s.update(add(account("a")));
    expect(await s.reloadIfChanged()).toBe(false);
    const other = await AccountStore.open(d);
    await other.update(add(account("b")));
    await other.close();
    expect(await s.reloadIfChanged()).toBe(true);
    expect(s.get("b")).toBeDefined();
    expect(seen).toEqual([2]);
    await s.close();
  });

  test("writers in separate processes are serialized (flock): no lost update", async () => {
    const d = dir();
    const s = await AccountStore.open(d);
    await s.update(add(account("shared")));
    await s.close();
    const N = 4;
    const EACH = 25;
    const code = `
      const { AccountStore } = await import(${JSON.stringify(STORE_TS)});
      const s = await AccountStore.open(${JSON.stringify(d)});
      const me = process.argv.at(-1);
      for (let i = 0; i < ${EACH}; i++) {
        await s.update((doc) => { const a = doc.accounts.get("shared"); a.name = (a.name ?? "") + "x"; });
      }
      await s.update((doc) => doc.accounts.set(me, { id: me, email: me + "@x.com", refreshToken: "r", state: "active", quota: null, cooldowns: [], requests: 0, failures: 0, createdAt: 0 }));
      await s.close();
    `;
    const procs = Array.from({ length: N }, (_, i) => Bun.spawn([BUN, "-e", code, `child-${i}`], { stdout: "pipe", stderr: "pipe" }));
    const codes = await Promise.all(procs.map((p) => p.exited));
    for (const [i, p] of procs.entries()) if (codes[i] !== 0) throw new Error(await new Response(p.stderr).text());
    const final = await AccountStore.open(d);
    expect(final.get("shared")!.name).toHaveLength(N * EACH);
    expect(final.current.accounts.size).toBe(N + 1);
    await final.close();
  });
});
