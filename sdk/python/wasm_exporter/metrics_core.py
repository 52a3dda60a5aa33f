"""Metric families for custom collectors, as prometheus_client's
`metrics_core` module has them: same classes, constructor arguments,
`add_metric` signatures and samples.

Two things are stricter than prometheus_client, so that a mistake shows
instead of vanishing: `add_metric` refuses a number of label values that
differs from the number of label names (prometheus_client drops the extra
ones or leaves the missing ones out), and what the host's data model cannot
carry (sample timestamps, exemplars, `created` values, gauge histograms) is
refused when the plugin returns it, with the family's name, rather than
dropped. Names are not checked here beyond being non-empty: the host checks
every name and reports a bad one as `invalid_output`.
"""

from typing import Dict, List, Optional, Sequence, Tuple, Union

from .samples import Exemplar, Sample, Timestamp

METRIC_TYPES = (
    "counter",
    "gauge",
    "summary",
    "histogram",
    "gaugehistogram",
    "unknown",
    "info",
    "stateset",
)

_TimestampArg = Optional[Union[Timestamp, float]]


class Metric:
    """A metric family and its samples: the base of every family class, and
    usable directly with `add_sample` (prometheus_client's way to add the
    quantiles of a summary)."""

    def __init__(self, name: str, documentation: str, typ: str, unit: str = ""):
        # As prometheus_client does: the unit becomes the name's suffix.
        if unit and not name.endswith("_" + unit):
            name += "_" + unit
        if not name:
            raise ValueError("metric name cannot be empty")
        self.name: str = name
        self.documentation: str = documentation
        self.unit: str = unit
        if typ == "untyped":
            typ = "unknown"
        if typ not in METRIC_TYPES:
            raise ValueError("Invalid metric type: " + typ)
        self.type: str = typ
        self.samples: List[Sample] = []

    def add_sample(
        self,
        name: str,
        labels: Dict[str, str],
        value: float,
        timestamp: _TimestampArg = None,
        exemplar: Optional[Exemplar] = None,
        native_histogram: Optional[object] = None,
    ) -> None:
        """Adds one sample as it will be exposed (`name` with its suffix)."""
        self.samples.append(Sample(name, labels, value, timestamp, exemplar, native_histogram))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Metric)
            and self.name == other.name
            and self.documentation == other.documentation
            and self.type == other.type
            and self.unit == other.unit
            and self.samples == other.samples
        )

    def __repr__(self) -> str:
        return (
            f"Metric({self.name}, {self.documentation}, {self.type}, "
            f"{self.unit}, {self.samples})"
        )

    def _init_labels(self, labels: Optional[Sequence[str]], value_given: bool, what: str = "value"):
        if labels is not None and value_given:
            raise ValueError(f"Can only specify at most one of {what} and labels.")
        self._labelnames: Tuple[str, ...] = tuple(labels) if labels is not None else ()

    def _labels(self, values: Sequence[str]) -> Dict[str, str]:
        values = tuple(values)
        if len(values) != len(self._labelnames):
            raise ValueError(
                f"{self.name}: {len(values)} label values {list(values)!r} "
                f"for the label names {list(self._labelnames)!r}"
            )
        return dict(zip(self._labelnames, values))


