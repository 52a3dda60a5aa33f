"""Memory and load of the host, named as node_exporter's `meminfo` and
`loadavg` collectors name them, read from the granted /proc/meminfo and
/proc/loadavg: a prometheus_client custom collector run as a plugin."""

import logging
import re

from wasm_exporter import REGISTRY, CollectError, config_get
from wasm_exporter.core import CounterMetricFamily, GaugeMetricFamily

LOADAVG = "/proc/loadavg"
MEMINFO = "/proc/meminfo"
COLLECTORS = ("loadavg", "meminfo")

log = logging.getLogger(__name__)

# node_exporter's `\((.*)\)` -> `_$1`: `Active(anon)` -> `Active_anon`.
PARENS = re.compile(r"\((.*)\)")
VALID_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def read(path, limit):
    """A whole /proc file, refusing one larger than `limit` bytes."""
    with open(path, encoding="ascii") as f:
        text = f.read(limit + 1)
    if len(text) > limit:
        raise ValueError(f"{path} is larger than {limit} bytes")
    return text


def loadavg(text):
    fields = text.split()
    if len(fields) < 3:
        raise ValueError(f"{LOADAVG}: expected three load averages, found {text[:40]!r}")
    for minutes, field in zip((1, 5, 15), fields):
        try:
            value = float(field)
        except ValueError:
            raise ValueError(f"{LOADAVG}: load average {field[:40]!r} is not a number") from None
        yield GaugeMetricFamily(f"node_load{minutes}", f"{minutes}m load average.", value=value)


def meminfo(text):
    fields = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (2, 3) or not parts[0].endswith(":"):
            raise ValueError(f"{MEMINFO}: invalid line {line[:60]!r}")
        key = PARENS.sub(r"_\1", parts[0][:-1])
        try:
            value = float(parts[1])
        except ValueError:
            raise ValueError(f"{MEMINFO}: invalid value in line {line[:60]!r}") from None
        # The only unit the kernel writes is kB.
        if len(parts) == 3:
            value *= 1024
            key += "_bytes"
        fields[key] = value
    invalid = sorted(key for key in fields if not VALID_NAME.match(key))
    if invalid:
        log.warning("meminfo: left out fields that make no valid metric name: %s", ", ".join(invalid))
    for key in sorted(fields):
        if key in invalid:
            continue
        name, help_text = f"node_memory_{key}", f"Memory information field {key}."
        unit = "bytes" if key.endswith("_bytes") else ""
        if key.endswith("_total"):
            # node_exporter's rule; CounterMetricFamily keeps the `_total`.
            yield CounterMetricFamily(name, help_text, value=fields[key], unit=unit)
        else:
            yield GaugeMetricFamily(name, help_text, value=fields[key], unit=unit)


SOURCES = {
    "loadavg": (LOADAVG, 4 << 10, loadavg),
    "meminfo": (MEMINFO, 64 << 10, meminfo),
}


def enabled_collectors():
    setting = config_get("collectors", ",".join(COLLECTORS))
    names = [name.strip() for name in setting.split(",") if name.strip()]
    unknown = [name for name in names if name not in SOURCES]
    if unknown or not names:
        raise CollectError(
            f"config key collectors: {setting!r} must list some of {', '.join(COLLECTORS)}"
        )
    return names


class MemInfoCollector:
    def collect(self):
        families, failed = [], []
        for name in enabled_collectors():
            path, limit, parse = SOURCES[name]
            try:
                families.extend(parse(read(path, limit)))
            except (OSError, ValueError) as e:
                log.warning("skipped %s: %s", name, e)
                failed.append(f"{name}: {e}")
        if failed and not families:
            raise CollectError(
                "no collector could read its source; grant files "
                + ", ".join(SOURCES[name][0] for name in enabled_collectors())
                + " (" + "; ".join(failed) + ")"
            )
        return families


REGISTRY.register(MemInfoCollector())
