// Google's error bodies (google.rpc.Status JSON and the OAuth {error, error_description} form) and the
// duration formats Google puts in them. Handlers throw HttpError; the server renders it.

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

export type Detail = Record<string, unknown>;
const TYPE = "type.googleapis.com/google.rpc.";
export const CLOUDCODE_DOMAIN = "cloudcode-pa.googleapis.com";

export function googleBody(code: number, status: string, message: string, details?: Detail[]) {
  return { error: { code, message, status, ...(details?.length ? { details } : {}) } };
}

export function googleError(code: number, status: string, message: string, details?: Detail[], headers?: Record<string, string>) {
  return new HttpError(code, googleBody(code, status, message, details), headers);
}

export const oauthError = (status: number, error: string, description: string) =>
  new HttpError(status, { error, error_description: description });

export const errorInfo = (reason: string, domain: string, metadata?: Record<string, string>): Detail => ({
  "@type": TYPE + "ErrorInfo",
  reason,
  domain,
  ...(metadata ? { metadata } : {}),
});

export const retryInfo = (seconds: number): Detail => ({ "@type": TYPE + "RetryInfo", retryDelay: protoDuration(seconds) });

export const helpLink = (description: string, url: string): Detail => ({ "@type": TYPE + "Help", links: [{ description, url }] });

export const fieldViolation = (field: string, description: string): Detail => ({
  "@type": TYPE + "BadRequest",
  fieldViolations: [{ field, description }],
});

/** 400 INVALID_ARGUMENT with a BadRequest detail naming the field */
export const invalidArgument = (message: string, field: string) =>
  googleError(400, "INVALID_ARGUMENT", message, [fieldViolation(field, message)]);

/** `Unknown name "x" at 'request.generation_config'` — Google names paths in snake_case and puts the
 * parent path in fieldViolations[].field */
export function unknownName(name: string, at: string) {
  const where = at ? ` at '${at}'` : "";
  return invalidArgument(`Invalid JSON payload received. Unknown name "${name}"${where}: Cannot find field.`, at || name);
}

export const notFound = () => googleError(404, "NOT_FOUND", "Requested entity was not found.");

const trim = (n: number, digits: number) => String(Number(n.toFixed(digits)));

/** Go's time.Duration.String(): "108h48m20.795762633s", "2m3s", "539.477544ms" */
export function goDuration(seconds: number): string {
  if (!(seconds > 0)) return "0s";
  if (seconds < 1) return `${trim(seconds * 1000, 6)}ms`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = trim(seconds - h * 3600 - m * 60, 9);
  if (h) return `${h}h${m}m${s}s`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

/** protobuf Duration JSON: "391609.795772632s" */
export const protoDuration = (seconds: number) => `${trim(Math.max(0, seconds), 9)}s`;

/** RFC 3339 without milliseconds, as Google prints reset times */
export const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export function json(body: unknown, status = 200, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=UTF-8", ...headers },
  });
}
