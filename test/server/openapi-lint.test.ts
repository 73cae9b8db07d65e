// The OpenAPI document at /swagger/json passes Redocly's recommended ruleset without errors and with no
// warning but the missing license (the linter is a pinned dev dependency: this runs everywhere `npm ci`
// ran), and every operation documents its success and its errors in the shape of its protocol.
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

test("Redocly lint (recommended rules): 0 errors; the one warning left is the license (none chosen yet)", async () => {
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
  const warnings = report.problems.filter((p: any) => p.severity !== "error").map((p: any) => `${p.ruleId}: ${p.location?.[0]?.pointer}`);
  expect(warnings.filter((w: string) => !w.startsWith("info-license:"))).toEqual([]);
}, 60_000);

// the error shape each tag's paths answer in (src/core/errors.ts)
const ERROR_OF_TAG: Record<string, string> = { Gemini: "GeminiError", OpenAI: "OpenAIError", Anthropic: "AnthropicError" };

test("every operation: a 2xx answer, and 4XX and 5XX errors in its protocol's shape with examples", async () => {
  const doc = await (await fetch(`${stack.url}/swagger/json`)).json();
  const ops = Object.entries<Record<string, any>>(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ at: `${method} ${path}`, op })),
  );
  expect(ops.length).toBeGreaterThan(30);
  for (const { at, op } of ops) {
    const codes = Object.keys(op.responses);
    expect({ at, success: codes.some((c) => c.startsWith("2")) }).toEqual({ at, success: true });
    expect({ at, clientError: codes.some((c) => c.startsWith("4")) }).toEqual({ at, clientError: true });
    const shape = ERROR_OF_TAG[op.tags[0]] ?? "Error";
    if (op.responses["4XX"]) expect({ at, ref: op.responses["4XX"].$ref }).toEqual({ at, ref: `#/components/responses/${shape}4XX` });
    // the inference routes: a schema and an example for each kind of success answer
    if (!ERROR_OF_TAG[op.tags[0]]) continue;
    for (const code of codes.filter((c) => c.startsWith("2")))
      for (const [type, media] of Object.entries<any>(op.responses[code].content ?? {}))
        expect(`${at} ${type}: ${!!media.schema} ${media.example !== undefined}`).toBe(`${at} ${type}: true true`);
  }
  for (const [name, r] of Object.entries<any>(doc.components.responses)) {
    const examples = Object.values<any>(r.content["application/json"].examples);
    expect({ name, examples: examples.length > 0 }).toEqual({ name, examples: true });
  }
});
