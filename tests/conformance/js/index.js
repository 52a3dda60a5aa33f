// @ts-check
// The conformance plugin (tests/conformance/README.md), written as a user
// of the JavaScript SDK would write it.

import {
  Counter,
  Gauge,
  Histogram,
  Info,
  StateSet,
  Summary,
  Unknown,
  config,
  configGet,
  log,
  register,
} from 'wasm-exporter';

const requests = new Counter({
  name: 'conformance_requests_total',
  help: 'Requests handled.',
  labelNames: ['method', 'code'],
});
const temperature = new Gauge({
  name: 'conformance_temperature_celsius',
  help: 'Temperature in a room.',
  labelNames: ['room'],
  unit: 'celsius',
});
const latency = new Histogram({
  name: 'conformance_latency_seconds',
  help: 'Request latency.',
  unit: 'seconds',
  buckets: [0.1, 0.5],
});
const size = new Summary({
  name: 'conformance_size_bytes',
  help: 'Response sizes.',
  labelNames: ['path'],
  unit: 'bytes',
  percentiles: [0.5, 0.9],
});
const build = new Info({
  name: 'conformance_build',
  help: 'Build information.',
  labelNames: ['version', 'language'],
});
const state = new StateSet({
  name: 'conformance_state',
  help: 'Current state.',
  states: ['a', 'b'],
});
const mystery = new Unknown({
  name: 'conformance_mystery',
  help: 'A value of unknown type.',
});
const configured = new Gauge({
  name: 'conformance_config',
  help: 'Configuration the plugin received.',
  labelNames: ['key', 'value'],
});
const text = new Gauge({
  name: 'conformance_text',
  help: 'Escaping: back\\slash, "quotes" and a\nline.',
  labelNames: ['text'],
});

register(() => {
  switch (configGet('mode')) {
    case 'error':
      throw new Error('requested error');
    case 'loop':
      for (;;) {
        // Spins without allocating until the host stops it.
      }
    case 'membomb': {
      const hoard = [];
      for (;;) hoard.push(new Float64Array(1 << 16));
    }
    case 'panic':
      throw new TypeError('requested panic');
  }

  log.info('conformance collect');
  requests.inc({ method: 'get', code: '200' }, 3);
  requests.inc({ method: 'post', code: '500' });
  temperature.set({ room: 'hall' }, 21.5);
  temperature.set({ room: 'cellar' }, -3.25);
  // Dyadic fractions: the sum is exactly 1.75.
  for (const seconds of [0.0625, 0.0625, 0.125, 0.25, 0.25, 1]) latency.observe(seconds);
  size.set({ path: '/' }, { quantiles: { 0.5: 100, 0.9: 250 }, sum: 1200, count: 8 });
  build.set({ version: '1.2.3', language: 'js' });
  state.set('a');
  mystery.set(42);
  for (const [key, value] of config()) configured.set({ key, value }, 1);
  text.set({ text: 'a"b\\c\nd' }, 1);
  text.set({ text: 'ünïcødé ✓' }, 2);
  // Without `series`, everything declared above is served.
  const series = configGet('series');
  if (series === undefined || !/^[0-9]+$/.test(series)) return undefined;
  const bench = new Gauge({ name: 'conformance_bench', help: 'Benchmark series.', labelNames: ['index'] });
  for (let index = 0; index < Number(series); index++) bench.set({ index: String(index) }, index);
  return [requests, temperature, latency, size, build, state, mystery, configured, text, bench];
});
