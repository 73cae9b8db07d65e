// Dashboard sessions and the sign-in throttle. A session is a random id held only in memory (a restart
// signs everyone out) with a fixed expiry; the cookie carries the id and nothing else.
import { randomBytes } from "../core/hash";

export const SESSION_TTL_MS = 12 * 3_600_000;
const MAX_SESSIONS = 64;

export class Sessions {
  private live = new Map<string, number>(); // id → expires at

  constructor(
    private now: () => number = Date.now,
    private ttlMs = SESSION_TTL_MS,
  ) {}

  create(): { id: string; expiresAt: number } {
    const now = this.now();
    for (const [id, until] of this.live) if (until <= now) this.live.delete(id);
    // bounded: the oldest session goes first (a Map keeps insertion order)
    while (this.live.size >= MAX_SESSIONS) this.live.delete(this.live.keys().next().value!);
    const id = randomBytes(32).toString("base64url");
    const expiresAt = now + this.ttlMs;
    this.live.set(id, expiresAt);
    return { id, expiresAt };
  }

  valid(id: string | undefined): boolean {
    if (!id) return false;
    const until = this.live.get(id);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.live.delete(id);
    return false;
  }

  end(id: string | undefined): void {
    if (id) this.live.delete(id);
  }
}

/** after FREE wrong keys in a row, each next try waits twice as long as the last (1 s … 60 s) */
const FREE = 3;
const MAX_WAIT_MS = 60_000;
/** a quiet spell this long forgets the failures */
const FORGET_MS = 15 * 60_000;

/** how many addresses the throttle remembers (the oldest goes first) */
const MAX_PEERS = 1024;

/**
 * Slows down guessing, per client address: a guesser elsewhere never delays the admin's sign-in. (A
 * count shared by all let a guesser take every slot as its wait ended, and lock the admin out for as
 * long as it kept guessing.) A guesser on the admin's own address (another program on the same machine)
 * still delays it; the CLI and the admin API are not throttled.
 */
export class SignInThrottle {
  private peers = new Map<string, { failures: number; last: number; nextAt: number }>();

  constructor(private now: () => number = Date.now) {}

  /** ms until `peer`'s next try is heard (0: now) */
  wait(peer = ""): number {
    const p = this.peers.get(peer);
    if (!p) return 0;
    const now = this.now();
    if (now - p.last > FORGET_MS) {
      this.peers.delete(peer);
      return 0;
    }
    return p.failures > FREE ? Math.max(0, p.nextAt - now) : 0;
  }

  failed(peer = ""): void {
    const now = this.now();
    let p = this.peers.get(peer);
    if (!p || now - p.last > FORGET_MS) p = { failures: 0, last: now, nextAt: 0 };
    this.peers.delete(peer); // re-inserted: the map's order is the order of last failure
    p.failures++;
    p.last = now;
    if (p.failures > FREE) p.nextAt = now + Math.min(MAX_WAIT_MS, 1000 * 2 ** (p.failures - FREE - 1));
    this.peers.set(peer, p);
    if (this.peers.size > MAX_PEERS) this.peers.delete(this.peers.keys().next().value!);
  }

  succeeded(peer = ""): void {
    this.peers.delete(peer);
  }
}

/** the value of one cookie in a Cookie header */
export function cookieValue(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
