// `switchyard service install|uninstall [--user|--system] [--print]`: a systemd unit (Linux) or a
// launchd plist (macOS) that runs `switchyard serve`. Pure renderers + a thin file writer.
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Config } from "../config/schema";
import type { Flags } from "../config/load";
import { foreignFiles } from "../config/files";
import { UsageError } from "../cli/args";
import { writeFileAtomicSync } from "../core/atomic";

export interface ServiceSpec {
  /** argv that starts the server, absolute paths only */
  exec: string[];
  dataDir: string;
  user: boolean;
  /** `serve`'s own flags to keep (--port, --host, --config, --log-level) */
  serveArgs?: string[];
  /** a system service with a data dir of its own (not /var/lib/switchyard through StateDirectory) */
  customDataDir?: boolean;
}

/** the command that runs this very program: the compiled binary, or bun + src/main.ts */
export function selfCommand(): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");
  return compiled ? [invokedPath(process.argv0, process.execPath)] : [process.execPath, resolve(Bun.main)];
}

/**
 * The binary as it was invoked (a symlink on PATH, `/usr/local/bin/switchyard -> …/0.1.0/switchyard`)
 * when that leads to this very file: an upgrade that re-points the link then reaches the service too.
 * Otherwise the file itself.
 */
export function invokedPath(argv0: string, execPath: string): string {
  try {
    const candidate = argv0.includes("/") ? resolve(argv0) : Bun.which(argv0);
    if (candidate && realpathSync(candidate) === realpathSync(execPath)) return candidate;
  } catch {
    // not a path we can follow: the file itself
  }
  return execPath;
}

/**
 * One ExecStart word as systemd reads it: `%` starts a specifier and `$` a variable (both doubled), and
 * anything but plain characters goes in double quotes with `"` and `\` escaped.
 */
export function systemdWord(s: string): string {
  const escaped = s.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  return /^[\w@%+=:,./$-]+$/.test(escaped) ? escaped : `"${escaped.replace(/(["\\])/g, "\\$1")}"`;
}

/** a path in a directive that takes paths (specifiers still expand there) */
const systemdPath = (s: string) => s.replace(/%/g, "%%");

/**
 * One `Environment=` assignment: specifiers expand there but variables do not (`$` stays as it is),
 * and an assignment holding spaces, quotes or backslashes goes in double quotes with `"` and `\` escaped.
 */
export function systemdEnv(name: string, value: string): string {
  const a = `${name}=${value.replace(/%/g, "%%")}`;
  return `Environment=${/^[\w@%+=:,./$-]+$/.test(a) ? a : `"${a.replace(/(["\\])/g, "\\$1")}"`}`;
}

/** the system user a system service with a data dir of its own runs as (systemd's dynamic users own only StateDirectory) */
export const SERVICE_USER = "switchyard";

/**
 * What brings `systemd-analyze security` under 2.0 for the system unit while Bun still runs: every syscall
 * the binary makes is in @system-service, it needs no capabilities, devices or namespaces, and only
 * IPv4/IPv6/Unix sockets. Not MemoryDenyWriteExecute: it would turn off Bun's JIT.
 */
const SYSTEM_HARDENING = `NoNewPrivileges=yes
ProtectSystem=strict
PrivateTmp=yes
PrivateDevices=yes
PrivateUsers=yes
PrivateIPC=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
LockPersonality=yes
RemoveIPC=yes
KeyringMode=private
DevicePolicy=closed
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
UMask=0077`;

