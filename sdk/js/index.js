// Write wasm_exporter collector plugins in JavaScript.
//
// A plugin is an ES module that declares its metrics with prom-client's
// classes and registers one collector function:
//
//   import { Gauge, register } from 'wasm-exporter';
//   const depth = new Gauge({ name: 'queue_depth', help: 'Jobs waiting.', labelNames: ['queue'] });
//   register(async (request) => {
//     depth.set({ queue: 'mail' }, 3);
//   });
//
// `build.mjs` turns the module into a component with componentize-js. This
// file is the whole SDK and imports nothing: the component's imports (the
// host's `log`, `config`, `config-get` and `fs-stats`) are handed to it by
// the glue module `build.mjs` generates (`__bindHost`), so the model and its
// mapping to the WIT shapes run unchanged under node for tests.
//
// Every scrape runs on a fresh instance made from the snapshot taken after
// the module's top level ran at build time: metrics declared at the top
// level start empty on every scrape, and nothing survives between scrapes.

/** prom-client's default histogram buckets. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** prom-client's default summary percentiles. */
export const DEFAULT_PERCENTILES = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999];

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

/** Every metric constructed, in order: what `describe` reports and what
 * `collect` serves when the collector returns nothing. */
const declared = [];

/** The collector function given to `register`. */
let collectorFn = null;

/** The host's imports, once bound. */
let host = null;
let fsStats = null;

/** Whether a `describe` or `collect` call is running: the host's imports
 * only answer then, not while the top level runs at build time. */
let inCall = false;

/**
 * Hands the SDK the component's imports (`wasm-exporter:collector/host` and
 * `wasm-exporter:collector/fs-stats`); the generated glue module calls it,
 * and tests call it with fakes.
 */
export function __bindHost(hostImports, fsStatsImports) {
  host = hostImports;
  fsStats = fsStatsImports ?? null;
}

function hostCall(what) {
  if (!inCall || host === null) {
    throw new Error(
      `${what} is only available while the host calls the plugin (inside the collector): ` +
        'the module top level runs once, when the plugin is built',
    );
  }
  return host;
}

// ---------------------------------------------------------------------------
// Host functions

function format(args) {
  return args
    .map((arg) => {
      if (typeof arg === 'string') return arg;
      if (arg instanceof Error) return errorMessage(arg);
      try {
        const json = JSON.stringify(arg);
        return json === undefined ? String(arg) : json;
      } catch {
        return String(arg);
      }
    })
    .join(' ');
}

function logAt(level) {
  return (...args) => {
    hostCall(`log.${level}()`).log(level, format(args));
  };
}

/**
 * The host's structured log, attributed to this plugin (rate limited by the
 * host). Arguments are joined with spaces; non-strings are shown as JSON.
 */
export const log = Object.freeze({
  trace: logAt('trace'),
  debug: logAt('debug'),
  info: logAt('info'),
  warn: logAt('warn'),
  error: logAt('error'),
});

/** This plugin's configuration, sorted by key. */
export function config() {
  return new Map(hostCall('config()').config());
}

/** One value of this plugin's configuration, or `undefined`. */
export function configGet(key) {
  if (typeof key !== 'string') {
    throw new Error(`configGet(key): key must be a string, not ${typeof key}`);
  }
  return hostCall('configGet()').configGet(key) ?? undefined;
}

/**
 * The file-system statistics of the mount point `path`, which must be in
 * the plugin's `grants.statfs`; throws an Error with the host's reason
 * otherwise. Sizes are in blocks of `blockSize` bytes.
 */
export function statfs(path) {
  hostCall('statfs()');
  if (fsStats === null) throw new Error('statfs(): the fs-stats interface is not bound');
  let stats;
  try {
    // The bindings throw the `err` case (its string is the payload).
    stats = fsStats.stat(String(path));
  } catch (error) {
    throw new Error(`statfs ${path}: ${error?.payload ?? errorMessage(error)}`);
  }
  return {
    blockSize: Number(stats.blockSize),
    blocks: Number(stats.blocks),
    blocksFree: Number(stats.blocksFree),
    blocksAvailable: Number(stats.blocksAvailable),
    files: Number(stats.files),
    filesFree: Number(stats.filesFree),
    readOnly: Boolean(stats.readOnly),
  };
}

