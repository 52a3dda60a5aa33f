// Types of the wasm_exporter JavaScript SDK (`import ... from 'wasm-exporter'`).

/** prom-client's default histogram buckets. */
export const DEFAULT_BUCKETS: readonly number[];
/** prom-client's default summary percentiles. */
export const DEFAULT_PERCENTILES: readonly number[];

/** Label values of one series, by label name (only names from `labelNames`). */
export type LabelValues<T extends string> = Partial<Record<T, string | number>>;

/** One scrape's request. */
export interface Request {
  /** The `/probe?target=` target; undefined on a plain `/metrics` scrape. */
  readonly target: string | undefined;
  /** The other query parameters of a `/probe` request, in order. */
  readonly params: ReadonlyArray<readonly [string, string]>;
  /** Milliseconds left before the host abandons this call. */
  readonly timeoutMs: number;
  /** The first parameter named `name`, if any. */
  param(name: string): string | undefined;
}

/** The OpenMetrics type of a family, as the WIT `metric-type` enum spells it. */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'info' | 'state-set' | 'unknown';

/** The WIT `descriptor` record. */
export interface Descriptor {
  name: string;
  help: string;
  type: MetricType;
  unit: string | undefined;
  labelNames: string[];
}

/** The WIT `value` variant. */
export type Value =
  | { tag: 'counter'; val: number }
  | { tag: 'gauge'; val: number }
  | { tag: 'unknown'; val: number }
  | {
      tag: 'histogram';
      val: { buckets: { upperBound: number; count: bigint }[]; sum: number; count: bigint };
    }
  | {
      tag: 'summary';
      val: { quantiles: { quantile: number; value: number }[]; sum: number; count: bigint };
    }
  | { tag: 'info' }
  | { tag: 'state-set'; val: { name: string; enabled: boolean }[] };

/** The WIT `metric-family` record, as the host receives it. */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  unit: string | undefined;
  metrics: { labels: { name: string; value: string }[]; value: Value }[];
}

/** What every metric's constructor takes. */
export interface MetricConfiguration<T extends string> {
  /** The family name (`[a-zA-Z_:][a-zA-Z0-9_:]*`). */
  name: string;
  help: string;
  /** The label names of its series, in exposition order. */
  labelNames?: readonly T[];
  /** OpenMetrics unit; the name must end with `_<unit>` (before `_total`). */
  unit?: string;
  /** Runs on every scrape just before this metric is read (prom-client's `collect`). */
  collect?: (this: any, request: Request) => void | Promise<void>;
}

/** What every metric type shares. */
declare abstract class Metric<T extends string = string> {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly unit: string | undefined;
  readonly labelNames: readonly T[];
  /** Removes the series with these labels. */
  remove(labels: LabelValues<T>): void;
  /** Removes every series. */
  reset(): void;
  /** The WIT `descriptor` of this metric. */
  descriptor(): Descriptor;
  /** The WIT `metric-family` of this metric. */
  toFamily(): MetricFamily;
}
export type { Metric };

export interface GaugeChild {
  set(value: number): void;
  inc(by?: number): void;
  dec(by?: number): void;
  setToCurrentTime(): void;
  startTimer(): (labels?: LabelValues<string>) => number;
}

/** A value that can go up and down. */
export class Gauge<T extends string = string> extends Metric<T> {
  constructor(configuration: MetricConfiguration<T> & { collect?: (this: Gauge<T>, request: Request) => void | Promise<void> });
  set(value: number): void;
  set(labels: LabelValues<T>, value: number): void;
  inc(by?: number): void;
  inc(labels: LabelValues<T>, by?: number): void;
  dec(by?: number): void;
  dec(labels: LabelValues<T>, by?: number): void;
  setToCurrentTime(labels?: LabelValues<T>): void;
  /** Returns a function that sets the gauge to the seconds elapsed since, and returns them. */
  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number;
  labels(...values: (string | number)[]): GaugeChild;
  labels(labels: LabelValues<T>): GaugeChild;
}

