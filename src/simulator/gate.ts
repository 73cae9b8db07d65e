// Who the client says it is: Google's client-version gate (a 200 notice for a User-Agent below the
// minimum, so clients that only look at the status miss it) and the Claude Agent SDK prompt that
// Google answers with a detail-free 429 whatever the account's quota.
import { AGENT_SDK_IDENTITY } from "../models/fit";
import { compareVersions, findVersion } from "../upstream/identity";
import type { GeminiRequest } from "../upstream/types";
import { googleError } from "./errors";
import type { ClientGateState, GateWording } from "./types";
import { get } from "./validate";

export const GATE_NOTICES: Record<GateWording, string> = {
  unsupported: "This version of Antigravity is no longer supported. Please update to receive the latest features!",
  outdated:
    "Your current version of Antigravity is out of date. Please visit https://antigravity.google/download to download and install the latest version.",
};
export const DEFAULT_LATEST_VERSION = "2.9.4";

const VERSION = /^\d+\.\d+\.\d+$/;

function checkVersion(v: unknown, name: string): string {
  if (typeof v !== "string" || !VERSION.test(v)) throw new Error(`${name} must be a version like "2.9.1"`);
  return v;
}

export class ClientGate {
  private min: string | null = null;
  private wording: GateWording = "unsupported";
  private latest = DEFAULT_LATEST_VERSION;
  /** when the latest version was published (the updater's timestamp) */
  latestSince = Date.now();

  set(spec: { minVersion?: string | null; wording?: GateWording } = {}): ClientGateState {
    if (spec.wording !== undefined && !(spec.wording in GATE_NOTICES))
      throw new Error(`wording must be one of ${Object.keys(GATE_NOTICES).join(", ")}`);
    if (spec.minVersion !== undefined) this.min = spec.minVersion === null ? null : checkVersion(spec.minVersion, "minVersion");
    if (spec.wording !== undefined) this.wording = spec.wording;
    return this.view();
  }

  setLatest(version: string) {
    this.latest = checkVersion(version, "latestVersion");
    this.latestSince = Date.now();
  }

  get latestVersion() {
    return this.latest;
  }

  view(): ClientGateState {
    return { minVersion: this.min, wording: this.wording, latestVersion: this.latest };
  }

  /** the notice for a User-Agent below the minimum (or with no version); undefined = let it through */
  notice(userAgent: string | null): string | undefined {
    if (!this.min) return undefined;
    const v = findVersion(userAgent ?? "");
    if (v && compareVersions(v, this.min) >= 0) return undefined;
    return GATE_NOTICES[this.wording];
  }
}

export { AGENT_SDK_IDENTITY };

/** Google refuses the Agent SDK's system prompt on Claude models with a bare 429 */
export function checkAgentSdk(req: GeminiRequest) {
  const sys = get(req, "systemInstruction");
  const parts: any[] = Array.isArray(get(sys, "parts")) ? get(sys, "parts") : [];
  const text = parts.map((p) => (typeof p?.text === "string" ? p.text : "")).join("\n");
  if (text.includes(AGENT_SDK_IDENTITY)) throw googleError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).");
}
