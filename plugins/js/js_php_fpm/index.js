// @ts-check
// PHP-FPM pool metrics, read from its status page in JSON and exposed under
// the names, types, help and labels of php-fpm_exporter (hipages), so its
// dashboards keep working; plus a histogram of the children's last request
// durations, which that exporter does not have.
//
// PHP-FPM serves the status page over FastCGI (`pm.status_path`); the web
// server in front of it makes it HTTP, e.g. nginx's
// `location = /status { fastcgi_pass 127.0.0.1:9000; include fastcgi_params; }`.
// The plugin GETs `<url>?json&full` with fetch, which reaches only what the
// operator granted (`grants.http`).
//
// Config: `url` (default http://127.0.0.1/status), `processes` (`false`
// leaves out the per-child series). On `/probe`, the target is the URL, or
// `host:port` for `http://host:port/status`.

import { Counter, Gauge, Histogram, configGet, log, register } from 'wasm-exporter';

const DEFAULT_URL = 'http://127.0.0.1/status';

/** A full status page lists every child in ~400 bytes; past this it is not one. */
const MAX_BODY_BYTES = 8 << 20;

/** Time kept from the scrape's deadline to report a page that does not answer. */
const ANSWER_MARGIN_MS = 250;

/** The states PHP-FPM reports a child in, as php-fpm_exporter lists them. */
const PROCESS_STATES = ['Idle', 'Running', 'Finishing', 'Reading headers', 'Getting request informations', 'Ending'];

const poolLabels = /** @type {const} */ (['pool', 'scrape_uri']);
const childLabels = /** @type {const} */ (['pool', 'child', 'scrape_uri']);

const up = new Gauge({ name: 'phpfpm_up', help: 'Could PHP-FPM be reached?', labelNames: poolLabels });

/**
 * The pool's numbers: status page field, metric. php-fpm_exporter's
 * counters have no `_total`, and keep none here.
 * @type {[string, Counter<'pool' | 'scrape_uri'> | Gauge<'pool' | 'scrape_uri'>][]}
 */
const POOL = [
  ['start since', new Counter({ name: 'phpfpm_start_since', help: 'The number of seconds since FPM has started.', labelNames: poolLabels })],
  ['accepted conn', new Counter({ name: 'phpfpm_accepted_connections', help: 'The number of requests accepted by the pool.', labelNames: poolLabels })],
  ['listen queue', new Gauge({ name: 'phpfpm_listen_queue', help: 'The number of requests in the queue of pending connections.', labelNames: poolLabels })],
  ['max listen queue', new Counter({ name: 'phpfpm_max_listen_queue', help: 'The maximum number of requests in the queue of pending connections since FPM has started.', labelNames: poolLabels })],
  ['listen queue len', new Gauge({ name: 'phpfpm_listen_queue_length', help: 'The size of the socket queue of pending connections.', labelNames: poolLabels })],
  ['idle processes', new Gauge({ name: 'phpfpm_idle_processes', help: 'The number of idle processes.', labelNames: poolLabels })],
  ['active processes', new Gauge({ name: 'phpfpm_active_processes', help: 'The number of active processes.', labelNames: poolLabels })],
  ['total processes', new Gauge({ name: 'phpfpm_total_processes', help: 'The number of idle + active processes.', labelNames: poolLabels })],
  ['max active processes', new Counter({ name: 'phpfpm_max_active_processes', help: 'The maximum number of active processes since FPM has started.', labelNames: poolLabels })],
  ['max children reached', new Counter({ name: 'phpfpm_max_children_reached', help: "The number of times, the process limit has been reached, when pm tries to start more children (works only for pm 'dynamic' and 'ondemand').", labelNames: poolLabels })],
  ['slow requests', new Counter({ name: 'phpfpm_slow_requests', help: "The number of requests that exceeded your 'request_slowlog_timeout' value.", labelNames: poolLabels })],
];

