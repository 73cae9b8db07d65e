// A real redis-server (Debian's package) on a free loopback port in a temp dir, for the shared-state
// tests. Missing binary: the tests are skipped locally and fail under CI=true (.ci/run installs it).
import { spawn, type Subprocess } from "bun";
import { freePort } from "./cli";
import { tempDir } from "./util";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

export const REDIS_BIN = Bun.which("redis-server");

/** call at the top of a test file: undefined = run the tests, a reason = skip them */
export function redisMissing(): string | undefined {
  if (REDIS_BIN) return undefined;
  if (process.env.CI === "true") throw new Error("redis-server is not installed (apt-get install redis-server); CI must run these tests");
  return "redis-server not installed";
}

export interface RedisServer {
  url: string;
  port: number;
  /** stop the server (SIGTERM: with appendonly it writes its file first) */
  stop(): Promise<void>;
  /** start it again on the same port and directory */
  start(): Promise<void>;
  /** remove its data files (while stopped): the next start() is a Redis that lost everything */
  wipe(): void;
  /** freeze it (SIGSTOP): its sockets stay open, nothing answers; resume() thaws it */
  pause(): void;
  resume(): void;
  cleanup(): Promise<void>;
}

export async function startRedis(opts: { appendonly?: boolean } = {}): Promise<RedisServer> {
  const dir = tempDir("redis");
  const port = await freePort();
  let proc: Subprocess | undefined;
  const start = async () => {
    proc = spawn(
      [
        REDIS_BIN!,
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        opts.appendonly ? "yes" : "no",
        "--dir",
        dir.dir,
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    const end = Date.now() + 5000;
    for (;;) {
      try {
        const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
        s.end();
        return;
      } catch {
        if (Date.now() > end) throw new Error(`redis-server did not listen on ${port}`);
        await Bun.sleep(25);
      }
    }
  };
  const stop = async () => {
    proc?.kill("SIGCONT"); // a paused server must hear the TERM
    proc?.kill("SIGTERM");
    await proc?.exited;
    proc = undefined;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    stop,
    start,
    wipe: () => {
      for (const f of readdirSync(dir.dir)) rmSync(join(dir.dir, f), { recursive: true, force: true });
    },
    pause: () => proc?.kill("SIGSTOP"),
    resume: () => proc?.kill("SIGCONT"),
    async cleanup() {
      await stop();
      dir.cleanup();
    },
  };
}
