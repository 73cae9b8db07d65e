// Crash-safe writes: a temp file a killed writer left behind (it may hold a generated key or an export)
// is removed by the next write of the same file; a live writer's is not.
import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomicSync } from "../../src/core/atomic";
import { tempDir } from "../helpers/util";

const d = tempDir("atomic");
afterAll(() => d.cleanup());

test("the next write removes a dead writer's temp file and keeps a live one's", async () => {
  // a pid that is no process: a child that has exited
  const child = Bun.spawn(["true"]);
  await child.exited;
  const dead = `.config.json.${child.pid}.1700000000000.abc123.tmp`;
  const live = `.config.json.${process.pid}.1700000000000.def456.tmp`;
  const other = `.accounts.json.${child.pid}.1700000000000.ghi789.tmp`;
  for (const f of [dead, live, other]) writeFileSync(join(d.dir, f), "sk-secret", { mode: 0o600 });
  const path = join(d.dir, "config.json");
  writeFileAtomicSync(path, '{"ok":true}\n');
  expect(readFileSync(path, "utf8")).toBe('{"ok":true}\n');
  expect(statSync(path).mode & 0o777).toBe(0o600);
  const left = readdirSync(d.dir);
  expect(left).not.toContain(dead);
  expect(left).toContain(live); // this process is alive: its write may be under way
  expect(left).toContain(other); // another file's temp is that file's business
});
