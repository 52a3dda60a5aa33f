"""Serves native.py's collector the prometheus_client way, once: prints
what prometheus_client's REGISTRY exposes in the given format.

Usage: expose.py (text|openmetrics)

The default process, platform and GC collectors are unregistered first, so
only the ported collector's families remain (the wasm_exporter host has
its own `wasm_exporter_*` series instead, which the test leaves out).
"""

import os
import sys

from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR, REGISTRY
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.unregister(collector)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import native  # noqa: E402,F401  (registers its collector)

generate = generate_openmetrics if sys.argv[1] == "openmetrics" else generate_latest
sys.stdout.write(generate(REGISTRY).decode("utf-8"))
