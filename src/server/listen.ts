// The listener: no port sharing (reusePort off), no idle timeout for a request (long streams and slow
// upstreams must survive; deadlines are ours) but one for a connection between requests, and a bounded
// graceful stop.
import type { Server } from "bun";

/** seconds a connection may sit idle between requests (Bun closes it within twice that) */
const IDLE_SECONDS = 60;

export class ListenError extends Error {}

export interface Listener {
  server: Server<unknown>;
  url: string;
  /** stop accepting, let open requests finish for up to graceMs (or until `cut`), then close the rest */
  stop(graceMs: number, cut?: Promise<void>): Promise<void>;
}

export function listen(opts: {
  host: string;
  port: number;
  maxBodyBytes: number;
  /** Bun passes itself as `server` (the peer's address: server.requestIP) */
  fetch: (req: Request, server: Server<unknown>) => Promise<Response>;
  /** a failure the handler did not turn into an answer: logged with its cause */
  onError?: (e: unknown) => void;
  /** seconds a connection may sit idle between requests (tests shorten it) */
  idleSeconds?: number;
}): Listener {
  let server: Server<unknown>;
  const idle = opts.idleSeconds ?? IDLE_SECONDS;
  // says the idle limit, so a client does not reuse a connection the server is about to close
  const keepAlive = `timeout=${idle}`;
  try {
    server = Bun.serve({
      hostname: opts.host,
      port: opts.port,
      reusePort: false,
      // a connection idle between requests is closed (without it, idle keep-alive connections held their
      // file descriptors until the process ran out); a request itself is never timed out (below)
      idleTimeout: idle,
      development: false,
      // the handler enforces server.maxBodyBytes with a JSON 413 (declared lengths up front, chunked
      // bodies while reading); Bun's own cap would answer a bare 413 before the handler runs
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      // a request may wait minutes for Google (long thinking) with nothing to send: no idle limit while it
      // is handled; once answered the limit is back (a stream sends keep-alives well within it)
      fetch: (req, srv) => {
        srv.timeout(req, 0);
        return opts.fetch(req, srv).then((res) => (srv.timeout(req, idle), res.headers.set("keep-alive", keepAlive), res));
      },
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
    async stop(graceMs: number, cut?: Promise<void>) {
      const graceful = server.stop(false);
      const timedOut = await Promise.race([
        graceful.then(() => false),
        Bun.sleep(graceMs).then(() => true),
        ...(cut ? [cut.then(() => true)] : []),
      ]);
      if (timedOut) await server.stop(true);
    },
  };
}
