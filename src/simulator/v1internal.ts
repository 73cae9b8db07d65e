// POST /v1internal:{method} and GET /v1internal/operations/{id}: bearer auth, JSON body, faults,
// then the method's handler.
import type { Call } from "./call";
import { fetchAvailableModels } from "./available";
import * as ca from "./codeassist";
import { googleError } from "./errors";
import { applyFaults, faultError, GENERATE_METHODS } from "./faults";
import { countTokensCall, generate } from "./generate";
import { stripModelsPrefix } from "../models/catalog";
import { bearerAccount } from "./oauth";
import type { AccountState } from "./state";
import { get } from "./validate";

type Handler = (call: Call, acc: AccountState, body: any) => Response;

const HANDLERS: Record<string, Handler> = {
  loadCodeAssist: (call, acc) => ca.loadCodeAssist(call, acc),
  onboardUser: ca.onboardUser,
  fetchAvailableModels,
  retrieveUserQuota: ca.retrieveUserQuota,
  retrieveUserQuotaSummary: ca.retrieveUserQuotaSummary,
  listExperiments: ca.listExperiments,
  recordCodeAssistMetrics: ca.empty,
  fetchAdminControls: ca.empty,
  getCodeAssistGlobalUserSetting: ca.empty,
  setCodeAssistGlobalUserSetting: ca.empty,
  countTokens: countTokensCall,
};

export const V1_METHODS = [...Object.keys(HANDLERS), ...GENERATE_METHODS];

const PORTAL_PAGE = "<!doctype html><html><body><h1>Sign in to the network</h1></body></html>";

const methodNotFound = () => googleError(404, "NOT_FOUND", "Method not found.");

async function readJson(req: Request): Promise<any> {
  const text = await req.text();
  if (!text.trim()) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw googleError(400, "INVALID_ARGUMENT", `Invalid JSON payload received. ${(e as Error).message}`);
  }
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw googleError(
      400,
      "INVALID_ARGUMENT",
      `Invalid JSON payload received. Expected an object, got ${JSON.stringify(body).slice(0, 40)}.`,
    );
  return body;
}

export async function v1Method(call: Call, method: string): Promise<Response> {
  const handler = HANDLERS[method];
  const isGenerate = GENERATE_METHODS.has(method);
  if (!handler && !isGenerate) throw methodNotFound();
  const acc = bearerAccount(call);
  const body = call.req.method === "GET" ? {} : await readJson(call.req);
  call.body = body;
  const rawModel = get(body, "model") ?? get(get(body, "request"), "model");
  const model = typeof rawModel === "string" ? stripModelsPrefix(rawModel) : undefined;
  if (isGenerate) call.model = model;

  const fault = await applyFaults(call.state.faults, { method, email: acc.email, model });
  // something between us and Google (a captive portal, a proxy) answering 200 with a page
  if (fault?.kind === "html_200") return new Response(PORTAL_PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
  const stream = method === "streamGenerateContent";
  if (isGenerate) {
    if (fault && fault.kind !== "stream_cut" && fault.kind !== "error_in_200" && fault.kind !== "stream_end")
      throw faultError(fault, model, ca.validationUrl(call.state, acc.email));
    // SSE streams cut after their first frame; any other body is cut half way by the server
    if (fault?.kind === "stream_cut" && !(stream && call.url.searchParams.get("alt") === "sse")) call.cut = true;
    return generate(call, acc, body, {
      stream,
      cut: fault?.kind === "stream_cut",
      endEarly: fault?.kind === "stream_end",
      errorIn200: fault?.kind === "error_in_200",
    });
  }
  if (fault?.kind === "stream_cut") call.cut = true;
  else if (fault) throw faultError(fault, model, ca.validationUrl(call.state, acc.email));
  return handler!(call, acc, body);
}

export async function v1Operation(call: Call, id: string): Promise<Response> {
  const acc = bearerAccount(call);
  const fault = await applyFaults(call.state.faults, { method: "operation", email: acc.email });
  if (fault?.kind === "stream_cut") call.cut = true;
  else if (fault) throw faultError(fault, undefined, ca.validationUrl(call.state, acc.email));
  return ca.operation(call, acc, decodeURIComponent(id));
}
