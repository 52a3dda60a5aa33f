"""The Python peer of the peer benchmark (`cargo xtask bench-peers`).

A prometheus_client exporter serving the same synthetic load as the
tests/plugins/peer_load plugin, the idiomatic way for data read at scrape
time: a custom collector whose collect() yields fresh GaugeMetricFamily
objects, in its own registry, served by start_http_server.

    .venv/bin/python tests/peers/python/exporter.py --web.listen-address 127.0.0.1:9919
"""

import argparse
import signal
import threading

from prometheus_client import start_http_server
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily

HELP = "Synthetic series."


class PeerLoad:
    """families x series gauges; series i has l0="s<i>", l1="v1", value i."""

    def __init__(self, families, series):
        self.families = families
        self.series = series

    def collect(self):
        # Like the plugin: the first label's values are formatted once per
        # scrape and shared by every family.
        values = [f"s{i}" for i in range(self.series)]
        for f in range(self.families):
            family = GaugeMetricFamily(f"peer_load_{f}", HELP, labels=["l0", "l1"])
            for i, value in enumerate(values):
                family.add_metric([value, "v1"], i)
            yield family


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--web.listen-address", dest="listen", default="127.0.0.1:9919")
    parser.add_argument("--families", type=int, default=10, help="gauge families peer_load_<f>")
    parser.add_argument("--series", type=int, default=1000, help="series per family")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")

    registry = CollectorRegistry(auto_describe=False)
    registry.register(PeerLoad(args.families, args.series))
    start_http_server(int(port), addr=host or "127.0.0.1", registry=registry)
    print(f"listening on {args.listen}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
