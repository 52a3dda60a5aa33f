"""The collector registry, as prometheus_client's `registry` module has it.

The plugin serves what `REGISTRY` collects: register collectors on it at
the top level of `app.py`, exactly as with prometheus_client.

One difference: prometheus_client's `REGISTRY` calls `collect()` when a
collector without `describe()` is registered, to check for duplicate
names. Here registration happens while the component is built (the top
level of `app.py` runs then, and its state is what every scrape starts
from), where no configuration, file or host call is available, so only
`describe()` is used for that check, and the host checks the names of what
each scrape returns.
"""

import threading
from typing import Dict, Iterable, List, Optional

from .metrics_core import Metric


class Collector:
    """What a collector is: an object with `collect()` returning (or
    yielding) metric families, and optionally `describe()` returning the
    families it may return (without or with samples)."""

    def collect(self) -> Iterable[Metric]:
        """Collects metrics."""
        return []


class DuplicateTimeseries(ValueError):
    """Two registered collectors describe the same name."""

    def __init__(self, duplicates):
        super().__init__(f"Duplicated timeseries in CollectorRegistry: {duplicates}")
        self.duplicates = duplicates


_SUFFIXES = {
    "counter": ["_total", "_created"],
    "summary": ["_sum", "_count", "_created"],
    "histogram": ["_bucket", "_sum", "_count", "_created"],
    "gaugehistogram": ["_bucket", "_gsum", "_gcount"],
    "info": ["_info"],
}


class CollectorRegistry:
    """Collectors whose families the plugin returns, in registration order."""

    def __init__(self, auto_describe: bool = False, target_info: Optional[Dict[str, str]] = None):
        # auto_describe is accepted for compatibility; see the module doc.
        self._lock = threading.Lock()
        self._collector_to_names: Dict[object, List[str]] = {}
        self._names_to_collectors: Dict[str, object] = {}
        self._target_info: Optional[Dict[str, str]] = None
        self.set_target_info(target_info)

    def register(self, collector) -> None:
        """Adds a collector. Raises `DuplicateTimeseries` when its
        `describe()` names a series another registered collector describes."""
        with self._lock:
            if collector in self._collector_to_names:
                raise ValueError(f"Collector already registered: {collector!r}")
            names = _names(collector)
            duplicates = set(self._names_to_collectors).intersection(names)
            if duplicates:
                raise DuplicateTimeseries(duplicates)
            for name in names:
                self._names_to_collectors[name] = collector
            self._collector_to_names[collector] = names

    def unregister(self, collector) -> None:
        """Removes a collector."""
        with self._lock:
            for name in self._collector_to_names[collector]:
                del self._names_to_collectors[name]
            del self._collector_to_names[collector]

    def collect(self) -> Iterable[Metric]:
        """Yields the families of every collector, in registration order
        (after `target_info`, if set)."""
        with self._lock:
            collectors = list(self._collector_to_names)
            target_info = self._target_info_metric() if self._target_info else None
        if target_info is not None:
            yield target_info
        for collector in collectors:
            yield from collector.collect()

    def describe(self) -> Iterable[Metric]:
        """Yields what every collector's `describe()` returns (nothing for
        collectors without one)."""
        with self._lock:
            collectors = list(self._collector_to_names)
            target_info = self._target_info_metric() if self._target_info else None
        if target_info is not None:
            yield target_info
        for collector in collectors:
            describe = getattr(collector, "describe", None)
            if describe is not None:
                yield from describe()

    def set_target_info(self, labels: Optional[Dict[str, str]]) -> None:
        """Sets the labels of the `target_info` family (none: no family)."""
        with self._lock:
            if labels:
                if not self._target_info and "target_info" in self._names_to_collectors:
                    raise ValueError("CollectorRegistry already contains a target_info metric")
                self._names_to_collectors["target_info"] = Collector()
            elif self._target_info:
                self._names_to_collectors.pop("target_info", None)
            self._target_info = labels

    def get_target_info(self) -> Optional[Dict[str, str]]:
        """The labels of the `target_info` family, if set."""
        with self._lock:
            return self._target_info

    def _target_info_metric(self) -> Metric:
        metric = Metric("target", "Target metadata", "info")
        metric.add_sample("target_info", self._target_info, 1)
        return metric

    def get_sample_value(self, name: str, labels: Optional[Dict[str, str]] = None) -> Optional[float]:
        """The value of one sample, or None: for unit tests."""
        labels = labels or {}
        for metric in self.collect():
            for sample in metric.samples:
                if sample.name == name and sample.labels == labels:
                    return sample.value
        return None


def _names(collector) -> List[str]:
    describe = getattr(collector, "describe", None)
    if describe is None:
        return []
    names = []
    for metric in describe():
        names.append(metric.name)
        names.extend(metric.name + suffix for suffix in _SUFFIXES.get(metric.type, []))
    return names


REGISTRY = CollectorRegistry(auto_describe=True)
