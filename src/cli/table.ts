// Plain-text tables for the CLI (kubectl style: upper-case headers, two-space gaps, no borders),
// and the pure formatting of the `accounts list` table.
import { isClaudeModel, isImageModel } from "../models/catalog";

const MAX_CELL = 60;

/** Display width of a string (code points; good enough for emails, ids and our own labels). */
const width = (s: string) => [...s].length;

function clip(s: string, max: number): string {
  const cps = [...s];
  return cps.length <= max ? s : cps.slice(0, max - 1).join("") + "…";
}

export function renderTable(headers: string[], rows: string[][], maxCell = MAX_CELL): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => headers.map((_, i) => clip(r[i] ?? "", maxCell)))];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => width(r[i]!))));
  return all
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(widths[i]! - width(c))))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** "45s", "12m", "2h13m", "3d4h"; negative → "now". */
export function formatDuration(ms: number): string {
  if (ms <= 0) return "now";
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

// ---- accounts ----

type QuotaEntry = { remainingFraction: number; resetTime?: string; fetchedAt: string };

/** The fields of the pool's AccountView this table reads. */
export interface AccountRow {
  id: string;
  email: string;
  state: string;
  disabledReason?: string;
  verificationUrl?: string;
  tier?: string;
  projectId?: string;
  quota: Record<string, QuotaEntry> | null;
  cooldowns: { model: string; until: string; reason: string }[];
}

export const QUOTA_FAMILIES = ["gemini-pro", "gemini-flash", "claude", "image"] as const;
export type QuotaFamily = (typeof QUOTA_FAMILIES)[number] | "other";

export function familyOf(model: string): QuotaFamily {
  if (isImageModel(model)) return "image";
  if (isClaudeModel(model)) return "claude";
  if (/gemini.*flash/i.test(model)) return "gemini-flash";
  if (/gemini.*pro/i.test(model)) return "gemini-pro";
  return "other";
}

export interface FamilyQuota {
  /** lowest remaining fraction among the family's models */
  remainingFraction: number;
  /** reset time of that lowest model, when given */
  resetTime?: string;
}

/** Lowest remaining fraction per family. null quota (never fetched) → null: the caller says "unknown". */
export function quotaByFamily(quota: Record<string, QuotaEntry> | null): Partial<Record<QuotaFamily, FamilyQuota>> | null {
  if (!quota) return null;
  const out: Partial<Record<QuotaFamily, FamilyQuota>> = {};
  for (const [model, q] of Object.entries(quota)) {
    if (typeof q?.remainingFraction !== "number") continue;
    const fam = familyOf(model);
    const cur = out[fam];
    if (!cur || q.remainingFraction < cur.remainingFraction) out[fam] = { remainingFraction: q.remainingFraction, resetTime: q.resetTime };
  }
  return out;
}

/** "unknown" when we have no data (never a fake 100%); "-" when the account reports no model of the family. */
export function formatFamilyQuota(families: ReturnType<typeof quotaByFamily>, family: QuotaFamily, now: number): string {
  if (!families) return "unknown";
  const q = families[family];
  if (!q) return "-";
  // floor: 99.6% left is not "100%"
  const pct = `${Math.floor(q.remainingFraction * 100)}%`;
  const reset = q.resetTime ? Date.parse(q.resetTime) : NaN;
  return q.remainingFraction < 1 && reset > now ? `${pct} (${formatDuration(reset - now)})` : pct;
}

export function formatState(a: AccountRow): string {
  if (a.state === "disabled") return a.disabledReason ? `disabled: ${a.disabledReason}` : "disabled";
  if (a.state === "needs_verification") return "needs verification (see below)";
  return a.state;
}

export function formatCooldowns(a: AccountRow, now: number): string {
  const active = a.cooldowns.filter((c) => Date.parse(c.until) > now);
  if (active.length === 0) return "-";
  return active
    .map((c) => `${c.model === "*" ? "all models" : c.model} ${formatDuration(Date.parse(c.until) - now)} (${c.reason})`)
    .join(", ");
}

function quotaAge(a: AccountRow, now: number): string {
  if (!a.quota) return "never";
  const times = Object.values(a.quota)
    .map((q) => Date.parse(q.fetchedAt))
    .filter((t) => !Number.isNaN(t));
  if (times.length === 0) return "-";
  return `${formatDuration(now - Math.min(...times))} ago`;
}

/** The whole `accounts list` output: table, legend, and notes that do not fit a cell (verification URLs). */
export function accountsTable(accounts: AccountRow[], now = Date.now()): string {
  if (accounts.length === 0)
    return "No accounts yet. Add one with `switchyard accounts login` or `switchyard accounts add --refresh-token TOKEN`.";
  const headers = ["email", "state", "tier", "project", ...QUOTA_FAMILIES, "quota updated", "cooldowns"];
  const rows = accounts.map((a) => {
    const fam = quotaByFamily(a.quota);
    return [
      a.email,
      formatState(a),
      a.tier ?? "unknown",
      a.projectId ?? "none",
      ...QUOTA_FAMILIES.map((f) => formatFamilyQuota(fam, f, now)),
      quotaAge(a, now),
      formatCooldowns(a, now),
    ];
  });
  const lines = [
    renderTable(headers, rows),
    "",
    "quota: lowest remaining % among the family's models (time until it resets); unknown = not fetched yet",
  ];
  for (const a of accounts) {
    if (a.state === "needs_verification")
      lines.push(`${a.email}: Google asks to verify the account: ${a.verificationUrl ?? "(no URL given)"}`);
    else if (a.state === "disabled" && a.disabledReason && [...a.disabledReason].length > MAX_CELL - 10)
      lines.push(`${a.email}: disabled: ${a.disabledReason}`);
  }
  const active = accounts.filter((a) => a.state === "active").length;
  lines.push(`${accounts.length} account${accounts.length === 1 ? "" : "s"}, ${active} active`);
  return lines.join("\n");
}
