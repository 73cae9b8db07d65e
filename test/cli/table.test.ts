// The `accounts list` table: quota per family, "unknown" without data, cooldowns, states.
import { describe, expect, test } from "bun:test";
import { accountsTable, familyOf, formatDuration, quotaByFamily, renderTable, type AccountRow } from "../../src/cli/table";

const NOW = Date.parse("2026-03-01T12:00:00Z");
const iso = (msFromNow: number) => new Date(NOW + msFromNow).toISOString();
const fetchedAt = iso(-5 * 60_000);

const base: AccountRow = {
  id: "id1",
  email: "a@example.com",
  state: "active",
  tier: "free-tier",
  projectId: "proj-1",
  quota: null,
  cooldowns: [],
};

describe("renderTable", () => {
  test("aligns columns, upper-cases headers, clips long cells", () => {
    const out = renderTable(
      ["a", "bb"],
      [
        ["xxx", "1"],
        ["y", "x".repeat(100)],
      ],
      10,
    );
    expect(out.split("\n")).toEqual(["A    BB", "xxx  1", "y    xxxxxxxxx…"]);
  });
});

describe("quota families", () => {
  test("models fall in the right family", () => {
    expect(
      ["gemini-3-pro-high", "gemini-2.5-flash-lite", "claude-opus-4-5-thinking", "gemini-3-pro-image", "gpt-oss-120b-medium"].map(familyOf),
    ).toEqual(["gemini-pro", "gemini-flash", "claude", "image", "other"]);
  });

  test("lowest remaining fraction wins, with its reset time", () => {
    const fam = quotaByFamily({
      "gemini-3-pro-high": { remainingFraction: 0.8, resetTime: iso(3_600_000), fetchedAt },
      "gemini-3-pro-low": { remainingFraction: 0.2, resetTime: iso(7_200_000), fetchedAt },
    });
    expect(fam!["gemini-pro"]).toEqual({ remainingFraction: 0.2, resetTime: iso(7_200_000) });
    expect(quotaByFamily(null)).toBeNull();
  });

  test("formatDuration", () => {
    expect([-1, 999, 45_000, 12 * 60_000, 133 * 60_000, 76 * 3_600_000].map(formatDuration)).toEqual([
      "now",
      "1s",
      "45s",
      "12m",
      "2h13m",
      "3d4h",
    ]);
  });
});

describe("accountsTable", () => {
  test("an account with no quota data shows unknown, never 100%", () => {
    const out = accountsTable([{ ...base, tier: undefined }], NOW);
    const row = out.split("\n")[1]!;
    expect(row).toContain("a@example.com");
    expect(row.match(/unknown/g)!.length).toBe(5); // tier + four families
    expect(out).not.toContain("100%");
    expect(row).toContain("never");
  });

  test("quota, reset times, families without models, cooldowns, states and notes", () => {
    const rows: AccountRow[] = [
      {
        ...base,
        quota: {
          "gemini-3-pro-high": { remainingFraction: 0.996, fetchedAt },
          "gemini-3-flash": { remainingFraction: 0, resetTime: iso(133 * 60_000), fetchedAt },
          "claude-sonnet-4-5": { remainingFraction: 1, resetTime: iso(60_000), fetchedAt },
        },
        cooldowns: [
          { model: "gemini-3-flash", until: iso(12 * 60_000), reason: "quota_exhausted" },
          { model: "*", until: iso(-1000), reason: "rate_limited" }, // expired: not shown
        ],
      },
      {
        ...base,
        id: "id2",
        email: "b@example.com",
        state: "disabled",
        disabledReason: "invalid_grant: Token has been expired or revoked.",
      },
      {
        ...base,
        id: "id3",
        email: "c@example.com",
        state: "needs_verification",
        verificationUrl: "https://accounts.google.com/signin/continue?x=1",
      },
      { ...base, id: "id4", email: "d@example.com", cooldowns: [{ model: "*", until: iso(30_000), reason: "rate_limited" }] },
    ];
    const out = accountsTable(rows, NOW);
    const [header, a, b, c, d] = out.split("\n");
    expect(header).toMatch(/^EMAIL\s+STATE\s+TIER\s+PROJECT\s+GEMINI-PRO\s+GEMINI-FLASH\s+CLAUDE\s+IMAGE\s+QUOTA UPDATED\s+COOLDOWNS$/);
    expect(a).toMatch(
      /a@example\.com\s+active\s+free-tier\s+proj-1\s+99%\s+0% \(2h13m\)\s+100%\s+-\s+5m ago\s+gemini-3-flash 12m \(quota_exhausted\)$/,
    );
    expect(b).toContain("disabled: invalid_grant: Token has been expired or revoked.");
    expect(c).toContain("needs verification (see below)");
    expect(d).toContain("all models 30s (rate_limited)");
    expect(out).toContain("c@example.com: Google asks to verify the account: https://accounts.google.com/signin/continue?x=1");
    expect(out.trimEnd().endsWith("4 accounts, 2 active")).toBe(true);
  });

  test("empty pool explains how to add an account", () => {
    expect(accountsTable([], NOW)).toContain("accounts login");
  });
});
