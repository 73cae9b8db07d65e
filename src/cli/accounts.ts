// `switchyard accounts …` (docs/contract.md §2). Results go to stdout, progress and errors to stderr.
// Exit codes: 0 ok, 1 runtime failure (e.g. a token Google refused), 2 usage error.
import type { Config } from "../config/schema";
import type { Logger } from "../core/log";
import { openPool, type Pool } from "../pool/index";
import type { AccountView } from "../accounts/types";
import { importTokens, ImportSourceError, parseImportText, readImportSource, type ImportSummary } from "../accounts/import";
import { LOGIN_TIMEOUT_MS, runLogin, tryOpenBrowser } from "../accounts/login";
import { writeFileAtomicSync } from "../core/atomic";
import { accountsTable } from "./table";
import { wantsHelp } from "./args";

export interface AccountsEnv {
  config: Config;
  dataDir: string;
  log: Logger;
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
  /** pasted input for `login` (and `add --refresh-token -`); defaults to the process's stdin */
  stdin?: AsyncIterable<string>;
  /** how `login` opens the authorization URL (tests stub it); default: the system's browser */
  openBrowser?: (url: string) => void;
}

export const ACCOUNTS_USAGE = `usage: switchyard accounts <command>
  add --refresh-token TOKEN    add/update one account (validates it upstream first; TOKEN "-" reads it from stdin)
  login [--no-browser] [--timeout SECONDS]
                               Google OAuth; prints a URL, accepts the pasted redirect URL or code
                               (gives up after --timeout seconds, 0.1 to 86400, default 600)
  list [--json]                table: email, state, tier, project, quota, cooldowns
  remove EMAIL|ID
  enable EMAIL|ID
  disable EMAIL|ID
  import PATH                  our export, an Antigravity-Manager data dir or accounts/*.json,
                               a JSON array of {refresh_token|refreshToken}, or text holding tokens
                               (PATH "-" reads a file's content from stdin)
  export [--out FILE]          JSON with refresh tokens (file mode 0600); stdout without --out
  refresh [EMAIL|ID]           refresh tokens, project and quota now (all accounts without an argument)
`;

class Usage extends Error {}

/** `login --timeout`: a day at most */
const MAX_LOGIN_TIMEOUT_S = 86400;

/** subcommands that change nothing: they answer from the local copy while Redis is unreachable */
const READ_ONLY = new Set(["list", "export"]);

/** Flags of one subcommand: `--name value`, `--name=value`, or boolean switches. */
function parseSub(args: string[], valued: string[], switches: string[]) {
  const values: Record<string, string> = {};
  const on = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--") || a === "-") {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (valued.includes(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined || v === "") throw new Usage(`--${name} needs a value`);
      values[name] = v;
    } else if (switches.includes(name) && eq < 0) on.add(name);
    else throw new Usage(`unknown flag ${a}`);
  }
  return { values, on, positional };
}

function exactly(positional: string[], n: number, what: string) {
  if (positional.length < n) throw new Usage(`missing ${what}`);
  if (positional.length > n) throw new Usage(`unexpected argument ${positional[n]}`);
}

async function* processStdin(): AsyncIterable<string> {
  const dec = new TextDecoder();
  for await (const chunk of process.stdin) yield typeof chunk === "string" ? chunk : dec.decode(chunk as Uint8Array, { stream: true });
}

