"""What prometheus_client's `core` module offers custom collectors: port a
collector with `from prometheus_client.core import ...` by importing the
same names from here."""

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
from .registry import REGISTRY, CollectorRegistry, DuplicateTimeseries
from .samples import Exemplar, Sample, Timestamp

__all__ = (
    "CollectorRegistry",
    "CounterMetricFamily",
    "DuplicateTimeseries",
    "Exemplar",
    "GaugeMetricFamily",
    "HistogramMetricFamily",
    "InfoMetricFamily",
    "Metric",
    "REGISTRY",
    "Sample",
    "StateSetMetricFamily",
    "SummaryMetricFamily",
    "Timestamp",
    "UnknownMetricFamily",
    "UntypedMetricFamily",
)
