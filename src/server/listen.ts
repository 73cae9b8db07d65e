// The listener: no port sharing (reusePort off), no idle timeout (long streams and slow upstreams
// must survive; deadlines are ours), and a bounded graceful stop.
import type { Server } from "bun";

export class ListenError extends Error {}

export interface Listener {
  server: Server<unknown>;
  url: string;
  /** stop accepting, let open requests finish for up to graceMs, then close the rest */
  stop(graceMs: number): Promise<void>;
}

export function listen(opts: {
  host: string;
  port: number;
  maxBodyBytes: number;
  /** Bun passes itself as `server` (the peer's address: server.requestIP) */
  fetch: (req: Request, server: Server<unknown>) => Promise<Response>;
  /** a failure the handler did not turn into an answer: logged with its cause */
  onError?: (e: unknown) => void;
}): Listener {
  let server: Server<unknown>;
  try {
    server = Bun.serve({
      hostname: opts.host,
      port: opts.port,
      reusePort: false,
      idleTimeout: 0,
      development: false,
      // the handler enforces server.maxBodyBytes with a JSON 413 (declared lengths up front, chunked
      // bodies while reading); Bun's own cap would answer a bare 413 before the handler runs
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      fetch: opts.fetch,
      error: (e) => (
        opts.onError?.(e),
        new Response(JSON.stringify({ error: { message: "internal error", code: "internal" } }), {
          status: 500,
          headers: { "content-type": "application/json" },
        })
      ),
    });
  } catch (e) {
    const msg = String((e as Error)?.message ?? e);
    if (/EADDRINUSE|in use/i.test(msg) || (e as { code?: string })?.code === "EADDRINUSE")
      throw new ListenError(`cannot listen on ${opts.host}:${opts.port}: the port is already in use (is another switchyard running?)`);
    throw new ListenError(`cannot listen on ${opts.host}:${opts.port}: ${msg}`);
  }
  const host = server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  return {
    server,
    url: `http://${host}:${server.port}`,
    async stop(graceMs: number) {
      const graceful = server.stop(false);
      const timedOut = await Promise.race([graceful.then(() => false), Bun.sleep(graceMs).then(() => true)]);
      if (timedOut) await server.stop(true);
    },
  };
}
