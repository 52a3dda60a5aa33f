"""A job queue's exporter, written as a prometheus_client custom collector:
on every scrape it reads the queue service's status file (its path in
QUEUE_STATUS_FILE) and exposes depth, processed jobs, wait times, payload
sizes, build and state. native.py (prometheus_client) and wasm/app.py
(wasm_exporter) differ only in their imports."""

import json
import logging
import os

from wasm_exporter.core import (
    REGISTRY,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    StateSetMetricFamily,
    SummaryMetricFamily,
)
from wasm_exporter.registry import Collector

STATUS_FILE = "/var/lib/queue/status.json"
STATES = ("starting", "running", "draining")

log = logging.getLogger(__name__)


class QueueCollector(Collector):
    def collect(self):
        path = os.environ.get("QUEUE_STATUS_FILE", STATUS_FILE)
        with open(path, encoding="utf-8") as f:
            status = json.load(f)
        log.debug("read %s: %d queues", path, len(status["queues"]))

        yield InfoMetricFamily(
            "queue_build",
            "Build of the queue service.",
            value={"version": status["version"], "commit": status["commit"]},
        )
        yield StateSetMetricFamily(
            "queue_service_state",
            "State of the queue service.",
            value={state: state == status["state"] for state in STATES},
        )

        depth = GaugeMetricFamily("queue_depth", "Jobs waiting.", labels=["queue"])
        jobs = CounterMetricFamily("queue_jobs_total", "Jobs processed.", labels=["queue", "outcome"])
        wait = HistogramMetricFamily(
            "queue_wait", "Time jobs waited before a worker took them.", labels=["queue"], unit="seconds"
        )
        payload = SummaryMetricFamily(
            "queue_payload_bytes", "Sizes of job payloads.", labels=["queue"], unit="bytes"
        )
        for name, queue in sorted(status["queues"].items()):
            depth.add_metric([name], queue["depth"])
            for outcome, count in sorted(queue["processed"].items()):
                jobs.add_metric([name, outcome], count)
            waited = queue["wait_seconds"]
            wait.add_metric([name], [tuple(bucket) for bucket in waited["buckets"]], waited["sum"])
            sizes = queue["payload_bytes"]
            payload.add_metric([name], sizes["count"], sizes["sum"])
            for quantile, value in sizes["quantiles"]:
                payload.add_sample("queue_payload_bytes", {"queue": name, "quantile": quantile}, value)
        yield depth
        yield jobs
        yield wait
        yield payload


REGISTRY.register(QueueCollector())
