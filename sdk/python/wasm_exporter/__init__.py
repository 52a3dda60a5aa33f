"""Write wasm_exporter collector plugins in Python, the way custom
collectors are written for prometheus_client.

    # app.py
    import logging

    from wasm_exporter import REGISTRY, config_get
    from wasm_exporter.core import GaugeMetricFamily


    class QueueCollector:
        def collect(self):
            logging.info("collecting")
            depth = GaugeMetricFamily("queue_depth", "Jobs waiting.", labels=["queue"])
            depth.add_metric([config_get("queue", "mail")], 3)
            yield depth


    REGISTRY.register(QueueCollector())

A plugin is a directory whose `app.py` registers collectors on `REGISTRY`;
`cargo xtask plugins` (or componentize-py, see the README) makes it a
component. The family classes, `REGISTRY`, `CollectorRegistry`,
`Collector`, `Metric` and `Sample` are those of prometheus_client (modules
`wasm_exporter.core`, `.registry`, `.metrics_core`, `.samples`), so an
existing collector ports by changing its imports. Besides them:

- `config()`, `config_get(key)`: the plugin's configuration;
- `request()`: the scrape being served (probe target, parameters, time left);
- `log(level, message)` and `HostLogHandler`: the host's log; inside the
  component the root logger writes there, so `logging` works as usual;
- `statfs(path)`: sizes of a granted mount point;
- `CollectError`: raise it (or anything) from `collect()` to fail the scrape.
"""

from .host import (
    LEVELS,
    CollectError,
    FsStats,
    HostLogHandler,
    Request,
    config,
    config_get,
    log,
    request,
    statfs,
)
from .metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
    UntypedMetricFamily,
)
from .registry import REGISTRY, Collector, CollectorRegistry, DuplicateTimeseries
from .samples import Exemplar, Sample, Timestamp

__all__ = (
    "LEVELS",
    "REGISTRY",
    "CollectError",
    "Collector",
    "CollectorRegistry",
    "CounterMetricFamily",
    "DuplicateTimeseries",
    "Exemplar",
    "FsStats",
    "GaugeMetricFamily",
    "HistogramMetricFamily",
    "HostLogHandler",
    "InfoMetricFamily",
    "Metric",
    "Request",
    "Sample",
    "StateSetMetricFamily",
    "SummaryMetricFamily",
    "Timestamp",
    "UnknownMetricFamily",
    "UntypedMetricFamily",
    "config",
    "config_get",
    "log",
    "request",
    "statfs",
)
