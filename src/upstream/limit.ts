// At most `max` upstream calls in flight; the rest wait for a slot in arrival order. Bun's fetch has a
// per-process cap of its own behind which calls wait unseen (docs/upstream.md, "Concurrent upstream
// calls"); this one is ours, so the wait can be counted, logged and bounded by the caller's signal.

/** gives the slot back; calling it again does nothing */
export type Release = () => void;

export interface SlotEvents {
  /** a call found every slot taken and waits */
  queued?(): void;
  /** the number in flight or waiting changed */
  changed?(inFlight: number, waiting: number): void;
}

interface Waiter {
  grant(): void;
}

export class Slots {
  private active = 0;
  /** waiting calls in arrival order (a Set keeps insertion order and drops an aborted waiter at once) */
  private queue = new Set<Waiter>();

  constructor(
    readonly max: number,
    private events: SlotEvents = {},
  ) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`the slot limit must be a positive integer, got ${max}`);
  }

  get inFlight(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.size;
  }

  /** a slot now, without a promise, when one is free and nobody waits (and the signal has not aborted) */
  take(signal?: AbortSignal): Release | undefined {
    if (signal?.aborted || this.active >= this.max || this.queue.size > 0) return undefined;
    this.active++;
    this.changed();
    return this.releaser();
  }

  /**
   * A slot, now or once the calls before this one are done. Rejects with the signal's reason when it
   * aborts first (the call then never held a slot).
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.take();
    if (now) return Promise.resolve(now);
    return new Promise<Release>((resolve, reject) => {
      const onAbort = () => {
        if (!this.queue.delete(waiter)) return;
        this.changed();
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(this.releaser());
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.add(waiter);
      this.events.queued?.();
      this.changed();
    });
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.handOn();
      this.changed();
    };
  }

  /** free slots go to the longest-waiting calls */
  private handOn() {
    if (this.queue.size === 0) return;
    for (const next of this.queue) {
      if (this.active >= this.max) return;
      this.queue.delete(next);
      this.active++;
      next.grant();
    }
  }

  private changed() {
    this.events.changed?.(this.active, this.queue.size);
  }
}
