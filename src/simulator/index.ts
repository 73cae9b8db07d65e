// Upstream simulator: a real HTTP server that behaves like the Google endpoints the gateway talks to,
// for `switchyard demo`, the tests and the benchmark. It runs only when something calls
// startSimulator(); a normal `serve` never starts it. Bun built-ins only.
//
// What it simulates:
//   POST /token                     OAuth token endpoint: refresh_token and authorization_code (+PKCE S256)
//                                   grants; invalid_grant for unknown/revoked refresh tokens
//   GET  /o/oauth2/v2/auth          authorize; consents at once: 302 to redirect_uri?code&state (login_hint)
//   GET  /oauth2/v2/userinfo        {id, email, verified_email, name, given_name, picture}
//   POST /v1internal:{method}       Cloud Code API: generateContent, streamGenerateContent (?alt=sse, or
//                                   one JSON array without it), countTokens, loadCodeAssist, onboardUser,
//                                   fetchAvailableModels, retrieveUserQuota(Summary), listExperiments,
//                                   telemetry/settings ({})
//   GET  /v1internal/operations/ID  onboarding operation, done after `onboardPolls` polls
//   GET  /api/update/T/stable/latest  Antigravity's updater: {url, sha256hash, timestamp}, the version
//                                   only inside the url
// Google's behaviour it reproduces: bearer tokens that expire (401), protobuf-JSON validation
// ("Unknown name" 400, both spellings, enum values), Gemini's tool-schema keyword subset, project
// checks (403), its own late-2026 model lineup (./models.ts) with retired ids that answer a 200 notice
// and zero usage, or 404 (./lineup.ts), per-account model lists and quota (429 with ErrorInfo first,
// then RetryInfo), the client-version gate (a 200 notice for an old User-Agent), the detail-free 429
// for the Claude Agent SDK prompt, thinking-budget maximums and Gemini 3's default thinking (which can
// leave no room for an answer), Claude unary answers without thinking, thought signatures that must
// be echoed unchanged, function calls, PNG images sized by aspect ratio, and injected faults
// (429/503/401/403/500/400, error-in-200, cut streams, delays).
// Replies are deterministic: "Echo: <last user text>", and audio parts get a transcript naming their size
// and type, timestamped when asked (./audio.ts). Control API under /_sim/… mirrors Simulator.
import type { GeminiRequest } from "../upstream/types";
import { createFetch } from "./server";
import { SimState } from "./state";
import { countTokens } from "./tokens";
import type { Simulator, SimulatorOptions } from "./types";

export type {
  ClientGateSpec,
  ClientGateState,
  FaultKind,
  FaultSpec,
  GateWording,
  ReceivedRequest,
  SimAccount,
  SimAccountSpec,
  Simulator,
  SimulatorOptions,
} from "./types";
export { FAULT_KINDS } from "./types";
export { SUPPORTED_SCHEMA_KEYS } from "./schema";
export { countTokens } from "./tokens";
export { simulatorSettings } from "./settings";
export { SIM_MODELS } from "./models";
export { DEPRECATED_MODEL_IDS, LISTED_RETIRED, RECOMMENDED, RETIRED_MODELS, type RetiredModel } from "./lineup";
export { AGENT_SDK_IDENTITY, DEFAULT_LATEST_VERSION, GATE_NOTICES } from "./gate";

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const state = new SimState(opts.tokenTtlSeconds ?? 3600, opts.delays ?? true, opts.now);
  // bad gate options fail here, before a port is taken
  state.gate.set(opts.clientGate);
  if (opts.latestClientVersion !== undefined) state.gate.setLatest(opts.latestClientVersion);
  const server = Bun.serve({
    port: opts.port ?? 0,
    hostname: opts.hostname ?? "127.0.0.1",
    idleTimeout: 0, // delay faults may hold a request longer than Bun's 10 s default
    fetch: createFetch(state, opts.log),
  });
  const host = server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  const url = `http://${host}:${server.port}`;
  state.url = url;
  opts.log?.info("upstream simulator listening", { url });

  return {
    url,
    port: server.port!,
    stop: async () => {
      await server.stop(true);
    },
    addAccount: (spec) => state.addAccount(spec),
    addFault: (f) => state.faults.add(f),
    removeFault: (id) => state.faults.remove(id),
    clearFaults: () => state.faults.clear(),
    requests: (filter) => state.requests(filter),
    clearRequests: () => state.clearRequests(),
    stats: () => state.stats(),
    peaks: () => state.peaks(),
    inFlight: () => state.inFlightNow(),
    reportedUsage: () => state.reportedUsage(),
    usage: () => state.usage(),
    countTokens: (req: GeminiRequest) => countTokens(req),
    revoke: (email) => state.revoke(email),
    expireTokens: (email) => state.expireTokens(email),
    reset: () => state.reset(),
    setClientGate: (gate) => state.gate.set(gate),
    setLatestClientVersion: (v) => state.gate.setLatest(v),
  };
}
