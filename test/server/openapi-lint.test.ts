// The OpenAPI document at /swagger/json passes Redocly's recommended ruleset without errors (the
// linter is a pinned dev dependency: this runs everywhere `npm ci` ran).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT } from "../helpers/cli";
import { startStack, type Stack } from "../helpers/stack";
import { tempDir } from "../helpers/util";

let stack: Stack;
const d = tempDir("openapi");
beforeAll(async () => {
  stack = await startStack({ accounts: 0, authMode: "off" });
});
afterAll(async () => {
  await stack.stop();
  d.cleanup();
});

test("Redocly lint (recommended rules): 0 errors", async () => {
  const file = join(d.dir, "openapi.json");
  await Bun.write(file, await (await fetch(`${stack.url}/swagger/json`)).text());
  const r = Bun.spawnSync(["node", join(ROOT, "node_modules/@redocly/cli/bin/cli.js"), "lint", file, "--format=json"], {
    cwd: d.dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = r.stdout.toString();
  const report = JSON.parse(out.slice(out.indexOf("{")));
  const errors = report.problems.filter((p: any) => p.severity === "error");
  expect(errors.map((p: any) => `${p.ruleId}: ${p.location?.[0]?.pointer}`)).toEqual([]);
  expect(report.totals.errors).toBe(0);
}, 60_000);
