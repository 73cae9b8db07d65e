// Child processes and what /proc says about them: RSS, its high-water mark, CPU time.
import { readdirSync, readFileSync } from "node:fs";

/** every child the bench started, stopped at the end whatever happens */
export const children: Bun.Subprocess[] = [];

export const round2 = (x: number) => Math.round(x * 100) / 100;
export const round1 = (x: number) => Math.round(x * 10) / 10;
export const quantile = (sorted: Float64Array, q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;

/** the middle value (the upper one of an even count), as the quantile above */
export const median = (xs: number[]) => quantile(Float64Array.from(xs).sort(), 0.5);

/** a child with stdout piped (for its ready line) and stderr shown */
export function spawnChild(cmd: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}) {
  const proc = Bun.spawn(cmd, { cwd: opts.cwd, env: opts.env, stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  children.push(proc);
  return proc;
}

/** first stdout line of a child that prints one JSON line when ready */
export async function firstLine(proc: Bun.Subprocess<"ignore", "pipe", "inherit">, what: string, timeoutMs = 15_000): Promise<string> {
  const reader = proc.stdout.getReader();
  let buf = "";
  const deadline = setTimeout(() => proc.kill(), timeoutMs);
  try {
    while (!buf.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`${what} exited before it was ready`);
      buf += new TextDecoder().decode(value);
    }
  } finally {
    clearTimeout(deadline);
    reader.releaseLock();
  }
  return buf.slice(0, buf.indexOf("\n"));
}

/** SIGTERM, then SIGKILL if it is still there after `graceMs` */
export async function stopChild(proc: Bun.Subprocess, graceMs = 10_000): Promise<void> {
  proc.kill();
  const killer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(killer);
}

export function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

function statusKiB(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

/** resident memory now */
export const rssMiB = (pid: number) => round1(statusKiB(pid, "VmRSS") / 1024);
/** the anonymous part of it (heap, allocator; not the executable's file pages, which the kernel can drop) */
export const anonMiB = (pid: number) => round1(statusKiB(pid, "RssAnon") / 1024);
/** the most resident memory the process has had since it started (the kernel keeps it: no sampling gaps) */
export const highWaterMiB = (pid: number) => round1(statusKiB(pid, "VmHWM") / 1024);

/**
 * The kernel's count of connections dropped because a listener's accept queue was full (TcpExt
 * ListenOverflows in /proc/net/netstat: the whole machine's, not one process's); undefined off Linux.
 * A dropped connection is retried a second later, which a scenario then reads as the server's slowness.
 */
export function listenOverflows(): number | undefined {
  try {
    const lines = readFileSync("/proc/net/netstat", "utf8").split("\n");
    const i = lines.findIndex((l) => l.startsWith("TcpExt:"));
    const names = lines[i]!.split(" ");
    const values = lines[i + 1]!.split(" ");
    const at = names.indexOf("ListenOverflows");
    return at > 0 ? Number(values[at]) : undefined;
  } catch {
    return undefined;
  }
}

const CLK_TCK = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** user + system CPU time of a /proc stat line, in ms, and the command (or thread) name in it */
function statCpu(stat: string): { name: string; ms: number } {
  // the command name (field 2) may hold spaces: count fields after its closing parenthesis (field 3 first)
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), ms: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK };
}

/** user + system CPU time the process has used, in ms (utime and stime of /proc/<pid>/stat) */
export const cpuMs = (pid: number): number => statCpu(readFileSync(`/proc/${pid}/stat`, "utf8")).ms;

/**
 * the same per thread, summed by thread name (`bun` or the binary's name: JavaScript; `HTTP Client`:
 * fetch; `JITWorker`: the JIT compiler; `HeapHelper`: the collector's markers)
 */
export function threadCpuMs(pid: number | "self"): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
    } catch {
      continue; // the thread ended
    }
    const { name, ms } = statCpu(stat);
    out.set(name, (out.get(name) ?? 0) + ms);
  }
  return out;
}

/** µs per request by thread between two threadCpuMs readings, largest first ("HTTP Client 45.4, …") */
export function threadsPerRequest(before: Map<string, number>, after: Map<string, number>, requests: number): string {
  return [...after]
    .map(([name, ms]) => [name, ((ms - (before.get(name) ?? 0)) * 1000) / requests] as const)
    .filter(([, us]) => us > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => `${name} ${us.toFixed(1)}`)
    .join(", ");
}
