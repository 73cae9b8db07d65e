// Command-line parsing: global flags anywhere, then the command and its own arguments.
import type { Flags } from "../config/load";

export class UsageError extends Error {}

export const USAGE = `usage: switchyard [command] [flags]

commands:
  serve                                   run the gateway (default command)
  demo                                    run the gateway against the built-in upstream simulator with a demo
                                          account, in a temporary data dir (never Redis, never Google)
  accounts add --refresh-token TOKEN      add/update one account (validates it upstream first)
  accounts login [--no-browser]           Google OAuth; prints a URL, accepts the pasted redirect URL or code
  accounts list [--json]                  table: email, state, tier, project, quota, cooldowns
  accounts remove EMAIL|ID
  accounts enable|disable EMAIL|ID
  accounts import PATH                    our export, an Antigravity-Manager data dir or accounts/*.json,
                                          a JSON array of {refresh_token|refreshToken}, or text holding tokens
                                          (PATH "-": stdin)
  accounts export [--out FILE]            JSON with refresh tokens (file mode 0600)
  accounts refresh [EMAIL|ID]             refresh tokens, project and quota now
  models [--json]                         the models Google serves the pool today, and forwarding rules
  keys create --name NAME [--models LIST] [--rpm N] [--tpm N] [--concurrency N]
              [--daily-tokens N] [--monthly-tokens N] [--expires DATE|DURATION] [--json]
                                          a virtual API key (sk-sy-…, printed once) with limits
  keys list [--json]                      table: name, key prefix, state, limits, expiry, tokens today
  keys update NAME|ID [--name NEW] [limit flags] [--json]
                                          change a key's name or limits (0 or none removes a limit)
  keys revoke NAME|ID [--json]            the key answers 401 from now on; its usage stays
  usage [--since DURATION|DATE] [--by key|account|model|day|hour] [--json]
                                          requests, errors and tokens from the usage log
  config show [--json]                    the effective configuration: each value and where it comes from
  config validate [FILE]                  check a config file (default: the one in use); names a bad key
  config schema                           the JSON Schema of config.json (for its "$schema" key)
  service install|uninstall [--user|--system] [--print]   systemd unit (Linux) / launchd plist (macOS)
  version | --version | --help

global flags:
  --data-dir DIR      data directory (default: $SWITCHYARD_DATA_DIR, $STATE_DIRECTORY, ~/.switchyard)
  --config FILE       config file (default: DATA_DIR/config.json)
  --port N            listen port (default 8045)
  --host ADDR         listen address (default 127.0.0.1)
  --log-level LEVEL   debug | info | warn | error | silent
`;

const GLOBAL: Record<string, keyof Flags> = {
  "--data-dir": "dataDir",
  "--config": "config",
  "--port": "port",
  "--host": "host",
  "--log-level": "logLevel",
};

export interface Parsed {
  command: string;
  rest: string[];
  flags: Flags;
}

export function parseArgs(argv: string[]): Parsed {
  const flags: Flags = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf("=");
    const name = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
    const key = GLOBAL[name];
    if (key) {
      const inline = eq > 0 && a.startsWith("--");
      const value = inline ? a.slice(eq + 1) : argv[++i];
      // `--data-dir --json` is a forgotten value, not a folder named --json
      if (value === undefined || value === "" || (!inline && value.startsWith("--"))) throw new UsageError(`${name} needs a value`);
      flags[key] = value;
      continue;
    }
    rest.push(a);
  }
  let command = "serve";
  if (rest.length > 0 && !rest[0]!.startsWith("-")) command = rest.shift()!;
  else if (rest[0] === "--version" || rest[0] === "-v") ((command = "version"), rest.shift());
  else if (rest[0] === "--help" || rest[0] === "-h") ((command = "help"), rest.shift());
  return { command, rest, flags };
}

/** for commands that take no arguments of their own */
export function noExtraArgs(command: string, rest: string[]) {
  if (rest.length > 0) throw new UsageError(`${command}: unknown ${rest[0]!.startsWith("-") ? "flag" : "argument"} ${rest[0]}`);
}

/**
 * `switchyard COMMAND [SUB] --help`: the usage lines of that command (and subcommand), then the global
 * flags. Undefined for a command the usage does not know.
 */
export function helpFor(command: string, rest: string[]): string | undefined {
  const lines = USAGE.split("\n");
  const commands = lines.slice(lines.indexOf("commands:") + 1, lines.indexOf("global flags:") - 1);
  const pick = (prefix: string) => {
    const out: string[] = [];
    let taking = false;
    for (const l of commands) {
      if (/^  \S/.test(l)) taking = l.slice(2).startsWith(prefix);
      if (taking) out.push(l);
    }
    return out;
  };
  const word = rest.find((a) => !a.startsWith("-") && a !== "help");
  // only a subcommand the usage lists (`config show`) goes in the title, not any other word
  const sub = word && pick(`${command} ${word}`).length ? word : undefined;
  const found = (sub ? pick(`${command} ${sub}`) : pick(command)).join("\n");
  if (!found) return undefined;
  const globals = lines.slice(lines.indexOf("global flags:"));
  // the demo never reads $SWITCHYARD_DATA_DIR or $STATE_DIRECTORY (src/cli/demo.ts)
  if (command === "demo")
    globals.splice(
      globals.findIndex((l) => l.startsWith("  --data-dir")),
      2,
      ...DEMO_FILES,
    );
  return `usage: switchyard ${command}${sub ? ` ${sub}` : ""} [flags]\n\n${found}\n\n${globals.join("\n")}`;
}

const DEMO_FILES = [
  "  --data-dir DIR      data directory (default: a temporary one, removed on exit; not $SWITCHYARD_DATA_DIR).",
  "                      DIR must be new, empty or an earlier demo's: one holding other accounts is refused",
  "  --config FILE       config file (default: DATA_DIR/config.json with --data-dir, else none)",
];

/** the flags that take no value: after one of them a bare `help` is a request for help */
const SWITCHES = new Set(["--json", "--no-browser", "--print", "--user", "--system", "--help", "-h", "--version"]);

/**
 * `--help`, `-h` or `help` anywhere after the command or its subcommand. A `help` that is a flag's value
 * (`keys create --name help`, `--name=help`) is that value, not a request for help.
 */
export const wantsHelp = (rest: string[]) =>
  rest.includes("--help") ||
  rest.includes("-h") ||
  rest.some(
    (a, i) => a === "help" && !(i > 0 && rest[i - 1]!.startsWith("-") && !rest[i - 1]!.includes("=") && !SWITCHES.has(rest[i - 1]!)),
  );