export interface CounterChild {
  inc(by?: number): void;
}

/** A monotonically increasing total. */
export class Counter<T extends string = string> extends Metric<T> {
  constructor(configuration: MetricConfiguration<T> & { collect?: (this: Counter<T>, request: Request) => void | Promise<void> });
  /** Adds `by` (default 1, never negative). */
  inc(by?: number): void;
  inc(labels: LabelValues<T>, by?: number): void;
  labels(...values: (string | number)[]): CounterChild;
  labels(labels: LabelValues<T>): CounterChild;
}

export interface UnknownChild {
  set(value: number): void;
}

/** A value of unknown type (`untyped` in the text format). */
export class Unknown<T extends string = string> extends Metric<T> {
  constructor(configuration: MetricConfiguration<T> & { collect?: (this: Unknown<T>, request: Request) => void | Promise<void> });
  set(value: number): void;
  set(labels: LabelValues<T>, value: number): void;
  labels(...values: (string | number)[]): UnknownChild;
  labels(labels: LabelValues<T>): UnknownChild;
}

/** Numeric keys to values: `[[0.1, 2], ['+Inf', 6]]`, a Map, or `{ 0.1: 2, '+Inf': 6 }`. */
export type NumericPairs =
  | ReadonlyArray<readonly [number | string, number]>
  | ReadonlyMap<number | string, number>
  | { readonly [key: string]: number };

/** A ready-made histogram data point (cumulative bucket counts). */
export interface HistogramPoint {
  /** Cumulative count per upper bound; the +Inf bucket defaults to `count`. */
  buckets: NumericPairs;
  sum?: number;
  /** Defaults to the +Inf bucket's count. */
  count?: number | bigint;
}

export interface HistogramChild {
  observe(value: number): void;
  set(point: HistogramPoint): void;
  zero(): void;
  startTimer(): (labels?: LabelValues<string>) => number;
}

/** Observations counted into cumulative buckets, with their sum and count. */
export class Histogram<T extends string = string> extends Metric<T> {
  constructor(
    configuration: MetricConfiguration<T> & {
      /** Upper bounds, strictly increasing; +Inf is added. Default: DEFAULT_BUCKETS. */
      buckets?: readonly number[];
      collect?: (this: Histogram<T>, request: Request) => void | Promise<void>;
    },
  );
  readonly upperBounds: readonly number[];
  observe(value: number): void;
  observe(labels: LabelValues<T>, value: number): void;
  /** Sets a ready-made data point, e.g. one read from a system that keeps histograms. */
  set(point: HistogramPoint): void;
  set(labels: LabelValues<T>, point: HistogramPoint): void;
  zero(labels?: LabelValues<T>): void;
  /** Returns a function that observes the seconds elapsed since, and returns them. */
  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number;
  labels(...values: (string | number)[]): HistogramChild;
  labels(labels: LabelValues<T>): HistogramChild;
}

/** A ready-made summary data point. */
export interface SummaryPoint {
  /** Value per quantile in [0, 1]. */
  quantiles: NumericPairs;
  sum?: number;
  count?: number | bigint;
}

export interface SummaryChild {
  observe(value: number): void;
  set(point: SummaryPoint): void;
}

/** Quantiles of observations, with their sum and count. */
export class Summary<T extends string = string> extends Metric<T> {
  constructor(
    configuration: MetricConfiguration<T> & {
      /** Quantiles computed from `observe()`d values. Default: DEFAULT_PERCENTILES. */
      percentiles?: readonly number[];
      collect?: (this: Summary<T>, request: Request) => void | Promise<void>;
    },
  );
  readonly percentiles: readonly number[];
  /** Adds an observation; its quantiles are exact (nearest rank) over this scrape. */
  observe(value: number): void;
  observe(labels: LabelValues<T>, value: number): void;
  /** Sets ready-made quantiles, sum and count. */
  set(point: SummaryPoint): void;
  set(labels: LabelValues<T>, point: SummaryPoint): void;
  labels(...values: (string | number)[]): SummaryChild;
  labels(labels: LabelValues<T>): SummaryChild;
}

