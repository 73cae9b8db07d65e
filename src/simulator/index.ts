// Upstream simulator: a real HTTP server that behaves like the Google endpoints the gateway talks to,
// for `switchyard demo`, the tests and the benchmark. It runs only when something calls
// startSimulator(); a normal `serve` never starts it. Bun built-ins only.
//
// What it simulates (see /work/shared/spec/upstream-protocol.md):
//   POST /token                     OAuth token endpoint: refresh_token and authorization_code (+PKCE S256)
//                                   grants; invalid_grant for unknown/revoked refresh tokens
//   GET  /o/oauth2/v2/auth          authorize; consents at once: 302 to redirect_uri?code&state (login_hint)
//   GET  /oauth2/v2/userinfo        {id, email, verified_email, name, given_name, picture}
//   POST /v1internal:{method}       Cloud Code API: generateContent, streamGenerateContent?alt=sse,
//                                   countTokens, loadCodeAssist, onboardUser, fetchAvailableModels,
//                                   retrieveUserQuota(Summary), listExperiments, telemetry/settings ({})
//   GET  /v1internal/operations/ID  onboarding operation, done after `onboardPolls` polls
// Google's behaviour it reproduces: bearer tokens that expire (401), protobuf-JSON validation
// ("Unknown name" 400, both spellings), Gemini's tool-schema keyword subset, project checks (403),
// unknown models (404), per-account quota (429 with ErrorInfo first, then RetryInfo), thought
// signatures that must be echoed unchanged, function calls, PNG images sized by aspect ratio, and
// injected faults (429/503/401/403/500/400, error-in-200, cut streams, delays).
// Replies are deterministic: "Echo: <last user text>". Control API under /_sim/… mirrors Simulator.
import type { GeminiRequest } from "../upstream/types";
import { createFetch } from "./server";
import { SimState } from "./state";
import { countTokens } from "./tokens";
import type { Simulator, SimulatorOptions } from "./types";

export type { FaultKind, FaultSpec, ReceivedRequest, SimAccount, SimAccountSpec, Simulator, SimulatorOptions } from "./types";
export { FAULT_KINDS } from "./types";
export { SUPPORTED_SCHEMA_KEYS } from "./schema";
export { countTokens } from "./tokens";
export { SIM_MODELS } from "./models";

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const state = new SimState(opts.tokenTtlSeconds ?? 3600, opts.delays ?? true);
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
    usage: () => state.usage(),
    countTokens: (req: GeminiRequest) => countTokens(req),
    revoke: (email) => state.revoke(email),
    expireTokens: (email) => state.expireTokens(email),
    reset: () => state.reset(),
  };
}
