// prom-client's metric classes without its index: the index also loads the Pushgateway (node:http,
// node:https) and the default collectors, ~10 MB of resident memory a gateway never uses.
// The types are the package's own.
import type * as Prom from "prom-client";
// @ts-expect-error: the files under lib/ ship no declarations; typed below from the package's index
import CounterJs from "prom-client/lib/counter";
// @ts-expect-error: as above
import GaugeJs from "prom-client/lib/gauge";
// @ts-expect-error: as above
import HistogramJs from "prom-client/lib/histogram";
// @ts-expect-error: as above
import RegistryJs from "prom-client/lib/registry";

export const Counter = CounterJs as typeof Prom.Counter;
export const Gauge = GaugeJs as typeof Prom.Gauge;
export const Histogram = HistogramJs as typeof Prom.Histogram;
export const Registry = RegistryJs as typeof Prom.Registry;
export type Counter<T extends string = string> = Prom.Counter<T>;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export type Histogram<T extends string = string> = Prom.Histogram<T>;
export type Registry = Prom.Registry;
