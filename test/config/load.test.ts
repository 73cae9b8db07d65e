import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync, statSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, generateApiKey, loadConfig, resolveDataDir } from "../../src/config/load";
import { cleanEnv, MAIN, ROOT, runCli } from "../helpers/cli";

const dir = () => mkdtempSync(join(tmpdir(), "switchyard-cfg-"));

describe("configuration precedence: flag > env > config.json > default", () => {
  const cases: { name: string; file?: object; env?: Record<string, string>; flags?: object; expectPort: number }[] = [
    { name: "default", expectPort: 8045 },
    { name: "file", file: { server: { port: 9001 } }, expectPort: 9001 },
    { name: "env over file", file: { server: { port: 9001 } }, env: { SWITCHYARD_PORT: "9002" }, expectPort: 9002 },
    {
      name: "flag over env",
      file: { server: { port: 9001 } },
      env: { SWITCHYARD_PORT: "9002" },
      flags: { port: "9003" },
      expectPort: 9003,
    },
  ];
  for (const c of cases)
    test(c.name, () => {
      const d = dir();
      if (c.file) writeFileSync(join(d, "config.json"), JSON.stringify(c.file));
      const { config } = loadConfig({ dataDir: d, ...(c.flags ?? {}) }, c.env ?? {});
      expect(config.server.port).toBe(c.expectPort);
    });

  test("env vars map to their keys", () => {
    const { config } = loadConfig(
      { dataDir: dir() },
      {
        SWITCHYARD_HOST: "0.0.0.0",
        SWITCHYARD_API_KEY: "a, b",
        SWITCHYARD_ADMIN_KEY: "adm",
        SWITCHYARD_AUTH_MODE: "strict",
        SWITCHYARD_UPSTREAM_ENDPOINTS: "http://127.0.0.1:1,http://127.0.0.1:2",
        SWITCHYARD_OAUTH_TOKEN_URL: "http://127.0.0.1:1/token",
        SWITCHYARD_USERINFO_URL: "http://127.0.0.1:1/userinfo",
        SWITCHYARD_LOG_LEVEL: "debug",
      },
    );
    expect(config.server.host).toBe("0.0.0.0");
    expect(config.auth.apiKeys).toEqual(["a", "b"]);
    expect(config.auth.adminKey).toBe("adm");
    expect(config.auth.mode).toBe("strict");
    expect(config.upstream.endpoints).toEqual(["http://127.0.0.1:1", "http://127.0.0.1:2"]);
    expect(config.upstream.oauthTokenUrl).toBe("http://127.0.0.1:1/token");
    expect(config.upstream.userinfoUrl).toBe("http://127.0.0.1:1/userinfo");
    expect(config.log.level).toBe("debug");
  });

  test("defaults match the contract", () => {
    const { config } = loadConfig({ dataDir: dir() }, {});
    expect(config.server.host).toBe("127.0.0.1");
    expect(config.auth.mode).toBe("auto");
    expect(config.upstream.endpoints[0]).toBe("https://daily-cloudcode-pa.sandbox.googleapis.com");
    expect(config.upstream.oauthTokenUrl).toBe("https://oauth2.googleapis.com/token");
    expect(config.server.maxBodyBytes).toBe(100 * 1024 * 1024);
  });
});

describe("invalid configuration names the key", () => {
  const bad: [string, object, RegExp][] = [
    ["unknown key", { server: { prot: 1 } }, /server\.prot: unknown key/],
    ["wrong type", { server: { port: "x" } }, /server\.port: expected/],
    ["bad enum", { auth: { mode: "sometimes" } }, /auth\.mode/],
    ["unknown section", { nope: {} }, /nope: unknown key/],
    ["bad url", { upstream: { endpoints: ["ftp://x"] } }, /upstream\.endpoints\.0|upstream\.endpoints\[0\]/],
  ];
  for (const [name, file, re] of bad)
    test(name, () => {
      const d = dir();
      writeFileSync(join(d, "config.json"), JSON.stringify(file));
      expect(() => loadConfig({ dataDir: d }, {})).toThrow(re);
    });

  test("malformed JSON file", () => {
    const d = dir();
    writeFileSync(join(d, "config.json"), "{nope");
    expect(() => loadConfig({ dataDir: d }, {})).toThrow(ConfigError);
  });

  test("a non-numeric port in the environment names the variable", () => {
    expect(() => loadConfig({ dataDir: dir() }, { SWITCHYARD_PORT: "80x" })).toThrow(/SWITCHYARD_PORT/);
  });
});

