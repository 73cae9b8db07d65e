// Which Cloud Code project an account uses (docs/upstream.md, "OAuth and project setup"): loadCodeAssist; when it names no
// project, onboard with onboardUser and poll the long-running operation. No shared fallback project.
import type { Failure } from "../upstream/classify";
import type { UpstreamClient } from "../upstream/client";

export type ProjectResult =
  | { kind: "ok"; projectId: string; tier?: string }
  | { kind: "verification"; url?: string; message: string; tier?: string }
  | { kind: "error"; message: string; failure?: Failure; tier?: string };

export interface ProjectOptions {
  pollIntervalMs: number;
  maxPolls: number;
  signal?: AbortSignal;
}

const METADATA = { ideType: "ANTIGRAVITY", platform: "PLATFORM_UNSPECIFIED", pluginType: "GEMINI" };

function projectOf(v: unknown): string | undefined {
  if (typeof v === "string" && v) return v;
  if (v && typeof v === "object") {
    const id = (v as { id?: unknown }).id;
    if (typeof id === "string" && id) return id;
  }
  return undefined;
}

export function tierOf(load: any): string | undefined {
  return load?.paidTier?.id ?? load?.currentTier?.id ?? undefined;
}

function fromFailure(f: Failure, step: string, tier?: string): ProjectResult {
  if (f.class === "verification") return { kind: "verification", url: f.verificationUrl, message: f.message, tier };
  return { kind: "error", message: `${step}: ${f.message}`, failure: f, tier };
}

export async function resolveProject(client: UpstreamClient, token: string, opts: ProjectOptions): Promise<ProjectResult> {
  const loaded = await client.unary("loadCodeAssist", { metadata: METADATA }, token, opts.signal);
  if (!loaded.ok) return fromFailure(loaded.failure, "loadCodeAssist");
  const load = loaded.value as any;
  const tier = tierOf(load);
  const project = projectOf(load?.cloudaicompanionProject);
  if (project) return { kind: "ok", projectId: project, tier };

  const ineligible: any[] = Array.isArray(load?.ineligibleTiers) ? load.ineligibleTiers : [];
  const validation = ineligible.find((t) => t?.reasonCode === "VALIDATION_REQUIRED");
  if (validation) {
    return {
      kind: "verification",
      url: validation.validationUrl,
      message: validation.reasonMessage ?? "Google asks to verify this account",
      tier,
    };
  }
  if (load?.currentTier) {
    // onboarded, yet no project: a tier that needs the user's own project, or an ineligible account
    const why = ineligible
      .map((t) => t?.reasonMessage ?? t?.reasonCode)
      .filter(Boolean)
      .join("; ");
    return {
      kind: "error",
      message: `loadCodeAssist returned tier ${load.currentTier.id ?? "?"} but no project${why ? ` (${why})` : ""}`,
      tier,
    };
  }

  const allowed: any[] = Array.isArray(load?.allowedTiers) ? load.allowedTiers : [];
  if (!allowed.length && ineligible.length) {
    const why = ineligible.map((t) => t?.reasonMessage ?? t?.reasonCode).join("; ");
    return { kind: "error", message: `account is not eligible for Code Assist: ${why}` };
  }
  const tierId = allowed.find((t) => t?.isDefault)?.id ?? "legacy-tier";
  // free tier: the project must be left out ("Precondition Failed" otherwise)
  const onboarded = await client.unary("onboardUser", { tierId, metadata: METADATA }, token, opts.signal);
  if (!onboarded.ok) return fromFailure(onboarded.failure, "onboardUser", tierId);
  let op = onboarded.value as any;
  for (let i = 0; !op?.done && i < opts.maxPolls; i++) {
    if (!op?.name) return { kind: "error", message: "onboardUser returned an operation without a name", tier: tierId };
    await Bun.sleep(opts.pollIntervalMs);
    const polled = await client.get(op.name, token, opts.signal);
    if (!polled.ok) return fromFailure(polled.failure, "onboarding operation", tierId);
    op = polled.value;
  }
  if (!op?.done)
    return {
      kind: "error",
      message: `onboarding did not finish after ${opts.maxPolls} polls; try \`accounts refresh\` later`,
      tier: tierId,
    };
  if (op.error) return { kind: "error", message: `onboarding failed: ${op.error.message ?? JSON.stringify(op.error)}`, tier: tierId };
  const onboardedProject = projectOf(op.response?.cloudaicompanionProject);
  if (!onboardedProject) return { kind: "error", message: "onboarding finished without assigning a project", tier: tierId };
  return { kind: "ok", projectId: onboardedProject, tier: tier ?? tierId };
}
