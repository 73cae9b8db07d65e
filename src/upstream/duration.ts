// Duration strings Google puts in error bodies: Go durations in ErrorInfo metadata
// (`108h48m20.795762633s`, `539.477544ms`) and protobuf Durations in RetryInfo (`"7384.5s"`).

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, μs: 0.001, ns: 0.000001 };
const GO_DURATION = /^(?:\d+(?:\.\d*)?|\.\d+)(?:h|ms|m|s|us|µs|μs|ns)/;

/** Go / protobuf duration → milliseconds; undefined when the text is not a duration. */
export function parseDurationMs(text: unknown): number | undefined {
  if (typeof text === "number") return Number.isFinite(text) && text >= 0 ? text * 1000 : undefined;
  if (typeof text !== "string") return undefined;
  let rest = text.trim();
  if (rest === "") return undefined;
  if (rest === "0") return 0;
  let total = 0;
  while (rest.length > 0) {
    const m = GO_DURATION.exec(rest);
    if (!m) return undefined;
    const unit = /(h|ms|m|s|us|µs|μs|ns)$/.exec(m[0])![1]!;
    total += parseFloat(m[0].slice(0, -unit.length)) * UNIT_MS[unit]!;
    rest = rest.slice(m[0].length);
  }
  return Number.isFinite(total) ? total : undefined;
}

/** `{seconds, nanos}` protobuf Duration object → milliseconds. */
export function durationObjectMs(v: unknown): number | undefined {
  if (!v || typeof v !== "object") return undefined;
  const o = v as { seconds?: unknown; nanos?: unknown };
  if (o.seconds === undefined && o.nanos === undefined) return undefined;
  const s = Number(o.seconds ?? 0);
  const n = Number(o.nanos ?? 0);
  return Number.isFinite(s) && Number.isFinite(n) ? s * 1000 + n / 1e6 : undefined;
}

/** Retry-After: delta seconds or an HTTP date. */
export function parseRetryAfterMs(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return parseFloat(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A duration written in prose, e.g. "Resets in 108h48m29s." or "Please retry in 3.2s". */
export function durationInTextMs(message: string): number | undefined {
  const m = /(?:reset(?:s)?(?: after| in)?|retry (?:in|after)|try again in|wait)\s+((?:\d+(?:\.\d+)?(?:h|ms|m|s)\s*)+)/i.exec(message);
  return m ? parseDurationMs(m[1]!.replace(/\s+/g, "")) : undefined;
}
