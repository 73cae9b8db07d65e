// Resolves the configuration: flag > environment > config.json > default (docs/contract.md §3).
import { Value } from "@sinclair/typebox/value";
import { chmodSync, existsSync, mkdirSync, statSync } from "node:fs";
import { ConfigSchema, type Config } from "./schema";
import { writeFileAtomic } from "../core/atomic";
import { randomBytes } from "../core/hash";
import { describeExpected } from "../core/validation";
import { ConfigError, configPathOf, readConfigFile, resolveDataDir, settingsOf, type Flags, type Json } from "./files";

export { ConfigError, resolveDataDir, type Flags } from "./files";

/** the data dir holds refresh tokens: created 0700, and an existing one of ours is tightened to 0700 */
export function ensureDataDir(dir: string): void {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return;
  }
  try {
    const st = statSync(dir);
    if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) chmodSync(dir, 0o700);
  } catch {
    // not ours or read-only: reading still works; writes report their own errors
  }
}

function set(obj: Json, path: string[], value: unknown) {
  let o = obj;
  for (const k of path.slice(0, -1)) o = o[k] && typeof o[k] === "object" ? o[k] : (o[k] = {});
  o[path.at(-1)!] = value;
}

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

function intFrom(name: string, raw: string): number {
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name}: expected a whole number (0 or more), got "${raw}"`);
  return Number(raw);
}

/**
 * The environment variables (docs/contract.md §3): the key each sets, and how its text is read. One
 * table for reading them and for naming the variable a bad value came from.
 */
const ENV: Record<string, { path: string; read?: (raw: string, name: string) => unknown; emptyCounts?: true }> = {
  SWITCHYARD_HOST: { path: "server.host" },
  SWITCHYARD_PORT: { path: "server.port", read: (raw, name) => intFrom(name, raw) },
  SWITCHYARD_API_KEY: { path: "auth.apiKeys", read: list },
  SWITCHYARD_ADMIN_KEY: { path: "auth.adminKey" },
  SWITCHYARD_AUTH_MODE: { path: "auth.mode" },
  SWITCHYARD_UPSTREAM_ENDPOINTS: { path: "upstream.endpoints", read: list },
  SWITCHYARD_OAUTH_TOKEN_URL: { path: "upstream.oauthTokenUrl" },
  SWITCHYARD_USERINFO_URL: { path: "upstream.userinfoUrl" },
  SWITCHYARD_CLIENT_VERSION: { path: "upstream.clientVersion" },
  // empty turns discovery off
  SWITCHYARD_VERSION_URL: { path: "upstream.versionUrl", emptyCounts: true },
  SWITCHYARD_LOG_LEVEL: { path: "log.level" },
  SWITCHYARD_LOG_FORMAT: { path: "log.format" },
  SWITCHYARD_REDIS_URL: { path: "state.redisUrl" },
};

const envSet = (env: NodeJS.ProcessEnv, name: string) => env[name] !== undefined && (env[name] !== "" || ENV[name]!.emptyCounts === true);

/** env vars → a partial config object */
export function fromEnv(env: NodeJS.ProcessEnv): Json {
  const o: Json = {};
  for (const [name, e] of Object.entries(ENV))
    if (envSet(env, name)) set(o, e.path.split("."), e.read ? e.read(env[name]!, name) : env[name]);
  return o;
}

export function fromFlags(flags: Flags): Json {
  const o: Json = {};
  if (flags.host !== undefined) set(o, ["server", "host"], flags.host);
  if (flags.port !== undefined) set(o, ["server", "port"], intFrom("--port", flags.port));
  if (flags.logLevel !== undefined) set(o, ["log", "level"], flags.logLevel);
  return o;
}

/** deep merge of plain objects; arrays and scalars from `b` replace */
export function deepMerge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && out[k] && typeof out[k] === "object" && !Array.isArray(out[k])
        ? deepMerge(out[k], v)
        : v;
  }
  return out;
}

/** Validate a raw object against the schema, filling defaults; the error names the key path and where it was set. */
export function validateConfig(raw: Json, source: string | ((key: string) => string)): Config {
  const withDefaults = Value.Default(ConfigSchema, structuredClone(raw)) as Json;
  const first = Value.Errors(ConfigSchema, withDefaults).First();
  if (first) {
    const key = first.path.replace(/^\//, "").replace(/\//g, ".") || "(root)";
    const unknown = first.message.toLowerCase().includes("unexpected property") || first.message.includes("additional");
    const expected = unknown ? "unknown key" : (describeExpected(first.schema) ?? first.message.replace(/^Expected /, "expected "));
    const from = typeof source === "string" ? source : source(key);
    throw new ConfigError(`${from}: ${key}: ${expected}${unknown ? "" : `, got ${JSON.stringify(first.value)}`}`);
  }
  const host = (withDefaults as Config).server.host;
  if (!listenable(host)) {
    const from = typeof source === "string" ? source : source("server.host");
    throw new ConfigError(`${from}: server.host: expected an IP address or a host name, got ${JSON.stringify(host)}`);
  }
  return withDefaults as Config;
}

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const HOST_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*\\.?$`);

