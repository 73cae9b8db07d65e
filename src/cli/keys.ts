// `switchyard keys …`: virtual keys, straight on state.db in the data dir (a running server picks key
// changes up within a second). Tables for people, --json for scripts; the new key's secret is printed
// once, at create. The state.db plumbing here is shared with `switchyard usage` (usage.ts).
import type { Config } from "../config/schema";
import type { Logger } from "../core/log";
import { SqliteState } from "../state/sqlite";
import { SqliteKeys } from "../state/keys";
import { RedisState } from "../state/redis";
import { RedisKeys } from "../state/redis-keys";
import { RedisUsage } from "../state/redis-usage";
import { KeyError, type KeyView } from "../keys/book";
import { dayStart } from "../keys/limiter";
import { NO_LIMITS, parseLimits, type LimitsInput } from "../keys/limits-input";
import { Keys } from "../keys/service";
import { UsageError, wantsHelp } from "./args";
import { renderTable } from "./table";

export const KEYS_HELP = `usage:
  switchyard keys create --name NAME [--models LIST] [--rpm N] [--tpm N] [--concurrency N]
                         [--daily-tokens N] [--monthly-tokens N] [--expires DATE|DURATION] [--json]
  switchyard keys list [--json]
  switchyard keys update NAME|ID [--name NEW] [same limit flags] [--json]
  switchyard keys revoke NAME|ID [--json]

LIST is comma-separated model names with * wildcards, matched against the model the client asks for.
A limit of 0 or "none" removes it; --expires takes a date (2027-01-31) or a duration (30d, 12h), or "never".
The key (sk-sy-…) is printed once, at create; list shows only its first characters.
See also: switchyard usage --help
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

export interface Io {
  config: Config;
  dataDir: string;
  log: Logger;
  out?: (s: string) => void;
  now?: () => number;
}

/** `--help`, `-h` or `help` after the subcommand too (`keys create help`), as after every command */
export const isHelp = wantsHelp;

/** flags with values (--x v or --x=v), booleans, and positionals; an unknown flag is a usage error naming it */
export function parseFlags(cmd: string, args: string[], valued: string[], booleans: string[]) {
  const values: Record<string, string> = {};
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("-") || a === "-") {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (booleans.includes(name)) {
      if (eq > 0) throw new UsageError(`${cmd}: ${name} takes no value`);
      flags.add(name);
    } else if (valued.includes(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined || v === "" || (eq < 0 && v.startsWith("--"))) throw new UsageError(`${cmd}: ${name} needs a value`);
      values[name] = v;
    } else throw new UsageError(`${cmd}: unknown flag ${name}`);
  }
  return { values, flags, positional };
}

/** the CLI flag for a KeyError's field (rpm → --rpm, dailyTokens → --daily-tokens) */
const flagOf = (param: string) =>
  Object.entries(LIMIT_FLAGS).find(([, f]) => f === param)?.[0] ?? `--${param.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}`;

/**
 * state.db opened for one command and closed after it (a corrupt file is set aside with a message, as
 * for the server). A KeyError is reported naming its flag: exit 2 for a bad value, 1 for an unknown key
 * or a name already taken. A change is refused when state.db could only be held in memory. With
 * state.redisUrl the keys and usage totals are the ones shared in Redis (refused while it is unreachable).
 */
export async function withKeys(
  io: Io,
  write: boolean,
  fn: (keys: Keys, out: (s: string) => void, now: number) => number | Promise<number>,
): Promise<number> {
  const out = io.out ?? ((s: string) => void process.stdout.write(s));
  const state = SqliteState.open(io.dataDir, (n) => process.stderr.write(`switchyard: ${n.message}\n`));
  const redisUrl = io.config.state.redisUrl;
  const redis = redisUrl ? await RedisState.fromConfig({ redisUrl, redisPrefix: io.config.state.redisPrefix }, io.log) : undefined;
  if (redis && !redis.healthy) {
    process.stderr.write(`switchyard: Redis (${redis.path}) is unreachable: the keys are shared there, nothing was done\n`);
    redis.close();
    state.close();
    return 1;
  }
  const sharedKeys = redis ? await RedisKeys.open(redis, new SqliteKeys(state.database)) : undefined;
  const sharedUsage = redis ? await RedisUsage.open(redis) : undefined;
  const keys = new Keys({
    db: state.database,
    log: io.log,
    retentionDays: io.config.usage.retentionDays,
    now: io.now,
    shared: sharedKeys,
    sharedUsage,
  });
  try {
    if (state.database.filename === ":memory:") {
      if (write) {
        process.stderr.write(`switchyard: ${state.path} cannot be written: the change would be lost, nothing was done\n`);
        return 1;
      }
      // an empty stand-in would answer "no keys" and zero usage as if they were true
      if (!redis) {
        process.stderr.write(`switchyard: ${state.path} cannot be read here: nothing to report\n`);
        return 1;
      }
    }
    return await fn(keys, out, (io.now ?? Date.now)());
  } catch (e) {
    if (e instanceof KeyError) {
      const flag = e.param && e.status === 400 ? flagOf(e.param) : undefined;
      process.stderr.write(`switchyard: ${flag ? `${flag}: ` : ""}${e.message}\n`);
      return e.status === 400 ? 2 : 1;
    }
    throw e;
  } finally {
    keys.close();
    state.close();
    await sharedKeys?.settle();
    redis?.close();
  }
}

const limitsOf = (values: Record<string, string>): LimitsInput =>
  Object.fromEntries(Object.entries(LIMIT_FLAGS).flatMap(([flag, field]) => (flag in values ? [[field, values[flag]]] : [])));

const show = (v: number | null) => (v === null ? "-" : v.toLocaleString("en-US"));
/** an expiry for people: to the minute, UTC (a time stored before dates were checked may be past any date) */
const when = (t: number | null) => {
  if (t === null) return "never";
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? "after 9999" : `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
};
const json = (v: unknown) => JSON.stringify(v, null, 2) + "\n";

