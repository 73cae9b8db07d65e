// Sticky-session bindings (session key → account id): an idle TTL and a size cap, least recently
// used evicted first, with per-account counts for the pool view. All operations O(1) except prune
// and unbindAccount.

/** Session → account bindings with an idle TTL and a size cap (least recently used evicted). */
export class SessionTable {
  // Map keeps insertion order: re-inserting on use makes the first entry the least recently used
  private map = new Map<string, { id: string; at: number }>();
  private perAccount = new Map<string, number>();
  /** told every time an account's binding count changes (the scheduler's index) */
  onCount: ((id: string, n: number) => void) | undefined;
  /**
   * told when a binding is made (`fresh`: the key had none) or moves, and on use at most every quarter
   * TTL (shared state tells the other instances; a fresh one only if no instance bound the key first)
   */
  onBind: ((key: string, id: string, at: number, fresh: boolean) => void) | undefined;
  private told = new Map<string, number>();

  constructor(
    private ttlMs: number,
    private max: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string, now: number): string | undefined {
    const b = this.map.get(key);
    if (!b) return undefined;
    if (this.ttlMs > 0 && now - b.at > this.ttlMs) {
      this.delete(key);
      return undefined;
    }
    return b.id;
  }

  bind(key: string, id: string, now: number): void {
    const old = this.map.get(key);
    if (old) {
      this.map.delete(key);
      if (old.id === id) {
        // the usual case, once per request: fresher and last in line, and no count changes
        old.at = now;
        this.map.set(key, old);
        if (this.onBind && now - (this.told.get(key) ?? 0) >= this.ttlMs / 4) this.tell(key, id, now, false);
        return;
      }
      this.dec(old.id);
    }
    this.map.set(key, { id, at: now });
    const n = (this.perAccount.get(id) ?? 0) + 1;
    this.perAccount.set(id, n);
    this.onCount?.(id, n);
    while (this.map.size > this.max) this.delete(this.map.keys().next().value!);
    if (this.onBind) this.tell(key, id, now, !old);
  }

  /** a binding another instance made (not told back) */
  applyRemote(key: string, id: string, at: number): void {
    const onBind = this.onBind;
    this.onBind = undefined;
    try {
      const b = this.map.get(key);
      if (b && b.id === id && b.at >= at) return;
      this.bind(key, id, at);
      this.told.set(key, at);
    } finally {
      this.onBind = onBind;
    }
  }

  private tell(key: string, id: string, now: number, fresh: boolean): void {
    this.told.set(key, now);
    if (this.told.size > this.max * 2) for (const k of this.told.keys()) if (!this.map.has(k)) this.told.delete(k);
    this.onBind!(key, id, now, fresh);
  }

  delete(key: string): void {
    const b = this.map.get(key);
    if (!b) return;
    this.map.delete(key);
    this.dec(b.id);
  }

  bindings(id: string): number {
    return this.perAccount.get(id) ?? 0;
  }

  /** the accounts that hold bindings (a copy: unbinding one while walking them is fine) */
  boundAccounts(): string[] {
    return [...this.perAccount.keys()];
  }

  /** drop idle bindings (oldest first, so this stops at the first live one) */
  prune(now: number): void {
    if (this.ttlMs <= 0) return;
    for (const [k, b] of this.map) {
      if (now - b.at <= this.ttlMs) break;
      this.delete(k);
    }
  }

  /** forget every binding to an account (removed, disabled) */
  unbindAccount(id: string): void {
    if (!this.perAccount.get(id)) return;
    for (const [k, b] of this.map) if (b.id === id) this.delete(k);
  }

  private dec(id: string) {
    const n = Math.max(0, (this.perAccount.get(id) ?? 1) - 1);
    if (n === 0) this.perAccount.delete(id);
    else this.perAccount.set(id, n);
    this.onCount?.(id, n);
  }
}
