// Injected failures. A fault matches by method, account email and model; `times` limits how often it
// fires. Without `method` it applies to the two generation methods only, so account setup
// (token, loadCodeAssist, fetchAvailableModels) keeps working unless a test asks otherwise.
import {
  CLOUDCODE_DOMAIN,
  errorInfo,
  goDuration,
  googleBody,
  googleError,
  helpLink,
  HttpError,
  oauthError,
  retryInfo,
  rfc3339,
} from "./errors";
import { FAULT_KINDS, type FaultKind, type FaultSpec } from "./types";

export interface StoredFault extends FaultSpec {
  id: string;
  remaining: number;
}

export interface CallInfo {
  method: string;
  email?: string;
  model?: string;
}

export const GENERATE_METHODS = new Set(["generateContent", "streamGenerateContent"]);

let nextId = 1;

export class Faults {
  private list: StoredFault[] = [];

  add(f: FaultSpec): string {
    if (!f || !FAULT_KINDS.includes(f.kind as FaultKind)) throw new Error(`kind must be one of ${FAULT_KINDS.join(", ")}`);
    if (f.times !== undefined && !(Number.isInteger(f.times) && f.times > 0)) throw new Error("times must be a positive integer");
    for (const k of ["resetSeconds", "delayMs"] as const)
      if (f[k] !== undefined && !(typeof f[k] === "number" && f[k]! >= 0)) throw new Error(`${k} must be a non-negative number`);
    const id = `fault-${nextId++}`;
    this.list.push({ ...f, email: f.email?.toLowerCase(), id, remaining: f.times ?? Infinity });
    return id;
  }

  remove(id: string): boolean {
    const n = this.list.length;
    this.list = this.list.filter((f) => f.id !== id);
    return this.list.length < n;
  }

  clear() {
    this.list = [];
  }

  all(): StoredFault[] {
    return this.list.map((f) => ({ ...f }));
  }

  /** consume matching faults: the total delay of matching `delay` faults, and the first other one */
  take(call: CallInfo): { delayMs: number; fault?: StoredFault } {
    if (!this.list.length) return { delayMs: 0 };
    let delayMs = 0;
    let fault: StoredFault | undefined;
    for (const f of this.list) {
      if (!matches(f, call)) continue;
      if (f.kind === "delay") {
        delayMs += f.delayMs ?? 1000;
        f.remaining--;
      } else if (!fault) {
        fault = f;
        f.remaining--;
      }
    }
    this.list = this.list.filter((f) => f.remaining > 0);
    return { delayMs, fault };
  }
}

/** sleep out matching delay faults, then return the first other matching fault */
export async function applyFaults(faults: Faults, call: CallInfo): Promise<StoredFault | undefined> {
  const { delayMs, fault } = faults.take(call);
  if (delayMs) await Bun.sleep(delayMs);
  return fault;
}

function matches(f: StoredFault, c: CallInfo) {
  const methodOk = f.method ? f.method === "*" || f.method === c.method : GENERATE_METHODS.has(c.method);
  return methodOk && (!f.email || f.email === c.email) && (!f.model || f.model === c.model);
}

export const VALIDATION_URL = "https://accounts.google.com/signin/continue?sarp=1&scc=1&plt=sim";
const TOS_MESSAGE =
  "This service has been disabled in this account for violation of Terms of Service. Please submit an appeal to continue using this product.";

/** the error a fault produces on a v1internal call (the caller handles stream_cut; error_in_200 is an HTTP 200) */
export function faultError(f: StoredFault, model: string | undefined, validationUrl = VALIDATION_URL): HttpError {
  const m = model ?? "gemini-2.5-flash";
  switch (f.kind) {
    case "quota_exhausted":
      return quota429("QUOTA_EXHAUSTED", m, f.resetSeconds ?? 3600);
    case "rate_limited":
      return quota429("RATE_LIMIT_EXCEEDED", m, f.resetSeconds ?? 1);
    case "no_details_429":
      return googleError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).");
    case "capacity_503": {
      const s = f.resetSeconds ?? 5;
      return googleError(503, "UNAVAILABLE", `No capacity available for model ${m} on the server`, [
        errorInfo("MODEL_CAPACITY_EXHAUSTED", CLOUDCODE_DOMAIN, { model: m }),
        retryInfo(s),
      ]);
    }
    case "unauthenticated_401":
      return unauthenticated(false);
    case "permission_403":
      return googleError(403, "PERMISSION_DENIED", "The caller does not have permission");
    case "validation_403":
      return validationRequired(validationUrl);
    case "tos_403":
      return googleError(403, "PERMISSION_DENIED", TOS_MESSAGE);
    case "bad_request_400":
      return googleError(400, "INVALID_ARGUMENT", "Request contains an invalid argument.");
    case "error_in_200":
      return new HttpError(200, errorIn200Body());
    default:
      return googleError(500, "INTERNAL", "Internal error encountered.");
  }
}

/** what a fault does to the OAuth token endpoint, in its {error, error_description} shape */
export function tokenFaultError(f: StoredFault): HttpError {
  switch (f.kind) {
    case "quota_exhausted":
    case "rate_limited":
    case "no_details_429":
      return oauthError(429, "rate_limit_exceeded", "Rate limit exceeded.");
    case "capacity_503":
      return oauthError(503, "temporarily_unavailable", "The service is currently unavailable.");
    case "unauthenticated_401":
      return oauthError(401, "invalid_client", "The OAuth client was not found.");
    case "permission_403":
      return oauthError(403, "access_denied", "The caller does not have permission");
    case "validation_403":
      return oauthError(403, "access_denied", "Verify your account to continue.");
    case "tos_403":
      return oauthError(403, "access_denied", TOS_MESSAGE);
    case "bad_request_400":
      return oauthError(400, "invalid_request", "Bad Request");
    case "error_in_200":
      return new HttpError(200, { error: "internal_failure", error_description: "Backend Error" });
    default:
      return oauthError(500, "internal_failure", "Backend Error");
  }
}

export function quota429(reason: "QUOTA_EXHAUSTED" | "RATE_LIMIT_EXCEEDED", model: string, seconds: number) {
  const resetAt = Date.now() + seconds * 1000;
  const message =
    reason === "QUOTA_EXHAUSTED"
      ? `You have exhausted your capacity on this model. Your quota will reset after ${goDuration(Math.round(seconds))}.`
      : `You have exhausted your capacity on this model. Please retry in ${goDuration(seconds)}.`;
  return googleError(429, "RESOURCE_EXHAUSTED", message, [
    errorInfo(reason, CLOUDCODE_DOMAIN, {
      uiMessage: "true",
      model,
      quotaResetDelay: goDuration(seconds),
      quotaResetTimeStamp: rfc3339(resetAt),
    }),
    retryInfo(seconds),
  ]);
}

export function unauthenticated(missing: boolean) {
  const message = missing
    ? "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
    : "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";
  return googleError(401, "UNAUTHENTICATED", message, undefined, { "www-authenticate": 'Bearer realm="https://accounts.google.com/"' });
}

export function validationRequired(url: string) {
  return googleError(403, "PERMISSION_DENIED", "Verify your account to continue.", [
    errorInfo("VALIDATION_REQUIRED", CLOUDCODE_DOMAIN, { validation_link: url }),
    helpLink("Verify your account", url),
  ]);
}

/** the body of an error_in_200 answer */
export const errorIn200Body = () => googleBody(500, "INTERNAL", "Internal error encountered.");
