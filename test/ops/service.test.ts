import { describe, expect, test } from "bun:test";
import { invokedPath, launchdPlist, systemdEnv, systemdUnit, systemdWord } from "../../src/ops/service";
import { runCli } from "../helpers/cli";
import { tempDir } from "../helpers/util";

const spec = { exec: ["/usr/local/bin/switchyard"], dataDir: "/home/u/.switchyard", user: true };

describe("service files", () => {
  test("systemd unit: Type=exec, restart on failure, hardening without MemoryDenyWriteExecute", () => {
    const u = systemdUnit(spec);
    expect(u).toContain("ExecStart=/usr/local/bin/switchyard serve");
    expect(u).toContain("Type=exec");
    expect(u).toContain("Restart=on-failure");
    expect(u).toContain("Environment=SWITCHYARD_DATA_DIR=/home/u/.switchyard");
    expect(u).not.toMatch(/^MemoryDenyWriteExecute/m);
    expect(u).toContain("WantedBy=default.target");
    expect(u).toContain("RestartPreventExitStatus=2");
    // namespacing does nothing in a user service without PrivateUsers (which would hide the user's files)
    expect(u).not.toMatch(/^(ProtectSystem|PrivateTmp|ReadWritePaths)=/m);
    const sys = systemdUnit({ ...spec, user: false });
    expect(sys).toContain("StateDirectory=switchyard");
    expect(sys).toContain("DynamicUser=yes");
    expect(sys).toContain("ProtectHome=yes");
    expect(systemdUnit({ ...spec, user: false, exec: ["/home/u/.local/bin/switchyard"] })).toContain("ProtectHome=read-only");
    expect(sys).toContain("WantedBy=multi-user.target");
  });

  test("launchd plist is well-formed XML with absolute paths and KeepAlive on failure", async () => {
    const p = launchdPlist({ ...spec, exec: ["/opt/a & b/switchyard"] }, "/Users/u/Library/Logs/switchyard");
    expect(p).toContain("<string>/opt/a &amp; b/switchyard</string>");
    expect(p).toContain("<key>SuccessfulExit</key>");
    // python's plistlib is the reference parser for plists
    const py = Bun.spawnSync(
      [
        "python3",
        "-c",
        "import plistlib,sys; d=plistlib.loads(sys.stdin.buffer.read()); print(d['ProgramArguments'][-1], d['KeepAlive']['SuccessfulExit'])",
      ],
      {
        stdin: new TextEncoder().encode(p),
      },
    );
    expect(py.stdout.toString().trim()).toBe("serve False");
  });

  test("`service install --print` prints the unit for this program without writing it", async () => {
    const r = await runCli(["service", "install", "--user", "--print"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ExecStart=\S+ \S+main\.ts serve|<string>serve<\/string>/);
  });

  test("--user with --system exits 2", async () => {
    const r = await runCli(["service", "install", "--user", "--system", "--print"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("exclude each other");
  });

  test("a bad service action exits 2", async () => {
    const r = await runCli(["service", "restart"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("install or uninstall");
  });
});

describe("what install keeps", () => {
  test.each([
    ["/usr/local/bin/switchyard", "/usr/local/bin/switchyard"],
    ["/opt/$weird/switchyard", "/opt/$$weird/switchyard"],
    ["/opt/100%/switchyard", "/opt/100%%/switchyard"],
    ["/opt/a b/switchyard", '"/opt/a b/switchyard"'],
    ['/opt/q"x\\y', '"/opt/q\\"x\\\\y"'],
  ])("ExecStart word %s → %s", (word, out) => {
    expect(systemdWord(word)).toBe(out);
  });

  test.each([
    ["/srv/sy", "Environment=SWITCHYARD_DATA_DIR=/srv/sy"],
    // no variables are expanded in Environment=: a doubled `$` would reach the program doubled
    ["/srv/cost$center/sy", "Environment=SWITCHYARD_DATA_DIR=/srv/cost$center/sy"],
    ["/srv/100%/sy", "Environment=SWITCHYARD_DATA_DIR=/srv/100%%/sy"],
    ["/srv/a b", 'Environment="SWITCHYARD_DATA_DIR=/srv/a b"'],
    ['/srv/q"x\\y', 'Environment="SWITCHYARD_DATA_DIR=/srv/q\\"x\\\\y"'],
  ])("Environment= for the data dir %s → %s", (dir, out) => {
    expect(systemdEnv("SWITCHYARD_DATA_DIR", dir)).toBe(out);
  });

  test("serve's flags and a system --data-dir are kept", async () => {
    const cfgDir = tempDir("cfg").dir;
    await Bun.write(`${cfgDir}/config.json`, "{}");
    const r = await runCli([
      "service",
      "install",
      "--system",
      "--print",
      "--port",
      "9000",
      "--host",
      "0.0.0.0",
      "--config",
      `${cfgDir}/config.json`,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ExecStart=.* serve --port 9000 --host 0\.0\.0\.0 --config \S+\/config\.json$/m);
    const custom = await runCli(["service", "install", "--system", "--print", "--data-dir", "/srv/switchyard"]);
    expect(custom.stdout).toContain("Environment=SWITCHYARD_DATA_DIR=/srv/switchyard");
    expect(custom.stdout).toContain("ReadWritePaths=/srv/switchyard");
    expect(custom.stdout).not.toContain("StateDirectory=");
    // a dynamic user owns only a StateDirectory: a data dir of its own goes to a system user install makes its owner
    expect(custom.stdout).not.toContain("DynamicUser=");
    expect(custom.stdout).toContain("User=switchyard\nGroup=switchyard\n");
  });
});

test.skipIf(process.platform === "darwin")(
  "`install --system --data-dir` refuses a directory holding files that are not Switchyard's (it would hand them to the service's user)",
  async () => {
    const dir = tempDir("home").dir;
    await Bun.write(`${dir}/notes.txt`, "mine");
    await Bun.write(`${dir}/config.json`, "{}");
    const r = await runCli(["service", "install", "--system", "--data-dir", dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("not Switchyard's (notes.txt)");
  },
);

test("the unit names the binary as it was invoked when that is a link to it (an upgrade re-points the link), else the file", async () => {
  const { symlinkSync, writeFileSync } = await import("node:fs");
  const d = tempDir("link").dir;
  writeFileSync(`${d}/switchyard-0.1.0`, "binary");
  symlinkSync(`${d}/switchyard-0.1.0`, `${d}/switchyard`);
  writeFileSync(`${d}/other`, "another");
  expect(invokedPath(`${d}/switchyard`, `${d}/switchyard-0.1.0`)).toBe(`${d}/switchyard`);
  expect(invokedPath(`${d}/other`, `${d}/switchyard-0.1.0`)).toBe(`${d}/switchyard-0.1.0`);
  expect(invokedPath("no-such-command-anywhere", `${d}/switchyard-0.1.0`)).toBe(`${d}/switchyard-0.1.0`);
});

describe("systemd-analyze (when installed)", () => {
  const analyze = Bun.which("systemd-analyze");
  test.skipIf(!analyze)("the system unit passes `systemd-analyze verify`", async () => {
    const dir = tempDir("unit").dir;
    const path = `${dir}/switchyard.service`;
    await Bun.write(path, systemdUnit({ exec: [process.execPath], dataDir: "/var/lib/switchyard", user: false }));
    const r = Bun.spawnSync([analyze!, "verify", path]);
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  });

  test.skipIf(!analyze)("the system unit's exposure in `systemd-analyze security` is at most 2.0", async () => {
    const dir = tempDir("unit").dir;
    const path = `${dir}/switchyard.service`;
    await Bun.write(path, systemdUnit({ exec: [process.execPath], dataDir: "/var/lib/switchyard", user: false }));
    const r = Bun.spawnSync([analyze!, "security", "--offline=true", path]);
    const level = Number(/Overall exposure level for switchyard\.service: ([\d.]+)/.exec(r.stdout.toString())?.[1]);
    expect(level).toBeLessThanOrEqual(2);
  });
});
