// A quiet gateway gives memory back. After a burst, the heap the burst grew is garbage but stays
// resident until the next collection, which an idle process may never run: once no request has come
// for a whole period, one full collection returns it (and Bun.shrink the allocator's free pages), and
// the executable's pages go back to the kernel (./page-out.ts). The next request pays ~10 ms once
// (docs/performance.md), so not after a trickle: only when at least MIN_REQUESTS came since the last
// collection — and once after start-up, whose pages are the most of an idle gateway's memory.
import { pageOutFileMappings } from "./page-out";

const MIN_REQUESTS = 200;
let requests = 0;

/** called once per request by the handler: a counter, nothing else on the hot path */
export const noteRequest = () => void requests++;

/** checks every `periodMs` (timers unref'ed), the first time `firstMs` after start; returns the stop function */
export function startIdleGc(opts: { periodMs?: number; firstMs?: number; collect?: () => void } = {}): () => void {
  const collect =
    opts.collect ??
    (() => {
      Bun.gc(true);
      Bun.shrink();
      void pageOutFileMappings().catch(() => {});
    });
  let seen = requests;
  let sinceCollect = 0;
  let first = true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    const n = requests - seen;
    seen = requests;
    sinceCollect += n;
    // the first time whatever came (a probe or two): start-up left the most behind
    if (first || (n === 0 && sinceCollect >= MIN_REQUESTS)) {
      first = false;
      sinceCollect = 0;
      collect();
    }
    arm(opts.periodMs ?? 5000);
  };
  const arm = (ms: number) => {
    timer = setTimeout(check, ms);
    timer.unref();
  };
  arm(opts.firstMs ?? 2000);
  return () => clearTimeout(timer);
}
