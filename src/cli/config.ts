// `switchyard config show [--json]` (the effective configuration, where each value comes from, secrets
// masked), `config validate [FILE]` and `config schema` (the JSON Schema that config.json's `$schema`
// can point an editor at).
import { ConfigSchema } from "../config/schema";
import { fromEnv, fromFlags, validateConfigFile, type Flags, type Loaded } from "../config/load";
import { noExtraArgs, UsageError } from "./args";
import { renderTable } from "./table";
import { redactRedisUrl } from "../state/redis-url";

/** the keys holding secrets (auth.apiKeys, auth.adminKey, oauth.clientSecret) */
const SECRET = /^(apiKeys|adminKey|clientSecret)$/;
/** a prefix of a secret shown only when the rest still hides it: a short key shown by its first 6 characters is half shown */
const PREFIX_FROM = 20;

type Json = Record<string, any>;

/**
 * key path → leaf value. Paths are arrays: a model alias may contain dots (`gpt-4.1*`), so a dotted
 * string could not be split back into its keys.
 */
function leaves(o: Json, prefix: string[] = []): [string[], unknown][] {
  return Object.entries(o).flatMap(([k, v]) =>
    v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length
      ? leaves(v, [...prefix, k])
      : [[[...prefix, k], v] as [string[], unknown]],
  );
}

const has = (o: Json, path: string[]) =>
  path.reduce<any>((x, k) => (x && typeof x === "object" && Object.hasOwn(x, k) ? x[k] : undefined), o) !== undefined;

const hide = (s: unknown) => (typeof s === "string" && s ? (s.length >= PREFIX_FROM ? `${s.slice(0, 6)}…` : "***") : s);

function mask(path: string[], v: unknown): unknown {
  if (path.length !== 2) return v; // the secrets are all section.key: an alias named "password" is no secret
  if (path[0] === "state" && path[1] === "redisUrl" && typeof v === "string") return redactRedisUrl(v);
  if (!SECRET.test(path[1]!)) return v;
  return Array.isArray(v) ? v.map(hide) : hide(v);
}

export function runConfig(args: string[], loaded: () => Loaded, flags: Flags, out = (s: string) => void process.stdout.write(s)): number {
  const [sub, ...rest] = args;
  switch (sub) {
    case "show": {
      const json = rest.includes("--json");
      const extra = rest.find((a) => a !== "--json");
      if (extra) throw new UsageError(`config show: unknown ${extra.startsWith("-") ? "flag" : "argument"} ${extra}`);
      const l = loaded();
      const env = fromEnv(process.env);
      const fl = fromFlags(flags);
      const rows = leaves(l.config as unknown as Json).map(([path, value]) => ({
        key: path.join("."),
        value: mask(path, value),
        source: has(fl, path) ? "flag" : has(env, path) ? "environment" : has(l.fileRaw, path) ? l.configPath : "default",
      }));
      if (json) out(JSON.stringify({ configPath: l.configPath, dataDir: l.dataDir, settings: rows }, null, 2) + "\n");
      else {
        out(`config file: ${l.configPath}\ndata dir:    ${l.dataDir}\n\n`);
        out(
          renderTable(
            ["KEY", "VALUE", "FROM"],
            rows.map((r) => [r.key, JSON.stringify(r.value), r.source]),
          ) + "\n",
        );
      }
      return 0;
    }
    case "validate": {
      if (rest.length > 1) throw new UsageError("config validate: at most one FILE");
      if (rest[0]?.startsWith("-")) throw new UsageError(`config validate: unknown flag ${rest[0]}`);
      const path = rest[0] ?? loaded().configPath;
      validateConfigFile(path);
      out(`ok: ${path}\n`);
      return 0;
    }
    case "schema":
      noExtraArgs("config schema", rest);
      out(
        JSON.stringify(
          optionalEverywhere({
            $schema: "http://json-schema.org/draft-07/schema#",
            ...ConfigSchema,
            properties: { $schema: { type: "string" }, ...ConfigSchema.properties },
          }),
          null,
          2,
        ) + "\n",
      );
      return 0;
    default:
      throw new UsageError(`config: expected show, validate or schema, got ${sub ?? "nothing"}`);
  }
}

/**
 * The schema for an editor: every setting has a default, so a file may leave any of them out (the
 * checked schema lists them as required because it checks the config after the defaults are filled in).
 */
function optionalEverywhere(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(optionalEverywhere);
  if (!node || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) if (k !== "required") out[k] = optionalEverywhere(v);
  return out;
}
