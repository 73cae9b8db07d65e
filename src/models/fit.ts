// The last shaping of a request for the upstream model actually chosen, whatever the client protocol.
import { cleanSchema } from "../upstream/json-schema";
import type { GeminiRequest } from "../upstream/types";
import type { ModelInfo } from "./catalog";
import { claudeSchema } from "./claude-schema";
import { isClaudeModel, stripModelsPrefix } from "./names";

type Obj = Record<string, unknown>;

/** Google answers a fake 429 to the Claude Agent SDK's identity sentence… */
export const AGENT_SDK_IDENTITY = "You are a Claude agent, built on Anthropic's Claude Agent SDK.";
/** …and serves Claude Code's. */
export const CLAUDE_CODE_IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude.";

export interface FitOptions {
  rewriteAgentIdentity: boolean;
}

export interface Fitted {
  request: GeminiRequest;
  /** short notes for a debug log; empty when the request is returned as it came */
  changes: string[];
}

/** the largest thinking allowance added for a model that thinks by default */
const DEFAULT_ALLOWANCE = 8192;
const MIN_ALLOWANCE = 1024;
/** when the budget must shrink to fit, it keeps at least this much */
const MIN_BUDGET = 1024;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const positive = (v: unknown): number | undefined => (num(v) !== undefined && (v as number) > 0 ? (v as number) : undefined);

/**
 * Fit a request to `model` (with `info` from the catalogue, when known). Pure: returns the same
 * object when nothing changes, otherwise a copy that shares untouched subtrees.
 *
 * Gemini models that think by default (gemini-3*, gemini-pro-agent) spend their thinking out of
 * maxOutputTokens, so a client's limit without a thinkingBudget is read as the answer's: a thinking
 * allowance is set and added on top (capped at the model's output limit).
 */
export function fitRequest(req: GeminiRequest, model: string, info: ModelInfo | undefined, opts: FitOptions): Fitted {
  const id = stripModelsPrefix(model);
  const changes: string[] = [];
  let out = req;
  if (opts.rewriteAgentIdentity) out = rewriteIdentity(out, changes);
  if (isClaudeModel(id)) out = fitClaudeTools(out, changes);
  if (isObj(out.generationConfig)) {
    let gen = out.generationConfig;
    if (thinksByDefault(id, info)) gen = addThinkingAllowance(gen, info!, changes);
    gen = clampThinking(gen, isClaudeModel(id), info, changes);
    if (gen !== out.generationConfig) out = { ...out, generationConfig: gen };
  }
  return { request: out, changes };
}

function rewriteIdentity(req: GeminiRequest, changes: string[]): GeminiRequest {
  const sys = req.systemInstruction;
  if (!sys || !Array.isArray(sys.parts) || !sys.parts.some((p) => typeof p?.text === "string" && p.text.includes(AGENT_SDK_IDENTITY)))
    return req;
  changes.push("Agent SDK identity sentence → Claude Code's");
  const parts = sys.parts.map((p) =>
    typeof p?.text === "string" && p.text.includes(AGENT_SDK_IDENTITY)
      ? { ...p, text: p.text.replaceAll(AGENT_SDK_IDENTITY, CLAUDE_CODE_IDENTITY) }
      : p,
  );
  return { ...req, systemInstruction: { ...sys, parts } };
}

const declarationsOf = (tool: Obj): unknown[] | undefined =>
  Array.isArray(tool.functionDeclarations) ? tool.functionDeclarations : undefined;

/** Claude through Google: VALIDATED calling instead of AUTO, and tool schemas in Claude's subset */
function fitClaudeTools(req: GeminiRequest, changes: string[]): GeminiRequest {
  if (!Array.isArray(req.tools) || !req.tools.some((t) => isObj(t) && declarationsOf(t)?.length)) return req;
  let out = req;

  const fcc = isObj(req.toolConfig) && isObj(req.toolConfig.functionCallingConfig) ? req.toolConfig.functionCallingConfig : undefined;
  const mode = typeof fcc?.mode === "string" ? fcc.mode.toUpperCase() : undefined;
  // ANY / NONE (and VALIDATED) are the client's explicit choice
  if (mode === undefined || mode === "AUTO" || mode === "MODE_UNSPECIFIED") {
    changes.push(`functionCallingConfig.mode ${fcc?.mode ?? "(unset)"} → VALIDATED`);
    out = { ...out, toolConfig: { ...req.toolConfig, functionCallingConfig: { ...fcc, mode: "VALIDATED" } } };
  }

  let reduced = 0;
  const tools = req.tools.map((tool) => {
    const decls = isObj(tool) ? declarationsOf(tool) : undefined;
    if (!decls) return tool;
    let changed = false;
    const next = decls.map((d) => {
      if (!isObj(d)) return d;
      let r = d;
      // claudeSchema hands back the schema itself when it needs no reduction: no deep comparison per tool
      if (isObj(d.parameters)) {
        const reduced = claudeSchema(d.parameters);
        if (reduced !== d.parameters) r = { ...r, parameters: reduced };
      }
      // the raw JSON Schema spelling is not cleaned by the mappers yet
      if (d.parametersJsonSchema !== undefined)
        r = withSchema(r, "parametersJsonSchema", claudeSchema(cleanSchema(d.parametersJsonSchema)));
      if (r !== d) {
        changed = true;
        reduced++;
      }
      return r;
    });
    return changed ? { ...tool, functionDeclarations: next } : tool;
  });
  if (reduced) {
    changes.push(`${reduced} tool schema${reduced > 1 ? "s" : ""} reduced to Claude's subset`);
    out = { ...out, tools };
  }
  return out;
}