export function systemdUnit(spec: ServiceSpec): string {
  // a system service runs as a throwaway user owning only its state directory; with a data dir of its
  // own, as a system user `install` makes the owner of that directory (a dynamic user could not enter it)
  const env = systemdEnv("SWITCHYARD_DATA_DIR", spec.dataDir);
  const state = spec.user
    ? env
    : spec.customDataDir
      ? `User=${SERVICE_USER}\nGroup=${SERVICE_USER}\n${env}\nReadWritePaths=${systemdPath(spec.dataDir)}`
      : "DynamicUser=yes\nStateDirectory=switchyard\nStateDirectoryMode=0700";
  // ProtectHome=yes would hide a program that lives under /home or /root (a clone, ~/.local/bin)
  const underHome = spec.exec.some((p) => p.startsWith("/home/") || p.startsWith("/root/"));
  // a user service cannot use namespacing (ProtectSystem, PrivateTmp, …) without PrivateUsers, which
  // would hide the user's own files; it keeps what works unprivileged
  const hardening = spec.user
    ? "NoNewPrivileges=yes\nLockPersonality=yes\nRestrictRealtime=yes\nRestrictSUIDSGID=yes\nSystemCallArchitectures=native\nSystemCallFilter=@system-service\nUMask=0077"
    : `${SYSTEM_HARDENING}\nProtectHome=${underHome ? "read-only" : "yes"}`;
  return `[Unit]
Description=Switchyard local AI gateway
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
ExecStart=${[...spec.exec, "serve", ...(spec.serveArgs ?? [])].map(systemdWord).join(" ")}
Restart=on-failure
RestartSec=2
# exit 2 is a usage or configuration error: restarting would only repeat it
RestartPreventExitStatus=2
${state}
EnvironmentFile=-${systemdPath(spec.user ? join(homedir(), ".config", "switchyard", "env") : "/etc/switchyard/env")}
Environment=NODE_ENV=production
${hardening}
# Do not set MemoryDenyWriteExecute=yes: it disables Bun's JIT.

[Install]
WantedBy=${spec.user ? "default.target" : "multi-user.target"}
`;
}

