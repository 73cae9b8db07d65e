// IdleWatch (src/core/idle-watch.ts): one timer per watch, on an injected clock.
import { expect, test } from "bun:test";
import { IdleWatch, type WatchClock } from "../../src/core/idle-watch";

/** a clock whose timers run when advance() passes their time */
function manualClock() {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 0;
  const clock: WatchClock = {
    now: () => now,
    set: (fn, ms) => {
      const id = ++next;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clear: (id) => (timers = timers.filter((t) => t.id !== id)),
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers = timers.filter((t) => t !== due);
      now = due.at;
      due.fn();
    }
    now = end;
  };
  return { clock, advance, pending: () => timers.length };
}

test.each<[string, (w: IdleWatch, advance: (ms: number) => void) => void, number[]]>([
  ["fires after ms without a touch, then every ms", (_w, adv) => adv(350), [100, 200, 300]],
  [
    "a touch starts the idle time again",
    (w, adv) => {
      adv(60);
      w.touch();
      adv(60); // 120: only 60 since the touch
      adv(50); // 170: 110 since the touch
    },
    [160],
  ],
  [
    "paused: nothing counts until it resumes",
    (w, adv) => {
      w.paused = true;
      adv(500);
      w.paused = false;
      w.touch();
      adv(150);
    },
    [600],
  ],
])("%s", (_name, run, want) => {
  const { clock, advance } = manualClock();
  const fired: number[] = [];
  const w = new IdleWatch(100, () => fired.push(clock.now()), clock);
  run(w, advance);
  expect(fired).toEqual(want);
});

test("stop() ends it, also from inside onIdle; one timer at a time however often it is touched", () => {
  const { clock, advance, pending } = manualClock();
  let fired = 0;
  const w = new IdleWatch(100, () => (++fired === 2 ? w.stop() : undefined), clock);
  for (let i = 0; i < 1000; i++) w.touch();
  expect(pending()).toBe(1);
  advance(1000);
  expect(fired).toBe(2);
  expect(pending()).toBe(0);
});
