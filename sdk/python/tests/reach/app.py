"""What Python's usual APIs reach from inside a plugin, under the grants
the test gives: one `python_reach_ok` series per attempt, 1 or 0, with what
it read or why it failed."""

import importlib
import os
import socket
import threading
import time
import urllib.request

from wasm_exporter import REGISTRY, config_get, statfs
from wasm_exporter.core import GaugeMetricFamily


def attempt(what, action):
    try:
        return what, 1, action()
    except Exception as e:
        return what, 0, f"{type(e).__name__}: {e}"


def read_file():
    with open(config_get("file")) as f:
        return f.read().strip()


def read_env():
    return os.environ[config_get("env")]


def import_modules():
    for name in config_get("import").split(","):
        importlib.import_module(name)
    return "imported"


def parse_time():
    return time.strftime("%Y-%m-%d", time.strptime(config_get("strptime"), "%d/%m/%Y"))


def stat_mount():
    stats = statfs(config_get("statfs"))
    return f"{stats.block_size > 0 and stats.blocks >= stats.blocks_free >= stats.blocks_available}"


def start_thread():
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()
    return "started"


def fetch():
    with urllib.request.urlopen(config_get("http"), timeout=2) as response:
        return f"{response.status} {response.read().decode().strip()}"


def connect():
    host, port = config_get("tcp").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=2) as s:
        s.sendall(b"ping\n")
        return s.recv(64).decode().strip()


class ReachCollector:
    def collect(self):
        family = GaugeMetricFamily(
            "python_reach_ok", "Whether an attempt succeeded.", labels=["what", "detail"]
        )
        for what, action in (
            ("file", read_file),
            ("env", read_env),
            ("import", import_modules),
            ("strptime", parse_time),
            ("statfs", stat_mount),
            ("thread", start_thread),
            ("http", fetch),
            ("tcp", connect),
        ):
            if config_get(what) is None:
                continue
            what, ok, detail = attempt(what, action)
            family.add_metric([what, detail], ok)
        yield family


REGISTRY.register(ReachCollector())
