// The one repair for a thinking-signature 400 (a peer gateway's most reported failure): drop the signatures and thought parts,
// retry once. The retry's failure is final, so this can never loop.
import { ApiError } from "../core/errors";
import type { GeminiRequest } from "../upstream/types";
import { withoutSignatures } from "./request";
import { isSignatureError, type Family } from "./signature";

const upstreamText = (e: ApiError) => `${e.message} ${e.options.upstreamBody ? JSON.stringify(e.options.upstreamBody) : ""}`;

export async function withSignatureRepair<T>(
  p: { request: GeminiRequest; family: Family },
  onRepair: (error: string) => void,
  call: (request: GeminiRequest) => Promise<T>,
): Promise<T> {
  try {
    return await call(p.request);
  } catch (e) {
    if (!(e instanceof ApiError) || !isSignatureError(e.status, upstreamText(e))) throw e;
    const repaired = withoutSignatures(p.request, p.family);
    if (!repaired) throw e;
    onRepair(e.message);
    return await call(repaired);
  }
}
