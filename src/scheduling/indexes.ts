// The scheduler's indexes, kept up to date as bindings and quotas change, so that a pick costs the same
// for 3 accounts or 10,000. Each is built once per account-list generation (an account added, removed
// or replaced: O(accounts), rare) and then updated per event in O(1). A pick walks an index from its
// best end and skips what is not eligible right now (cooldowns and states are checked live, as they
// expire by themselves).
import type { Account } from "../accounts/types";

/** whole percent of quota left; unknown (-1) ranks below any known value */
export function quotaRank(a: Account, model: string): number {
  const q = a.quota?.[model];
  return q === undefined ? -1 : Math.floor(q.remainingFraction * 100 + 1e-9);
}

type Usable = (a: Account) => boolean;

/**
 * Accounts by how many sessions are bound to them (sticky mode: new sessions go to the fewest). A Set
 * iterates in insertion order, so an account that drops back to a count goes to the end of its bucket:
 * the buckets are least-recently-bound first.
 */
export class BindingIndex {
  private buckets: Set<string>[] = [];
  private count = new Map<string, number>();

  constructor(
    readonly generation: number,
    private byId: Map<string, Account>,
    accounts: readonly Account[],
    bindings: (id: string) => number,
  ) {
    for (const a of accounts) this.place(a.id, bindings(a.id));
  }

  /** the binding count of `id` is now `n` */
  moved(id: string, n: number): void {
    if (!this.byId.has(id)) return; // an account of another generation
    const was = this.count.get(id);
    if (was !== undefined) this.buckets[was]?.delete(id);
    this.place(id, n);
  }

  /** the first usable account from the emptiest bucket up */
  pick(usable: Usable): Account | undefined {
    for (const bucket of this.buckets) {
      if (!bucket) continue;
      for (const id of bucket) {
        const a = this.byId.get(id)!;
        if (usable(a)) return a;
      }
    }
    return undefined;
  }

  private place(id: string, n: number): void {
    this.count.set(id, n);
    (this.buckets[n] ??= new Set()).add(id);
  }
}

/**
 * Accounts of one model by whole percent of quota left, most first; inside a rank least recently
 * picked first. A quota change appends the account to its new rank; the entry left in the old rank is
 * skipped (its rank no longer matches) and swept when such entries outnumber the accounts.
 */
export class QuotaIndex {
  private ranks: number[] = [];
  private groups = new Map<number, Account[]>();
  private cursors = new Map<number, number>();
  private rankOf = new Map<string, number>();
  private stale = 0;

  constructor(
    readonly generation: number,
    private model: string,
    private accounts: readonly Account[],
  ) {
    this.build();
  }

  /** the account's quota changed */
  changed(a: Account): void {
    const was = this.rankOf.get(a.id);
    if (was === undefined) return; // an account of another generation
    const r = quotaRank(a, this.model);
    if (r === was) return;
    this.rankOf.set(a.id, r);
    this.add(r, a);
    if (++this.stale > this.accounts.length) this.build();
  }

  pick(usable: Usable): Account | undefined {
    for (const r of this.ranks) {
      const grp = this.groups.get(r)!;
      const n = grp.length;
      const start = this.cursors.get(r)! % n;
      for (let k = 0; k < n; k++) {
        const a = grp[(start + k) % n]!;
        if (this.rankOf.get(a.id) !== r || !usable(a)) continue;
        this.cursors.set(r, (start + k + 1) % n);
        return a;
      }
    }
    return undefined;
  }

  private build(): void {
    this.ranks = [];
    this.groups.clear();
    this.cursors.clear();
    this.rankOf.clear();
    this.stale = 0;
    const sorted = [...this.accounts].sort((x, y) => (x.lastUsedAt ?? 0) - (y.lastUsedAt ?? 0));
    for (const a of sorted) {
      const r = quotaRank(a, this.model);
      this.rankOf.set(a.id, r);
      this.add(r, a);
    }
  }

  private add(r: number, a: Account): void {
    let g = this.groups.get(r);
    if (!g) {
      this.groups.set(r, (g = []));
      this.cursors.set(r, 0);
      // ranks are whole percents (at most 102 of them): a sorted insert is cheap
      let i = 0;
      while (i < this.ranks.length && this.ranks[i]! > r) i++;
      this.ranks.splice(i, 0, r);
    }
    g.push(a);
  }
}
