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

/**
 * Slows down guessing. The listener does not see the peer's address, so the count is global: a
 * guesser also delays the admin's own sign-in by at most a minute, never locks it out.
 */
export class SignInThrottle {
  private failures = 0;
  private last = 0;
  private nextAt = 0;

  constructor(private now: () => number = Date.now) {}

  /** ms until the next try is heard (0: now) */
  wait(): number {
    const now = this.now();
    if (now - this.last > FORGET_MS) this.failures = 0;
    return this.failures > FREE ? Math.max(0, this.nextAt - now) : 0;
  }

  failed(): void {
    const now = this.now();
    if (now - this.last > FORGET_MS) this.failures = 0;
    this.failures++;
    this.last = now;
    if (this.failures > FREE) this.nextAt = now + Math.min(MAX_WAIT_MS, 1000 * 2 ** (this.failures - FREE - 1));
  }

  succeeded(): void {
    this.failures = 0;
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
