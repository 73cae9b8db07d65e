// The live log: the last requests (a bounded ring, fed by the usage records as they are made) and
// requests / errors per minute for the last hour. Memory is fixed: RING records and 60 minute slots.
import type { UsageRecord } from "../keys/service";

export const RING = 200;
const MINUTE = 60_000;
const SLOTS = 60;

/** what the page sees of one request: picked field by field, so nothing new slips in (no prompt, no key) */
export type LiveRecord = Pick<
  UsageRecord,
  | "at"
  | "keyName"
  | "account"
  | "model"
  | "upstreamModel"
  | "protocol"
  | "route"
  | "status"
  | "errorClass"
  | "input"
  | "output"
  | "thinking"
  | "cached"
  | "latencyMs"
  | "ttfbMs"
  | "streamed"
>;

/** the record without what the page must not see (pure) */
export function liveOf(r: UsageRecord): LiveRecord {
  return {
    at: r.at,
    keyName: r.keyName,
    account: r.account,
    model: r.model,
    upstreamModel: r.upstreamModel,
    protocol: r.protocol,
    route: r.route,
    status: r.status,
    errorClass: r.errorClass,
    input: r.input,
    output: r.output,
    thinking: r.thinking,
    cached: r.cached,
    latencyMs: r.latencyMs,
    ttfbMs: r.ttfbMs,
    streamed: r.streamed,
  };
}

export class LiveLog {
  /**
   * The last RING usage records as they were made, oldest at `next` once full: kept as they are and
   * reduced to what the page may see only when it reads them (a request makes no copy, and no ring
   * shifts its 200 entries down)
   */
  private ring: UsageRecord[] = [];
  private next = 0;
  private minutes = Array.from({ length: SLOTS }, () => ({ minute: -1, requests: 0, errors: 0 }));
  private watchers = new Set<(r: LiveRecord) => void>();

  constructor(private now: () => number = Date.now) {}

  push(r: UsageRecord): void {
    if (this.ring.length < RING) this.ring.push(r);
    else this.ring[this.next] = r;
    this.next = (this.next + 1) % RING;
    const minute = Math.floor(this.now() / MINUTE);
    const slot = this.minutes[minute % SLOTS]!;
    if (slot.minute !== minute) Object.assign(slot, { minute, requests: 0, errors: 0 });
    slot.requests++;
    if (r.status >= 400) slot.errors++;
    if (this.watchers.size === 0) return;
    const seen = liveOf(r);
    for (const w of this.watchers) w(seen);
  }

  /** the last RING records, oldest first */
  recent(): LiveRecord[] {
    const full = this.ring.length === RING;
    const ordered = full ? [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)] : this.ring;
    return ordered.map(liveOf);
  }

  watch(fn: (r: LiveRecord) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  /** requests and errors per minute, oldest first, the current minute last */
  perMinute(): { minute: string; requests: number; errors: number }[] {
    const now = Math.floor(this.now() / MINUTE);
    const out = [];
    for (let m = now - SLOTS + 1; m <= now; m++) {
      const s = this.minutes[m % SLOTS]!;
      out.push({
        minute: new Date(m * MINUTE).toISOString(),
        requests: s.minute === m ? s.requests : 0,
        errors: s.minute === m ? s.errors : 0,
      });
    }
    return out;
  }

  /** accounts that answered a request in the last minute, with how many */
  serving(): { account: string; requests: number }[] {
    const since = this.now() - MINUTE;
    const by = new Map<string, number>();
    for (const r of this.ring) if (r.account && r.at >= since) by.set(r.account, (by.get(r.account) ?? 0) + 1);
    return [...by].map(([account, requests]) => ({ account, requests }));
  }
}
