// Key limits as people type them (CLI flags, admin API fields), checked and turned into a KeyLimits —
// one parser for both doors. A bad value throws KeyError naming the field.
import type { KeyLimits } from "../state/keys";
import { KeyError } from "./book";
import { globMatch } from "../core/glob";

export interface LimitsInput {
  models?: string | string[] | 0 | null;
  rpm?: number | string | null;
  tpm?: number | string | null;
  concurrency?: number | string | null;
  dailyTokens?: number | string | null;
  monthlyTokens?: number | string | null;
  /** an ISO date or time, or a duration from now: 30m, 12h, 7d, 4w; "" or null = never */
  expires?: string | null;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** the longest duration taken: past it, dates stop being dates (99999999999d is past the year 275,000) */
const MAX_DURATION = 100 * 366 * UNITS.d!;
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** "30d" → ms; undefined when it is not a duration (or is longer than 100 years) */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(s.trim());
  const ms = m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : undefined;
  return ms !== undefined && ms <= MAX_DURATION ? ms : undefined;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * An ISO date (2027-01-31, UTC midnight) or date and time; undefined for anything else. Stricter than
 * Date.parse, which takes "7" as the year 2001 and rolls 2027-02-31 over into March.
 */
export function parseDate(s: string): number | undefined {
  const text = s.trim();
  const m = DATE.exec(text);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return undefined;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59)) return undefined;
  // a time without a zone is UTC, as a date alone is (Date.parse would take the machine's zone)
  const zoned = m[4] === undefined || /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text);
  const t = Date.parse(text.replace(" ", "T") + (zoned ? "" : "Z"));
  return Number.isNaN(t) || t > LATEST ? undefined : t;
}

/** a duration back from now, or a date/time: the start of a usage window */
export function parseSince(s: string, now: number): number {
  const d = parseDuration(s);
  if (d !== undefined) return now - d;
  const t = parseDate(s);
  if (t === undefined)
    throw new KeyError(
      `since must be a duration up to 100 years (30m, 24h, 7d) or a date (2026-11-01), got ${JSON.stringify(s)}`,
      400,
      "since",
    );
  return t;
}

function count(v: number | string | null | undefined, field: string): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === null || v === "" || v === "none" || v === 0 || v === "0") return null;
  // digits only: Number() would also take 0x10, 1e3 and " 5 "
  const n = typeof v === "number" ? v : /^\d+$/.test(v) ? Number(v) : NaN;
  if (n === 0) return null;
  if (!Number.isSafeInteger(n) || n < 0)
    throw new KeyError(
      `${field} must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER} (0 or none = no limit), got ${JSON.stringify(v)}`,
      400,
      field,
    );
  return n;
}

/** the fields given (undefined = leave as is; for create, absent fields mean "no limit") */
export function parseLimits(input: LimitsInput, now: number): Partial<KeyLimits> {
  const out: Partial<KeyLimits> = {};
  if (input.models !== undefined) out.models = modelsOf(input.models);
  for (const f of ["rpm", "tpm", "concurrency", "dailyTokens", "monthlyTokens"] as const) {
    const v = count(input[f], f);
    if (v !== undefined) out[f] = v;
  }
  if (input.expires !== undefined) {
    const e = input.expires;
    if (e === null || e === "" || e === "never") out.expiresAt = null;
    else {
      const d = parseDuration(e);
      const t = d !== undefined ? now + d : parseDate(e);
      if (t === undefined)
        throw new KeyError(
          `expires must be a date (2027-01-31), a duration up to 100 years (30d, 12h) or never, got ${JSON.stringify(e)}`,
          400,
          "expires",
        );
      // a key that is expired when it is made is a mistake (revoke stops a key now)
      if (t <= now) throw new KeyError(`expires must be in the future, got ${JSON.stringify(e)}`, 400, "expires");
      out.expiresAt = t;
    }
  }
  return out;
}

/** null = any model (none, 0, null, "" or []); a list that names nothing (",,") is a mistake */
function modelsOf(v: string | string[] | 0 | null): string[] | null {
  if (v === null || v === 0 || v === "" || v === "none" || v === "0" || (Array.isArray(v) && v.length === 0)) return null;
  const models = (Array.isArray(v) ? v : v.split(",")).map((m) => String(m).trim()).filter(Boolean);
  if (!models.length) throw new KeyError(`models must name at least one model (none = any model), got ${JSON.stringify(v)}`, 400, "models");
  for (const m of models)
    if (!/^[A-Za-z0-9._:@+/*-]{1,200}$/.test(m))
      throw new KeyError(`models: ${JSON.stringify(m)} is not a model name or pattern`, 400, "models");
  return models;
}

export const NO_LIMITS: KeyLimits = {
  models: null,
  rpm: null,
  tpm: null,
  concurrency: null,
  dailyTokens: null,
  monthlyTokens: null,
  expiresAt: null,
};

/** a key's patterns in lower case, once per list (a limited key's every request checks them) */
const lowered = new WeakMap<string[], string[]>();

/** `*` matches any run of characters; the match is on the whole name, case-insensitive */
export function modelAllowed(patterns: string[] | null, model: string): boolean {
  if (!patterns) return true;
  let lower = lowered.get(patterns);
  if (!lower) lowered.set(patterns, (lower = patterns.map((p) => p.toLowerCase())));
  const name = (model.startsWith("models/") ? model.slice("models/".length) : model).toLowerCase();
  for (const p of lower) if (globMatch(p, name)) return true;
  return false;
}
