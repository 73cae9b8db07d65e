// Prometheus counters, gauges and histograms, and the text exposition of a registry: the part of
// prom-client this gateway used, written so that a labelled series is a cell found once. prom-client
// sorted and hashed the label object on every inc/observe, even on a child from labels(), which was
// ~8 % of a request's CPU (docs/performance.md); here `labels()` returns the cell itself and an
// inc is one addition. The API keeps prom-client's shape (labels objects, collect(), get()).

type Labels<T extends string> = Partial<Record<T, string | number>>;

export interface MetricOptions<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  registers?: Registry[];
  /** called before each scrape (read a value kept elsewhere); `this` is the metric */
  collect?: (this: any) => void | Promise<void>;
}

/** one series as get() reports it (prom-client's shape, which the tests read) */
export interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface Metric {
  readonly name: string;
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[] }>;
  /** the metric's lines in the text format, after its collect() */
  text(): Promise<string>;
}

const escapeHelp = (s: string) => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const SPECIAL = /[\\\n"]/;
const SPECIALS = /[\\\n"]/g;
const escapeChar = (c: string) => (c === "\n" ? "\\n" : `\\${c}`);
/** a label value in quotes: backslash, newline and quote escaped (most values have none: tested first) */
const escapeValue = (s: string) => (SPECIAL.test(s) ? s.replace(SPECIALS, escapeChar) : s);

function formatValue(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return Number.isNaN(v) ? "NaN" : String(v);
}

/** `{a="x",b="y"}` for the label values in order (empty labels are left out), or "" */
function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  // concatenated, not parts joined: a scrape with 10,000 accounts writes ~70,000 of these
  let out = "";
  for (let i = 0; i < names.length; i++) out += `${i ? "," : ""}${names[i]}="${escapeValue(values[i]!)}"`;
  if (extra) out += out ? `,${extra}` : extra;
  return out ? `{${out}}` : "";
}

/** a label's value as the series is kept by: a string (200 and "200" are one series) */
function labelValue(labels: Partial<Record<string, string | number>> | undefined, name: string): string {
  const v = labels?.[name];
  return typeof v === "string" ? v : String(v ?? "");
}

/** what every metric shares: the label names, the series by their label values, collect() */
abstract class Base<T extends string, Cell> implements Metric {
  readonly name: string;
  readonly help: string;
  protected readonly labelNames: readonly T[];
  /** every series with its label values, in the order they appeared (the exposition's order) */
  protected cells: { values: string[]; cell: Cell }[] = [];
  /**
   * The same cells found by their label values, one Map level per label name: a lookup builds no key
   * string (a string made per call is hashed anew on every lookup; label values mostly are strings the
   * caller already holds, whose hash is kept). `plain` is the one cell of a metric without labels.
   */
  private tree = new Map<string, any>();
  private plain?: Cell;
  private readonly collectFn?: () => void | Promise<void>;
  protected abstract readonly type: string;

  constructor(opts: MetricOptions<T>) {
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames ?? [];
    this.collectFn = opts.collect;
    for (const r of opts.registers ?? []) r.registerMetric(this);
  }

  protected abstract newCell(): Cell;

  /** the series for these labels, made on first use; an unknown label name (checked then) is a programming error */
  protected cellOf(labels: Labels<T> | undefined): Cell {
    const names = this.labelNames;
    const last = names.length - 1;
    if (last < 0) return this.plain ?? this.made(labels, undefined);
    let level = this.tree;
    for (let i = 0; i < last; i++) {
      const v = labelValue(labels, names[i]!);
      let next = level.get(v);
      if (next === undefined) level.set(v, (next = new Map()));
      level = next;
    }
    return level.get(labelValue(labels, names[last]!)) ?? this.made(labels, level);
  }

  /** a new series, kept in the list and in the tree's last level (`level`; none for a metric without labels) */
  private made(labels: Labels<T> | undefined, level: Map<string, Cell> | undefined): Cell {
    const names = this.labelNames;
    if (labels) for (const k in labels) if (!names.includes(k as T)) throw new Error(`${this.name}: unknown label "${k}"`);
    const values = names.map((n) => labelValue(labels, n));
    const cell = this.newCell();
    this.cells.push({ values, cell });
    if (level) level.set(values[values.length - 1]!, cell);
    else this.plain = cell;
    return cell;
  }

  /** forgets every series (a collect() that rebuilds them from scratch) */
  reset(): void {
    this.cells.length = 0;
    this.tree.clear();
    this.plain = undefined;
  }

  protected async collected(): Promise<void> {
    await this.collectFn?.call(this);
  }

  protected header(): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
  }

  abstract get(): Promise<{ name: string; help: string; type: string; values: MetricValue[] }>;
  abstract text(): Promise<string>;

  protected labelsOf(values: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    this.labelNames.forEach((n, i) => (out[n] = values[i]!));
    return out;
  }
}

interface ValueCell {
  value: number;
}

/** a counter's or gauge's series: one number */
abstract class Scalar<T extends string> extends Base<T, ValueCell> {
  protected newCell(): ValueCell {
    return { value: 0 };
  }

  async get() {
    await this.collected();
    if (this.labelNames.length === 0 && this.cells.length === 0) this.cellOf(undefined);
    const values = this.cells.map((e) => ({ value: e.cell.value, labels: this.labelsOf(e.values) }));
    return { name: this.name, help: this.help, type: this.type, values };
  }

  async text(): Promise<string> {
    await this.collected();
    if (this.labelNames.length === 0 && this.cells.length === 0) this.cellOf(undefined);
    let out = this.header();
    for (const e of this.cells) out += `${this.name}${labelText(this.labelNames, e.values)} ${formatValue(e.cell.value)}\n`;
    return out;
  }
}

