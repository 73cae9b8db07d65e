// Access tokens: cached in memory and state.db (LiveState), refreshed ahead of expiry, one refresh in flight per account
// (200 concurrent requests on a cold account make exactly one token call; with Redis, one across all
// instances, under a lease). A revoked refresh token
// (invalid_grant) disables the account with Google's reason.
import type { Config } from "../config/schema";
import type { Logger } from "../core/log";
import type { Metrics } from "../core/metrics";
import { OAuthError, refreshAccessToken } from "./oauth";
import type { LiveState } from "./live";
import type { AccountStore } from "./store";
import { PoolError } from "./types";

/** a cached token with less than this left is not handed out even if a refresh failed */
const MIN_LEFT_MS = 10_000;
/** how long one instance may hold an account's refresh lease (a killed holder blocks no longer) */
const LEASE_MS = 10_000;
/** an instance waiting for another's refresh looks this often, and asks for the lease again this often */
const WAIT_STEP_MS = 20;
const RETRY_LEASE_MS = 500;

export class TokenManager {
  private inflight = new Map<string, Promise<string>>();

  constructor(
    private config: Config,
    private store: AccountStore,
    private live: LiveState,
    private log: Logger,
    private onRevoked: (id: string) => void = () => {},
    private metrics?: Pick<Metrics, "accountJobs">,
  ) {}

  private get aheadMs() {
    return this.config.pool.tokenRefreshAheadSeconds * 1000;
  }

  /** whether the cached token is due for a refresh */
  due(id: string, now = Date.now()): boolean {
    const a = this.store.get(id);
    return !a?.accessToken || (a.accessTokenExpiresAt ?? 0) - now <= this.aheadMs;
  }

  /** the cached token when it is not due for a refresh (no promise: a request's common case); else undefined */
  current(id: string, now = Date.now()): string | undefined {
    const a = this.store.get(id);
    return a?.accessToken && (a.accessTokenExpiresAt ?? 0) - now > this.aheadMs ? a.accessToken : undefined;
  }

  /**
   * A usable access token. `rejected`: upstream answered 401 to this token, so refresh even if it
   * looks valid, unless another request already replaced it.
   */
  async get(id: string, opts: { rejected?: string } = {}): Promise<string> {
    const a = this.store.get(id);
    if (!a) throw new PoolError(`account ${id} no longer exists`);
    const now = Date.now();
    const force = opts.rejected !== undefined && a.accessToken === opts.rejected;
    if (!force && a.accessToken && !this.due(id, now)) return a.accessToken;
    try {
      return await this.refresh(id);
    } catch (e) {
      // refresh ahead failed for a passing reason: the old token still works for a while
      const cur = this.store.get(id);
      if (
        !force &&
        !(e instanceof OAuthError && e.revoked) &&
        cur?.accessToken &&
        (cur.accessTokenExpiresAt ?? 0) - Date.now() > MIN_LEFT_MS
      ) {
        return cur.accessToken;
      }
      throw e;
    }
  }

  /** Refresh now; concurrent callers share one call. */
  refresh(id: string): Promise<string> {
    let p = this.inflight.get(id);
    if (!p) {
      p = this.doRefresh(id).finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
    }
    return p;
  }

  /**
   * With state shared between instances, one instance refreshes at a time under a lease (it runs out on
   * its own if the holder dies); the others wait for the token it publishes. Shared state unreachable:
   * refresh here (local single-flight only).
   */
  private async doRefresh(id: string): Promise<string> {
    if (!this.live.shared) return this.callToken(id);
    const before = this.store.get(id)?.accessToken;
    const fresh = () => {
      const a = this.store.get(id);
      return a?.accessToken && a.accessToken !== before && !this.due(id) ? a.accessToken : undefined;
    };
    const name = `token:${id}`;
    for (;;) {
      const got = await this.live.lease(name, LEASE_MS);
      if (got === "unavailable") return this.callToken(id);
      if (got === "taken") {
        try {
          await this.live.reload(id); // the last holder may have refreshed it already
          return fresh() ?? (await this.callToken(id));
        } finally {
          void this.live.release(name);
        }
      }
      // another instance holds the lease: its token arrives through the shared state
      const until = Date.now() + RETRY_LEASE_MS;
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
        const t = fresh();
        if (t) return t;
        if (!this.store.get(id)) throw new PoolError(`account ${id} no longer exists`);
      }
    }
  }

  private async callToken(id: string): Promise<string> {
    const a = this.store.get(id);
    if (!a) throw new PoolError(`account ${id} no longer exists`);
    const usedToken = a.refreshToken;
    try {
      const g = await refreshAccessToken(this.config, usedToken);
      this.metrics?.accountJobs.inc({ job: "token_refresh", outcome: "ok" });
      if (this.store.get(id)?.refreshToken !== usedToken) return g.accessToken; // re-added meanwhile with a new token
      this.live.setToken(id, g.accessToken, g.expiresAt);
      // Google rarely rotates the refresh token; only then is accounts.json written
      if (g.refreshToken && g.refreshToken !== usedToken)
        void this.store
          .update((doc) => {
            const x = doc.accounts.get(id);
            if (x && x.refreshToken === usedToken) x.refreshToken = g.refreshToken!;
          })
          .catch((e) => this.log.error("could not save a new refresh token", { account: a.email, error: (e as Error).message }));
      return g.accessToken;
    } catch (e) {
      const outcome = !(e instanceof OAuthError) ? "failed" : e.revoked ? "revoked" : e.code === "network" ? "network" : "failed";
      this.metrics?.accountJobs.inc({ job: "token_refresh", outcome });
      if (e instanceof OAuthError && e.revoked) {
        const now = Date.now();
        this.log.warn("refresh token rejected: account disabled", { account: a.email, reason: e.message });
        this.onRevoked(id);
        if (this.store.get(id)?.refreshToken === usedToken) this.live.setToken(id, undefined, undefined);
        await this.store
          .update((doc) => {
            const x = doc.accounts.get(id);
            if (!x || x.refreshToken !== usedToken) return;
            x.state = "disabled";
            x.disabledReason = e.message.slice(0, 800);
            x.disabledAt = now;
          })
          .catch((err) => this.log.error("could not save a disabled account", { account: a.email, error: (err as Error).message }));
      }
      throw e;
    }
  }
}
