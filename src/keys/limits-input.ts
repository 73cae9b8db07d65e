// Key limits as people type them (CLI flags, admin API fields), checked and turned into a KeyLimits —
// one parser for both doors. A bad value throws KeyError naming the field.
import type { KeyLimits } from "../state/keys";
import { KeyError } from "./book";

export interface LimitsInput {
  models?: string | string[] | null;
  rpm?: number | string | null;
  tpm?: number | string | null;
  concurrency?: number | string | null;
  dailyTokens?: number | string | null;
  monthlyTokens?: number | string | null;
  /** an ISO date or time, or a duration from now: 30m, 12h, 7d, 4w; "" or null = never */
  expires?: string | null;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "30d" → ms; undefined when it is not a duration */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(s.trim());
  return m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : undefined;
}

/** a duration back from now, or a date/time: the start of a usage window */
export function parseSince(s: string, now: number): number {
  const d = parseDuration(s);
  if (d !== undefined) return now - d;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new KeyError(`since must be a duration (30m, 24h, 7d) or a date, got ${JSON.stringify(s)}`, 400, "since");
  return t;
}

function count(v: number | string | null | undefined, field: string): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === null || v === "" || v === "none" || v === 0 || v === "0") return null;
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new KeyError(`${field} must be a positive whole number (0 or none = no limit), got ${JSON.stringify(v)}`, 400, field);
  return n;
}

/** the fields given (undefined = leave as is; for create, absent fields mean "no limit") */
export function parseLimits(input: LimitsInput, now: number): Partial<KeyLimits> {
  const out: Partial<KeyLimits> = {};
  if (input.models !== undefined) {
    const list = input.models === null ? [] : Array.isArray(input.models) ? input.models : input.models.split(",");
    const models = list.map((m) => String(m).trim()).filter(Boolean);
    for (const m of models)
      if (!/^[A-Za-z0-9._:@+/*-]{1,200}$/.test(m))
        throw new KeyError(`models: ${JSON.stringify(m)} is not a model name or pattern`, 400, "models");
    out.models = models.length ? models : null;
  }
  for (const f of ["rpm", "tpm", "concurrency", "dailyTokens", "monthlyTokens"] as const) {
    const v = count(input[f], f);
    if (v !== undefined) out[f] = v;
  }
  if (input.expires !== undefined) {
    const e = input.expires;
    if (e === null || e === "" || e === "never") out.expiresAt = null;
    else {
      const d = parseDuration(e);
      const t = d !== undefined ? now + d : Date.parse(e);
      if (Number.isNaN(t)) throw new KeyError(`expires must be a date or a duration (30d, 12h), got ${JSON.stringify(e)}`, 400, "expires");
      out.expiresAt = t;
    }
  }
  return out;
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

const compiled = new WeakMap<string[], RegExp[]>();

/** `*` matches any run of characters; the match is on the whole name, case-insensitive */
export function modelAllowed(patterns: string[] | null, model: string): boolean {
  if (!patterns) return true;
  let res = compiled.get(patterns);
  if (!res) {
    res = patterns.map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i"));
    compiled.set(patterns, res);
  }
  const name = model.startsWith("models/") ? model.slice("models/".length) : model;
  for (const r of res) if (r.test(name)) return true;
  return false;
}
