// The metrics kernel (src/core/prom.ts): the text exposition Prometheus reads, table-driven, and the
// series a labels() child and a labels object share.
import { describe, expect, test } from "bun:test";
import { Counter, Gauge, Histogram, Registry } from "../../src/core/prom";

const scrape = (r: Registry) => r.metrics();

describe("text exposition", () => {
  test.each<[string, (r: Registry) => void, string]>([
    [
      "a counter without labels starts at 0",
      (r: Registry): void => {
        new Counter({ name: "c_total", help: "a counter", registers: [r] });
      },
      "# HELP c_total a counter\n# TYPE c_total counter\nc_total 0\n",
    ],
    [
      "a labelled counter: one line per series, labels in declared order",
      (r: Registry) => {
        const c = new Counter({ name: "c_total", help: "h", labelNames: ["b", "a"] as const, registers: [r] });
        c.inc({ a: "1", b: "2" });
        c.labels({ b: "x", a: "y" }).inc(2.5);
        c.inc({ b: "2", a: "1" }, 3);
      },
      '# HELP c_total h\n# TYPE c_total counter\nc_total{b="2",a="1"} 4\nc_total{b="x",a="y"} 2.5\n',
    ],
    [
      "label values and help are escaped",
      (r: Registry) =>
        new Gauge({ name: "g", help: 'back\\slash\nnew "line"', labelNames: ["v"] as const, registers: [r] }).set({ v: 'a"b\\c\nd' }, -1),
      '# HELP g back\\\\slash\\nnew "line"\n# TYPE g gauge\ng{v="a\\"b\\\\c\\nd"} -1\n',
    ],
    [
      "a gauge goes both ways; special values",
      (r: Registry) => {
        const g = new Gauge({ name: "g", help: "h", labelNames: ["k"] as const, registers: [r] });
        g.inc({ k: "a" }, 5);
        g.dec({ k: "a" }, 2);
        g.set({ k: "inf" }, Infinity);
        g.set({ k: "nan" }, NaN);
      },
      '# HELP g h\n# TYPE g gauge\ng{k="a"} 3\ng{k="inf"} +Inf\ng{k="nan"} NaN\n',
    ],
    [
      "a histogram: cumulative buckets with le, +Inf, sum and count (a value on a bound counts in it)",
      (r: Registry) => {
        const h = new Histogram({ name: "h_seconds", help: "h", labelNames: ["f"] as const, buckets: [1, 0.1], registers: [r] });
        h.observe({ f: "x" }, 0.1);
        h.labels({ f: "x" }).observe(0.5);
        h.observe({ f: "x" }, 7);
      },
      '# HELP h_seconds h\n# TYPE h_seconds histogram\nh_seconds_bucket{f="x",le="0.1"} 1\nh_seconds_bucket{f="x",le="1"} 2\n' +
        'h_seconds_bucket{f="x",le="+Inf"} 3\nh_seconds_sum{f="x"} 7.6\nh_seconds_count{f="x"} 3\n',
    ],
    [
      "series are found by each label's value: a number and its text are one series, a missing label is empty, and values that join alike stay apart",
      (r: Registry) => {
        const c = new Counter({ name: "c_total", help: "h", labelNames: ["a", "b"] as const, registers: [r] });
        c.inc({ a: "x", b: 200 });
        c.inc({ a: "x", b: "200" });
        c.inc({ a: "x" });
        c.inc({ a: "x", b: "" });
        c.inc({ a: "x\u0000y", b: "z" });
        c.inc({ a: "x", b: "y\u0000z" });
      },
      '# HELP c_total h\n# TYPE c_total counter\nc_total{a="x",b="200"} 2\nc_total{a="x",b=""} 2\n' +
        'c_total{a="x\u0000y",b="z"} 1\nc_total{a="x",b="y\u0000z"} 1\n',
    ],
    [
      "a metric without labels has its one series, also after reset()",
      (r: Registry) => {
        const g = new Gauge({ name: "g", help: "h", registers: [r] });
        g.set(4);
        g.reset();
        g.inc();
      },
      "# HELP g h\n# TYPE g gauge\ng 1\n",
    ],
  ])("%s", async (_name, setup, expected) => {
    const r = new Registry();
    setup(r);
    expect(await scrape(r)).toBe(expected);
  });
});

test("collect() runs before each scrape, and reset() drops series a collect no longer sets", async () => {
  const r = new Registry();
  let accounts = ["a@x", "b@x"];
  new Gauge({
    name: "per_account",
    help: "h",
    labelNames: ["account"] as const,
    registers: [r],
    collect() {
      this.reset();
      for (const a of accounts) this.set({ account: a }, 1);
    },
  });
  expect(await scrape(r)).toContain('per_account{account="b@x"} 1');
  accounts = ["a@x"];
  const text = await scrape(r);
  expect(text).toContain('per_account{account="a@x"} 1');
  expect(text).not.toContain("b@x");
});

test("get() reports the series as values with labels; getSingleMetricAsString one metric", async () => {
  const r = new Registry();
  const c = new Counter({ name: "c_total", help: "h", labelNames: ["s"] as const, registers: [r] });
  c.labels({ s: "200" }).inc();
  expect((await r.getSingleMetric("c_total")!.get()).values).toEqual([{ value: 1, labels: { s: "200" } }]);
  expect(await r.getSingleMetricAsString("c_total")).toContain('c_total{s="200"} 1');
});

test("mistakes are loud: an unknown label, a counter going down, a name registered twice", () => {
  const r = new Registry();
  const c = new Counter({ name: "c_total", help: "h", labelNames: ["a"] as const, registers: [r] });
  expect(() => c.inc({ b: "x" } as never)).toThrow(/unknown label "b"/);
  expect(() => c.inc(-1)).toThrow(/only goes up/);
  expect(() => c.labels({ a: "x" }).inc(-1)).toThrow(/only goes up/);
  expect(() => new Counter({ name: "c_total", help: "h", registers: [r] })).toThrow(/already registered/);
});
