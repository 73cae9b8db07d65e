// What one request handler sees, and what it leaves behind for the request log.
import type { SimState } from "./state";

export interface Call {
  req: Request;
  url: URL;
  state: SimState;
  /** the log name: v1internal method, "token", "userinfo", "authorize", "operation" */
  method: string;
  /** parsed body for the log (secrets masked) */
  body?: unknown;
  /** the account the request was made as */
  email?: string;
  /** the model asked for (generate/stream calls), for per-account usage */
  model?: string;
  /** a stream_cut fault hit a non-streaming call: send part of the body, then drop the connection */
  cut?: boolean;
}