describe("data dir", () => {
  test("SWITCHYARD_DATA_DIR, then STATE_DIRECTORY, then ~/.switchyard", () => {
    expect(resolveDataDir({}, { SWITCHYARD_DATA_DIR: "/a", STATE_DIRECTORY: "/b" })).toBe("/a");
    expect(resolveDataDir({}, { STATE_DIRECTORY: "/b" })).toBe("/b");
    expect(resolveDataDir({}, {})).toMatch(/\.switchyard$/);
    expect(resolveDataDir({ dataDir: "/c" }, { SWITCHYARD_DATA_DIR: "/a" })).toBe("/c");
  });

  test("an empty variable is unset, as the other variables are: it made the current directory the data dir", () => {
    const home = join(homedir(), ".switchyard");
    expect(resolveDataDir({}, { SWITCHYARD_DATA_DIR: "" })).toBe(home);
    expect(resolveDataDir({}, { SWITCHYARD_DATA_DIR: "", STATE_DIRECTORY: "/b" })).toBe("/b");
    expect(resolveDataDir({}, { STATE_DIRECTORY: "" })).toBe(home);
    expect(resolveDataDir({}, { STATE_DIRECTORY: ":/b" })).toBe(home);
    expect(resolveDataDir({}, { SWITCHYARD_DATA_DIR: "", STATE_DIRECTORY: "" })).toBe(home);
  });

  test("a leading ~ or ~/ in the variables is the home directory (no folder named ~)", () => {
    expect(resolveDataDir({}, { SWITCHYARD_DATA_DIR: "~" })).toBe(homedir());
    expect(resolveDataDir({}, { SWITCHYARD_DATA_DIR: "~/.sy-test" })).toBe(join(homedir(), ".sy-test"));
    expect(resolveDataDir({}, { STATE_DIRECTORY: "~/state:/other" })).toBe(join(homedir(), "state"));
    // only a leading one, as a shell expands it
    expect(resolveDataDir({}, { SWITCHYARD_DATA_DIR: "/srv/~/x" })).toBe("/srv/~/x");
  });

  test("through the CLI: SWITCHYARD_DATA_DIR= leaves the current directory alone", async () => {
    const home = dir();
    try {
      const r = await runCli(["config", "show", "--json"], { env: { SWITCHYARD_DATA_DIR: "", HOME: home } });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).dataDir).toBe(join(home, ".switchyard"));
      const tilde = await runCli(["config", "show", "--json"], { env: { SWITCHYARD_DATA_DIR: "~/sy", HOME: home } });
      expect(JSON.parse(tilde.stdout).dataDir).toBe(join(home, "sy"));
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test("a generated key is stored in config.json with mode 0600", async () => {
    const d = dir();
    writeFileSync(join(d, "config.json"), JSON.stringify({ log: { level: "warn" } }));
    const loaded = loadConfig({ dataDir: d }, {});
    const key = await generateApiKey(loaded);
    expect(key).toMatch(/^sk-sy-[0-9a-f]{48}$/);
    expect(statSync(join(d, "config.json")).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(join(d, "config.json"), "utf8"));
    expect(saved).toEqual({ log: { level: "warn" }, auth: { apiKeys: [key] } });
    expect(loadConfig({ dataDir: d }, {}).config.auth.apiKeys).toEqual([key]);
  });

  // sysfs takes no new files, not even from root: a --config a service cannot write (/etc under ProtectSystem)
  test.skipIf(process.platform !== "linux")(
    "a config file that cannot take the key is a configuration error naming the way out",
    async () => {
      const loaded = loadConfig({ dataDir: dir() }, {});
      loaded.configPath = "/sys/switchyard-test-config.json";
      const e = await generateApiKey(loaded).catch((e) => e);
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toContain("SWITCHYARD_API_KEY");
      expect(e.message).toContain("/sys/switchyard-test-config.json");
    },
  );
});

// a container run with --user N has no home and no passwd entry: the default data dir cannot be found
test.skipIf(process.getuid?.() !== 0 || !Bun.which("setpriv"))("no home directory: exit 2 naming what to set, not a runtime error", () => {
  const env = { ...cleanEnv() };
  delete env.HOME;
  const r = Bun.spawnSync(
    ["setpriv", "--reuid", "12345", "--regid", "12345", "--clear-groups", process.execPath, MAIN, "accounts", "list"],
    {
      cwd: ROOT,
      env,
    },
  );
  expect(r.exitCode).toBe(2);
  expect(r.stderr.toString()).toContain("set SWITCHYARD_DATA_DIR or --data-dir");
});
