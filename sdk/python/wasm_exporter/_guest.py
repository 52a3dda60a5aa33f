"""The component's side of wit/collector.wit: the `collector` export and
the host imports behind `wasm_exporter.host`.

componentize-py is given this module as the app (not the plugin's
`app.py`), so the export class lives here and a plugin never sees the
bindings. Importing it imports the plugin's `app` module, whose top level
registers its collectors; componentize-py runs that import while building
the component, and every scrape starts from the state it left.
"""

import logging
import traceback

# componentize-py keeps only the modules imported while the component is
# built: at run time there is no file system to import the standard library
# from. These the standard library imports lazily, inside a scrape: codecs
# for open(encoding=...) and bytes.decode, `encodings.idna` for socket's
# host name lookups, `_strptime` for time.strptime and datetime.strptime.
import _strptime  # noqa: F401
import encodings.ascii  # noqa: F401
import encodings.cp1252  # noqa: F401
import encodings.idna  # noqa: F401
import encodings.latin_1  # noqa: F401
import encodings.utf_16  # noqa: F401
import encodings.utf_32  # noqa: F401
import encodings.utf_8_sig  # noqa: F401

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import fs_stats as wit_fs_stats
from wit_world.imports import host as wit_host
from wit_world.imports import metrics as wit

from . import host, model
from .registry import REGISTRY

_LEVELS = {
    "trace": wit_host.Level.TRACE,
    "debug": wit_host.Level.DEBUG,
    "info": wit_host.Level.INFO,
    "warn": wit_host.Level.WARN,
    "error": wit_host.Level.ERROR,
}

_TYPES = {
    model.COUNTER: wit.MetricType.COUNTER,
    model.GAUGE: wit.MetricType.GAUGE,
    model.HISTOGRAM: wit.MetricType.HISTOGRAM,
    model.SUMMARY: wit.MetricType.SUMMARY,
    model.INFO: wit.MetricType.INFO,
    model.STATE_SET: wit.MetricType.STATE_SET,
    model.UNKNOWN: wit.MetricType.UNKNOWN,
}


class _WitBackend:
    def log(self, level, message):
        wit_host.log(_LEVELS[level], message)

    def config(self):
        return wit_host.config()

    def config_get(self, key):
        return wit_host.config_get(key)

    def statfs(self, path):
        try:
            s = wit_fs_stats.stat(path)
        except Err as e:
            raise OSError(f"statfs {path}: {e.value}") from None
        return host.FsStats(
            s.block_size, s.blocks, s.blocks_free, s.blocks_available, s.files, s.files_free, s.read_only
        )


def _value(kind, value):
    if kind == model.COUNTER:
        return wit.Value_Counter(value)
    if kind == model.GAUGE:
        return wit.Value_Gauge(value)
    if kind == model.UNKNOWN:
        return wit.Value_Unknown(value)
    if kind == model.HISTOGRAM:
        return wit.Value_Histogram(
            wit.Histogram([wit.Bucket(b, c) for b, c in value.buckets], value.sum, value.count)
        )
    if kind == model.SUMMARY:
        return wit.Value_Summary(
            wit.Summary([wit.Quantile(q, v) for q, v in value.quantiles], value.sum, value.count)
        )
    if kind == model.INFO:
        return wit.Value_Info()
    return wit.Value_StateSet([wit.State(name, enabled) for name, enabled in value])


def _family(family):
    return wit.MetricFamily(
        family.name,
        family.help,
        _TYPES[family.type],
        family.unit,
        [
            wit.Metric([wit.Label(k, v) for k, v in series.labels], _value(family.type, series.value))
            for series in family.metrics
        ],
    )


class Collector(exports.Collector):
    def describe(self):
        return [
            wit.Descriptor(d.name, d.help, _TYPES[d.type], d.unit, d.label_names)
            for d in map(model.descriptor, REGISTRY.describe())
        ]

    def collect(self, request):
        host._set_request(host.Request(request.target, list(request.params), request.timeout_ms / 1000))
        try:
            families = model.families(REGISTRY.collect())
        except host.CollectError as e:
            raise Err(str(e)) from None
        except Exception as e:
            # The reason names the exception; the traceback is there for
            # whoever runs the host with --log.level debug.
            host.log("debug", traceback.format_exc())
            raise Err(f"{type(e).__name__}: {e}") from None
        finally:
            host._set_request(None)
        return [_family(f) for f in families]


host._use_backend(_WitBackend())
_handler = host.HostLogHandler()
logging.root.addHandler(_handler)
logging.root.setLevel(logging.DEBUG)

import app  # noqa: E402,F401  (the plugin: registers its collectors)
