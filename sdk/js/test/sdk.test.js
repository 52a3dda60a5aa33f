// The SDK's model and its mapping to the WIT shapes the host receives, run
// natively under node (`node --test sdk/js/test/`), with fake host imports.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

let instances = 0;

/**
 * A fresh instance of the SDK (its own declared metrics and collector, as a
 * new component instance has), bound to a fake host that records calls.
 */
async function fresh(configPairs = []) {
  const sdk = await import(`../index.js?instance=${instances++}`);
  const logged = [];
  sdk.__bindHost(
    {
      log: (level, message) => logged.push([level, message]),
      config: () => configPairs.map(([k, v]) => [k, v]),
      configGet: (key) => configPairs.find(([k]) => k === key)?.[1],
    },
    {
      stat: (path) => {
        if (path !== '/') throw Object.assign(new Error('not granted'), { payload: `${path} is not granted` });
        return {
          blockSize: 4096n,
          blocks: 100n,
          blocksFree: 40n,
          blocksAvailable: 30n,
          files: 1000n,
          filesFree: 900n,
          readOnly: false,
        };
      },
    },
  );
  return { sdk, logged };
}

const REQUEST = { target: undefined, params: [], timeoutMs: 5000n };

async function collectOk(sdk, request = REQUEST) {
  const result = await sdk.collector.collect(request);
  assert.equal(result.tag, 'ok', `collect failed: ${result.val}`);
  return result.val;
}

test('every family type maps to its WIT shape', async () => {
  const { sdk } = await fresh();
  const counter = new sdk.Counter({ name: 'c_total', help: 'C.', labelNames: ['method', 'code'] });
  const gauge = new sdk.Gauge({ name: 'g_celsius', help: 'G.', labelNames: ['room'], unit: 'celsius' });
  const unknown = new sdk.Unknown({ name: 'u', help: 'U.' });
  const histogram = new sdk.Histogram({ name: 'h_seconds', help: 'H.', unit: 'seconds', buckets: [0.1, 0.5] });
  const summary = new sdk.Summary({ name: 's_bytes', help: 'S.', labelNames: ['path'], unit: 'bytes' });
  const info = new sdk.Info({ name: 'i', help: 'I.', labelNames: ['version', 'language'] });
  const stateSet = new sdk.StateSet({ name: 'st', help: 'St.', states: ['a', 'b'] });
  sdk.register(() => {
    // Labels given in another order are exposed in labelNames order.
    counter.inc({ code: 200, method: 'get' }, 3);
    counter.labels('post', '500').inc();
    gauge.set({ room: 'hall' }, 21.5);
    gauge.set({ room: 'cellar' }, -3.25);
    unknown.set(42);
    for (const v of [0.0625, 0.0625, 0.125, 0.25, 0.25, 1]) histogram.observe(v);
    summary.set({ path: '/' }, { quantiles: { 0.9: 250, 0.5: 100 }, sum: 1200, count: 8 });
    info.set({ language: 'js', version: '1.2.3' });
    stateSet.set('a');
  });
  const families = await collectOk(sdk);
  assert.deepEqual(families, [
    {
      name: 'c_total',
      help: 'C.',
      type: 'counter',
      unit: undefined,
      metrics: [
        { labels: [{ name: 'method', value: 'get' }, { name: 'code', value: '200' }], value: { tag: 'counter', val: 3 } },
        { labels: [{ name: 'method', value: 'post' }, { name: 'code', value: '500' }], value: { tag: 'counter', val: 1 } },
      ],
    },
    {
      name: 'g_celsius',
      help: 'G.',
      type: 'gauge',
      unit: 'celsius',
      metrics: [
        { labels: [{ name: 'room', value: 'hall' }], value: { tag: 'gauge', val: 21.5 } },
        { labels: [{ name: 'room', value: 'cellar' }], value: { tag: 'gauge', val: -3.25 } },
      ],
    },
    { name: 'u', help: 'U.', type: 'unknown', unit: undefined, metrics: [{ labels: [], value: { tag: 'unknown', val: 42 } }] },
    {
      name: 'h_seconds',
      help: 'H.',
      type: 'histogram',
      unit: 'seconds',
      metrics: [
        {
          labels: [],
          value: {
            tag: 'histogram',
            val: {
              buckets: [
                { upperBound: 0.1, count: 2n },
                { upperBound: 0.5, count: 5n },
                { upperBound: Infinity, count: 6n },
              ],
              sum: 1.75,
              count: 6n,
            },
          },
        },
      ],
    },
    {
      name: 's_bytes',
      help: 'S.',
      type: 'summary',
      unit: 'bytes',
      metrics: [
        {
          labels: [{ name: 'path', value: '/' }],
          value: {
            tag: 'summary',
            val: {
              quantiles: [
                { quantile: 0.5, value: 100 },
                { quantile: 0.9, value: 250 },
              ],
              sum: 1200,
              count: 8n,
            },
          },
        },
      ],
    },
    {
      name: 'i',
      help: 'I.',
      type: 'info',
      unit: undefined,
      metrics: [{ labels: [{ name: 'version', value: '1.2.3' }, { name: 'language', value: 'js' }], value: { tag: 'info' } }],
    },
    {
      name: 'st',
      help: 'St.',
      type: 'state-set',
      unit: undefined,
      metrics: [
        {
          labels: [],
          value: {
            tag: 'state-set',
            val: [
              { name: 'a', enabled: true },
              { name: 'b', enabled: false },
            ],
          },
        },
      ],
    },
  ]);
  // What describe reports for the same metrics.
  assert.deepEqual(
    sdk.collector.describe().map((d) => [d.name, d.type, d.unit, d.labelNames]),
    [
      ['c_total', 'counter', undefined, ['method', 'code']],
      ['g_celsius', 'gauge', 'celsius', ['room']],
      ['u', 'unknown', undefined, []],
      ['h_seconds', 'histogram', 'seconds', []],
      ['s_bytes', 'summary', 'bytes', ['path']],
      ['i', 'info', undefined, ['version', 'language']],
      ['st', 'state-set', undefined, []],
    ],
  );
});