class UnknownMetricFamily(Metric):
    """A metric of unknown type (`untyped` in the text format)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        value: Optional[float] = None,
        labels: Optional[Sequence[str]] = None,
        unit: str = "",
    ):
        Metric.__init__(self, name, documentation, "unknown", unit)
        self._init_labels(labels, value is not None)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: float, timestamp: _TimestampArg = None) -> None:
        """Adds a series: its label values, in the order of the label names."""
        self.samples.append(Sample(self.name, self._labels(labels), value, timestamp))


UntypedMetricFamily = UnknownMetricFamily


class CounterMetricFamily(Metric):
    """A counter. As in prometheus_client, a trailing `_total` is taken off
    the family name and every sample is exposed as `<name>_total`."""

    def __init__(
        self,
        name: str,
        documentation: str,
        value: Optional[float] = None,
        labels: Optional[Sequence[str]] = None,
        created: Optional[float] = None,
        unit: str = "",
        exemplar: Optional[Exemplar] = None,
    ):
        if name.endswith("_total"):
            name = name[:-6]
        Metric.__init__(self, name, documentation, "counter", unit)
        self._init_labels(labels, value is not None)
        if value is not None:
            self.add_metric([], value, created, exemplar=exemplar)

    def add_metric(
        self,
        labels: Sequence[str],
        value: float,
        created: Optional[float] = None,
        timestamp: _TimestampArg = None,
        exemplar: Optional[Exemplar] = None,
    ) -> None:
        """Adds a series: its label values and its total."""
        label_dict = self._labels(labels)
        self.samples.append(Sample(self.name + "_total", label_dict, value, timestamp, exemplar))
        if created is not None:
            self.samples.append(Sample(self.name + "_created", dict(label_dict), created, timestamp))


class GaugeMetricFamily(Metric):
    """A gauge."""

    def __init__(
        self,
        name: str,
        documentation: str,
        value: Optional[float] = None,
        labels: Optional[Sequence[str]] = None,
        unit: str = "",
    ):
        Metric.__init__(self, name, documentation, "gauge", unit)
        self._init_labels(labels, value is not None)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: float, timestamp: _TimestampArg = None) -> None:
        """Adds a series: its label values and its value."""
        self.samples.append(Sample(self.name, self._labels(labels), value, timestamp))


class SummaryMetricFamily(Metric):
    """A summary: `add_metric` sets a series' count and sum; its quantiles
    are added as in prometheus_client, with
    `add_sample(name, {**labels, "quantile": "0.5"}, value)`."""

    def __init__(
        self,
        name: str,
        documentation: str,
        count_value: Optional[int] = None,
        sum_value: Optional[float] = None,
        labels: Optional[Sequence[str]] = None,
        unit: str = "",
    ):
        Metric.__init__(self, name, documentation, "summary", unit)
        if (sum_value is None) != (count_value is None):
            raise ValueError("count_value and sum_value must be provided together.")
        self._init_labels(labels, count_value is not None)
        if count_value is not None and sum_value is not None:
            self.add_metric([], count_value, sum_value)

    def add_metric(
        self,
        labels: Sequence[str],
        count_value: int,
        sum_value: float,
        timestamp: _TimestampArg = None,
    ) -> None:
        """Adds a series: its label values, count and sum."""
        label_dict = self._labels(labels)
        self.samples.append(Sample(self.name + "_count", label_dict, count_value, timestamp))
        self.samples.append(Sample(self.name + "_sum", dict(label_dict), sum_value, timestamp))


class HistogramMetricFamily(Metric):
    """A histogram: buckets as `[(le, cumulative_count), ...]` with `le` a
    string (`"0.5"`, `"+Inf"`), sorted, `+Inf` last."""

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Optional[Sequence[Union[Tuple[str, float], Tuple[str, float, Exemplar]]]] = None,
        sum_value: Optional[float] = None,
        labels: Optional[Sequence[str]] = None,
        unit: str = "",
    ):
        Metric.__init__(self, name, documentation, "histogram", unit)
        if sum_value is not None and buckets is None:
            raise ValueError("sum value cannot be provided without buckets.")
        self._init_labels(labels, buckets is not None, "buckets")
        if buckets is not None:
            self.add_metric([], buckets, sum_value)

    def add_metric(
        self,
        labels: Sequence[str],
        buckets: Sequence[Union[Tuple[str, float], Tuple[str, float, Exemplar]]],
        sum_value: Optional[float],
        timestamp: _TimestampArg = None,
    ) -> None:
        """Adds a series: its label values, buckets and sum. Its count is
        the `+Inf` bucket's."""
        label_dict = self._labels(labels)
        for b in buckets:
            bucket, value = b[:2]
            exemplar = b[2] if len(b) == 3 else None
            self.samples.append(
                Sample(
                    self.name + "_bucket",
                    dict(list(label_dict.items()) + [("le", bucket)]),
                    value,
                    timestamp,
                    exemplar,
                )
            )
        # prometheus_client leaves out sum and count when a bucket bound is
        # negative or there is no sum; the host's histograms need both, so
        # such a series is refused when the plugin returns it.
        if float(buckets[0][0]) >= 0 and sum_value is not None:
            self.samples.append(Sample(self.name + "_count", dict(label_dict), buckets[-1][1], timestamp))
            self.samples.append(Sample(self.name + "_sum", dict(label_dict), sum_value, timestamp))


class InfoMetricFamily(Metric):
    """An info metric: constant labels, exposed as `<name>_info 1`."""

    def __init__(
        self,
        name: str,
        documentation: str,
        value: Optional[Dict[str, str]] = None,
        labels: Optional[Sequence[str]] = None,
    ):
        Metric.__init__(self, name, documentation, "info")
        self._init_labels(labels, value is not None)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: Dict[str, str], timestamp: _TimestampArg = None) -> None:
        """Adds a series: its label values and its info labels (a dict)."""
        self.samples.append(Sample(self.name + "_info", dict(self._labels(labels), **value), 1, timestamp))


class StateSetMetricFamily(Metric):
    """A state set: `{state: enabled}`, exposed one sample per state (sorted
    by name, as prometheus_client does) with the family name as the state's
    label."""

    def __init__(
        self,
        name: str,
        documentation: str,
        value: Optional[Dict[str, bool]] = None,
        labels: Optional[Sequence[str]] = None,
    ):
        Metric.__init__(self, name, documentation, "stateset")
        self._init_labels(labels, value is not None)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: Dict[str, bool], timestamp: _TimestampArg = None) -> None:
        """Adds a series: its label values and its states."""
        label_dict = self._labels(labels)
        for state, enabled in sorted(value.items()):
            self.samples.append(
                Sample(self.name, dict(label_dict, **{self.name: state}), 1 if enabled else 0, timestamp)
            )
