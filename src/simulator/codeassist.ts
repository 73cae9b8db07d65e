// Account setup and quota methods of v1internal: loadCodeAssist (three account kinds: has a project,
// needs onboarding, needs verification), onboardUser + operation polling, retrieveUserQuota(Summary),
// and the telemetry/settings methods that just answer {}. fetchAvailableModels is in ./available.ts.
import type { Call } from "./call";
import { errorInfo, googleError, invalidArgument, json, notFound, rfc3339 } from "./errors";
import { validationRequired } from "./faults";
import { isClaude, isImage, SIM_MODELS } from "./models";
import { entitled, hashHex, randomHex, type AccountState, type Operation, type SimState } from "./state";
import { get } from "./validate";

const TIERS: Record<string, { id: string; name: string; description: string }> = {
  "free-tier": { id: "free-tier", name: "Gemini Code Assist for individuals", description: "Simulated free tier." },
  "standard-tier": { id: "standard-tier", name: "Gemini Code Assist", description: "Simulated standard tier." },
  "legacy-tier": { id: "legacy-tier", name: "Gemini Code Assist (legacy)", description: "Simulated legacy tier." },
};
const tierObject = (id: string) => TIERS[id] ?? { id, name: id, description: `Simulated ${id}.` };
const isPaid = (tier: string) => /^g1-/.test(tier);

const allowedTiers = () => [
  { ...TIERS["free-tier"], isDefault: true, userDefinedCloudaicompanionProject: false },
  { ...TIERS["standard-tier"], userDefinedCloudaicompanionProject: true, usesGcpTos: true },
];

export const validationUrl = (state: SimState, email: string) => `${state.url}/_sim/verify?email=${encodeURIComponent(email)}`;

/** remaining fraction of a model's quota for an account ("*" in the overrides = every model) */
export const quotaFraction = (acc: AccountState, model: string) => acc.quota[model] ?? acc.quota["*"] ?? 1;

export function loadCodeAssist(call: Call, acc: AccountState): Response {
  if (acc.validationRequired)
    return json({
      allowedTiers: allowedTiers(),
      ineligibleTiers: [
        {
          reasonCode: "VALIDATION_REQUIRED",
          reasonMessage: "Verify your account to continue.",
          tierId: "free-tier",
          tierName: TIERS["free-tier"]!.name,
          validationUrl: validationUrl(call.state, acc.email),
        },
      ],
      gcpManaged: false,
    });
  if (!acc.project) return json({ allowedTiers: allowedTiers(), gcpManaged: false });
  const paid = isPaid(acc.tier);
  return json({
    currentTier: {
      ...tierObject(paid ? "standard-tier" : acc.tier),
      userDefinedCloudaicompanionProject: false,
      privacyNotice: {},
      hasOnboardedPreviously: true,
    },
    allowedTiers: allowedTiers(),
    cloudaicompanionProject: acc.project,
    ...(paid
      ? { paidTier: { id: acc.tier, name: acc.tier, availableCredits: [{ creditType: "GOOGLE_ONE_AI", creditAmount: "1000" }] } }
      : {}),
    gcpManaged: false,
  });
}

function operationJson(op: Operation) {
  if (op.remaining > 0) return { name: op.name, done: false };
  return {
    name: op.name,
    done: true,
    response: {
      "@type": "type.googleapis.com/google.internal.cloud.code.v1internal.OnboardUserResponse",
      cloudaicompanionProject: { id: op.project, name: op.project },
    },
  };
}

function complete(op: Operation, acc: AccountState) {
  op.remaining = 0;
  acc.project ??= `sim-managed-${hashHex(acc.email)}`;
  op.project = acc.project;
}

