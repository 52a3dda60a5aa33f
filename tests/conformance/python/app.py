"""The conformance plugin in Python (tests/conformance/README.md), written
as a prometheus_client custom collector."""

import logging

from wasm_exporter import REGISTRY, CollectError, config, config_get
from wasm_exporter.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
)


def families(configuration):
    requests = CounterMetricFamily(
        "conformance_requests_total", "Requests handled.", labels=["method", "code"]
    )
    requests.add_metric(["get", "200"], 3)
    requests.add_metric(["post", "500"], 1)

    temperature = GaugeMetricFamily(
        "conformance_temperature_celsius", "Temperature in a room.", labels=["room"], unit="celsius"
    )
    temperature.add_metric(["hall"], 21.5)
    temperature.add_metric(["cellar"], -3.25)

    latency = HistogramMetricFamily(
        "conformance_latency_seconds",
        "Request latency.",
        buckets=[("0.1", 2), ("0.5", 5), ("+Inf", 6)],
        sum_value=1.75,
        unit="seconds",
    )

    size = SummaryMetricFamily("conformance_size_bytes", "Response sizes.", labels=["path"], unit="bytes")
    size.add_metric(["/"], count_value=8, sum_value=1200)
    size.add_sample("conformance_size_bytes", {"path": "/", "quantile": "0.5"}, 100)
    size.add_sample("conformance_size_bytes", {"path": "/", "quantile": "0.9"}, 250)

    build = InfoMetricFamily(
        "conformance_build", "Build information.", value={"version": "1.2.3", "language": "python"}
    )
    state = StateSetMetricFamily("conformance_state", "Current state.", value={"a": True, "b": False})
    mystery = UnknownMetricFamily("conformance_mystery", "A value of unknown type.", value=42)

    configured = GaugeMetricFamily(
        "conformance_config", "Configuration the plugin received.", labels=["key", "value"]
    )
    for key, value in configuration.items():
        configured.add_metric([key, value], 1)

    text = GaugeMetricFamily(
        "conformance_text", 'Escaping: back\\slash, "quotes" and a\nline.', labels=["text"]
    )
    text.add_metric(['a"b\\c\nd'], 1)
    text.add_metric(["ünïcødé ✓"], 2)

    result = [requests, temperature, latency, size, build, state, mystery, configured, text]
    series = configuration.get("series", "")
    if series.isdigit():
        bench = GaugeMetricFamily("conformance_bench", "Benchmark series.", labels=["index"])
        for index in range(int(series)):
            bench.add_metric([str(index)], index)
        result.append(bench)
    return result


class ConformanceCollector:
    def describe(self):
        # Registration runs while the component is built, where there is no
        # configuration; the descriptors need none.
        return families({})

    def collect(self):
        logging.info("conformance collect")
        mode = config_get("mode")
        if mode == "error":
            raise CollectError("requested error")
        if mode == "loop":
            while True:
                pass
        if mode == "membomb":
            hoard = []
            while True:
                hoard.append(bytearray(1 << 20))
        if mode == "panic":
            raise RuntimeError("requested panic")
        return families(config())


REGISTRY.register(ConformanceCollector())
