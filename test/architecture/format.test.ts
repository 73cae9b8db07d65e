// The formatter's check (Prettier, .prettierrc.json): `npm run format` fixes what this finds.
import { expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

test("every TypeScript file is formatted", async () => {
  const bin = join(ROOT, "node_modules", ".bin", "prettier");
  const p = Bun.spawn([bin, "--check", "src/**/*.ts", "test/**/*.ts", "scripts/**/*.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const unformatted = (out + err).split("\n").filter((l) => l.startsWith("[warn]") && !l.includes("Code style issues"));
  expect(unformatted).toEqual([]);
  expect(code).toBe(0);
}, 60_000);
