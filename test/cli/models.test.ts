// `switchyard models`: the catalogue the accounts reported (or the built-in one), and the forwarding rules.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { runCli } from "../helpers/cli";
import { startStack, type Stack } from "../helpers/stack";
import { tempDir } from "../helpers/util";

let s: Stack;
beforeAll(async () => {
  s = await startStack({ delays: false });
  await s.pool.sync();
});
afterAll(() => s.stop());

test("before any account reported: the built-in lineup, said so", async () => {
  const { dir, cleanup } = tempDir("models");
  try {
    const r = await runCli(["models", "--json", "--data-dir", dir]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.source).toBe("built-in");
    expect(j.models.map((m: { id: string }) => m.id)).toContain("claude-sonnet-4-6");
    const table = await runCli(["models", "--data-dir", dir]);
    expect(table.stdout).toContain("no account has reported its models yet");
  } finally {
    cleanup();
  }
});

test("what the accounts reported: served models with their limits, Google's forwarding rules, no retired id offered", async () => {
  const r = await runCli(["models", "--json", "--data-dir", s.dataDir]);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.source).toBe("accounts");
  const ids = j.models.map((m: { id: string }) => m.id);
  expect(ids).toContain("gemini-3.1-pro-high");
  expect(ids).not.toContain("claude-sonnet-4-5");
  expect(j.forwards["claude-sonnet-4-5"]).toBe("claude-sonnet-4-6");
  expect(j.models.find((m: { id: string }) => m.id === "claude-opus-4-6-thinking").thinkingBudget).toBe(24576);
  const table = await runCli(["models", "--data-dir", s.dataDir]);
  expect(table.stdout).toMatch(/MODEL\s+NAME\s+CONTEXT/);
  expect(table.stdout).toContain("claude-sonnet-4-5 → claude-sonnet-4-6");
  expect((await runCli(["models", "--frob", "--data-dir", s.dataDir])).code).toBe(2);
});
