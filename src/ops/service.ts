// `switchyard service install|uninstall [--user|--system] [--print]`: a systemd unit (Linux) or a
// launchd plist (macOS) that runs `switchyard serve`. Pure renderers + a thin file writer.
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Config } from "../config/schema";
import type { Flags } from "../config/load";
import { UsageError } from "../cli/args";
import { writeFileAtomicSync } from "../core/atomic";

export interface ServiceSpec {
  /** argv that starts the server, absolute paths only */
  exec: string[];
  dataDir: string;
  user: boolean;
}

/** the command that runs this very program: the compiled binary, or bun + src/main.ts */
export function selfCommand(): string[] {
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");
  return compiled ? [process.execPath] : [process.execPath, resolve(Bun.main)];
}

const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `"${s.replace(/(["\\$`])/g, "\\$1")}"`);

export function systemdUnit(spec: ServiceSpec): string {
  // a system service runs as a throwaway user owning only /var/lib/switchyard
  const state = spec.user
    ? `Environment=SWITCHYARD_DATA_DIR=${spec.dataDir}`
    : "DynamicUser=yes\nStateDirectory=switchyard\nStateDirectoryMode=0700";
  // ProtectHome=yes would hide a program that lives under /home or /root (a clone, ~/.local/bin)
  const underHome = spec.exec.some((p) => p.startsWith("/home/") || p.startsWith("/root/"));
  const protectHome = spec.user ? "no" : underHome ? "read-only" : "yes";
  return `[Unit]
Description=Switchyard local AI gateway
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
ExecStart=${[...spec.exec, "serve"].map(q).join(" ")}
Restart=on-failure
RestartSec=2
${state}
EnvironmentFile=-${spec.user ? join(homedir(), ".config", "switchyard", "env") : "/etc/switchyard/env"}
Environment=NODE_ENV=production
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=${protectHome}
PrivateTmp=yes
SystemCallFilter=@system-service
${spec.user ? `ReadWritePaths=${spec.dataDir}\n` : ""}# Do not set MemoryDenyWriteExecute=yes: it disables Bun's JIT.

[Install]
WantedBy=${spec.user ? "default.target" : "multi-user.target"}
`;
}

const x = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function launchdPlist(spec: ServiceSpec, logDir: string): string {
  const args = [...spec.exec, "serve"].map((a) => `    <string>${x(a)}</string>`).join("\n");
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
}

function target(platform: NodeJS.Platform, user: boolean, dataDir: string): Target {
  const spec: ServiceSpec = { exec: selfCommand(), dataDir, user };
  if (platform === "darwin") {
    const logDir = user ? join(homedir(), "Library", "Logs", "switchyard") : "/Library/Logs/switchyard";
    const path = user ? join(homedir(), "Library", "LaunchAgents", "dev.switchyard.plist") : "/Library/LaunchDaemons/dev.switchyard.plist";
    const domain = user ? "gui/$(id -u)" : "system";
    return {
      path,
      content: launchdPlist(spec, logDir),
      logDir,
      next: [`launchctl bootstrap ${domain} ${path}`, `launchctl kickstart -k ${domain}/dev.switchyard`],
    };
  }
  const path = user ? join(homedir(), ".config", "systemd", "user", "switchyard.service") : "/etc/systemd/system/switchyard.service";
  const ctl = user ? "systemctl --user" : "systemctl";
  return {
    path,
    content: systemdUnit(spec),
    next: [`${ctl} daemon-reload`, `${ctl} enable --now switchyard`, `${user ? "journalctl --user" : "journalctl"} -u switchyard -f`],
  };
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
    else throw new UsageError(`service: unknown flag ${o}`);
  }
  const dataDir = user ? env.dataDir : "/var/lib/switchyard";
  const t = target(process.platform, user, dataDir);
  if (action === "uninstall") {
    if (print) return (process.stdout.write(`would remove ${t.path}\n`), 0);
    if (!existsSync(t.path)) return (process.stdout.write(`nothing to remove: ${t.path} does not exist\n`), 0);
    rmSync(t.path);
    process.stdout.write(`removed ${t.path}\n`);
    return 0;
  }
  if (print) return (process.stdout.write(t.content), 0);
  mkdirSync(dirname(t.path), { recursive: true });
  if (t.logDir) mkdirSync(t.logDir, { recursive: true });
  writeFileAtomicSync(t.path, t.content, 0o644);
  process.stdout.write(`wrote ${t.path}\nnext:\n${t.next.map((n) => "  " + n).join("\n")}\n`);
  return 0;
}