export async function runKeys(args: string[], io: Io): Promise<number> {
  const sub = args[0];
  if (sub === undefined || sub.startsWith("-") || isHelp(args)) {
    if (sub === undefined || (sub.startsWith("-") && !isHelp(args))) {
      process.stderr.write(`switchyard: keys: name a subcommand (create, list, update, revoke)\n\n${KEYS_HELP}`);
      return 2;
    }
    (io.out ?? ((s) => process.stdout.write(s)))(KEYS_HELP);
    return 0;
  }
  const rest = args.slice(1);
  const limitFlags = Object.keys(LIMIT_FLAGS);
  switch (sub) {
    case "create": {
      const { values, flags, positional } = parseFlags("keys create", rest, ["--name", ...limitFlags], ["--json"]);
      if (positional.length) throw new UsageError(`keys create: unknown argument ${positional[0]} (the name goes in --name)`);
      if (!values["--name"]) throw new UsageError("keys create: --name NAME is required");
      return withKeys(io, true, (keys, out, now) => {
        const limits = { ...NO_LIMITS, ...parseLimits(limitsOf(values), now) };
        const { key, secret } = keys.book.create(values["--name"]!, limits);
        if (flags.has("--json")) out(json({ key: secret, ...key }));
        else out(`created key "${key.name}" (${key.id})\n\n  ${secret}\n\nIt is shown only this once: store it now.\n`);
        return 0;
      });
    }
    case "list": {
      const { flags, positional } = parseFlags("keys list", rest, [], ["--json"]);
      if (positional.length) throw new UsageError(`keys list: unknown argument ${positional[0]}`);
      return withKeys(io, false, async (keys, out, now) => {
        const today = new Map((await keys.report(dayStart(now), "key")).map((r) => [r.group, r.input + r.output + r.thinking]));
        const list = keys.book.list().map((k) => ({ ...k, tokensToday: today.get(k.name) ?? 0 }));
        out(flags.has("--json") ? json(list) : keysTable(list, now) + "\n");
        return 0;
      });
    }
    case "update": {
      const { values, flags, positional } = parseFlags("keys update", rest, ["--name", ...limitFlags], ["--json"]);
      if (positional.length !== 1) throw new UsageError("keys update: name the key (NAME or ID), once");
      if (values["--name"] === "") throw new UsageError("keys update: --name needs a value");
      return withKeys(io, true, (keys, out, now) => {
        const patch = { ...parseLimits(limitsOf(values), now), ...(values["--name"] ? { name: values["--name"] } : {}) };
        const k = keys.book.update(positional[0]!, patch);
        out(flags.has("--json") ? json(k) : `updated key "${k.name}" (${k.id})\n`);
        return 0;
      });
    }
    case "revoke": {
      const { flags, positional } = parseFlags("keys revoke", rest, [], ["--json"]);
      if (positional.length !== 1) throw new UsageError("keys revoke: name the key (NAME or ID), once");
      return withKeys(io, true, (keys, out) => {
        const k = keys.book.revoke(positional[0]!);
        out(flags.has("--json") ? json(k) : `revoked key "${k.name}" (${when(k.revokedAt)}): it answers 401 from now on\n`);
        return 0;
      });
    }
    default:
      throw new UsageError(`keys: unknown subcommand ${sub} (create, list, update, revoke)`);
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
