// @ts-check
// A starting point for a collector plugin: copy this directory, rename the
// metrics, and replace the body of the collector.

import { Gauge, register, config, configGet, log } from 'wasm-exporter';

// Declared once at the top level (which runs at build time); every scrape
// starts from them empty.
const scraped = new Gauge({
  name: 'template_scrape_timestamp_seconds',
  help: 'When the plugin last collected (Unix time).',
  unit: 'seconds',
});
const settings = new Gauge({
  name: 'template_config_entries',
  help: 'Configuration entries the plugin received.',
});
const status = new Gauge({
  name: 'template_http_status',
  help: 'HTTP status of the configured URL.',
  labelNames: ['url'],
});

register(async (request) => {
  log.debug(`collecting, ${request.timeoutMs} ms left`);
  scraped.setToCurrentTime();
  settings.set(config().size);

  // fetch reaches only the URLs in the plugin's grants.http; anything else
  // rejects, and the thrown error fails the scrape with its message.
  const url = configGet('url');
  if (url !== undefined) {
    const response = await fetch(url);
    status.set({ url }, response.status);
  }
});
