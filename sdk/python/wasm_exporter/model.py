"""The host's data model (the `metrics` interface of wit/collector.wit) in
plain Python, and the conversion of prometheus_client-style families
(`Metric` and its subclasses, with their samples) into it.

The conversion is where prometheus_client's sample naming meets the
host's typed series:

- counter `x` (prometheus_client strips `_total`): the family `x_total`,
  each `x_total` sample one series;
- gauge, unknown: each sample one series;
- histogram `x`: the `x_bucket` samples of a series (same labels but
  `le`) become its buckets, in the order given, with `x_count` and `x_sum`;
- summary `x`: the `x` samples with a `quantile` label become the
  quantiles of their series, with `x_count` and `x_sum`;
- info `x`: the family `x`, each `x_info` sample one series;
- state set `x`: the samples of one series (same labels but `x`) become
  its states, enabled when the value is 1.

Nothing is repaired: a sample the host's model cannot carry (timestamp,
exemplar, `_created`, a histogram without sum, a fractional count) raises
`ValueError` naming the family, and names and ordering are left for the
host to check.
"""

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

COUNTER = "counter"
GAUGE = "gauge"
HISTOGRAM = "histogram"
SUMMARY = "summary"
INFO = "info"
STATE_SET = "state-set"
UNKNOWN = "unknown"

#: The host's type of each prometheus_client type it can carry.
_TYPES = {
    "counter": COUNTER,
    "gauge": GAUGE,
    "histogram": HISTOGRAM,
    "summary": SUMMARY,
    "info": INFO,
    "stateset": STATE_SET,
    "unknown": UNKNOWN,
}

_U64_MAX = 2**64 - 1


@dataclass
class Histogram:
    """One histogram data point: `(upper_bound, cumulative_count)` buckets."""

    buckets: List[Tuple[float, int]]
    sum: float
    count: int


@dataclass
class Summary:
    """One summary data point: `(quantile, value)` pairs."""

    quantiles: List[Tuple[float, float]]
    sum: float
    count: int


#: A series' value: a float (counter, gauge, unknown), a `Histogram`, a
#: `Summary`, None (info) or `[(state, enabled)]` (state set).
Value = Union[float, Histogram, Summary, None, List[Tuple[str, bool]]]


@dataclass
class Series:
    labels: List[Tuple[str, str]]
    value: Value


@dataclass
class Family:
    name: str
    help: str
    type: str
    unit: Optional[str]
    metrics: List[Series] = field(default_factory=list)


@dataclass
class Descriptor:
    name: str
    help: str
    type: str
    unit: Optional[str]
    label_names: List[str]


class _Point:
    """A histogram's or summary's series while its samples are gathered."""

    def __init__(self, labels: List[Tuple[str, str]]):
        self.labels = labels
        self.parts: List[Tuple[float, float]] = []
        self.sum: Optional[float] = None
        self.count: Optional[int] = None


def family(metric) -> Family:
    """The host's family of one prometheus_client-style family."""
    name = _text(metric, "name", metric.name)
    help_text = _text(metric, "documentation", metric.documentation)
    kind = _TYPES.get(metric.type)
    if kind is None:
        raise ValueError(
            f"metric family {name!r}: type {metric.type!r} has no equivalent in wasm_exporter "
            f"(use one of {', '.join(sorted(_TYPES))})"
        )
    for sample in metric.samples:
        _check_sample(name, sample)
    unit = metric.unit or None
    if kind == COUNTER:
        return Family(name + "_total", help_text, kind, unit, _scalars(metric, name + "_total"))
    if kind in (GAUGE, UNKNOWN):
        return Family(name, help_text, kind, unit, _scalars(metric, name))
    if kind == INFO:
        return Family(name, help_text, kind, unit, _infos(metric))
    if kind == STATE_SET:
        return Family(name, help_text, kind, unit, _state_sets(metric))
    if kind == HISTOGRAM:
        return Family(name, help_text, kind, unit, _histograms(metric))
    return Family(name, help_text, kind, unit, _summaries(metric))


def families(metrics) -> List[Family]:
    """The host's families of what a collector (or a registry) returned."""
    out = []
    for metric in metrics:
        if not hasattr(metric, "samples") or not hasattr(metric, "type"):
            raise TypeError(f"a collector returned {metric!r}, which is not a metric family")
        out.append(family(metric))
    return out


def descriptor(metric) -> Descriptor:
    """The host's descriptor of a family, as `describe()` returns it. Its
    label names are the family's (`labels=`) followed by those its samples
    add (an info family's info labels)."""
    converted = family(metric)
    label_names = list(getattr(metric, "_labelnames", ()))
    for series in converted.metrics:
        for label, _ in series.labels:
            if label not in label_names:
                label_names.append(label)
    return Descriptor(converted.name, converted.help, converted.type, converted.unit, label_names)


def _text(metric, what: str, value) -> str:
    if not isinstance(value, str):
        raise TypeError(f"metric family {getattr(metric, 'name', '?')!r}: {what} must be a str, not {value!r}")
    return value