/**
 * Registers the collector: `fn(request)` runs on every scrape (it may be
 * async, e.g. to `await fetch(...)`) and returns the metrics to serve, in
 * order, or nothing to serve every metric declared, in declaration order.
 * A thrown error fails the scrape with its message.
 */
export function register(fn) {
  if (typeof fn !== 'function') {
    throw new Error(`register(collector): collector must be a function, not ${typeof fn}`);
  }
  if (collectorFn !== null) {
    throw new Error('register() was already called: a plugin registers one collector');
  }
  collectorFn = fn;
}

// ---------------------------------------------------------------------------
// Metrics

function checkNumber(metric, what, value) {
  if (typeof value !== 'number') {
    throw new Error(`${metric}: ${what} must be a number, not ${describeValue(value)}`);
  }
  return value;
}

function checkCount(metric, what, value) {
  if (typeof value === 'bigint') value = Number(value);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${metric}: ${what} must be a non-negative integer, not ${describeValue(value)}`);
  }
  return value;
}

function describeValue(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

/**
 * `[key, value]` pairs of an array of pairs, a Map or a plain object, with
 * numeric keys (`'+Inf'` is Infinity), sorted by key.
 */
function numericPairs(metric, what, input) {
  let entries;
  if (Array.isArray(input)) entries = input;
  else if (input instanceof Map) entries = [...input];
  else if (input && typeof input === 'object') entries = Object.entries(input);
  else throw new Error(`${metric}: ${what} must be an array of [key, value] pairs or an object`);
  const pairs = entries.map((entry, i) => {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw new Error(`${metric}: ${what}[${i}] must be a [key, value] pair`);
    }
    const key = parseBound(entry[0]);
    if (Number.isNaN(key)) {
      throw new Error(`${metric}: ${what}[${i}]: ${describeValue(entry[0])} is not a number`);
    }
    return [key, entry[1]];
  });
  return pairs.sort((a, b) => a[0] - b[0]);
}

function parseBound(key) {
  if (typeof key === 'number') return key;
  if (key === '+Inf' || key === 'Inf') return Infinity;
  if (typeof key === 'string' && key.trim() !== '') return Number(key);
  return NaN;
}

/**
 * What every metric type shares: the name, help, label names and unit, and
 * its series keyed by their labels in insertion order.
 */
class Metric {
  constructor(type, className, options, reserved = []) {
    if (!options || typeof options !== 'object') {
      throw new Error(`new ${className}(options): options must be an object`);
    }
    const { name, help, labelNames = [], unit, collect } = options;
    if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
      throw new Error(`new ${className}: name ${describeValue(name)} is not a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`);
    }
    this.where = `${className} ${name}`;
    if (typeof help !== 'string') {
      throw new Error(`${this.where}: help is required (a string)`);
    }
    if (!Array.isArray(labelNames)) {
      throw new Error(`${this.where}: labelNames must be an array of strings`);
    }
    const seen = new Set();
    for (const label of labelNames) {
      if (typeof label !== 'string' || !LABEL_NAME.test(label)) {
        throw new Error(`${this.where}: label name ${describeValue(label)} is not valid ([a-zA-Z_][a-zA-Z0-9_]*)`);
      }
      if (label.startsWith('__')) {
        throw new Error(`${this.where}: label name "${label}" is reserved (starts with __)`);
      }
      if (reserved.includes(label)) {
        throw new Error(`${this.where}: label name "${label}" is reserved for this metric type`);
      }
      if (seen.has(label)) throw new Error(`${this.where}: label name "${label}" is listed twice`);
      seen.add(label);
    }
    if (unit !== undefined && unit !== null) {
      if (typeof unit !== 'string' || unit === '') {
        throw new Error(`${this.where}: unit must be a non-empty string`);
      }
      const base = type === 'counter' && name.endsWith('_total') ? name.slice(0, -'_total'.length) : name;
      if (!base.endsWith(`_${unit}`)) {
        throw new Error(`${this.where}: the name must end with _${unit} (its unit)`);
      }
    }
    if (collect !== undefined && typeof collect !== 'function') {
      throw new Error(`${this.where}: collect must be a function`);
    }
    this.name = name;
    this.help = help;
    this.type = type;
    this.unit = unit ?? undefined;
    this.labelNames = Object.freeze([...labelNames]);
    this.collectHook = collect;
    this.series = new Map();
    declared.push(this);
  }

  /** The series' labels as `[name, value]` pairs in `labelNames` order. */
  labelPairs(labels) {
    if (labels === undefined || labels === null) return [];
    if (typeof labels !== 'object' || Array.isArray(labels)) {
      throw new Error(`${this.where}: labels must be an object such as { ${this.labelNames[0] ?? 'name'}: 'value' }`);
    }
    for (const key of Object.keys(labels)) {
      if (!this.labelNames.includes(key)) {
        throw new Error(`${this.where}: label "${key}" is not in labelNames [${this.labelNames.join(', ')}]`);
      }
    }
    const pairs = [];
    for (const label of this.labelNames) {
      const value = labels[label];
      if (value !== undefined) pairs.push([label, String(value)]);
    }
    return pairs;
  }

  /** The data of the series with `labels`, made with `init` if new. */
  entry(labels, init) {
    const pairs = this.labelPairs(labels);
    const key = JSON.stringify(pairs);
    let series = this.series.get(key);
    if (series === undefined) {
      series = { pairs, data: init() };
      this.series.set(key, series);
    }
    return series;
  }

  /** A view of the series with these label values (positional, in
   * `labelNames` order, or one object), as prom-client's `labels()`. */
  labels(...values) {
    let labels;
    if (values.length === 1 && values[0] !== null && typeof values[0] === 'object') {
      labels = values[0];
    } else {
      if (values.length !== this.labelNames.length) {
        throw new Error(`${this.where}: labels() got ${values.length} values for ${this.labelNames.length} label names`);
      }
      labels = Object.fromEntries(this.labelNames.map((name, i) => [name, values[i]]));
    }
    return this.child(labels);
  }

  /** Removes the series with these labels. */
  remove(labels) {
    this.series.delete(JSON.stringify(this.labelPairs(labels)));
  }

  /** Removes every series. */
  reset() {
    this.series.clear();
  }

  /** The WIT `descriptor` of this metric. */
  descriptor() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      unit: this.unit,
      labelNames: [...this.labelNames],
    };
  }

  /** The WIT `metric-family` of this metric, as the host receives it. */
  toFamily() {
    const metrics = [];
    for (const { pairs, data } of this.series.values()) {
      metrics.push({
        labels: pairs.map(([name, value]) => ({ name, value })),
        value: this.wireValue(data),
      });
    }
    return { name: this.name, help: this.help, type: this.type, unit: this.unit, metrics };
  }
}

/** Splits prom-client's `(labels, value)` / `(value)` arguments. */
function labelsAndValue(args, defaultValue) {
  if (args.length === 0) return [undefined, defaultValue];
  if (args.length === 1) {
    return args[0] !== null && typeof args[0] === 'object' ? [args[0], defaultValue] : [undefined, args[0]];
  }
  return [args[0], args[1]];
}

/** A value that can go up and down. */
export class Gauge extends Metric {
  constructor(options) {
    super('gauge', 'Gauge', options);
  }

  /** `set(labels, value)` or `set(value)`. */
  set(...args) {
    const [labels, value] = labelsAndValue(args, undefined);
    this.entry(labels, () => ({ value: 0 })).data.value = checkNumber(this.where, 'value', value);
  }

  /** `inc(labels, by = 1)`, `inc(by)` or `inc()`. */
  inc(...args) {
    const [labels, by] = labelsAndValue(args, 1);
    checkNumber(this.where, 'increment', by);
    this.entry(labels, () => ({ value: 0 })).data.value += by;
  }

  /** `dec(labels, by = 1)`, `dec(by)` or `dec()`. */
  dec(...args) {
    const [labels, by] = labelsAndValue(args, 1);
    checkNumber(this.where, 'decrement', by);
    this.entry(labels, () => ({ value: 0 })).data.value -= by;
  }

  /** Sets the gauge to the current Unix time in seconds. */
  setToCurrentTime(labels) {
    this.set(labels, Date.now() / 1000);
  }

  /** Returns a function that sets the gauge to the seconds elapsed since. */
  startTimer(labels) {
    const start = performance.now();
    return (endLabels) => {
      const seconds = (performance.now() - start) / 1000;
      this.set({ ...labels, ...endLabels }, seconds);
      return seconds;
    };
  }

  child(labels) {
    return {
      set: (value) => this.set(labels, value),
      inc: (by = 1) => this.inc(labels, by),
      dec: (by = 1) => this.dec(labels, by),
      setToCurrentTime: () => this.setToCurrentTime(labels),
      startTimer: () => this.startTimer(labels),
    };
  }

  wireValue(data) {
    return { tag: 'gauge', val: data.value };
  }
}

/**
 * A monotonically increasing total. Every scrape starts from a fresh
 * instance, so `inc(labels, total)` exposes a total read from elsewhere.
 */
export class Counter extends Metric {
  constructor(options) {
    super('counter', 'Counter', options);
  }

  /** `inc(labels, by = 1)`, `inc(by)` or `inc()`; `by` must not be negative. */
  inc(...args) {
    const [labels, by] = labelsAndValue(args, 1);
    checkNumber(this.where, 'increment', by);
    if (!(by >= 0)) {
      throw new Error(`${this.where}: a counter cannot decrease (increment ${by})`);
    }
    this.entry(labels, () => ({ value: 0 })).data.value += by;
  }

  child(labels) {
    return { inc: (by = 1) => this.inc(labels, by) };
  }

  wireValue(data) {
    return { tag: 'counter', val: data.value };
  }
}

/** A value of unknown type (`untyped` in the text format). */
export class Unknown extends Metric {
  constructor(options) {
    super('unknown', 'Unknown', options);
  }

  /** `set(labels, value)` or `set(value)`. */
  set(...args) {
    const [labels, value] = labelsAndValue(args, undefined);
    this.entry(labels, () => ({ value: 0 })).data.value = checkNumber(this.where, 'value', value);
  }

  child(labels) {
    return { set: (value) => this.set(labels, value) };
  }

  wireValue(data) {
    return { tag: 'unknown', val: data.value };
  }
}

/** Observations counted into cumulative buckets, with their sum and count. */
export class Histogram extends Metric {
  constructor(options) {
    super('histogram', 'Histogram', options, ['le']);
    const buckets = options.buckets ?? DEFAULT_BUCKETS;
    if (!Array.isArray(buckets)) throw new Error(`${this.where}: buckets must be an array of numbers`);
    const bounds = buckets.filter((b) => b !== Infinity);
    bounds.forEach((bound, i) => {
      checkNumber(this.where, `buckets[${i}]`, bound);
      if (Number.isNaN(bound) || (i > 0 && !(bound > bounds[i - 1]))) {
        throw new Error(`${this.where}: buckets must increase strictly (${bounds.join(', ')})`);
      }
    });
    this.upperBounds = Object.freeze([...bounds, Infinity]);
  }

  /** `observe(labels, value)` or `observe(value)`. */
  observe(...args) {
    const [labels, value] = labelsAndValue(args, undefined);
    checkNumber(this.where, 'observation', value);
    const data = this.entry(labels, () => this.empty()).data;
    if (data.fixed) {
      throw new Error(`${this.where}: observe() on a series whose buckets were set with set()`);
    }
    const index = this.upperBounds.findIndex((bound) => value <= bound);
    // NaN lands in +Inf only, as client_golang does.
    data.counts[index === -1 ? data.counts.length - 1 : index] += 1;
    data.sum += value;
    data.count += 1;
  }

  /**
   * Sets a ready-made data point, for collectors that read histograms
   * computed elsewhere: `buckets` are cumulative counts per upper bound
   * (`[[0.1, 2], [0.5, 5], ['+Inf', 6]]`, a Map or `{ 0.1: 2, '+Inf': 6 }`),
   * sorted by bound here. The +Inf bucket defaults to `count`, and `count`
   * to the +Inf bucket.
   */
  set(...args) {
    const [labels, point] = args.length >= 2 ? args : [undefined, args[0]];
    if (!point || typeof point !== 'object') {
      throw new Error(`${this.where}: set() needs { buckets, sum, count }`);
    }
    const buckets = numericPairs(this.where, 'buckets', point.buckets ?? []).map(([bound, count], i) => [
      bound,
      checkCount(this.where, `buckets[${i}] count`, count),
    ]);
    const last = buckets[buckets.length - 1];
    let count = point.count === undefined ? undefined : checkCount(this.where, 'count', point.count);
    if (last === undefined || last[0] !== Infinity) {
      if (count === undefined) {
        throw new Error(`${this.where}: set() needs count or a +Inf bucket`);
      }
      buckets.push([Infinity, count]);
    } else if (count === undefined) {
      count = last[1];
    }
    const sum = checkNumber(this.where, 'sum', point.sum ?? 0);
    this.entry(labels, () => this.empty()).data = { fixed: buckets, sum, count };
  }

  /** Adds the series with these labels with zero observations. */
  zero(labels) {
    this.entry(labels, () => this.empty());
  }

  /** Returns a function that observes the seconds elapsed since. */
  startTimer(labels) {
    const start = performance.now();
    return (endLabels) => {
      const seconds = (performance.now() - start) / 1000;
      this.observe({ ...labels, ...endLabels }, seconds);
      return seconds;
    };
  }

  empty() {
    return { counts: this.upperBounds.map(() => 0), sum: 0, count: 0 };
  }

  child(labels) {
    return {
      observe: (value) => this.observe(labels, value),
      set: (point) => this.set(labels, point),
      zero: () => this.zero(labels),
      startTimer: () => this.startTimer(labels),
    };
  }

  wireValue(data) {
    let buckets;
    if (data.fixed) {
      buckets = data.fixed.map(([upperBound, count]) => ({ upperBound, count: BigInt(count) }));
    } else {
      let cumulative = 0;
      buckets = this.upperBounds.map((upperBound, i) => {
        cumulative += data.counts[i];
        return { upperBound, count: BigInt(cumulative) };
      });
    }
    return { tag: 'histogram', val: { buckets, sum: data.sum, count: BigInt(data.count) } };
  }
}

/**
 * Quantiles of observations, with their sum and count: set ready-made ones
 * with `set()`, or `observe()` values and get the exact quantiles
 * (`percentiles`) of this scrape's observations.
 */
export class Summary extends Metric {
  constructor(options) {
    super('summary', 'Summary', options, ['quantile']);
    const percentiles = options.percentiles ?? DEFAULT_PERCENTILES;
    if (!Array.isArray(percentiles)) {
      throw new Error(`${this.where}: percentiles must be an array of numbers in [0, 1]`);
    }
    percentiles.forEach((q, i) => {
      checkNumber(this.where, `percentiles[${i}]`, q);
      if (!(q >= 0 && q <= 1)) throw new Error(`${this.where}: percentile ${q} is outside [0, 1]`);
    });
    this.percentiles = Object.freeze([...percentiles].sort((a, b) => a - b));
  }

  /** `observe(labels, value)` or `observe(value)`. */
  observe(...args) {
    const [labels, value] = labelsAndValue(args, undefined);
    checkNumber(this.where, 'observation', value);
    const data = this.entry(labels, () => ({ values: [], sum: 0, count: 0 })).data;
    if (data.fixed) {
      throw new Error(`${this.where}: observe() on a series whose quantiles were set with set()`);
    }
    data.values.push(value);
    data.sum += value;
    data.count += 1;
  }

  /**
   * Sets a ready-made data point: `quantiles` as `[[0.5, 100], [0.9, 250]]`,
   * a Map or `{ 0.5: 100, 0.9: 250 }` (sorted by quantile), `sum`, `count`.
   */
  set(...args) {
    const [labels, point] = args.length >= 2 ? args : [undefined, args[0]];
    if (!point || typeof point !== 'object') {
      throw new Error(`${this.where}: set() needs { quantiles, sum, count }`);
    }
    const fixed = numericPairs(this.where, 'quantiles', point.quantiles ?? []).map(([q, value], i) => {
      if (!(q >= 0 && q <= 1)) throw new Error(`${this.where}: quantile ${q} is outside [0, 1]`);
      return [q, checkNumber(this.where, `quantiles[${i}] value`, value)];
    });
    const sum = checkNumber(this.where, 'sum', point.sum ?? 0);
    const count = checkCount(this.where, 'count', point.count ?? 0);
    this.entry(labels, () => null).data = { fixed, sum, count };
  }

  child(labels) {
    return {
      observe: (value) => this.observe(labels, value),
      set: (point) => this.set(labels, point),
    };
  }

  wireValue(data) {
    let quantiles;
    if (data.fixed) {
      quantiles = data.fixed.map(([quantile, value]) => ({ quantile, value }));
    } else {
      const sorted = [...data.values].sort((a, b) => a - b);
      // Nearest rank: the smallest observation with at least q of them at or below it.
      quantiles = this.percentiles.map((quantile) => ({
        quantile,
        value: sorted.length === 0 ? NaN : sorted[Math.max(0, Math.ceil(quantile * sorted.length) - 1)],
      }));
    }
    return { tag: 'summary', val: { quantiles, sum: data.sum, count: BigInt(data.count) } };
  }
}

/** Constant labels describing the target; each series has the value 1. */
export class Info extends Metric {
  constructor(options) {
    super('info', 'Info', options);
  }

  /** Adds the series with these labels. */
  set(labels) {
    this.entry(labels, () => true);
  }

  child(labels) {
    return { set: () => this.set(labels) };
  }

  wireValue() {
    return { tag: 'info' };
  }
}

/**
 * A set of named boolean states. `states` lists them in their exposition
 * order; the metric's name becomes the label of the states.
 */
export class StateSet extends Metric {
  constructor(options) {
    super('state-set', 'StateSet', options, [options?.name]);
    const states = options.states;
    if (states !== undefined) {
      if (!Array.isArray(states) || states.some((s) => typeof s !== 'string' || s === '')) {
        throw new Error(`${this.where}: states must be an array of non-empty strings`);
      }
      if (new Set(states).size !== states.length) {
        throw new Error(`${this.where}: states lists a state twice`);
      }
    }
    this.states = states === undefined ? undefined : Object.freeze([...states]);
  }

  /**
   * `set(labels, states)` or `set(states)`: `states` maps each state to
   * whether it is enabled (an object or Map), or is the one enabled state's
   * name (the others, from `states`, disabled).
   */
  set(...args) {
    let labels;
    let states;
    if (args.length >= 2) [labels, states] = args;
    else [states] = args;
    let entries;
    if (typeof states === 'string') {
      if (this.states === undefined) {
        throw new Error(`${this.where}: set("${states}") needs the states option to know the other states`);
      }
      if (!this.states.includes(states)) {
        throw new Error(`${this.where}: "${states}" is not one of the states [${this.states.join(', ')}]`);
      }
      entries = this.states.map((name) => [name, name === states]);
    } else if (states instanceof Map || (states && typeof states === 'object')) {
      const given = states instanceof Map ? [...states] : Object.entries(states);
      if (this.states !== undefined) {
        for (const [name] of given) {
          if (!this.states.includes(name)) {
            throw new Error(`${this.where}: "${name}" is not one of the states [${this.states.join(', ')}]`);
          }
        }
        const enabled = new Map(given);
        entries = this.states.map((name) => [name, Boolean(enabled.get(name))]);
      } else {
        entries = given.map(([name, on]) => [String(name), Boolean(on)]);
      }
    } else {
      throw new Error(`${this.where}: set() needs a state name or an object of state -> boolean`);
    }
    this.entry(labels, () => null).data = entries;
  }

  child(labels) {
    return { set: (states) => this.set(labels, states) };
  }

  wireValue(data) {
    return { tag: 'state-set', val: data.map(([name, enabled]) => ({ name, enabled })) };
  }
}

/** Linear bucket bounds, as prom-client's `linearBuckets`. */
export function linearBuckets(start, width, count) {
  if (!(count >= 1)) throw new Error('linearBuckets: count must be at least 1');
  return Array.from({ length: count }, (_, i) => start + i * width);
}

/** Exponential bucket bounds, as prom-client's `exponentialBuckets`. */
export function exponentialBuckets(start, factor, count) {
  if (!(start > 0)) throw new Error('exponentialBuckets: start must be positive');
  if (!(factor > 1)) throw new Error('exponentialBuckets: factor must be greater than 1');
  if (!(count >= 1)) throw new Error('exponentialBuckets: count must be at least 1');
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}

// ---------------------------------------------------------------------------
// The exported `collector` interface

function errorMessage(error) {
  if (error instanceof Error) {
    const message = error.message || error.name;
    // A bug (TypeError, RangeError...) says which kind it is; a plain
    // `throw new Error('...')` is the plugin's own wording.
    return error.constructor === Error ? message : `${error.name}: ${message}`;
  }
  return String(error);
}

function makeRequest(raw) {
  const params = (raw?.params ?? []).map(([k, v]) => [k, v]);
  return Object.freeze({
    target: raw?.target ?? undefined,
    params,
    timeoutMs: Number(raw?.timeoutMs ?? 0),
    param(name) {
      const found = params.find(([k]) => k === name);
      return found === undefined ? undefined : found[1];
    },
  });
}

/**
 * The `wasm-exporter:collector/collector` export: what the generated glue
 * module exports, and what tests call to see what the host would receive.
 */
export const collector = Object.freeze({
  describe() {
    return declared.map((metric) => metric.descriptor());
  },

  async collect(raw) {
    inCall = true;
    try {
      const request = makeRequest(raw);
      const returned = collectorFn === null ? undefined : await collectorFn(request);
      let metrics;
      if (returned === undefined || returned === null) {
        metrics = declared;
      } else if (Array.isArray(returned)) {
        metrics = returned;
      } else {
        throw new Error(`the collector returned ${typeof returned}; return an array of metrics or nothing`);
      }
      const families = [];
      for (const [i, metric] of metrics.entries()) {
        if (!(metric instanceof Metric)) {
          throw new Error(`the collector returned ${describeValue(metric)} at index ${i}, not a metric`);
        }
        if (metric.collectHook !== undefined) await metric.collectHook.call(metric, request);
        families.push(metric.toFamily());
      }
      return { tag: 'ok', val: families };
    } catch (error) {
      // The bindings would turn a thrown Error into a trap: hand the host
      // the message as the `err` case instead.
      return { tag: 'err', val: errorMessage(error) };
    } finally {
      inCall = false;
    }
  },
});
