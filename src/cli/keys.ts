// `switchyard keys …` and `switchyard usage …`: virtual keys and the usage log, straight on state.db in
// the data dir (a running server picks key changes up within a second). Tables for people, --json for
// scripts; the new key's secret is printed once, at create.
import type { Config } from "../config/schema";
import type { Logger } from "../core/log";
import { SqliteState } from "../state/sqlite";
import type { UsageBy } from "../state/usage";
import { KeyError, type KeyView } from "../keys/book";
import { dayStart } from "../keys/limiter";
import { NO_LIMITS, parseLimits, parseSince, type LimitsInput } from "../keys/limits-input";
import { Keys } from "../keys/service";
import { UsageError } from "./args";
import { renderTable } from "./table";

export const KEYS_HELP = `usage:
  switchyard keys create --name NAME [--models LIST] [--rpm N] [--tpm N] [--concurrency N]
                         [--daily-tokens N] [--monthly-tokens N] [--expires DATE|DURATION] [--json]
  switchyard keys list [--json]
  switchyard keys update NAME|ID [--name NEW] [same limit flags]
  switchyard keys revoke NAME|ID
  switchyard usage [--since DURATION|DATE] [--by key|account|model|day|hour] [--json]

LIST is comma-separated model names with * wildcards, matched against the model the client asks for.
A limit of 0 or "none" removes it; --expires takes a date (2027-01-31) or a duration (30d, 12h), or "never".
`;

const LIMIT_FLAGS: Record<string, keyof LimitsInput> = {
  "--models": "models",
  "--rpm": "rpm",
  "--tpm": "tpm",
  "--concurrency": "concurrency",
  "--daily-tokens": "dailyTokens",
  "--monthly-tokens": "monthlyTokens",
  "--expires": "expires",
};
const BY: UsageBy[] = ["key", "account", "model", "day", "hour"];

interface Io {
  config: Config;
  dataDir: string;
  log: Logger;
  out?: (s: string) => void;
  now?: () => number;
}

/** flags with values (--x v or --x=v), booleans, and positionals; an unknown flag is a usage error */
function parseFlags(cmd: string, args: string[], valued: string[], booleans: string[]) {
  const values: Record<string, string> = {};
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (booleans.includes(name)) flags.add(name);
    else if (valued.includes(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined) throw new UsageError(`${cmd}: ${name} needs a value`);
      values[name] = v;
    } else throw new UsageError(`${cmd}: unknown flag ${name}`);
  }
  return { values, flags, positional };
}

const limitsOf = (values: Record<string, string>): LimitsInput =>
  Object.fromEntries(Object.entries(LIMIT_FLAGS).flatMap(([flag, field]) => (flag in values ? [[field, values[flag]]] : [])));

const show = (v: number | null) => (v === null ? "-" : v.toLocaleString("en-US"));
const when = (t: number | null) => (t === null ? "never" : new Date(t).toISOString().replace(".000Z", "Z"));

export async function runKeys(args: string[], io: Io): Promise<number> {
  const sub = args[0];
  if (!sub || sub === "--help" || sub === "help" || args.includes("--help")) {
    (io.out ?? ((s) => process.stdout.write(s)))(KEYS_HELP);
    return sub ? 0 : 2;
  }
  return withKeys(io, (keys, out, now) => {
    const rest = args.slice(1);
    const limitFlags = Object.keys(LIMIT_FLAGS);
    switch (sub) {
      case "create": {
        const { values, flags, positional } = parseFlags("keys create", rest, ["--name", ...limitFlags], ["--json"]);
        if (positional.length) throw new UsageError(`keys create: unknown argument ${positional[0]}`);
        if (!values["--name"]) throw new UsageError("keys create: --name NAME is required");
        const limits = { ...NO_LIMITS, ...parseLimits(limitsOf(values), now) };
        const { key, secret } = keys.book.create(values["--name"], limits);
        if (flags.has("--json")) out(JSON.stringify({ key: secret, ...key }, null, 2) + "\n");
        else out(`created key "${key.name}" (${key.id})\n\n  ${secret}\n\nIt is shown only this once: store it now.\n`);
        return 0;
      }
      case "list": {
        const { flags, positional } = parseFlags("keys list", rest, [], ["--json"]);
        if (positional.length) throw new UsageError(`keys list: unknown argument ${positional[0]}`);
        const today = new Map(keys.report(dayStart(now), "key").map((r) => [r.group, r.input + r.output + r.thinking]));
        const list = keys.book.list().map((k) => ({ ...k, tokensToday: today.get(k.name) ?? 0 }));
        if (flags.has("--json")) out(JSON.stringify(list, null, 2) + "\n");
        else out(keysTable(list, now) + "\n");
        return 0;
      }
      case "update": {
        const { values, positional } = parseFlags("keys update", rest, ["--name", ...limitFlags], []);
        if (positional.length !== 1) throw new UsageError("keys update: name the key (NAME or ID), once");
        const patch = { ...parseLimits(limitsOf(values), now), ...(values["--name"] ? { name: values["--name"] } : {}) };
        const k = keys.book.update(positional[0]!, patch);
        out(`updated key "${k.name}"\n`);
        return 0;
      }
      case "revoke": {
        const { positional } = parseFlags("keys revoke", rest, [], []);
        if (positional.length !== 1) throw new UsageError("keys revoke: name the key (NAME or ID), once");
        const k = keys.book.revoke(positional[0]!);
        out(`revoked key "${k.name}" (${when(k.revokedAt)})\n`);
        return 0;
      }
      default:
        throw new UsageError(`keys: unknown subcommand ${sub}\n\n${KEYS_HELP}`);
    }
  });
}