async function readAll(input: AsyncIterable<string>): Promise<string> {
  let s = "";
  for await (const c of input) s += c;
  return s;
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function runAccounts(argv: string[], env: AccountsEnv): Promise<number> {
  const out = env.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = env.stderr ?? ((s: string) => void process.stderr.write(s));
  const stdin = () => env.stdin ?? processStdin();
  const [sub, ...args] = argv;
  const help = (a: string) => a === "help" || a === "--help" || a === "-h";
  if (!sub || help(sub) || wantsHelp(args)) {
    (sub ? out : err)(ACCOUNTS_USAGE);
    return sub ? 0 : 2;
  }

  // Parse everything before opening the pool: a usage error must not touch the store.
  let run: (pool: Pool) => Promise<number>;
  try {
    run = plan(sub, args, { out, err, stdin, config: env.config, openBrowser: env.openBrowser ?? tryOpenBrowser });
  } catch (e) {
    if (!(e instanceof Usage)) throw e;
    err(`switchyard accounts ${sub}: ${e.message}\n\n${ACCOUNTS_USAGE}`);
    return 2;
  }

  let pool;
  let code: number;
  try {
    pool = await openPool({ config: env.config, dataDir: env.dataDir, log: env.log, background: false });
  } catch (e) {
    err(`switchyard accounts: cannot open the account store in ${env.dataDir}: ${errText(e)}\n`);
    return 1;
  }
  // with Redis configured the accounts live there: a change made while it is unreachable would be
  // undone at the next start (Redis's copy wins), so none is made (as for keys)
  if (pool.stateStatus() === "degraded" && !READ_ONLY.has(sub)) {
    err(`switchyard accounts ${sub}: Redis (${pool.sharedState?.path}) is unreachable: the accounts are shared there, nothing was done\n`);
    await pool.close().catch(() => {});
    return 1;
  }
  try {
    code = await run(pool);
  } catch (e) {
    err(`switchyard accounts ${sub}: ${errText(e)}\n`);
    code = 1;
  }
  try {
    await pool.close();
  } catch (e) {
    // a change that could not be saved was reported by the command already; say it only if not
    if (code === 0) err(`switchyard accounts ${sub}: ${errText(e)}\n`);
    return 1;
  }
  return code;
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  stdin: () => AsyncIterable<string>;
  config: Config;
  openBrowser: (url: string) => void;
}

function accountLine(a: AccountView): string {
  const bits = [
    a.state === "active" ? undefined : a.state,
    a.projectId ? `project ${a.projectId}` : "no project",
    a.tier ? `tier ${a.tier}` : undefined,
  ];
  return `${a.email} (${bits.filter(Boolean).join(", ")})`;
}

function notFound(io: Io, who: string): number {
  io.err(`no account matches "${who}" (see \`switchyard accounts list\`)\n`);
  return 1;
}

/** Validate the arguments of one subcommand and return the work to do with an open pool. */
function plan(sub: string, args: string[], io: Io): (pool: Pool) => Promise<number> {
  switch (sub) {
    case "add": {
      const { values, positional } = parseSub(args, ["refresh-token"], []);
      exactly(positional, 0, "");
      const given = values["refresh-token"];
      if (!given) throw new Usage("--refresh-token TOKEN is required");
      return async (pool) => {
        const token = given === "-" ? (await readAll(io.stdin())).trim() : given.trim();
        if (!token) throw new Error("no refresh token on stdin");
        try {
          const { account, created } = await pool.addByRefreshToken(token);
          io.out(`${created ? "added" : "updated"} ${accountLine(account)}\n`);
          if (account.state === "needs_verification")
            io.out(`Google asks to verify this account: ${account.verificationUrl ?? "(no URL given)"}\n`);
          return 0;
        } catch (e) {
          io.err(`could not add the account: ${errText(e).split(token).join("…")}\n`);
          return 1;
        }
      };
    }

    case "login": {
      const { values, on, positional } = parseSub(args, ["timeout"], ["no-browser"]);
      exactly(positional, 0, "");
      // plain digits: Number() also takes 1e3, 0x10 and Infinity, and a timer past 2^31-1 ms fires at once
      const raw = values.timeout;
      const timeoutS = raw === undefined ? LOGIN_TIMEOUT_MS / 1000 : /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
      if (!(timeoutS >= 0.1 && timeoutS <= MAX_LOGIN_TIMEOUT_S))
        throw new Usage(`--timeout expects seconds from 0.1 to ${MAX_LOGIN_TIMEOUT_S}, got "${raw}"`);
      return async (pool) => {
        try {
          const { account, created } = await runLogin({
            config: io.config,
            adder: pool,
            input: io.stdin(),
            print: io.err,
            openBrowser: on.has("no-browser") ? undefined : io.openBrowser,
            timeoutMs: timeoutS * 1000,
          });
          io.out(`${created ? "added" : "updated"} ${accountLine(account)}\n`);
          return 0;
        } catch (e) {
          io.err(`login failed: ${errText(e)}\n`);
          return 1;
        }
      };
    }

    case "list": {
      const { on, positional } = parseSub(args, [], ["json"]);
      exactly(positional, 0, "");
      return async (pool) => {
        const views = pool.list();
        io.out(on.has("json") ? JSON.stringify(views, null, 2) + "\n" : accountsTable(views) + "\n");
        return 0;
      };
    }

    case "remove": {
      const { positional } = parseSub(args, [], []);
      exactly(positional, 1, "EMAIL|ID");
      const who = positional[0]!;
      return async (pool) => {
        const a = pool.get(who);
        if (!a || !(await pool.remove(who))) return notFound(io, who);
        io.out(`removed ${a.email}\n`);
        return 0;
      };
    }

    case "enable":
    case "disable": {
      const { positional } = parseSub(args, [], []);
      exactly(positional, 1, "EMAIL|ID");
      const who = positional[0]!;
      return async (pool) => {
        if (!pool.get(who)) return notFound(io, who);
        const a = await pool.setEnabled(who, sub === "enable");
        io.out(`${sub}d ${accountLine(a)}\n`);
        return 0;
      };
    }

    case "import": {
      const { positional } = parseSub(args, [], []);
      exactly(positional, 1, "PATH");
      const path = positional[0]!;
      // "-" is stdin, as for `add --refresh-token -`: any format but a folder
      const from = path === "-" ? "stdin" : path;
      return async (pool) => {
        let parsed;
        try {
          parsed = path === "-" ? parseImportText(await readAll(io.stdin())) : await readImportSource(path);
        } catch (e) {
          if (e instanceof ImportSourceError) return (io.err(`${e.message}\n`), 1);
          throw e;
        }
        if (parsed.tokens.length === 0) {
          io.err(`no refresh tokens found in ${from}\n`);
          return 1;
        }
        io.err(
          `found ${parsed.tokens.length} refresh token${parsed.tokens.length === 1 ? "" : "s"} in ${from} (${parsed.format}); validating each with Google…\n`,
        );
        const summary = await importTokens(pool, parsed.tokens, (i, n, r) =>
          io.err(`[${i}/${n}] #${r.index} ${r.token}${r.email ? ` ${r.email}` : ""}: ${r.status}${r.reason ? ` (${r.reason})` : ""}\n`),
        );
        summary.format = parsed.format;
        io.out(formatImportSummary(summary));
        // a partial import is not a success: scripts must see that entries failed
        return summary.rejected > 0 || summary.added + summary.updated === 0 ? 1 : 0;
      };
    }

    case "export": {
      const { values, positional } = parseSub(args, ["out"], []);
      exactly(positional, 0, "");
      return async (pool) => {
        const data = JSON.stringify(pool.exportAccounts(), null, 2) + "\n";
        const n = pool.list().length;
        if (!values.out) {
          io.out(data);
          return 0;
        }
        writeFileAtomicSync(values.out, data, 0o600);
        io.err(`exported ${n} account${n === 1 ? "" : "s"} to ${values.out} (mode 0600). It holds refresh tokens: keep it private.\n`);
        return 0;
      };
    }

    case "refresh": {
      const { positional } = parseSub(args, [], []);
      if (positional.length > 1) throw new Usage(`unexpected argument ${positional[1]}`);
      const who = positional[0];
      return async (pool) => {
        const targets = who === undefined ? pool.list() : [pool.get(who)].filter((a): a is AccountView => !!a);
        if (who !== undefined && targets.length === 0) return notFound(io, who);
        // a few at a time: quick for 40 accounts, gentle on Google
        let failed = 0;
        let done = 0;
        const queue = [...targets];
        const worker = async () => {
          for (let a = queue.shift(); a; a = queue.shift()) {
            const [r] = await pool.refresh(a.id);
            const ok = r?.ok ?? false;
            if (!ok) failed++;
            done++;
            if (targets.length > 1)
              io.err(`[${done}/${targets.length}] ${a.email}: ${ok ? "ok" : `failed (${r?.error ?? "unknown error"})`}\n`);
            else if (!ok) io.err(`${a.email}: ${r?.error ?? "unknown error"}\n`);
          }
        };
        await Promise.all(Array.from({ length: Math.min(4, targets.length) }, worker));
        const after = targets.map((a) => pool.get(a.id)).filter((a): a is AccountView => !!a);
        io.out(
          `refreshed ${targets.length - failed} of ${targets.length} account${targets.length === 1 ? "" : "s"}${failed ? `, ${failed} failed` : ""}\n`,
        );
        if (after.length > 0) io.out(accountsTable(after) + "\n");
        return failed > 0 ? 1 : 0;
      };
    }

    default:
      throw new Usage(`unknown command "${sub}"`);
  }
}

export function formatImportSummary(s: ImportSummary): string {
  const lines = [
    `added ${s.added}, updated ${s.updated}, rejected ${s.rejected} (of ${s.total} token${s.total === 1 ? "" : "s"}${s.format ? `, format ${s.format}` : ""})`,
  ];
  for (const r of s.results) if (r.status === "rejected") lines.push(`  rejected ${r.token}: ${r.reason}`);
  return lines.join("\n") + "\n";
}
