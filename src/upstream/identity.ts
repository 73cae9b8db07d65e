// Who we say we are to Google: the User-Agent template filled with a client version that is fixed by
// the operator, discovered from the client's public auto-updater, or a built-in fallback. Google
// turns away old versions with a 200 "no longer supported" text (docs/upstream.md), so the version
// must follow the real client's. Discovery never delays start-up and never lowers the version below
// the built-in floor.

/** the most recent version we know the gate accepts (late 2026); discovery never goes below it */
export const FALLBACK_CLIENT_VERSION = "2.9.1";
export const DEFAULT_USER_AGENT = "antigravity/{version} {os}/{arch}";
/** Antigravity's public auto-updater; the version sits in the download URL of its JSON answer */
export const DEFAULT_VERSION_URL = "https://antigravity-auto-updater-974169037036.us-central1.run.app/api/update/{target}/stable/latest";
export const DISCOVERY_INTERVAL_MS = 6 * 3600_000;
/** after Google turned a version away, look again at most this often */
export const RECHECK_MS = 60_000;
const DISCOVERY_TIMEOUT_MS = 5_000;

export type VersionSource = "configured" | "discovered" | "fallback";

export interface IdentityConfig {
  /** template with {version}, {os}, {arch} */
  userAgent: string;
  clientVersion?: string;
  versionUrl: string;
}

export interface IdentityInfo {
  userAgent: string;
  version: string;
  source: VersionSource;
  /** where the version is discovered (absent when configured) */
  versionUrl?: string;
  /** last discovery attempt: when and what came of it */
  checkedAt?: string;
  note?: string;
}

/** Go's spelling of the host, as the real clients send it */
export function hostPlatform(platform: string = process.platform, arch: string = process.arch) {
  const os = platform === "win32" ? "windows" : platform;
  const a = arch === "x64" ? "amd64" : arch === "ia32" ? "386" : arch;
  // the updater's own target names
  const target =
    platform === "darwin"
      ? arch === "arm64"
        ? "darwin-arm64"
        : "darwin"
      : `${platform === "win32" ? "win32" : "linux"}-${arch === "arm64" ? "arm64" : "x64"}`;
  return { os, arch: a, target };
}

export const fillTemplate = (template: string, vars: Record<string, string>) =>
  template.replace(/\{(\w+)\}/g, (m, k: string) => (Object.hasOwn(vars, k) ? vars[k]! : m));

/** the first N.N.N in a text or JSON answer (never a piece of a longer dotted number such as an IP address) */
export function findVersion(text: string): string | undefined {
  return /(?<![\d.])(\d+\.\d+\.\d+)(?!\d|\.\d)/.exec(text)?.[1];
}

/** numeric compare per component: -1, 0, 1 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d < 0 ? -1 : 1;
  }
  return 0;
}

export interface IdentityOptions {
  fetch?: typeof fetch;
  platform?: string;
  arch?: string;
  now?: () => number;
  onChange?: (info: IdentityInfo) => void;
}

export class ClientIdentity {
  private version: string;
  private source: VersionSource;
  private ua = "";
  private checkedAt?: number;
  private note?: string;
  private timer?: ReturnType<typeof setInterval>;
  private inflight?: Promise<boolean>;
  private readonly host: ReturnType<typeof hostPlatform>;

  constructor(
    private cfg: IdentityConfig,
    private opts: IdentityOptions = {},
  ) {
    this.host = hostPlatform(opts.platform, opts.arch);
    this.version = cfg.clientVersion ?? FALLBACK_CLIENT_VERSION;
    this.source = cfg.clientVersion ? "configured" : "fallback";
    this.render();
  }

  /** the User-Agent header for generation and quota calls */
  get userAgent(): string {
    return this.ua;
  }

  get discovering(): boolean {
    return !this.cfg.clientVersion && !!this.cfg.versionUrl;
  }

  info(): IdentityInfo {
    return {
      userAgent: this.ua,
      version: this.version,
      source: this.source,
      ...(this.discovering ? { versionUrl: this.url() } : {}),
      ...(this.checkedAt ? { checkedAt: new Date(this.checkedAt).toISOString() } : {}),
      ...(this.note ? { note: this.note } : {}),
    };
  }

  /** discover now and every few hours, in the background */
  start(): void {
    if (!this.discovering || this.timer) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), DISCOVERY_INTERVAL_MS);
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** ask the updater; true when the version in use changed. Concurrent callers share one lookup. */
  refresh(): Promise<boolean> {
    if (!this.discovering) return Promise.resolve(false);
    this.inflight ??= this.lookup().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  /** Google turned our version away: look again, at most once a minute. True when the version changed. */
  async recheck(): Promise<boolean> {
    if (!this.discovering) return false;
    if (this.inflight) return this.inflight;
    if (this.checkedAt !== undefined && (this.opts.now ?? Date.now)() - this.checkedAt < RECHECK_MS) return false;
    return this.refresh();
  }

  private url(): string {
    return fillTemplate(this.cfg.versionUrl, this.host);
  }

  private async lookup(): Promise<boolean> {
    const before = this.ua;
    this.checkedAt = (this.opts.now ?? Date.now)();
    try {
      const res = await (this.opts.fetch ?? fetch)(this.url(), { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS), redirect: "follow" });
      const text = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const found = findVersion(text);
      if (!found) throw new Error("no version in the answer");
      if (compareVersions(found, FALLBACK_CLIENT_VERSION) < 0) {
        this.set(FALLBACK_CLIENT_VERSION, "fallback", `the updater said ${found}, below the built-in ${FALLBACK_CLIENT_VERSION}`);
      } else this.set(found, "discovered");
    } catch (e) {
      // keep what we have: a discovered version stays good until a newer one is found
      const why = (e as Error)?.name === "TimeoutError" ? "timed out" : (e as Error)?.message || String(e);
      this.note = `version lookup failed (${why.slice(0, 120)}); using ${this.version}`;
    }
    if (this.ua !== before) this.opts.onChange?.(this.info());
    return this.ua !== before;
  }

  private set(version: string, source: VersionSource, note?: string) {
    this.version = version;
    this.source = source;
    this.note = note;
    this.render();
  }

  private render() {
    this.ua = fillTemplate(this.cfg.userAgent, { version: this.version, os: this.host.os, arch: this.host.arch });
  }
}
