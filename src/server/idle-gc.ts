// A quiet gateway gives memory back. After a burst, the heap the burst grew is garbage but stays
// resident until the next collection, which an idle process may never run. Two steps, so that a
// short pause in steady traffic costs nothing the next request notices:
//   - quiet for one period (5 s) after at least MIN_REQUESTS: a full collection, and the executable's
//     pages back to the kernel (./page-out.ts) — the next request pays a few ms of page faults once;
//   - quiet for SHRINK_PERIODS (25 s): also Bun.shrink, which returns the allocator's free pages and
//     throws away all compiled code — the next burst compiles its path again (~0.1 s of a JIT thread
//     without JavaScriptCore's top tier, which serve turns off; ~1 s with it), which only a gateway
//     that really went quiet should pay.
// Both once after start-up too, whose pages and code are the most of an idle gateway's memory
// (docs/performance.md).
import { pageOutFileMappings } from "./page-out";

const MIN_REQUESTS = 200;
/** quiet periods in a row before the deep step (Bun.shrink) */
const SHRINK_PERIODS = 5;
let requests = 0;

/** called once per request by the handler: a counter, nothing else on the hot path */
export const noteRequest = () => void requests++;

export type Step = "light" | "deep";

/** what to do at each periodic check, given the request count then (no clock: one call per period) */
export class IdlePlan {
  private seen: number;
  private sinceLight = 0;
  private sinceDeep = 0;
  private quiet = 0;
  private first = true;

  constructor(requestsNow: number) {
    this.seen = requestsNow;
  }

  check(requestsNow: number): Step | undefined {
    const n = requestsNow - this.seen;
    this.seen = requestsNow;
    this.sinceLight += n;
    this.sinceDeep += n;
    this.quiet = n === 0 ? this.quiet + 1 : 0;
    const first = this.first;
    this.first = false;
    // the first time whatever came (a probe or two): start-up left the most behind
    if (first || (this.quiet >= SHRINK_PERIODS && this.sinceDeep >= MIN_REQUESTS)) {
      this.sinceLight = this.sinceDeep = 0;
      return "deep";
    }
    if (this.quiet >= 1 && this.sinceLight >= MIN_REQUESTS) {
      this.sinceLight = 0;
      return "light";
    }
    return undefined;
  }
}

function collect(step: Step) {
  Bun.gc(true);
  if (step === "deep") Bun.shrink();
  void pageOutFileMappings().catch(() => {});
}

/** checks every `periodMs` (timers unref'ed), the first time `firstMs` after start; returns the stop function */
export function startIdleGc(opts: { periodMs?: number; firstMs?: number } = {}): () => void {
  const plan = new IdlePlan(requests);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (ms: number) => {
    timer = setTimeout(() => {
      const step = plan.check(requests);
      if (step) collect(step);
      arm(opts.periodMs ?? 5000);
    }, ms);
    timer.unref();
  };
  arm(opts.firstMs ?? 2000);
  return () => clearTimeout(timer);
}
