// `switchyard config show | validate | schema`: where each value comes from, secrets masked, a bad key
// named, and a config.json that points its `$schema` at the published schema still loads.
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../helpers/cli";
import { tempDir } from "../helpers/util";

const d = tempDir("config-cli");
afterAll(() => d.cleanup());
writeFileSync(
  join(d.dir, "config.json"),
  JSON.stringify({ $schema: "./config.schema.json", server: { port: 9001 }, auth: { apiKeys: ["sk-secret-abcdef123456"] } }),
);

test("show: each value with its source; secrets masked; --json for scripts", async () => {
  const r = await runCli(["config", "show", "--json", "--data-dir", d.dir, "--host", "0.0.0.0"], {
    env: { SWITCHYARD_LOG_LEVEL: "debug" },
  });
  expect(r.code).toBe(0);
  const rows = Object.fromEntries(JSON.parse(r.stdout).settings.map((x: any) => [x.key, x]));
  expect(rows["server.port"]).toMatchObject({ value: 9001, source: join(d.dir, "config.json") });
  expect(rows["server.host"]).toMatchObject({ value: "0.0.0.0", source: "flag" });
  expect(rows["log.level"]).toMatchObject({ value: "debug", source: "environment" });
  expect(rows["scheduling.mode"]).toMatchObject({ value: "sticky", source: "default" });
  expect(r.stdout).not.toContain("sk-secret-abcdef123456");
  const table = await runCli(["config", "show", "--data-dir", d.dir]);
  expect(table.stdout).toContain("server.port");
  expect(table.stdout).not.toContain("abcdef123456");
});

test("validate: ok for the file in use; a bad key is named and exits 2", async () => {
  const ok = await runCli(["config", "validate", "--data-dir", d.dir]);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain("ok:");
  const bad = join(d.dir, "bad.json");
  writeFileSync(bad, JSON.stringify({ server: { prot: 1 } }));
  const r = await runCli(["config", "validate", bad]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("server.prot: unknown key");
});

test("schema: a JSON Schema that accepts the config above", async () => {
  const r = await runCli(["config", "schema"]);
  expect(r.code).toBe(0);
  const schema = JSON.parse(r.stdout);
  expect(schema.type).toBe("object");
  expect(schema.properties.$schema).toEqual({ type: "string" });
  expect(schema.properties.server.properties.port.type).toBe("integer");
  // every setting has a default: nothing is required, so the file serve writes (one section) passes an
  // editor's check; unknown keys are still flagged
  expect(r.stdout).not.toContain('"required"');
  expect(schema.additionalProperties).toBe(false);
  expect(schema.properties.server.additionalProperties).toBe(false);
});

test.each([
  [["config", "schema", "extra"], "config schema: unknown argument extra"],
  [["config", "validate", "--bogus"], "config validate: unknown flag --bogus"],
  [["service", "install", "--user", "--print", "extra"], "service: unknown argument extra"],
])("%j exits 2 saying what it did not take", async (args, said) => {
  const r = await runCli([...args, "--data-dir", d.dir]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(said);
});

test("a bad setting is blamed on the flag or variable that set it, not on every one given", async () => {
  const env = { SWITCHYARD_UPSTREAM_ENDPOINTS: "http://127.0.0.1:9" };
  const flag = await runCli(["serve", "--port", "99999", "--data-dir", d.dir], { env });
  expect(flag.code).toBe(2);
  expect(flag.stderr).toContain("invalid configuration: --port: server.port:");
  expect(flag.stderr).not.toContain("SWITCHYARD_UPSTREAM_ENDPOINTS");
  const variable = await runCli(["serve", "--data-dir", d.dir], { env: { ...env, SWITCHYARD_AUTH_MODE: "bogus" } });
  expect(variable.code).toBe(2);
  expect(variable.stderr).toContain("invalid configuration: SWITCHYARD_AUTH_MODE: auth.mode:");
  // an address no listener takes is a configuration error too, before a key is generated
  const fresh = tempDir("config-host");
  const host = await runCli(["serve", "--host", "999.1.1.1", "--data-dir", fresh.dir]);
  expect(host.code).toBe(2);
  expect(host.stderr).toContain('--host: server.host: expected an IP address or a host name, got "999.1.1.1"');
  expect(host.stdout).not.toContain("sk-sy-");
  fresh.cleanup();
});

test("show: an alias with dots in its name is credited to the file; a short key is hidden whole, a long one by its first characters", async () => {
  const c = tempDir("config-show");
  try {
    writeFileSync(
      join(c.dir, "config.json"),
      JSON.stringify({
        auth: { apiKeys: ["sk-one", "sk-sy-0123456789abcdef0123"], adminKey: "adm-short" },
        models: { aliases: { "gpt-4.1*": "gemini-3.1-pro-high", "claude-3-5-haiku*": "gemini-3-flash" } },
      }),
    );
    const r = await runCli(["config", "show", "--json", "--data-dir", c.dir]);
    expect(r.code).toBe(0);
    const rows = Object.fromEntries(JSON.parse(r.stdout).settings.map((x: any) => [x.key, x]));
    const file = join(c.dir, "config.json");
    expect(rows["models.aliases.gpt-4.1*"]).toEqual({ key: "models.aliases.gpt-4.1*", value: "gemini-3.1-pro-high", source: file });
    expect(rows["models.aliases.claude-3-5-haiku*"]).toMatchObject({ source: file });
    expect(rows["auth.apiKeys"].value).toEqual(["***", "sk-sy-…"]);
    expect(rows["auth.adminKey"].value).toBe("***");
    expect(r.stdout).not.toContain("sk-one");
    expect(r.stdout).not.toContain("adm-short");
    const table = await runCli(["config", "show", "--data-dir", c.dir]);
    expect(table.stdout).not.toContain("sk-one");
    expect(table.stdout).toMatch(/models\.aliases\.gpt-4\.1\*\s+"gemini-3\.1-pro-high"\s+\S*config\.json/);
  } finally {
    c.cleanup();
  }
});
