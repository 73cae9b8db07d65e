// fetchAvailableModels: the models an account may use, each with its limits and quota, plus the
// retired ids Google still lists and the lineup metadata (default, recommended, image, deprecated ids).
import type { ModelInfo } from "../models/catalog";
import type { Call } from "./call";
import { checkProject, quotaFraction } from "./codeassist";
import { json, rfc3339 } from "./errors";
import { DEFAULT_AGENT_MODEL, DEPRECATED_MODEL_IDS, IMAGE_GENERATION_MODELS, LISTED_RETIRED, RECOMMENDED } from "./lineup";
import { inputLimit, isClaude, outputLimit, SIM_MODELS } from "./models";
import { entitled, type AccountState } from "./state";

const provider = (m: ModelInfo) =>
  isClaude(m) ? "MODEL_PROVIDER_ANTHROPIC" : m.id.startsWith("gpt-") ? "MODEL_PROVIDER_OPENAI" : "MODEL_PROVIDER_GOOGLE";

function entry(m: ModelInfo, acc: AccountState, resetTime: string) {
  const f = quotaFraction(acc, m.id);
  return {
    displayName: m.displayName,
    model: "MODEL_" + m.id.toUpperCase().replace(/[^A-Z0-9]+/g, "_"),
    supportsImages: !isClaude(m),
    supportsThinking: m.thinking === true,
    ...(m.thinking && m.thinkingBudget ? { thinkingBudget: m.thinkingBudget } : {}),
    recommended: RECOMMENDED.includes(m.id),
    maxTokens: inputLimit(m),
    maxOutputTokens: outputLimit(m),
    modelProvider: provider(m),
    // protobuf JSON leaves out zero values: an exhausted model has no remainingFraction
    quotaInfo: { ...(f > 0 ? { remainingFraction: f } : {}), resetTime },
  };
}

export function fetchAvailableModels(call: Call, acc: AccountState, body: any): Response {
  checkProject(acc, body);
  const resetTime = rfc3339(call.state.quotaResetAt);
  const models: Record<string, unknown> = {};
  for (const m of [...SIM_MODELS, ...LISTED_RETIRED]) if (entitled(acc, m.id)) models[m.id] = entry(m, acc, resetTime);
  return json({
    models,
    defaultAgentModelId: DEFAULT_AGENT_MODEL,
    agentModelSorts: [{ displayName: "Recommended", groups: [{ modelIds: RECOMMENDED }] }],
    commandModelIds: [],
    tabModelIds: [],
    webSearchModelIds: ["gemini-2.5-flash"],
    imageGenerationModelIds: IMAGE_GENERATION_MODELS,
    deprecatedModelIds: DEPRECATED_MODEL_IDS,
  });
}