export function onboardUser(call: Call, acc: AccountState, body: any): Response {
  if (acc.validationRequired) throw validationRequired(validationUrl(call.state, acc.email));
  const tierId = get(body, "tierId");
  if (!tierId) throw invalidArgument("tier_id is required", "tier_id");
  if (!TIERS[tierId]) throw invalidArgument(`Invalid tier_id: ${tierId}`, "tier_id");
  const project = get(body, "cloudaicompanionProject");
  if (tierId === "free-tier" && project) throw googleError(400, "FAILED_PRECONDITION", "Precondition Failed");
  if (tierId !== "free-tier" && typeof project === "string" && project && !acc.project) acc.project = project;

  // a repeated onboardUser (some clients re-POST instead of polling) counts as a poll
  let op = [...call.state.ops.values()].find((o) => o.email === acc.email);
  if (op && op.remaining > 0) op.remaining--;
  if (!op) {
    op = { name: `operations/sim-${randomHex(8)}`, email: acc.email, remaining: acc.project ? 0 : acc.onboardPolls };
    call.state.ops.set(op.name, op);
  }
  if (op.remaining <= 0) complete(op, acc);
  return json(operationJson(op));
}

/** GET /v1internal/operations/{id} */
export function operation(call: Call, acc: AccountState, id: string): Response {
  const op = call.state.ops.get(`operations/${id}`);
  if (!op || op.email !== acc.email) throw notFound();
  if (op.remaining > 0 && --op.remaining === 0) complete(op, acc);
  return json(operationJson(op));
}

export function checkProject(acc: AccountState, body: any) {
  const project = get(body, "project");
  if (project && project !== acc.project) throw iamDenied(project);
}

export function iamDenied(project: string) {
  const resource = `projects/${project}/locations/global`;
  return googleError(
    403,
    "PERMISSION_DENIED",
    `Permission 'cloudaicompanion.companions.generateChat' denied on resource '//cloudaicompanion.googleapis.com/${resource}' (or it may not exist).`,
    [
      errorInfo("IAM_PERMISSION_DENIED", "cloudaicompanion.googleapis.com", {
        resource,
        permission: "cloudaicompanion.companions.generateChat",
      }),
    ],
  );
}

export function retrieveUserQuota(call: Call, acc: AccountState, body: any): Response {
  checkProject(acc, body);
  const resetTime = rfc3339(call.state.quotaResetAt);
  const buckets = SIM_MODELS.filter((m) => m.id.startsWith("gemini-") && !isImage(m) && entitled(acc, m.id)).map((m) => {
    const f = quotaFraction(acc, m.id);
    return { modelId: m.id, tokenType: "REQUESTS", remainingFraction: f, remainingAmount: String(Math.round(f * 1000)), resetTime };
  });
  return json({ buckets });
}

export function retrieveUserQuotaSummary(call: Call, acc: AccountState, body: any): Response {
  checkProject(acc, body);
  const resetTime = rfc3339(call.state.quotaResetAt);
  const weekly = rfc3339(call.state.quotaResetAt + 6 * 86400_000);
  const group = (name: string, ids: string[]) => {
    const f = Math.min(1, ...ids.map((id) => quotaFraction(acc, id)));
    const key = name.toLowerCase();
    return {
      displayName: name,
      description: `${name} models`,
      buckets: [
        {
          bucketId: `${key}-5h`,
          window: "FIVE_HOURS",
          remainingFraction: f,
          resetTime,
          displayName: "5-hour limit",
          description: "Resets every 5 hours",
        },
        {
          bucketId: `${key}-weekly`,
          window: "WEEKLY",
          remainingFraction: f,
          resetTime: weekly,
          displayName: "Weekly limit",
          description: "Resets weekly",
        },
      ],
    };
  };
  return json({
    groups: [
      group(
        "Gemini",
        SIM_MODELS.filter((m) => !isClaude(m)).map((m) => m.id),
      ),
      group(
        "Claude",
        SIM_MODELS.filter(isClaude).map((m) => m.id),
      ),
    ],
  });
}

export const listExperiments = () => json({ experimentIds: [], flags: [] });
export const empty = () => json({});