export interface InfoChild {
  set(): void;
}

/** Constant labels describing the target (value 1). */
export class Info<T extends string = string> extends Metric<T> {
  constructor(configuration: MetricConfiguration<T> & { collect?: (this: Info<T>, request: Request) => void | Promise<void> });
  set(labels?: LabelValues<T>): void;
  labels(...values: (string | number)[]): InfoChild;
  labels(labels: LabelValues<T>): InfoChild;
}

/** Each state's name to whether it is enabled, or the one enabled state. */
export type States<S extends string> = S | Partial<Record<S, boolean>> | ReadonlyMap<S, boolean>;

export interface StateSetChild<S extends string> {
  set(states: States<S>): void;
}

/** A set of named boolean states; the family name is the label of the states. */
export class StateSet<T extends string = string, S extends string = string> extends Metric<T> {
  constructor(
    configuration: MetricConfiguration<T> & {
      /** Every state, in exposition order; needed to `set()` one state by name. */
      states?: readonly S[];
      collect?: (this: StateSet<T, S>, request: Request) => void | Promise<void>;
    },
  );
  readonly states: readonly S[] | undefined;
  set(states: States<S>): void;
  set(labels: LabelValues<T>, states: States<S>): void;
  labels(...values: (string | number)[]): StateSetChild<S>;
  labels(labels: LabelValues<T>): StateSetChild<S>;
}

/**
 * Registers the plugin's collector, once: it runs on every scrape and
 * returns the metrics to serve, in order, or nothing to serve every metric
 * declared. A thrown error fails the scrape with its message.
 */
export function register(
  collector: (request: Request) => readonly Metric[] | void | Promise<readonly Metric[] | void>,
): void;

/** The host's structured log (only while the host calls the plugin). */
export const log: {
  readonly trace: (...message: unknown[]) => void;
  readonly debug: (...message: unknown[]) => void;
  readonly info: (...message: unknown[]) => void;
  readonly warn: (...message: unknown[]) => void;
  readonly error: (...message: unknown[]) => void;
};

/** This plugin's configuration, sorted by key. */
export function config(): Map<string, string>;

/** One value of this plugin's configuration. */
export function configGet(key: string): string | undefined;

/** File-system statistics of a mount point granted in `grants.statfs`. */
export interface FsStats {
  blockSize: number;
  blocks: number;
  blocksFree: number;
  /** Free blocks an unprivileged user may use. */
  blocksAvailable: number;
  files: number;
  filesFree: number;
  readOnly: boolean;
}

/** The statistics of the file system mounted at `path`; throws if not granted. */
export function statfs(path: string): FsStats;

export function linearBuckets(start: number, width: number, count: number): number[];
export function exponentialBuckets(start: number, factor: number, count: number): number[];

/** The exported `wasm-exporter:collector/collector` interface. */
export const collector: {
  readonly describe: () => Descriptor[];
  readonly collect: (request: {
    target?: string;
    params: [string, string][];
    timeoutMs: bigint | number;
  }) => Promise<{ tag: 'ok'; val: MetricFamily[] } | { tag: 'err'; val: string }>;
};

/** The host's imports, as componentize-js hands them; for the generated glue and tests. */
export interface HostImports {
  log(level: 'trace' | 'debug' | 'info' | 'warn' | 'error', message: string): void;
  config(): [string, string][];
  configGet(key: string): string | undefined;
}
export interface FsStatsImports {
  stat(path: string): {
    blockSize: bigint;
    blocks: bigint;
    blocksFree: bigint;
    blocksAvailable: bigint;
    files: bigint;
    filesFree: bigint;
    readOnly: boolean;
  };
}
export function __bindHost(host: HostImports, fsStats?: FsStatsImports | null): void;
