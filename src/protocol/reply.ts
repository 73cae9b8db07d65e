// What every protocol's reply carries: ids in the client's style and the served-by headers.
import type { Served } from "../gateway/port";
import type { AppContext } from "./context";

/** prefix + random hex digits (call_…, toolu_…, msg_…, chatcmpl-…) */
export const randomId = (prefix: string, hexDigits = 24) => prefix + crypto.randomUUID().replaceAll("-", "").slice(0, hexDigits);

/** which account served the answer and the upstream model (the app also logs them) */
export const servedHeaders = (s: Pick<Served, "accountEmail" | "mappedModel">): Record<string, string> => ({
  "x-account-email": s.accountEmail,
  "x-mapped-model": s.mappedModel,
});

/**
 * The served-by headers of the attempt in flight, for a stream whose reply starts before upstream
 * answered (a long silence): the account and model being tried then, which serve it unless that attempt
 * fails and another account takes over (the log and the usage record name the one that served).
 */
export function inFlightHeaders(ctx: AppContext, signal: AbortSignal | undefined): Record<string, string> {
  const a = ctx.keys?.attemptOf(signal);
  return a ? servedHeaders(a) : {};
}