const processRequests = new Counter({ name: 'phpfpm_process_requests', help: 'The number of requests the process has served.', labelNames: childLabels });
const processMemory = new Gauge({ name: 'phpfpm_process_last_request_memory', help: 'The max amount of memory the last request consumed.', labelNames: childLabels });
const processCpu = new Gauge({ name: 'phpfpm_process_last_request_cpu', help: 'The %cpu the last request consumed.', labelNames: childLabels });
const processDuration = new Gauge({ name: 'phpfpm_process_request_duration', help: 'The duration in microseconds of the requests.', labelNames: childLabels });
const processState = new Gauge({
  name: 'phpfpm_process_state',
  help: 'The state of the process (Idle, Running, ...).',
  labelNames: ['pool', 'child', 'state', 'scrape_uri'],
});
const lastRequest = new Histogram({
  name: 'phpfpm_last_request_duration_seconds',
  help: 'How long the last (or current) request of each child took.',
  labelNames: poolLabels,
  unit: 'seconds',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

/**
 * The status page's URL, from the probe target or the configuration.
 * @param {import('wasm-exporter').Request} request
 */
function statusUrl(request) {
  let text = request.target ?? configGet('url') ?? DEFAULT_URL;
  const where = request.target !== undefined ? 'probe target' : 'config url';
  if (request.target !== undefined && !text.includes('://')) text = `http://${text}/status`;
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${where} ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${where} ${JSON.stringify(text)}: only http and https URLs are supported`);
  }
  return url;
}

/**
 * A number field of the status page, or an error naming it.
 * @param {Record<string, unknown>} doc
 * @param {string} field
 * @param {string} what
 */
function number(doc, field, what) {
  const value = doc[field];
  if (typeof value !== 'number') {
    throw new Error(`${what}: field "${field}" is ${value === undefined ? 'missing' : `not a number (${JSON.stringify(value)})`}`);
  }
  return value;
}

/** @param {import('wasm-exporter').Request} request */
async function readStatus(request) {
  const url = statusUrl(request);
  const scrapeUri = url.href;
  url.search = '?json&full';
  const shown = `GET ${url.href}`;
  // Give up a little before the host does, to fail with a message of our own.
  const waitMs = Math.max(request.timeoutMs - ANSWER_MARGIN_MS, 1);
  let response;
  try {
    response = await fetch(url.href, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(waitMs),
    });
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError') {
      throw new Error(`${shown}: no answer within ${waitMs} ms`);
    }
    // A refused grant, a refused connection or a name that does not
    // resolve all reject here, alike.
    throw new Error(`${shown}: ${error instanceof Error ? error.message : error}`);
  }
  if (response.status !== 200) {
    throw new Error(`${shown}: status ${response.status}, expected 200 (is pm.status_path served at this location?)`);
  }
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_BODY_BYTES) throw new Error(`${shown}: ${length} bytes, more than a status page`);
  const text = await response.text();
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new Error(`${shown}: not JSON (${error instanceof Error ? error.message : error}); is this PHP-FPM's status page?`);
  }
  if (doc === null || typeof doc !== 'object' || typeof doc.pool !== 'string') {
    throw new Error(`${shown}: no "pool" field; is this PHP-FPM's status page?`);
  }
  return { doc, scrapeUri, shown };
}

register(async (request) => {
  const { doc, scrapeUri, shown } = await readStatus(request);
  const pool = { pool: doc.pool, scrape_uri: scrapeUri };
  up.set(pool, 1);
  for (const [field, metric] of POOL) {
    const value = number(doc, field, shown);
    if (metric instanceof Counter) metric.inc(pool, value);
    else metric.set(pool, value);
  }
  lastRequest.zero(pool);

  const processes = Array.isArray(doc.processes) ? doc.processes : [];
  if (configGet('processes') !== 'false') {
    if (!Array.isArray(doc.processes)) log.warn(`${shown}: no "processes" list, so no per-child series`);
    processes.forEach((child, i) => {
      const labels = { ...pool, child: String(i) };
      const what = `${shown}: processes[${i}]`;
      processRequests.inc(labels, number(child, 'requests', what));
      processMemory.set(labels, number(child, 'last request memory', what));
      processCpu.set(labels, number(child, 'last request cpu', what));
      processDuration.set(labels, number(child, 'request duration', what));
      for (const state of PROCESS_STATES) {
        processState.set({ ...labels, state }, child.state === state ? 1 : 0);
      }
    });
  }
  for (const [i, child] of processes.entries()) {
    lastRequest.observe(pool, number(child, 'request duration', `${shown}: processes[${i}]`) / 1e6);
  }
  log.debug(`read pool ${doc.pool}: ${processes.length} children`);
});
