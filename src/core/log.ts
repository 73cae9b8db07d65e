// Log lines on stdout, one per event, with levels: JSON for machines (the default), or text for people
// (`log.format`). Never pass secrets in `fields`: keys that look secret are masked anyway as a second
// line of defence.
import { writeSync } from "node:fs";

export type Level = "debug" | "info" | "warn" | "error" | "silent";
export type Format = "json" | "text";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const SECRET_KEY = /(token|secret|password|api[_-]?key|authorization|refresh)/i;
/** a log line stays readable whatever a client sent: long strings are cut (a 5 MB model name is not logged) */
export const MAX_FIELD_CHARS = 2000;
const MAX_LINE_CHARS = 16_000;

function bounded(v: unknown): unknown {
  if (typeof v === "string") return v.length > MAX_FIELD_CHARS ? `${v.slice(0, MAX_FIELD_CHARS)}… (${v.length} chars)` : v;
  return v;
}

export interface Logger {
  level: Level;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** `time LEVEL msg key=value …`: a value with spaces, quotes or `=` is JSON-quoted, objects are JSON */
function textLine(time: string, lvl: Level, msg: string, fields: Record<string, unknown>): string {
  const parts = [time, lvl.toUpperCase().padEnd(5), msg];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (typeof v === "number" || typeof v === "boolean" || v === null) parts.push(`${k}=${v}`);
    else {
      const s = typeof v === "string" ? v : JSON.stringify(v);
      parts.push(`${k}=${/^[^\s"=]+$/.test(s) ? s : JSON.stringify(s)}`);
    }
  }
  return parts.join(" ").replace(/[\r\n]+/g, " ");
}

/**
 * stdout, one write per turn of the event loop: under load a write per request line is a syscall each
 * (a few % of the CPU); whatever is pending still goes out when the process exits. Written through Bun's
 * own writer on fd 1, not `process.stdout`: its first use loads Node's stream modules, ~20 ms of every
 * start-up (docs/performance.md, "Start-up"). Unreferenced: it never keeps the process alive.
 */
let pending: string[] = [];
let sink: ReturnType<typeof Bun.stdout.writer> | undefined;
function flushStdout(atExit?: unknown): void {
  if (pending.length === 0) return;
  const text = pending.join("\n") + "\n";
  pending = [];
  // at exit there is no later turn for an asynchronous write to finish in: what the writer still holds
  // goes first, then the rest at once
  if (typeof atExit === "number") {
    settle(() => sink?.flush());
    settle(() => writeSync(1, text));
    return;
  }
  if (!sink) (sink = Bun.stdout.writer()).unref();
  const s = sink;
  settle(() => (s.write(text), s.flush()));
}
/** a closed stdout (the reader went away: a log shipper that died, `| head`) must not end the gateway: its lines are dropped */
function settle(write: () => unknown): void {
  try {
    const r = write();
    if (r instanceof Promise) r.catch(() => {});
  } catch {
    // dropped, as above
  }
}
function batchedStdout(line: string): void {
  if (pending.length === 0) {
    setImmediate(flushStdout);
    if (!exitHooked) ((exitHooked = true), process.on("exit", flushStdout));
  }
  pending.push(line);
}
let exitHooked = false;

/** text for people on stdout (a banner, a generated key), in order with the log lines around it */
export function printStdout(text: string): void {
  batchedStdout(text.endsWith("\n") ? text.slice(0, -1) : text);
}

/** the time as ISO text, made once per millisecond (lines under load share it) */
let isoMs = -1;
let iso = "";
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) ((isoMs = ms), (iso = new Date(ms).toISOString()));
  return iso;
}

/** field names already checked against SECRET_KEY (a handful, the same on every line) */
const secretNames = new Map<string, boolean>();
function isSecretName(k: string): boolean {
  let s = secretNames.get(k);
  if (s === undefined) {
    s = SECRET_KEY.test(k);
    if (secretNames.size < 1000) secretNames.set(k, s);
  }
  return s;
}

export function createLogger(level: Level = "info", write: (line: string) => void = batchedStdout, format: Format = "json"): Logger {
  const log = (lvl: Level, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < RANK[logger.level]) return;
    const time = isoNow();
    // the line's object is built once, its fields after time/level/msg (a field of the same name wins)
    const entry: Record<string, unknown> = format === "text" ? {} : { time, level: lvl, msg: bounded(msg) };
    for (const k in fields) {
      const v = fields[k];
      entry[k] = v !== undefined && isSecretName(k) ? "[redacted]" : bounded(v);
    }
    if (format === "text") {
      const line = textLine(time, lvl, String(bounded(msg)), entry);
      write(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line);
      return;
    }
    let line = JSON.stringify(entry);
    // nested values are not cut field by field: the line as a whole is bounded (and stays one line)
    if (line.length > MAX_LINE_CHARS)
      line = JSON.stringify({ time, level: lvl, msg: bounded(msg), truncated: line.slice(0, MAX_LINE_CHARS) });
    write(line);
  };
  const logger: Logger = {
    level,
    debug: (m, f) => log("debug", m, f),
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
  };
  return logger;
}

export const silentLogger = (): Logger => createLogger("silent");

/**
 * A repeated line said at most once per `everyMs` (a failure that recurs every second is logged once a
 * minute): `open()` is true when the line may go out, and starts the next wait.
 */
export class LogGate {
  private at = -Infinity;
  constructor(private readonly everyMs: number) {}

  open(now = Date.now()): boolean {
    if (now - this.at < this.everyMs) return false;
    this.at = now;
    return true;
  }
}
