// Pure parsing of every import format (no pool, no files except the directory cases).
import { describe, expect, test } from "bun:test";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dedupe, importTokens, maskToken, parseImportText, readImportSource, safeReason } from "../../src/accounts/import";

const A = "1//0gAAAAAAAAAAAAAAAAAAAAAAAAAAAA-aaaa_bbbb";
const B = "1//0gBBBBBBBBBBBBBBBBBBBBBBBBBBBB-cccc_dddd";
const C = "1//03CCCCCCCCCCCCCCCCCCCCCCCCCCCC";

const amAccount = (token: string, email = "x@example.com") =>
  JSON.stringify({
    id: crypto.randomUUID(),
    email,
    token: { access_token: "ya29.zzz", refresh_token: token, expires_in: 3599, project_id: "p" },
    disabled: false,
  });

describe("parseImportText", () => {
  const cases: { name: string; text: string; format: string; tokens: string[] }[] = [
    {
      name: "our export",
      text: JSON.stringify({
        version: 1,
        exportedAt: "2026-01-01T00:00:00Z",
        accounts: [
          { email: "a@x", refreshToken: A },
          { email: "b@x", refreshToken: B },
        ],
      }),
      format: "switchyard-export",
      tokens: [A, B],
    },
    { name: "Antigravity-Manager account file", text: amAccount(A), format: "antigravity-manager", tokens: [A] },
    {
      name: "JSON array of {refresh_token}",
      text: JSON.stringify([{ refresh_token: A }, { refresh_token: B }]),
      format: "json",
      tokens: [A, B],
    },
    {
      name: "JSON array of {refreshToken}",
      text: JSON.stringify([{ refreshToken: B }, { email: "e", refreshToken: A }]),
      format: "json",
      tokens: [B, A],
    },
    { name: "JSON array of bare strings", text: JSON.stringify([A, " " + B + " "]), format: "json", tokens: [A, B] },
    {
      name: "non-1// tokens under the key are kept (validation decides)",
      text: JSON.stringify([{ refresh_token: "sim-token-123" }]),
      format: "json",
      tokens: ["sim-token-123"],
    },
    { name: "text with tokens among noise", text: `here: ${A}\nand "${B}", again ${A};\n`, format: "text", tokens: [A, B] },
    { name: "one token per line", text: `${A}\n${B}\n${C}\n`, format: "text", tokens: [A, B, C] },
    { name: "broken JSON falls back to the text scan", text: `{"refresh_token": "${A}", oops`, format: "text", tokens: [A] },
    {
      name: "JSON without token keys falls back to the text scan",
      text: JSON.stringify({ creds: `x ${C} y` }),
      format: "text",
      tokens: [C],
    },
    { name: "too-short 1// strings are not tokens", text: "1//short and 1//abc", format: "text", tokens: [] },
    {
      name: "duplicates removed across shapes",
      text: JSON.stringify([{ refresh_token: A }, { refreshToken: A }, A]),
      format: "json",
      tokens: [A],
    },
    { name: "empty", text: "", format: "text", tokens: [] },
  ];
  for (const c of cases)
    test(c.name, () => {
      const got = parseImportText(c.text);
      expect(got.tokens).toEqual(c.tokens);
      expect(got.format).toBe(c.format as never);
    });
});

describe("readImportSource", () => {
  test("Antigravity-Manager data dir, a dir of *.json, a single file, a missing path", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sy-import-"));
    try {
      const am = join(dir, "am");
      await mkdir(join(am, "accounts"), { recursive: true });
      await writeFile(join(am, "accounts.json"), JSON.stringify({ accounts: [{ id: "1", email: "a@x" }] })); // index: no tokens
      await writeFile(join(am, "accounts", "1.json"), amAccount(A, "a@x"));
      await writeFile(join(am, "accounts", "2.json"), amAccount(B, "b@x"));
      await writeFile(join(am, "accounts", "3.json"), amAccount(A, "a@x")); // duplicate token
      await writeFile(join(am, "accounts", "notes.txt"), C); // not *.json: ignored
      expect(await readImportSource(am)).toEqual({ format: "antigravity-manager", tokens: [A, B] });
      expect(await readImportSource(join(am, "accounts"))).toEqual({ format: "antigravity-manager", tokens: [A, B] });
      expect(await readImportSource(join(am, "accounts", "2.json"))).toEqual({ format: "antigravity-manager", tokens: [B] });

      const txt = join(dir, "tokens.txt");
      await writeFile(txt, `${C}\n${A}\n`);
      expect(await readImportSource(txt)).toEqual({ format: "text", tokens: [C, A] });

      const empty = join(dir, "empty");
      await mkdir(empty);
      await expect(readImportSource(empty)).rejects.toThrow("no *.json files");
      await expect(readImportSource(join(dir, "nope"))).rejects.toThrow("no such file");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("masking and summaries", () => {
  test("maskToken never shows the whole token", () => {
    expect(maskToken(A)).toBe("1//0g…");
    expect(maskToken("short")).toBe("…");
    expect(maskToken(A)).not.toContain(A.slice(6));
  });

  test("dedupe trims and keeps first-seen order", () => {
    expect(dedupe([" b", "a", "b ", "", "a"])).toEqual(["b", "a"]);
  });

  test("safeReason scrubs a token echoed in an error", () => {
    expect(safeReason(new Error(`bad token ${A}`), A)).toBe("bad token 1//0g…");
  });

  test("importTokens counts added / updated / rejected with reasons and reports progress", async () => {
    const seen = new Set<string>();
    const pool = {
      async addByRefreshToken(t: string) {
        if (t === C) throw new Error("invalid_grant: Token has been expired or revoked.");
        const created = !seen.has(t);
        seen.add(t);
        return { account: { email: `${t.slice(5, 6)}@x` }, created };
      },
    };
    seen.add(B); // B already stored → updated
    const progress: string[] = [];
    const s = await importTokens(pool, [A, B, C, A], (i, n, r) => progress.push(`${i}/${n} ${r.status}`));
    expect([s.total, s.added, s.updated, s.rejected]).toEqual([3, 1, 1, 1]);
    expect(progress).toEqual(["1/3 added", "2/3 updated", "3/3 rejected"]);
    const rej = s.results.find((r) => r.status === "rejected")!;
    expect(rej.reason).toContain("invalid_grant");
    expect(rej.token).toMatch(/^1\/\/03…[0-9a-f]{8}$/);
    expect(rej.index).toBe(3);
    expect(JSON.stringify(s)).not.toContain(A);
  });
});

test("importTokens validates a few tokens at a time, and labels every entry by position and fingerprint", async () => {
  let inFlight = 0;
  let peak = 0;
  const pool = {
    async addByRefreshToken(t: string) {
      peak = Math.max(peak, ++inFlight);
      for (let i = 0; i < 3; i++) await null; // let the other workers start
      inFlight--;
      if (t.endsWith("7")) throw new Error("invalid_grant");
      return { account: { email: `${t}@x` }, created: true };
    },
  };
  const tokens = Array.from({ length: 30 }, (_, i) => `1//0g${"A".repeat(25)}${i}`);
  const s = await importTokens(pool, tokens);
  expect(peak).toBeGreaterThan(1);
  expect(peak).toBeLessThanOrEqual(4);
  expect(s.results.map((r) => r.index)).toEqual(tokens.map((_, i) => i + 1));
  const labels = new Set(s.results.map((r) => r.token));
  expect(labels.size).toBe(30); // all tokens start alike, yet every label differs
  expect(s.rejected).toBe(3);
});
