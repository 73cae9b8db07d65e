// The configuration's files and the errors about them: where the data dir and config.json are,
// config.json read as JSON, and the bounds of upstream.maxConcurrentRequests. No schema here
// (src/config/load.ts checks it): the CLI's entry reads these before the rest of the program is loaded
// (src/cli/startup-env.ts).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** upstream.maxConcurrentRequests: enough for thousands of open streams */
export const DEFAULT_MAX_CONCURRENT_REQUESTS = 4096;
/** its ceiling: Bun's fetch cap (BUN_CONFIG_MAX_HTTP_REQUESTS) goes up to 65535, and a few calls outside the limit need room */
export const MAX_CONCURRENT_REQUESTS = 65000;

/** A problem the user must fix; the CLI prints it and exits 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export interface Flags {
  dataDir?: string;
  config?: string;
  port?: string;
  host?: string;
  logLevel?: string;
}

export function resolveDataDir(flags: Flags, env: NodeJS.ProcessEnv = process.env): string {
  // an empty variable (a blank line in an env file) is unset: "" would make the current directory the data dir
  const fromEnv = env.SWITCHYARD_DATA_DIR || env.STATE_DIRECTORY?.split(":")[0] || undefined;
  const dir = flags.dataDir ?? (fromEnv !== undefined ? expandHome(fromEnv) : join(home(), ".switchyard"));
  return resolve(dir);
}

/** `~` and `~/…` as a shell would expand them: env files and service managers do not */
const expandHome = (p: string): string => (p === "~" ? home() : p.startsWith("~/") ? join(home(), p.slice(2)) : p);

/** the home directory; a user without one (a container's `--user N`) is told what to set instead */
function home(): string {
  try {
    return homedir();
  } catch {
    throw new ConfigError("there is no home directory for the default data dir: set SWITCHYARD_DATA_DIR or --data-dir");
  }
}

/** config.json's path: --config, else in the data dir */
export const configPathOf = (flags: Flags, dataDir: string): string => resolve(flags.config ?? join(dataDir, "config.json"));

export type Json = Record<string, any>;

export function readConfigFile(path: string): Json {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ConfigError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new ConfigError(`${path}: expected a JSON object`);
  return parsed as Json;
}

/** the file without `$schema` (an editor's hint to `switchyard config schema`, not a setting) */
export const settingsOf = (raw: Json): Json => {
  const { $schema: _schema, ...rest } = raw;
  return rest;
};

/** what a data dir of Switchyard's holds (its files, their backups, set-aside copies, temporaries and locks) */
const OWN_FILE = /^\.?(config\.json|accounts\.json|state\.db)|\.(lock|tmp|bak)$/;

/** the names in `dir` that are not Switchyard's (a directory that holds them is someone else's) */
export function foreignFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => !OWN_FILE.test(n));
  } catch {
    return []; // not there (yet)
  }
}