test('ready-made histograms complete their +Inf bucket and count', async () => {
  const { sdk } = await fresh();
  const h = new sdk.Histogram({ name: 'h', help: 'H.', labelNames: ['db'] });
  h.set({ db: 'a' }, { buckets: [[1, 3], [0.5, 1]], sum: 2.5, count: 4 });
  h.set({ db: 'b' }, { buckets: new Map([[0.5, 1], ['+Inf', 7]]), sum: 9 });
  const value = (labels) => h.toFamily().metrics.find((m) => m.labels[0].value === labels).value.val;
  assert.deepEqual(value('a'), {
    buckets: [
      { upperBound: 0.5, count: 1n },
      { upperBound: 1, count: 3n },
      { upperBound: Infinity, count: 4n },
    ],
    sum: 2.5,
    count: 4n,
  });
  assert.equal(value('b').count, 7n);
  assert.throws(() => h.set({ db: 'c' }, { buckets: [[1, 2]] }), /h: set\(\) needs count or a \+Inf bucket/);
  assert.throws(() => h.set({ db: 'c' }, { buckets: [[1, 1.5]], count: 2 }), /non-negative integer/);
  assert.throws(() => h.observe({ db: 'a' }, 1), /observe\(\) on a series whose buckets were set/);
});

test('observed summaries report exact nearest-rank quantiles', async () => {
  const { sdk } = await fresh();
  const s = new sdk.Summary({ name: 's', help: 'S.', percentiles: [0.9, 0, 0.5, 1] });
  for (const v of [5, 1, 4, 2, 3]) s.observe(v);
  assert.deepEqual(s.toFamily().metrics[0].value, {
    tag: 'summary',
    val: {
      quantiles: [
        { quantile: 0, value: 1 },
        { quantile: 0.5, value: 3 },
        { quantile: 0.9, value: 5 },
        { quantile: 1, value: 5 },
      ],
      sum: 15,
      count: 5n,
    },
  });
});

