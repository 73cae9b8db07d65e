// The accounts themselves shared by several instances: with Redis configured, Redis is the source of
// truth for identities and credentials and each instance's accounts.json is its local copy. At open,
// an empty Redis takes the local accounts (an existing accounts.json is imported on first start);
// otherwise the local store takes Redis's. Afterwards every local change (the CLI, the admin API, a
// refresh token rotated or revoked) is pushed, and other instances' changes arrive on the changes
// channel. Layout: `{prefix}accounts` hash (id → the account's accounts.json record).
import { parseStore, serializeStore, type AccountStore, type StoreDoc } from "./store";
import type { Account } from "./types";
import { hashOf, type RedisState } from "../state/redis";

interface AccountsChange {
  set?: Record<string, string>;
  del?: string[];
}

/** the accounts.json record of one account, as text (identity and credentials only) */
function recordOf(a: Account): string {
  const doc = JSON.parse(serializeStore({ accounts: new Map([[a.id, a]]), revision: 0 } as unknown as StoreDoc, 0));
  return JSON.stringify(doc.accounts[0]);
}

/** records back to accounts (blank changing state: the state store supplies it) */
function accountsOf(records: string[]): Account[] {
  const text = `{"version":2,"revision":0,"accounts":[${records.join(",")}]}`;
  return [...parseStore(text).accounts.values()];
}

export class SharedAccounts {
  /** what Redis holds as far as this instance knows: id → record text */
  private known = new Map<string, string>();
  private inflight = new Set<Promise<unknown>>();
  private applying = false;
  /**
   * accounts changed (or removed) here while Redis was away: pushed when it returns. Only these: the
   * rest of the local copy may be stale (another instance removed or disabled an account meanwhile), and
   * Redis's copy of it wins, as at a normal start.
   */
  private owed = new Set<string>();

  constructor(
    private redis: RedisState,
    private store: AccountStore,
    /** accounts were added, removed or changed by another instance (apply their state, rebuild indexes) */
    private onRemote: (added: string[]) => void,
  ) {}

  /** first start: push the local accounts to an empty Redis; otherwise take Redis's */
  async open(): Promise<void> {
    const hash = this.redis.keyOf("accounts");
    const reply = this.redis.command("HGETALL", [hash]);
    if (!reply)
      this.snapshot(); // Redis away: serve the local copy, reconcile when it returns
    else await this.reconcile(hashOf(await reply));
    this.redis.onEvent("accounts", (p) => void this.applyRemote(p as AccountsChange));
    this.redis.onReconnect(async () => {
      const r = this.redis.command("HGETALL", [hash]);
      if (r) await this.reconcile(hashOf(await r));
    });
  }

  /** the local store changed (this process or a local file edit): push what differs from Redis */
  localChanged(): void {
    if (this.applying) return;
    const set: Record<string, string> = {};
    const del: string[] = [];
    const seen = new Set<string>();
    for (const a of this.store.accounts()) {
      seen.add(a.id);
      const r = recordOf(a);
      if (this.known.get(a.id) !== r) set[a.id] = r;
    }
    for (const id of this.known.keys()) if (!seen.has(id)) del.push(id);
    if (!Object.keys(set).length && !del.length) return;
    for (const [id, r] of Object.entries(set)) this.known.set(id, r);
    for (const id of del) this.known.delete(id);
    this.send({ set, del });
  }

  /** wait until every push so far reached Redis (the CLI exits right after) */
  async settle(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight]).catch(() => {});
  }

  private send(c: AccountsChange): void {
    const hash = this.redis.keyOf("accounts");
    const sets = Object.entries(c.set ?? {});
    const writes = [
      sets.length ? this.redis.command("HSET", [hash, ...sets.flat()]) : Promise.resolve(),
      c.del?.length ? this.redis.command("HDEL", [hash, ...c.del]) : Promise.resolve(),
    ];
    const owe = () => {
      for (const id of [...sets.map(([id]) => id), ...(c.del ?? [])]) this.owed.add(id);
    };
    if (writes.some((w) => !w)) return owe();
    const p = Promise.all(writes).then(() => this.redis.publish("accounts", c), owe);
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private snapshot(): void {
    this.known = new Map(this.store.accounts().map((a) => [a.id, recordOf(a)]));
  }

  /**
   * Redis's accounts against the local ones: Redis wins, except that an empty Redis takes all of ours,
   * and the accounts changed or removed here while Redis was away are pushed
   */
  private async reconcile(remote: Record<string, string>): Promise<void> {
    const mine = new Map(this.store.accounts().map((a) => [a.id, recordOf(a)]));
    const pushAll = !Object.keys(remote).length;
    const owed = pushAll ? new Set(mine.keys()) : this.owed;
    this.owed = new Set();
    const set: Record<string, string> = {};
    const del: string[] = [];
    for (const id of owed) {
      const r = mine.get(id);
      if (r === undefined) {
        if (id in remote) del.push(id);
      } else if (remote[id] !== r) set[id] = r;
    }
    // what Redis holds once ours is pushed; the local store takes the rest from it
    const after = { ...remote, ...set };
    for (const id of del) delete after[id];
    this.known = new Map(Object.entries(after));
    if (Object.keys(set).length || del.length) this.send({ set, del });
    await this.applyRemote({ set: after, del: [...mine.keys()].filter((id) => !(id in after)) });
    await this.settle();
  }

  /** another instance's change onto the local store (identity fields only: the changing state stays) */
  private async applyRemote(c: AccountsChange): Promise<void> {
    const incoming = accountsOf(Object.values(c.set ?? {}));
    for (const [id, r] of Object.entries(c.set ?? {})) this.known.set(id, r);
    for (const id of c.del ?? []) this.known.delete(id);
    const added: string[] = [];
    const changed = incoming.filter((a) => {
      const had = this.store.get(a.id);
      return !had || recordOf(had) !== recordOf(a);
    });
    const removed = (c.del ?? []).filter((id) => this.store.get(id));
    if (!changed.length && !removed.length) return;
    this.applying = true;
    let done: Promise<void>;
    try {
      done = this.store.update((doc) => {
        for (const a of changed) {
          const had = doc.accounts.get(a.id);
          if (had) Object.assign(had, identityOf(a));
          else {
            doc.accounts.set(a.id, a);
            added.push(a.id);
          }
        }
        for (const id of removed) doc.accounts.delete(id);
      });
    } finally {
      this.applying = false; // update applies the change at once; only the file write comes later
    }
    this.onRemote(added);
    await done.catch(() => {});
  }
}

/** the identity and credential fields of an account (what accounts.json holds; the rest is state) */
const IDENTITY = [
  "email",
  "name",
  "refreshToken",
  "projectId",
  "tier",
  "state",
  "disabledReason",
  "disabledAt",
  "verificationUrl",
  "createdAt",
] as const;

function identityOf(a: Account): Partial<Account> {
  return Object.fromEntries(IDENTITY.map((k) => [k, a[k]]));
}