const x = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function launchdPlist(spec: ServiceSpec, logDir: string): string {
  const args = [...spec.exec, "serve", ...(spec.serveArgs ?? [])].map((a) => `    <string>${x(a)}</string>`).join("\n");
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>dev.switchyard</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
  <key>EnvironmentVariables</key>
  <dict>
    <key>SWITCHYARD_DATA_DIR</key>
    <string>${x(spec.dataDir)}</string>
    <key>NODE_ENV</key>
    <string>production</string>
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>StandardOutPath</key>
  <string>${x(join(logDir, "switchyard.log"))}</string>
  <key>StandardErrorPath</key>
  <string>${x(join(logDir, "switchyard.err.log"))}</string>
</dict>
</plist>
`;
}

interface Target {
  path: string;
  content: string;
  next: string[];
  logDir?: string;
  /** stops and disables the service before its file is removed */
  stop?: string[];
}

function target(platform: NodeJS.Platform, spec: ServiceSpec): Target {
  const user = spec.user;
  if (platform === "darwin") {
    const logDir = user ? join(homedir(), "Library", "Logs", "switchyard") : "/Library/Logs/switchyard";
    const path = user ? join(homedir(), "Library", "LaunchAgents", "dev.switchyard.plist") : "/Library/LaunchDaemons/dev.switchyard.plist";
    const domain = user ? "gui/$(id -u)" : "system";
    return {
      path,
      content: launchdPlist(spec, logDir),
      logDir,
      next: [`launchctl bootstrap ${domain} ${path}`, `launchctl kickstart -k ${domain}/dev.switchyard`],
      stop: ["launchctl", "bootout", user ? `gui/${process.getuid?.() ?? 0}/dev.switchyard` : "system/dev.switchyard"],
    };
  }
  const path = user ? join(homedir(), ".config", "systemd", "user", "switchyard.service") : "/etc/systemd/system/switchyard.service";
  const ctl = user ? "systemctl --user" : "systemctl";
  return {
    path,
    content: systemdUnit(spec),
    next: [`${ctl} daemon-reload`, `${ctl} enable --now switchyard`, `${user ? "journalctl --user" : "journalctl"} -u switchyard -f`],
    stop: [...ctl.split(" "), "disable", "--now", "switchyard"],
  };
}

/** `serve`'s flags given to `service install`, kept for the service (--data-dir travels as the data dir) */
function serveArgsOf(flags: Flags): string[] {
  const out: string[] = [];
  if (flags.port) out.push("--port", flags.port);
  if (flags.host) out.push("--host", flags.host);
  if (flags.config) out.push("--config", resolve(flags.config));
  if (flags.logLevel) out.push("--log-level", flags.logLevel);
  return out;
}

export async function runService(argv: string[], env: { config: Config; dataDir: string; flags: Flags }): Promise<number> {
  const [action, ...opts] = argv;
  if (action !== "install" && action !== "uninstall")
    throw new UsageError(`service: expected install or uninstall, got ${action ?? "nothing"}`);
  let user = process.getuid?.() !== 0;
  let print = false;
  if (opts.includes("--user") && opts.includes("--system")) throw new UsageError("service: --user and --system exclude each other");
  for (const o of opts) {
    if (o === "--user") user = true;
    else if (o === "--system") user = false;
    else if (o === "--print") print = true;
    else throw new UsageError(`service: unknown ${o.startsWith("-") ? "flag" : "argument"} ${o}`);
  }
  const customDataDir = !user && env.flags.dataDir !== undefined;
  const dataDir = user || customDataDir ? resolve(env.dataDir) : "/var/lib/switchyard";
  const t = target(process.platform, { exec: selfCommand(), dataDir, user, serveArgs: serveArgsOf(env.flags), customDataDir });
  if (action === "uninstall") {
    if (print) return (process.stdout.write(`would stop and disable the service, then remove ${t.path}\n`), 0);
    if (!existsSync(t.path)) return (process.stdout.write(`nothing to remove: ${t.path} does not exist\n`), 0);
    if (t.stop) {
      let why: string;
      try {
        const r = Bun.spawnSync(t.stop, { stdout: "ignore", stderr: "pipe" });
        why = r.exitCode === 0 ? "" : r.stderr.toString().trim() || `exit ${r.exitCode}`;
      } catch (e) {
        why = (e as Error).message;
      }
      process.stdout.write(why ? `could not stop it (${t.stop.join(" ")}): ${why}\n` : `stopped and disabled: ${t.stop.join(" ")}\n`);
    }
    rmSync(t.path);
    process.stdout.write(`removed ${t.path}\n`);
    return 0;
  }
  if (print) return (process.stdout.write(t.content), 0);
  // the unit names the data dir: it must exist before the service starts (0700, as serve makes it)
  if (user || customDataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (customDataDir && process.platform !== "darwin") {
    ownDirOnly(dataDir);
    const owner = serviceUser();
    chownTree(dataDir, owner.uid, owner.gid);
    process.stdout.write(`${dataDir} belongs to the system user ${SERVICE_USER} (uid ${owner.uid}), which the service runs as\n`);
  }
  mkdirSync(dirname(t.path), { recursive: true });
  if (t.logDir) mkdirSync(t.logDir, { recursive: true });
  writeFileAtomicSync(t.path, t.content, 0o644);
  process.stdout.write(`wrote ${t.path}\nnext:\n${t.next.map((n) => "  " + n).join("\n")}\n`);
  return 0;
}

/** the service's system user, made if missing (useradd, no login, no home of its own) */
function serviceUser(): { uid: number; gid: number } {
  const look = () => {
    const r = Bun.spawnSync(["getent", "passwd", SERVICE_USER], { stdout: "pipe", stderr: "ignore" });
    const f = r.exitCode === 0 ? r.stdout.toString().split(":") : [];
    return f.length > 3 ? { uid: Number(f[2]), gid: Number(f[3]) } : undefined;
  };
  const found = look();
  if (found) return found;
  const shell = ["/usr/sbin/nologin", "/sbin/nologin"].find((p) => existsSync(p)) ?? "/bin/false";
  let why = "";
  try {
    const r = Bun.spawnSync(
      ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", shell, SERVICE_USER],
      {
        stdout: "ignore",
        stderr: "pipe",
      },
    );
    why = r.exitCode === 0 ? "" : r.stderr.toString().trim() || `exit ${r.exitCode}`;
  } catch (e) {
    why = (e as Error).message;
  }
  const made = look();
  if (!made)
    throw new Error(`could not create the system user ${SERVICE_USER} (useradd: ${why || "not found"}); create it and run install again`);
  return made;
}

/** a data dir handed to the service's user must be Switchyard's alone (not a home directory, not /var/lib) */
function ownDirOnly(dir: string): void {
  const foreign = foreignFiles(dir);
  if (foreign.length)
    throw new UsageError(
      `service: ${dir} holds files that are not Switchyard's (${foreign.slice(0, 3).join(", ")}): give the service a directory of its own`,
    );
}

/** hand a data dir, and what it holds already, to the service's user */
function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o700);
  for (const name of readdirSync(dir, { recursive: true }) as string[]) lchownSync(join(dir, name), uid, gid);
}