// the overloads shared by inc/dec/set/observe — (value), (labels), (labels, value) — read without
// building a pair per call (several calls per request)
const argLabels = <T extends string>(a?: Labels<T> | number): Labels<T> | undefined => (typeof a === "object" ? a : undefined);
const argValue = (a: unknown, b?: number): number | undefined => (typeof a === "number" ? a : b);

export class Counter<T extends string = string> extends Scalar<T> {
  protected readonly type = "counter";

  inc(labels?: Labels<T> | number, value?: number): void {
    const l = argLabels(labels);
    const v = argValue(labels, value);
    const n = v ?? 1;
    if (!(n >= 0)) throw new Error(`${this.name}: a counter only goes up (got ${n})`);
    this.cellOf(l).value += n;
  }

  /** the series for these labels: `inc()` on it is one addition */
  labels(labels: Labels<T>): { inc(value?: number): void } {
    const cell = this.cellOf(labels);
    const name = this.name;
    return {
      inc(value = 1) {
        if (!(value >= 0)) throw new Error(`${name}: a counter only goes up (got ${value})`);
        cell.value += value;
      },
    };
  }
}

export class Gauge<T extends string = string> extends Scalar<T> {
  protected readonly type = "gauge";

  set(labels: Labels<T> | number, value?: number): void {
    const l = argLabels(labels);
    const v = argValue(labels, value);
    this.cellOf(l).value = v ?? 0;
  }

  inc(labels?: Labels<T> | number, value?: number): void {
    const l = argLabels(labels);
    const v = argValue(labels, value);
    this.cellOf(l).value += v ?? 1;
  }

  dec(labels?: Labels<T> | number, value?: number): void {
    const l = argLabels(labels);
    const v = argValue(labels, value);
    this.cellOf(l).value -= v ?? 1;
  }

  labels(labels: Labels<T>): { set(value: number): void; inc(value?: number): void; dec(value?: number): void } {
    const cell = this.cellOf(labels);
    return {
      set: (value) => void (cell.value = value),
      inc: (value = 1) => void (cell.value += value),
      dec: (value = 1) => void (cell.value -= value),
    };
  }
}

interface HistogramCell {
  /** per bucket, not cumulative (summed at exposition) */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class Histogram<T extends string = string> extends Base<T, HistogramCell> {
  protected readonly type = "histogram";
  private readonly buckets: number[];

  constructor(opts: MetricOptions<T> & { buckets?: number[] }) {
    super(opts);
    this.buckets = [...(opts.buckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])].sort((a, b) => a - b);
  }

  protected newCell(): HistogramCell {
    return { counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
  }

  private add(cell: HistogramCell, v: number) {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    if (i < b.length) cell.counts[i]!++;
    cell.sum += v;
    cell.count++;
  }

  observe(labels: Labels<T> | number, value?: number): void {
    const l = argLabels(labels);
    const v = argValue(labels, value);
    this.add(this.cellOf(l), v ?? 0);
  }

  labels(labels: Labels<T>): { observe(value: number): void } {
    const cell = this.cellOf(labels);
    return { observe: (v) => this.add(cell, v) };
  }

  /** per series: its cumulative buckets (le), sum and count */
  private *series(): Generator<{ values: string[]; le: string; cumulative: number } | { values: string[]; sum: number; count: number }> {
    for (const e of this.cells) {
      let acc = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        acc += e.cell.counts[i]!;
        yield { values: e.values, le: formatValue(this.buckets[i]!), cumulative: acc };
      }
      yield { values: e.values, le: "+Inf", cumulative: e.cell.count };
      yield { values: e.values, sum: e.cell.sum, count: e.cell.count };
    }
  }

  async get() {
    await this.collected();
    const values: MetricValue[] = [];
    for (const s of this.series()) {
      const labels = this.labelsOf(s.values);
      if ("le" in s) values.push({ value: s.cumulative, labels: { ...labels, le: s.le }, metricName: `${this.name}_bucket` });
      else {
        values.push({ value: s.sum, labels, metricName: `${this.name}_sum` });
        values.push({ value: s.count, labels, metricName: `${this.name}_count` });
      }
    }
    return { name: this.name, help: this.help, type: this.type, values };
  }

  async text(): Promise<string> {
    await this.collected();
    let out = this.header();
    const names = this.labelNames;
    for (const s of this.series()) {
      if ("le" in s) out += `${this.name}_bucket${labelText(names, s.values, `le="${s.le}"`)} ${s.cumulative}\n`;
      else {
        const l = labelText(names, s.values);
        out += `${this.name}_sum${l} ${formatValue(s.sum)}\n${this.name}_count${l} ${s.count}\n`;
      }
    }
    return out;
  }
}

/** the metrics of one app (tests and in-process servers each have their own) */
export class Registry {
  readonly contentType = "text/plain; version=0.0.4; charset=utf-8";
  private byName = new Map<string, Metric>();

  registerMetric(m: Metric): void {
    if (this.byName.has(m.name)) throw new Error(`a metric named ${m.name} is already registered`);
    this.byName.set(m.name, m);
  }

  getSingleMetric(name: string): Metric | undefined {
    return this.byName.get(name);
  }

  async getSingleMetricAsString(name: string): Promise<string> {
    return (await this.byName.get(name)?.text()) ?? "";
  }

  /** the text exposition of every metric, each after its collect() */
  async metrics(): Promise<string> {
    const parts = await Promise.all([...this.byName.values()].map((m) => m.text()));
    return parts.join("\n");
  }
}