test('gauges, counters and state sets follow prom-client semantics', async () => {
  const { sdk } = await fresh();
  const g = new sdk.Gauge({ name: 'g', help: 'G.', labelNames: ['q'] });
  g.inc({ q: 'a' });
  g.inc({ q: 'a' }, 4);
  g.dec({ q: 'a' }, 2);
  g.labels({ q: 'b' }).set(7);
  g.set(1);
  g.remove({ q: 'b' });
  assert.deepEqual(
    g.toFamily().metrics.map((m) => [m.labels.map((l) => l.value).join(), m.value.val]),
    [['a', 3], ['', 1]],
  );
  g.reset();
  assert.equal(g.toFamily().metrics.length, 0);

  const c = new sdk.Counter({ name: 'c_total', help: 'C.' });
  assert.throws(() => c.inc(-1), /Counter c_total: a counter cannot decrease/);
  assert.throws(() => c.inc(NaN), /cannot decrease/);
  assert.throws(() => c.inc('1'), /increment must be a number, not "1"/);

  const st = new sdk.StateSet({ name: 'mode', help: 'M.', labelNames: ['unit'], states: ['on', 'off', 'broken'] });
  st.set({ unit: 'x' }, { off: true });
  assert.deepEqual(st.toFamily().metrics[0].value.val, [
    { name: 'on', enabled: false },
    { name: 'off', enabled: true },
    { name: 'broken', enabled: false },
  ]);
  assert.throws(() => st.set({ unit: 'x' }, 'standby'), /"standby" is not one of the states \[on, off, broken\]/);
  assert.throws(() => new sdk.StateSet({ name: 'm2', help: 'M.', labelNames: ['m2'] }), /label name "m2" is reserved/);
});

test('bad declarations and labels fail with the metric named', async () => {
  const { sdk } = await fresh();
  assert.throws(() => new sdk.Gauge({ name: '1bad', help: 'B.' }), /name "1bad" is not a valid metric name/);
  assert.throws(() => new sdk.Gauge({ name: 'g' }), /Gauge g: help is required/);
  assert.throws(() => new sdk.Gauge({ name: 'g', help: 'G.', labelNames: ['__x'] }), /reserved \(starts with __\)/);
  assert.throws(() => new sdk.Gauge({ name: 'g', help: 'G.', labelNames: ['a', 'a'] }), /"a" is listed twice/);
  assert.throws(() => new sdk.Gauge({ name: 'g_bytes', help: 'G.', unit: 'seconds' }), /must end with _seconds/);
  assert.throws(() => new sdk.Histogram({ name: 'h', help: 'H.', labelNames: ['le'] }), /"le" is reserved/);
  assert.throws(() => new sdk.Histogram({ name: 'h', help: 'H.', buckets: [1, 1] }), /buckets must increase strictly/);
  assert.throws(() => new sdk.Summary({ name: 's', help: 'S.', percentiles: [1.5] }), /percentile 1.5 is outside \[0, 1\]/);
  // A counter's unit goes before _total.
  new sdk.Counter({ name: 'cpu_seconds_total', help: 'C.', unit: 'seconds' });
  const g = new sdk.Gauge({ name: 'g', help: 'G.', labelNames: ['room'] });
  assert.throws(() => g.set({ rom: 'x' }, 1), /Gauge g: label "rom" is not in labelNames \[room\]/);
  assert.throws(() => g.set({ room: 'x' }), /value must be a number, not undefined/);
  assert.throws(() => g.labels('a', 'b'), /labels\(\) got 2 values for 1 label names/);
});

test('a thrown error becomes the err case with its message', async () => {
  const { sdk } = await fresh();
  sdk.register(async () => {
    await Promise.resolve();
    throw new Error('GET http://x/: connection refused');
  });
  assert.deepEqual(await sdk.collector.collect(REQUEST), { tag: 'err', val: 'GET http://x/: connection refused' });

  const other = (await fresh()).sdk;
  other.register(() => {
    /** @type {any} */ (undefined).boom();
  });
  const result = await other.collector.collect(REQUEST);
  assert.equal(result.tag, 'err');
  assert.match(result.val, /^TypeError: /);

  const strange = (await fresh()).sdk;
  strange.register(() => 42);
  assert.deepEqual(await strange.collector.collect(REQUEST), {
    tag: 'err',
    val: 'the collector returned number; return an array of metrics or nothing',
  });
});

