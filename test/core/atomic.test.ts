// Crash-safe writes: a temp file a killed writer left behind (it may hold a generated key or an export)
// is removed by the next write of the same file; a live writer's is not.
import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomicSync } from "../../src/core/atomic";
import { tempDir } from "../helpers/util";

const d = tempDir("atomic");
afterAll(() => d.cleanup());

test("the next write removes a dead writer's temp file (a minute old) and any an hour old; keeps a live or fresh one", async () => {
  // a pid that is no process: a child that has exited
  const child = Bun.spawn(["true"]);
  await child.exited;
  const dead = `.config.json.${child.pid}.1700000000000.abc123.tmp`;
  const live = `.config.json.${process.pid}.1700000000000.def456.tmp`;
  const other = `.accounts.json.${child.pid}.1700000000000.ghi789.tmp`;
  const fresh = `.config.json.${child.pid}.1700000000001.jkl012.tmp`; // its writer gone, but written a moment ago
  const ancient = `.config.json.${process.pid}.1600000000000.mno345.tmp`; // "ours" by pid (reused), hours old
  for (const f of [dead, live, other, fresh, ancient]) writeFileSync(join(d.dir, f), "sk-secret", { mode: 0o600 });
  const ago = (ms: number) => new Date(Date.now() - ms);
  for (const f of [dead, live, other]) utimesSync(join(d.dir, f), ago(120_000), ago(120_000));
  utimesSync(join(d.dir, ancient), ago(7_200_000), ago(7_200_000));
  const path = join(d.dir, "config.json");
  writeFileAtomicSync(path, '{"ok":true}\n');
  expect(readFileSync(path, "utf8")).toBe('{"ok":true}\n');
  expect(statSync(path).mode & 0o777).toBe(0o600);
  const left = readdirSync(d.dir);
  expect(left).not.toContain(dead);
  expect(left).toContain(live); // this process is alive: its write may be under way
  expect(left).toContain(other); // another file's temp is that file's business
  expect(left).toContain(fresh); // a pid that looks dead may be another namespace's writer, mid-write
  expect(left).not.toContain(ancient);
});
