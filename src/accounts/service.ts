// What an operator does with accounts (the CLI and the admin API): list, add by refresh token,
// remove, enable and disable, refresh now, export. The scheduling side hears of it through
// AccountEvents, so this room never imports scheduling.
import type { Config } from "../config/schema";
import type { Logger } from "../core/log";
import type { UpstreamClient } from "../upstream/client";
import { fetchUserInfo, refreshAccessToken } from "./oauth";
import type { LiveState } from "./live";
import { fetchQuota } from "./quota";
import { blankState, newAccountId, type AccountStore } from "./store";
import { PoolError, viewOf, type Account, type AccountView } from "./types";
import type { Upkeep } from "./upkeep";

export interface ExportFile {
  version: 1;
  exportedAt: string;
  accounts: { email: string; name?: string; refreshToken: string; projectId?: string }[];
}

/** what the rest of the pool must hear of */
export interface AccountEvents {
  /** accounts were added or removed: indexes are rebuilt */
  changed(): void;
  /** an account left service (removed, or disabled by the operator): its sessions go elsewhere */
  left(id: string, how: { removed: boolean }): void;
  /** counters not yet written to the store, for the views */
  pending(id: string): { requests: number; failures: number; lastUsedAt?: number } | undefined;
}

export class AccountService {
  constructor(
    private config: Config,
    private store: AccountStore,
    private live: LiveState,
    private upkeep: Upkeep,
    private client: UpstreamClient,
    private log: Logger,
    private events: AccountEvents,
  ) {}

  list(): AccountView[] {
    const now = Date.now();
    return this.store.accounts().map((a) => viewOf(a, now, this.events.pending(a.id)));
  }

  get(idOrEmail: string): AccountView | undefined {
    const a = this.find(idOrEmail);
    return a ? viewOf(a, Date.now(), this.events.pending(a.id)) : undefined;
  }

  find(idOrEmail: string): Account | undefined {
    const key = idOrEmail.trim();
    const byId = this.store.get(key);
    if (byId) return byId;
    const lower = key.toLowerCase();
    return this.store.accounts().find((a) => a.email.toLowerCase() === lower);
  }

  mustFind(idOrEmail: string): Account {
    const a = this.find(idOrEmail);
    if (!a) throw new PoolError(`no account ${JSON.stringify(idOrEmail)}`);
    return a;
  }

  /** refresh → userinfo → project → quota → upsert by email. A bad token throws with Google's reason; nothing is stored. */
  async addByRefreshToken(refreshToken: string): Promise<{ account: AccountView; created: boolean }> {
    const rt = refreshToken.trim();
    if (!rt) throw new PoolError("refresh token is empty");
    const grant = await refreshAccessToken(this.config, rt);
    const info = await fetchUserInfo(this.config, grant.accessToken);
    const project = await this.upkeep.resolveProject(grant.accessToken);
    if (project.kind === "error") this.log.warn("account added without a project", { account: info.email, reason: project.message });
    const quota = project.kind === "ok" ? await fetchQuota(this.client, grant.accessToken, project.projectId) : undefined;
    if (quota && !quota.ok) this.log.warn("could not read quota for a new account", { account: info.email, reason: quota.failure.message });
    const now = Date.now();
    let created = false;
    let id = "";
    await this.store.update((doc) => {
      const lower = info.email.toLowerCase();
      let a = [...doc.accounts.values()].find((x) => x.email.toLowerCase() === lower);
      created = !a;
      if (!a) {
        a = { id: newAccountId(), email: info.email, refreshToken: rt, state: "active", createdAt: now, ...blankState() };
        doc.accounts.set(a.id, a);
      }
      id = a.id;
      a.email = info.email;
      if (info.name) a.name = info.name;
      a.refreshToken = grant.refreshToken ?? rt;
      if (project.tier) a.tier = project.tier;
      // re-adding is how a disabled account comes back
      a.state = "active";
      a.disabledReason = a.disabledAt = a.verificationUrl = undefined;
      if (project.kind === "ok") a.projectId = project.projectId;
      if (project.kind === "verification") Object.assign(a, { state: "needs_verification", verificationUrl: project.url });
    });
    // what changes on its own goes to state.db (accounts.json has just the identity)
    this.live.setToken(id, grant.accessToken, grant.expiresAt);
    if (quota?.ok) this.live.applyReport(id, quota.report);
    this.events.changed();
    return { account: this.get(id)!, created };
  }

  async remove(idOrEmail: string): Promise<boolean> {
    const a = this.find(idOrEmail);
    if (!a) return false;
    const id = a.id;
    await this.store.update((doc) => void doc.accounts.delete(id));
    this.live.forget(id);
    this.events.left(id, { removed: true });
    this.events.changed();
    return true;
  }

  async setEnabled(idOrEmail: string, enabled: boolean): Promise<AccountView> {
    const id = this.mustFind(idOrEmail).id;
    const now = Date.now();
    await this.store.update((doc) => {
      const a = doc.accounts.get(id);
      if (!a) return;
      if (enabled) {
        a.state = "active";
        a.disabledReason = a.disabledAt = a.verificationUrl = undefined;
      } else {
        a.state = "disabled";
        a.disabledReason = "disabled by the operator";
        a.disabledAt = now;
      }
    });
    if (enabled) this.live.clearCooldowns(id, (c) => c.model === "*");
    if (!enabled) this.events.left(id, { removed: false });
    // another process (the CLI) may have removed it since this one last read the file
    const view = this.get(id);
    if (!view) throw new PoolError(`no account ${JSON.stringify(idOrEmail)}: it was removed meanwhile`);
    return view;
  }

  /** refresh token, project and quota now (one account or all) */
  async refresh(idOrEmail?: string): Promise<{ email: string; ok: boolean; error?: string }[]> {
    const targets = idOrEmail === undefined ? [...this.store.accounts()] : [this.mustFind(idOrEmail)];
    const errors = await this.upkeep.refreshMany(targets.map((a) => a.id));
    return targets.map((a) => {
      const error = errors.get(a.id);
      return error === undefined ? { email: a.email, ok: true } : { email: a.email, ok: false, error };
    });
  }

  exportAccounts(): ExportFile {
    return {
      version: 1,
      exportedAt: new Date().toISOString(),
      accounts: this.store.accounts().map((a) => ({ email: a.email, name: a.name, refreshToken: a.refreshToken, projectId: a.projectId })),
    };
  }
}
