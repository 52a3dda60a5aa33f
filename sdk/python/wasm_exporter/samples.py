"""Samples as prometheus_client's `samples` module defines them.

A family keeps its data as these samples, exactly as prometheus_client's
families do, so code that inspects `family.samples` keeps working; the SDK
turns them into the host's data model when the plugin returns them
(`wasm_exporter.model`).
"""

from typing import Dict, NamedTuple, Optional, Union


class Timestamp:
    """A nanosecond-resolution timestamp (accepted for signature
    compatibility; the host serves no sample timestamps, so a sample that
    carries one is refused when the plugin returns it)."""

    def __init__(self, sec: float, nsec: float) -> None:
        if nsec < 0 or nsec >= 1e9:
            raise ValueError(f"Invalid value for nanoseconds in Timestamp: {nsec}")
        if sec < 0:
            nsec = -nsec
        self.sec: int = int(sec)
        self.nsec: int = int(nsec)

    def __str__(self) -> str:
        return f"{self.sec}.{self.nsec:09d}"

    def __repr__(self) -> str:
        return f"Timestamp({self.sec}, {self.nsec})"

    def __float__(self) -> float:
        return float(self.sec) + float(self.nsec) / 1e9

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timestamp) and (self.sec, self.nsec) == (other.sec, other.nsec)

    def __hash__(self) -> int:
        return hash((self.sec, self.nsec))


class Exemplar(NamedTuple):
    """An exemplar (accepted for signature compatibility; the host's data
    model has none, so a sample that carries one is refused)."""

    labels: Dict[str, str]
    value: float
    timestamp: Optional[Union[float, Timestamp]] = None


class Sample(NamedTuple):
    """One exposed line: the sample name (with any `_total`, `_bucket`,
    `_sum`... suffix), its labels and its value."""

    name: str
    labels: Dict[str, str]
    value: float
    timestamp: Optional[Union[float, Timestamp]] = None
    exemplar: Optional[Exemplar] = None
    native_histogram: Optional[object] = None