test('the collector chooses the metrics served and their order', async () => {
  const { sdk } = await fresh();
  const a = new sdk.Gauge({ name: 'a', help: 'A.' });
  const b = new sdk.Gauge({
    name: 'b',
    help: 'B.',
    collect(request) {
      this.set(request.timeoutMs);
    },
  });
  let returned;
  sdk.register(() => returned);
  a.set(1);
  // Nothing returned: every declared metric, in declaration order, after
  // each one's own collect().
  assert.deepEqual(
    (await collectOk(sdk)).map((f) => [f.name, f.metrics[0].value.val]),
    [['a', 1], ['b', 5000]],
  );
  returned = [b, a];
  assert.deepEqual((await collectOk(sdk)).map((f) => f.name), ['b', 'a']);
  returned = [a, { name: 'fake' }];
  assert.deepEqual(await sdk.collector.collect(REQUEST), {
    tag: 'err',
    val: 'the collector returned an object at index 1, not a metric',
  });
  assert.throws(() => sdk.register(() => {}), /register\(\) was already called/);
});

test('the request, configuration, log and statfs reach the host shapes', async () => {
  const { sdk, logged } = await fresh([
    ['mode', 'x'],
    ['url', 'http://127.0.0.1/'],
  ]);
  let seen;
  sdk.register((request) => {
    seen = {
      target: request.target,
      params: request.params,
      timeoutMs: request.timeoutMs,
      module: request.param('module'),
      config: [...sdk.config()],
      url: sdk.configGet('url'),
      missing: sdk.configGet('nope'),
      root: sdk.statfs('/'),
    };
    sdk.log.info('collecting', { n: 1 }, 2);
    sdk.log.warn('careful');
    assert.throws(() => sdk.statfs('/data'), /^Error: statfs \/data: \/data is not granted$/);
    return [];
  });
  assert.deepEqual(
    await sdk.collector.collect({ target: 'db:5432', params: [['module', 'tcp']], timeoutMs: 1500n }),
    { tag: 'ok', val: [] },
  );
  assert.deepEqual(seen, {
    target: 'db:5432',
    params: [['module', 'tcp']],
    timeoutMs: 1500,
    module: 'tcp',
    config: [
      ['mode', 'x'],
      ['url', 'http://127.0.0.1/'],
    ],
    url: 'http://127.0.0.1/',
    missing: undefined,
    root: {
      blockSize: 4096,
      blocks: 100,
      blocksFree: 40,
      blocksAvailable: 30,
      files: 1000,
      filesFree: 900,
      readOnly: false,
    },
  });
  assert.deepEqual(logged, [
    ['info', 'collecting {"n":1} 2'],
    ['warn', 'careful'],
  ]);
  // Outside a call (the module top level runs at build time) the host's
  // imports are not there.
  assert.throws(() => sdk.config(), /config\(\) is only available while the host calls the plugin/);
  assert.throws(() => sdk.log.info('x'), /log.info\(\) is only available/);
});

test('index.d.ts declares exactly what index.js exports', async () => {
  const ts = createRequire(import.meta.url)('typescript');
  const file = new URL('../index.d.ts', import.meta.url).pathname;
  const program = ts.createProgram([file], { noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const declared = checker
    .getExportsOfModule(checker.getSymbolAtLocation(source))
    .filter((symbol) => symbol.flags & ts.SymbolFlags.Value)
    .map((symbol) => symbol.name)
    .sort();
  const runtime = Object.keys(await import('../index.js')).sort();
  assert.deepEqual(declared, runtime);
  assert.ok(runtime.includes('Histogram') && runtime.includes('register'));
});
