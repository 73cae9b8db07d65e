// A read-only data dir (a backup, a snapshot, a container mount): listing works, a change is refused
// with the storage problem named. Needs a read-only bind mount (root); skipped where it cannot be made.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/cli";
import { startStack, type Stack } from "../helpers/stack";
import { tempDir, userText } from "../helpers/util";
import { NO_LIMITS } from "../../src/keys/limits-input";

let s: Stack;
const mnt = tempDir("ro-mount");
let mounted = false;
const sh = (...cmd: string[]) => Bun.spawnSync(cmd, { stdout: "ignore", stderr: "ignore" }).exitCode === 0;

beforeAll(async () => {
  s = await startStack({ delays: false });
  s.ctx.keys!.book.create("ro-key", { ...NO_LIMITS });
  const r = await fetch(`${s.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
    method: "POST",
    headers: { "x-goog-api-key": s.apiKey, "content-type": "application/json" },
    body: JSON.stringify(userText("one request in the usage log")),
  });
  expect(r.status).toBe(200);
  s.ctx.keys!.flush();
  await s.pool.sync();
  const target = join(mnt.dir, "data");
  mkdirSync(target);
  mounted = sh("mount", "--bind", s.dataDir, target) && sh("mount", "-o", "remount,ro,bind", target);
});
afterAll(async () => {
  if (mounted) sh("umount", join(mnt.dir, "data"));
  await s.stop();
  mnt.cleanup();
});

test("accounts list works on a read-only data dir; disable says the store cannot be saved", async () => {
  if (!mounted) return console.warn("skipped: a read-only bind mount cannot be made here");
  const dir = join(mnt.dir, "data");
  const list = await runCli(["accounts", "list", "--json", "--data-dir", dir]);
  expect(list.code).toBe(0);
  expect(JSON.parse(list.stdout).map((a: { email: string }) => a.email)).toEqual([s.accounts[0]!.email]);
  const dis = await runCli(["accounts", "disable", s.accounts[0]!.email, "--data-dir", dir]);
  expect(dis.code).toBe(1);
  expect(dis.stderr).toContain("could not save the account store");
});

test("keys and usage on a read-only data dir answer from state.db (never an empty stand-in)", async () => {
  if (!mounted) return console.warn("skipped: a read-only bind mount cannot be made here");
  const dir = join(mnt.dir, "data");
  const keys = await runCli(["keys", "list", "--json", "--data-dir", dir]);
  expect(keys.code).toBe(0);
  expect(JSON.parse(keys.stdout).map((k: { name: string }) => k.name)).toEqual(["ro-key"]);
  const usage = await runCli(["usage", "--json", "--data-dir", dir]);
  expect(usage.code).toBe(0);
  expect(JSON.parse(usage.stdout).reduce((n: number, r: { requests: number }) => n + r.requests, 0)).toBe(1);
});
