// What every protocol's reply carries: ids in the client's style and the served-by headers.
import type { Served } from "../gateway/port";

/** prefix + random hex digits (call_…, toolu_…, msg_…, chatcmpl-…) */
export const randomId = (prefix: string, hexDigits = 24) => prefix + crypto.randomUUID().replaceAll("-", "").slice(0, hexDigits);

/** which account served the answer and the upstream model (the app also logs them) */
export const servedHeaders = (s: Pick<Served, "accountEmail" | "mappedModel">): Record<string, string> => ({
  "x-account-email": s.accountEmail,
  "x-mapped-model": s.mappedModel,
});