/** an address the listener can take: IPv4 with octets up to 255, IPv6 (its own check at listen), a host name */
function listenable(host: string): boolean {
  if (host.includes(":")) return true;
  if (/^[\d.]+$/.test(host)) return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) && host.split(".").every((o) => Number(o) <= 255);
  return HOST_NAME.test(host);
}

const FLAG_PATHS = { host: ["--host", "server.host"], port: ["--port", "server.port"], logLevel: ["--log-level", "log.level"] } as const;

/** the flag or variable that set the key an error is about (flags win, as they do in the merge) */
function sourceOf(flags: Flags, env: NodeJS.ProcessEnv): (key: string) => string {
  return (key) => {
    const on = (path: string) => key === path || key.startsWith(path + ".");
    for (const [k, [flag, path]] of Object.entries(FLAG_PATHS))
      if (flags[k as keyof typeof FLAG_PATHS] !== undefined && on(path)) return flag;
    for (const [name, e] of Object.entries(ENV)) if (envSet(env, name) && on(e.path)) return name;
    return "configuration";
  };
}

export interface Loaded {
  config: Config;
  dataDir: string;
  configPath: string;
  /** the raw config.json content (to write back additions such as a generated key) */
  fileRaw: Json;
}

/** a config file checked on its own (`switchyard config validate`); throws ConfigError naming the key */
export function validateConfigFile(path: string): Config {
  if (!existsSync(path)) throw new ConfigError(`${path} does not exist`);
  return validateConfig(settingsOf(readConfigFile(path)), path);
}

export function loadConfig(flags: Flags, env: NodeJS.ProcessEnv = process.env, overrides: Json = {}): Loaded {
  const dataDir = resolveDataDir(flags, env);
  const configPath = configPathOf(flags, dataDir);
  if (flags.config && !existsSync(configPath)) throw new ConfigError(`--config: ${configPath} does not exist`);
  const fileRaw = readConfigFile(configPath);
  // validate the file alone first so its errors name the file
  validateConfig(settingsOf(fileRaw), configPath);
  const merged = deepMerge(deepMerge(deepMerge(settingsOf(fileRaw), fromEnv(env)), fromFlags(flags)), overrides);
  const config = validateConfig(merged, sourceOf(flags, env));
  return { config, dataDir, configPath, fileRaw };
}

/** First serve with no key: generate one, store it in config.json (0600). Returns the key. */
export async function generateApiKey(loaded: Loaded): Promise<string> {
  const key = "sk-sy-" + randomBytes(24).toString("hex");
  const next = deepMerge(loaded.fileRaw, { auth: { ...(loaded.fileRaw.auth ?? {}), apiKeys: [key] } });
  try {
    await writeFileAtomic(loaded.configPath, JSON.stringify(next, null, 2) + "\n", 0o600);
    chmodSync(loaded.configPath, 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // a configuration error (exit 2), not a crash a service manager would restart forever: a read-only
    // --config (/etc under systemd's ProtectSystem) cannot take the key
    if (code === "EACCES" || code === "EPERM" || code === "EROFS")
      throw new ConfigError(
        `no API key is configured and ${loaded.configPath} cannot store one (${code}): set SWITCHYARD_API_KEY (for a service, in its env file) or auth.apiKeys in that file`,
      );
    throw e;
  }
  loaded.fileRaw = next;
  loaded.config.auth.apiKeys = [key];
  return key;
}