def _check_sample(family_name: str, sample) -> None:
    if sample.timestamp is not None:
        raise ValueError(
            f"metric family {family_name!r}: sample {sample.name!r} has a timestamp; "
            "wasm_exporter serves every sample at scrape time, without timestamps"
        )
    if sample.exemplar is not None:
        raise ValueError(f"metric family {family_name!r}: sample {sample.name!r} has an exemplar, which wasm_exporter does not serve")
    if len(sample) > 5 and sample[5] is not None:
        raise ValueError(f"metric family {family_name!r}: native histograms are not supported by wasm_exporter")
    if not isinstance(sample.labels, dict):
        raise TypeError(f"metric family {family_name!r}: sample {sample.name!r} labels must be a dict, not {sample.labels!r}")
    for key, value in sample.labels.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(
                f"metric family {family_name!r}: sample {sample.name!r} label {key!r}={value!r}: "
                "label names and values must be str"
            )


def _number(family_name: str, sample, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"metric family {family_name!r}: sample {sample.name!r} value {value!r} is not a number") from None


def _count(family_name: str, sample, value) -> int:
    number = _number(family_name, sample, value)
    if not (0 <= number <= _U64_MAX) or math.floor(number) != number:
        raise ValueError(
            f"metric family {family_name!r}: sample {sample.name!r} is a count and must be "
            f"a whole number >= 0, not {value!r}"
        )
    return int(number)


def _unexpected(metric, sample) -> ValueError:
    if sample.name.endswith("_created"):
        return ValueError(
            f"metric family {metric.name!r}: sample {sample.name!r}: created timestamps are not "
            "served by wasm_exporter (leave out `created`)"
        )
    return ValueError(f"metric family {metric.name!r} ({metric.type}): unexpected sample {sample.name!r}")


def _scalars(metric, sample_name: str) -> List[Series]:
    series = []
    for sample in metric.samples:
        if sample.name != sample_name:
            raise _unexpected(metric, sample)
        series.append(Series(list(sample.labels.items()), _number(metric.name, sample, sample.value)))
    return series


def _infos(metric) -> List[Series]:
    series = []
    for sample in metric.samples:
        if sample.name != metric.name + "_info":
            raise _unexpected(metric, sample)
        if _number(metric.name, sample, sample.value) != 1:
            raise ValueError(f"metric family {metric.name!r}: info sample value must be 1, not {sample.value!r}")
        series.append(Series(list(sample.labels.items()), None))
    return series


def _without(labels: Dict[str, str], name: str) -> Tuple[List[Tuple[str, str]], Tuple]:
    """A sample's labels but `name`, and the key that groups the samples of
    one series whatever the order of their labels."""
    rest = [(k, v) for k, v in labels.items() if k != name]
    return rest, tuple(sorted(rest))


def _state_sets(metric) -> List[Series]:
    points: Dict[Tuple, Series] = {}
    for sample in metric.samples:
        if sample.name != metric.name or metric.name not in sample.labels:
            raise ValueError(
                f"metric family {metric.name!r} (stateset): sample {sample.name!r} with labels "
                f"{sample.labels!r} is not a state (`{metric.name}` label)"
            )
        value = _number(metric.name, sample, sample.value)
        if value not in (0, 1):
            raise ValueError(f"metric family {metric.name!r}: a state's value must be 0 or 1, not {sample.value!r}")
        labels, key = _without(sample.labels, metric.name)
        point = points.setdefault(key, Series(labels, []))
        point.value.append((sample.labels[metric.name], value == 1))
    return list(points.values())


def _gather(metric, part_name: str, part_label: str, part_is_count: bool) -> List[_Point]:
    """The series of a histogram (parts: `_bucket` samples by `le`) or a
    summary (parts: the family's samples by `quantile`)."""
    points: Dict[Tuple, _Point] = {}
    for sample in metric.samples:
        if sample.name == part_name and part_label in sample.labels:
            labels, key = _without(sample.labels, part_label)
            bound = sample.labels[part_label]
            try:
                position = float(bound)
            except ValueError:
                raise ValueError(
                    f"metric family {metric.name!r}: sample {sample.name!r} has {part_label}={bound!r}, not a number"
                ) from None
            value = (
                _count(metric.name, sample, sample.value)
                if part_is_count
                else _number(metric.name, sample, sample.value)
            )
            points.setdefault(key, _Point(labels)).parts.append((position, value))
        elif sample.name == metric.name + "_sum":
            labels, key = _without(sample.labels, part_label)
            points.setdefault(key, _Point(labels)).sum = _number(metric.name, sample, sample.value)
        elif sample.name == metric.name + "_count":
            labels, key = _without(sample.labels, part_label)
            points.setdefault(key, _Point(labels)).count = _count(metric.name, sample, sample.value)
        else:
            raise _unexpected(metric, sample)
    return list(points.values())


def _histograms(metric) -> List[Series]:
    series = []
    for point in _gather(metric, metric.name + "_bucket", "le", True):
        if point.sum is None:
            raise ValueError(
                f"metric family {metric.name!r}: the series {dict(point.labels)!r} has no sum "
                "(prometheus_client leaves it out when sum_value is None or a bucket bound is "
                "negative); wasm_exporter's histograms need one"
            )
        count = point.count
        if count is None:
            if not point.parts:
                raise ValueError(f"metric family {metric.name!r}: the series {dict(point.labels)!r} has no buckets")
            count = point.parts[-1][1]
        series.append(Series(point.labels, Histogram(point.parts, point.sum, count)))
    return series


def _summaries(metric) -> List[Series]:
    series = []
    for point in _gather(metric, metric.name, "quantile", False):
        if point.sum is None or point.count is None:
            raise ValueError(
                f"metric family {metric.name!r}: the series {dict(point.labels)!r} needs both "
                f"{metric.name}_count and {metric.name}_sum"
            )
        series.append(Series(point.labels, Summary(point.parts, point.sum, point.count)))
    return series
