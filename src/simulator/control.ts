// The simulator's own control API under /_sim/… (mirrors the Simulator object), for tests and
// scripts that drive a simulator in another process. Errors: {"error":{"message","code"}}.
import { json } from "./errors";
import { ClientGate } from "./gate";
import { publicAccount, type SimState } from "./state";
import { countTokens } from "./tokens";
import type { FaultSpec, SimAccountSpec } from "./types";

const fail = (status: number, message: string, code = "invalid_request") => json({ error: { message, code } }, status);

async function body(req: Request): Promise<any> {
  const text = await req.text();
  if (!text.trim()) return {};
  const v = JSON.parse(text);
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("body must be a JSON object");
  return v;
}

/** {minVersion?: "N.N.N" | null, wording?, latestVersion?} */
function setGate(state: SimState, b: any) {
  const { minVersion, wording, latestVersion } = b;
  // try it on a scratch gate first, so a bad field changes nothing
  const probe = new ClientGate();
  probe.set({ minVersion, wording });
  if (latestVersion !== undefined) {
    probe.setLatest(latestVersion);
    state.gate.setLatest(latestVersion);
  }
  return state.gate.set({ minVersion, wording });
}

export async function control(req: Request, url: URL, state: SimState): Promise<Response> {
  const path = url.pathname.replace(/\/+$/, "");
  const m = req.method;
  try {
    if (path === "/_sim/accounts" && m === "POST") return json(state.addAccount((await body(req)) as SimAccountSpec));
    if (path === "/_sim/accounts" && m === "GET")
      return json(
        [...state.accounts.values()].map((a) => {
          const { refreshToken: _secret, ...view } = publicAccount(a);
          return { ...view, tier: a.tier, validationRequired: a.validationRequired, revoked: a.revoked, quota: a.quota };
        }),
      );
    const acct = /^\/_sim\/accounts\/([^/]+)\/(revoke|expire-tokens)$/.exec(path);
    if (acct && m === "POST") {
      const email = decodeURIComponent(acct[1]!);
      const ok = acct[2] === "revoke" ? state.revoke(email) : state.expireTokens(email);
      return ok ? json({ ok: true }) : fail(404, `no simulated account ${email}`, "not_found");
    }
    if (path === "/_sim/verify" && m === "GET") {
      // the validationUrl of a VALIDATION_REQUIRED account: opening it "verifies" the account
      const acc = state.account(url.searchParams.get("email") ?? "");
      if (!acc) return fail(404, "no such account", "not_found");
      acc.validationRequired = false;
      return new Response(`Account ${acc.email} verified. You can close this page.\n`, { headers: { "content-type": "text/plain" } });
    }
    if (path === "/_sim/faults" && m === "POST") return json({ id: state.faults.add((await body(req)) as FaultSpec) });
    if (path === "/_sim/faults" && m === "GET") return json(state.faults.all());
    if (path === "/_sim/faults" && m === "DELETE") {
      state.faults.clear();
      return json({ ok: true });
    }
    const fault = /^\/_sim\/faults\/([^/]+)$/.exec(path);
    if (fault && m === "DELETE")
      return state.faults.remove(decodeURIComponent(fault[1]!)) ? json({ ok: true }) : fail(404, "no such fault", "not_found");
    if (path === "/_sim/requests" && m === "GET")
      return json(
        state.requests({ method: url.searchParams.get("method") ?? undefined, email: url.searchParams.get("email") ?? undefined }),
      );
    if (path === "/_sim/requests" && m === "DELETE") {
      state.clearRequests();
      return json({ ok: true });
    }
    if (path === "/_sim/stats" && m === "GET") return json(state.stats());
    if (path === "/_sim/usage" && m === "GET") return json(state.usage());
    if (path === "/_sim/count-tokens" && m === "POST") return json({ totalTokens: countTokens(await body(req)) });
    if (path === "/_sim/client-gate" && m === "GET") return json(state.gate.view());
    if (path === "/_sim/client-gate" && m === "POST") return json(setGate(state, await body(req)));
    if (path === "/_sim/reset" && m === "POST") {
      state.reset();
      return json({ ok: true });
    }
    return fail(404, `no control route ${m} ${path}`, "not_found");
  } catch (e) {
    return fail(400, (e as Error).message);
  }
}
