#!/usr/bin/env bun
// The switchyard command (docs/contract.md §2). Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
// Only light modules are imported here: the entry may restart the process before the rest is loaded
// (src/cli/startup-env.ts restartEarly); each command loads what it needs.
import { helpFor, parseArgs, noExtraArgs, USAGE, UsageError, wantsHelp } from "./cli/args";
import { restartEarly } from "./cli/startup-env";
import { ConfigError, type Flags } from "./config/files";
import { ListenError } from "./server/listen";
import { COMMIT, VERSION } from "./version";

/** `ownProcess`: the process runs the CLI itself (the entry below), so `serve` and `demo` may restart it in place */
export async function main(argv: string[], opts: { ownProcess?: boolean } = {}): Promise<number> {
  // where a usage error sends people: the command's help, or (an unknown command) the whole usage below
  let seeAlso: string | undefined = "switchyard --help";
  try {
    const { command, rest, flags } = parseArgs(argv);
    seeAlso = `switchyard ${command} --help`;
    // `--help`, `-h` or `help` after any command: its own help, before any configuration is read
    if (wantsHelp(rest) || rest[0] === "help") {
      const text = (await ownHelp(command)) ?? helpFor(command, rest.slice(rest[0] === "help" ? 1 : 0));
      if (text) return (process.stdout.write(text), 0);
    }
    switch (command) {
      case "serve":
        noExtraArgs(command, rest);
        return await (await import("./cli/serve")).serve(flags, opts);
      case "demo":
        noExtraArgs(command, rest);
        return await (await import("./cli/demo")).demo(flags, opts);
      case "version":
        noExtraArgs(command, rest);
        process.stdout.write(`switchyard ${VERSION} (commit ${COMMIT}, bun ${Bun.version})\n`);
        const { loadConfig } = await import("./config/load");
        process.stdout.write(`${await (await import("./cli/identity")).identityFor(() => loadConfig(flags).config)}\n`);
        return 0;
      case "help":
        process.stdout.write(USAGE);
        return 0;
      case "accounts":
        return await (await import("./cli/accounts")).runAccounts(rest, await dataCommand(flags));
      case "models":
        return await (await import("./cli/models")).runModels(rest, await dataCommand(flags));
      case "keys":
        return await (await import("./cli/keys")).runKeys(rest, await dataCommand(flags));
      case "usage":
        return await (await import("./cli/usage")).runUsage(rest, await dataCommand(flags));
      case "config": {
        const { loadConfig } = await import("./config/load");
        return (await import("./cli/config")).runConfig(rest, () => loadConfig(flags), flags);
      }
      case "service": {
        const loaded = (await import("./config/load")).loadConfig(flags);
        return await (await import("./ops/service")).runService(rest, { config: loaded.config, dataDir: loaded.dataDir, flags });
      }
      default:
        seeAlso = undefined;
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      // the reason on one line; the whole usage only when the command itself is unknown
      if (seeAlso) process.stderr.write(`switchyard: ${e.message}\n(see ${seeAlso})\n`);
      else process.stderr.write(`switchyard: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`switchyard: invalid configuration: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ListenError) {
      process.stderr.write(`switchyard: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`switchyard: ${(e as Error)?.message ?? e}\n`);
    return 1;
  }
}

/** the commands with a help text of their own (the others' comes from the usage, helpFor) */
async function ownHelp(command: string): Promise<string | undefined> {
  if (command === "accounts") return (await import("./cli/accounts")).ACCOUNTS_USAGE;
  if (command === "keys") return (await import("./cli/keys")).KEYS_HELP;
  if (command === "usage") return (await import("./cli/usage")).USAGE_HELP;
  return undefined;
}

/** what a command working on the data dir gets: the configuration, the data dir, a quiet logger on stderr */
async function dataCommand(flags: Flags) {
  const [{ ensureDataDir, loadConfig }, { createLogger }] = await Promise.all([import("./config/load"), import("./core/log")]);
  const loaded = loadConfig(flags);
  ensureDataDir(loaded.dataDir);
  // warnings only by default: config.json's level is the server's; a level asked for here (--log-level,
  // SWITCHYARD_LOG_LEVEL) is the command's
  const asked = flags.logLevel ?? process.env.SWITCHYARD_LOG_LEVEL;
  const log = createLogger(asked ? loaded.config.log.level : "warn", (l) => process.stderr.write(l + "\n"));
  return { config: loaded.config, dataDir: loaded.dataDir, log };
}

/** resolves once everything written to `s` is out (end() waits for it), or the reader is gone */
function flushed(s: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    s.once("error", () => resolve());
    s.end(() => resolve());
  });
}

// no top-level await: the binary is compiled to bytecode, which needs a CommonJS-compatible entry
if (import.meta.main) {
  restartEarly(process.argv.slice(2));
  void main(process.argv.slice(2), { ownProcess: true }).then(async (code) => {
    // what the command printed may still be on its way into a pipe: exiting now cut it at 64 KiB
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit(code);
  });
}
