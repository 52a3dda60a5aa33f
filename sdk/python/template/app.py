"""A Python plugin to start from: copy this directory to
plugins/python/<name>/ and replace the collector.

app.py registers its collectors on wasm_exporter's REGISTRY, as a
prometheus_client exporter registers custom collectors; the top level runs
once, when the component is built, and `collect()` on every scrape."""

import logging
import time

from wasm_exporter import REGISTRY, config_get, request
from wasm_exporter.core import GaugeMetricFamily

log = logging.getLogger(__name__)


class TemplateCollector:
    def describe(self):
        """What collect() returns: the host lists it, and
        `wasm_exporter check` compares the two."""
        yield GaugeMetricFamily(
            "template_greeting_length", "Characters in the configured greeting.", labels=["greeting"]
        )
        yield GaugeMetricFamily(
            "template_collected_timestamp_seconds",
            "When this scrape was collected, in seconds since the epoch.",
        )

    def collect(self):
        scrape = request()
        log.info("collecting for %s", scrape.target or "/metrics")

        greeting = config_get("greeting", "hello")
        length = GaugeMetricFamily(
            "template_greeting_length", "Characters in the configured greeting.", labels=["greeting"]
        )
        length.add_metric([greeting], len(greeting))
        yield length

        yield GaugeMetricFamily(
            "template_collected_timestamp_seconds",
            "When this scrape was collected, in seconds since the epoch.",
            value=time.time(),
        )


REGISTRY.register(TemplateCollector())