function withSchema(decl: Obj, key: string, schema: Obj): Obj {
  return Bun.deepEquals(decl[key], schema) ? decl : { ...decl, [key]: schema };
}

function thinksByDefault(id: string, info: ModelInfo | undefined): boolean {
  return info?.thinking === true && /^gemini-(3|pro-agent)/i.test(id);
}

/** rule for thinks-by-default models: see fitRequest's comment */
function addThinkingAllowance(gen: Obj, info: ModelInfo, changes: string[]): Obj {
  const tc = isObj(gen.thinkingConfig) ? gen.thinkingConfig : undefined;
  const clientMax = positive(gen.maxOutputTokens);
  // a thinkingLevel is the client's own choice, and upstream refuses it together with a budget
  if (clientMax === undefined || tc?.thinkingBudget !== undefined || tc?.thinkingLevel !== undefined) return gen;
  let allowance = Math.min(positive(info.thinkingBudget) ?? DEFAULT_ALLOWANCE, DEFAULT_ALLOWANCE, Math.max(MIN_ALLOWANCE, clientMax));
  let max = clientMax + allowance;
  const limit = positive(info.outputTokenLimit);
  if (limit !== undefined && max > limit) {
    max = limit;
    allowance = limit - clientMax;
  }
  // the client already asked for all the model gives: its default thinking shares that
  if (allowance <= 0) return gen;
  changes.push(`thinkingBudget ${allowance} added for a model that thinks by default; maxOutputTokens ${clientMax} → ${max}`);
  return { ...gen, maxOutputTokens: max, thinkingConfig: { ...tc, thinkingBudget: allowance } };
}

/** budget and output within the model's limits; Claude also needs maxOutputTokens > thinkingBudget */
function clampThinking(gen: Obj, claude: boolean, info: ModelInfo | undefined, changes: string[]): Obj {
  const tc = isObj(gen.thinkingConfig) ? gen.thinkingConfig : undefined;
  const askedBudget = num(tc?.thinkingBudget);
  const askedMax = num(gen.maxOutputTokens);
  const limit = positive(info?.outputTokenLimit);
  const cap = positive(info?.thinkingBudget);
  let budget = askedBudget;
  let max = askedMax;

  if (budget !== undefined && cap !== undefined && budget > cap) {
    changes.push(`thinkingBudget ${budget} → ${cap} (the model's largest)`);
    budget = cap;
  }
  if (max !== undefined && limit !== undefined && max > limit) {
    changes.push(`maxOutputTokens ${max} → ${limit} (the model's limit)`);
    max = limit;
  }
  if (claude && budget !== undefined && budget > 0 && max !== undefined && max <= budget) {
    // the answer keeps the room the request gave it; a limit at or under the budget was meant for the answer
    const room = Math.max(1, askedMax! > askedBudget! ? askedMax! - askedBudget! : askedMax!);
    const before = { budget, max };
    if (limit === undefined || budget + room <= limit) max = budget + room;
    else {
      const answer = Math.min(room, Math.max(1, limit - MIN_BUDGET));
      max = limit;
      budget = Math.min(budget, limit - answer);
    }
    changes.push(`Claude needs maxOutputTokens > thinkingBudget: ${before.max}/${before.budget} → ${max}/${budget}`);
  }

  if (budget === askedBudget && max === askedMax) return gen;
  const out: Obj = { ...gen };
  if (max !== askedMax) out.maxOutputTokens = max;
  if (budget !== askedBudget) out.thinkingConfig = { ...tc, thinkingBudget: budget };
  return out;
}
