#!/usr/bin/env bun
// The bench's fake Google, run as its own process: the simulator (no artificial delays) with `--seed N`
// accounts (./seed.ts), plus a second listener on the same simulator state that paces stream chunks
// `--gap-ms` apart (the simulator's own pacing is a fixed 25 ms, or off); everything else it answers as
// the simulator does. Both call the simulator's handler in-process (no HTTP hop), so that 2,000 streams
// cost the harness as little as possible: this process shares the machine with the gateway.
// Prints one JSON line when ready: {url, pacedUrl, seeded, seedMs}.
import { silentLogger } from "../../src/core/log";
import { createFetch } from "../../src/simulator/server";
import { SimState } from "../../src/simulator/state";
import { seedEmail, seedProject, seedRefreshToken } from "./seed";

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const SEED = arg("seed", 0);
const GAP_MS = arg("gap-ms", 1500);

// what startSimulator() does, keeping the handler so that the pacing listener can call it too
const state = new SimState(3600, false);
const simulator = createFetch(state, silentLogger());
const sim = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 0, fetch: simulator });
state.url = `http://127.0.0.1:${sim.port}`;

// in-process through the simulator's own account API: 10,000 accounts take a few tens of ms this way
const t0 = performance.now();
for (let i = 0; i < SEED; i++) state.addAccount({ email: seedEmail(i), refreshToken: seedRefreshToken(i), project: seedProject(i) });
const seedMs = Math.round(performance.now() - t0);

/** the simulator's answer; a successful stream is re-sent frame by frame, GAP_MS apart */
async function paced(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const res = await simulator(req);
  if (!url.pathname.endsWith(":streamGenerateContent") || url.searchParams.get("alt") !== "sse" || res.status !== 200) return res;
  const frames = (await res.text()).split("\r\n\r\n").filter((f) => f.length);
  const enc = new TextEncoder();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      let i = 0;
      const next = () => {
        try {
          c.enqueue(enc.encode(frames[i++] + "\r\n\r\n"));
          if (i >= frames.length) c.close();
          else timer = setTimeout(next, GAP_MS);
        } catch {
          // the client went away
        }
      };
      next();
    },
    cancel() {
      clearTimeout(timer);
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
}

// Several listeners share the port (SO_REUSEPORT), for a queue of connections waiting to be accepted of
// 4 × 512 (Bun fixes each at 512): a gateway opens one upstream connection per stream, 2,000 within a
// second, and a single queue overflowed while this busy process was slow to accept — the kernel dropped
// those connections and the gateway's retries a second later measured this harness, not the gateway
// (docs/performance.md, "Eighth pass"). Google's front ends do not drop them.
const LISTENERS = 4;
const front = Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 0, reusePort: true, fetch: paced });
for (let i = 1; i < LISTENERS; i++) Bun.serve({ port: front.port, hostname: "127.0.0.1", idleTimeout: 0, reusePort: true, fetch: paced });
console.log(JSON.stringify({ url: state.url, pacedUrl: `http://127.0.0.1:${front.port}`, seeded: SEED, seedMs }));