export async function runUsage(args: string[], io: Io): Promise<number> {
  if (args.includes("--help")) {
    (io.out ?? ((s) => process.stdout.write(s)))(KEYS_HELP);
    return 0;
  }
  const { values, flags, positional } = parseFlags("usage", args, ["--since", "--by"], ["--json"]);
  if (positional.length) throw new UsageError(`usage: unknown argument ${positional[0]}`);
  const by = (values["--by"] ?? "key") as UsageBy;
  if (!BY.includes(by)) throw new UsageError(`usage: --by must be one of ${BY.join(", ")}`);
  return withKeys(io, (keys, out, now) => {
    let since: number;
    try {
      since = parseSince(values["--since"] ?? "24h", now);
    } catch (e) {
      throw new UsageError(`usage: --${(e as Error).message}`);
    }
    const rows = keys.report(since, by);
    if (flags.has("--json")) out(JSON.stringify(rows, null, 2) + "\n");
    else {
      const total = rows.reduce(
        (t, r) => ({
          requests: t.requests + r.requests,
          errors: t.errors + r.errors,
          input: t.input + r.input,
          output: t.output + r.output,
          thinking: t.thinking + r.thinking,
          cached: t.cached + r.cached,
        }),
        { requests: 0, errors: 0, input: 0, output: 0, thinking: 0, cached: 0 },
      );
      const line = (g: string, r: typeof total) =>
        [g, r.requests, r.errors, r.input, r.output, r.thinking, r.cached].map((v) =>
          typeof v === "number" ? v.toLocaleString("en-US") : v,
        );
      out(`usage since ${new Date(since).toISOString()} by ${by}\n`);
      out(
        renderTable(
          [by.toUpperCase(), "REQUESTS", "ERRORS", "INPUT", "OUTPUT", "THINKING", "CACHED"],
          [...rows.map((r) => line(r.group, r)), line("total", total)],
        ) + "\n",
      );
    }
    return 0;
  });
}

/** state.db opened for one command (a corrupt file is set aside with a message, as for the server) */
function withKeys(io: Io, fn: (keys: Keys, out: (s: string) => void, now: number) => number): number {
  const out = io.out ?? ((s: string) => void process.stdout.write(s));
  const state = SqliteState.open(io.dataDir, (n) => io.log[n.level](n.message));
  const keys = new Keys({ db: state.database, log: io.log, retentionDays: io.config.usage.retentionDays, now: io.now });
  try {
    return fn(keys, out, (io.now ?? Date.now)());
  } catch (e) {
    if (e instanceof KeyError) {
      const flag = e.param ? (Object.entries(LIMIT_FLAGS).find(([, f]) => f === e.param)?.[0] ?? `--${e.param}`) : undefined;
      process.stderr.write(`switchyard: ${flag ? `${flag}: ` : ""}${e.message}\n`);
      return e.status === 404 || e.status === 409 ? 1 : 2;
    }
    throw e;
  } finally {
    keys.close();
    state.close();
  }
}

function keysTable(list: (KeyView & { tokensToday: number })[], now: number): string {
  if (!list.length) return "no keys yet: create one with `switchyard keys create --name NAME`";
  const rows = list.map((k) => [
    k.name,
    k.prefix + "…",
    k.revokedAt !== null ? "revoked" : k.expiresAt !== null && k.expiresAt <= now ? "expired" : "active",
    k.models?.join(",") ?? "*",
    show(k.rpm),
    show(k.tpm),
    show(k.concurrency),
    show(k.dailyTokens),
    show(k.monthlyTokens),
    when(k.expiresAt),
    k.tokensToday.toLocaleString("en-US"),
    k.id,
  ]);
  return renderTable(["NAME", "KEY", "STATE", "MODELS", "RPM", "TPM", "CONC", "DAILY", "MONTHLY", "EXPIRES", "TOKENS TODAY", "ID"], rows);
}
