// One timer per watched stream, however many chunks pass: "nothing for `ms`" is found by a timer that
// is re-armed only when it fires, not by a new timer (and, for reads, a race of promises) per chunk.

/** the time and timers a watch uses (tests give their own) */
export interface WatchClock {
  now(): number;
  set(fn: () => void, ms: number): unknown;
  clear(timer: unknown): void;
}

const realClock: WatchClock = {
  now: () => performance.now(),
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
};

/**
 * Calls `onIdle` when `ms` pass without a touch(); then watches again (a keep-alive repeats) until
 * stop(). While `paused` nothing counts as idle: a reader that is not reading is not waiting.
 */
export class IdleWatch {
  private last: number;
  private timer: unknown;
  paused = false;

  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
    private readonly clock: WatchClock = realClock,
  ) {
    this.last = clock.now();
    this.timer = clock.set(this.check, ms);
  }

  /** something happened: the idle time starts again */
  touch(): void {
    this.last = this.clock.now();
  }

  stop(): void {
    this.clock.clear(this.timer);
    this.timer = undefined;
  }

  private readonly check = (): void => {
    if (this.timer === undefined) return;
    const c = this.clock;
    if (this.paused) this.last = c.now();
    else if (c.now() - this.last >= this.ms) {
      this.onIdle();
      this.last = c.now();
    }
    // onIdle may have stopped the watch
    if (this.timer !== undefined) this.timer = c.set(this.check, Math.max(1, this.ms - (c.now() - this.last)));
  };
}
