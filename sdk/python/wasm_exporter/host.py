"""What the host offers a plugin: its configuration, the current request,
the host's log (also as a `logging.Handler`) and file-system statistics.

Inside the component these call the host; in an ordinary Python process
(unit tests, trying a collector out) the configuration is empty, there is
no request, and log records go to stderr, so a collector module can be
imported and run natively.
"""

import logging
import sys
from typing import Dict, List, NamedTuple, Optional, Tuple


class CollectError(Exception):
    """Raise it from `collect()` to fail this scrape with its message as
    the reason (`wasm_exporter_plugin_up 0`, reason `error`). Any other
    exception does the same, with the exception's type before its message."""


class Request(NamedTuple):
    """The scrape being served."""

    #: The `/probe?target=` value; None on a plain `/metrics` scrape.
    target: Optional[str]
    #: The other query parameters of a `/probe` request, in order.
    params: List[Tuple[str, str]]
    #: Seconds left before the host abandons this scrape (None natively).
    timeout: Optional[float]

    def param(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The first value of one `/probe` parameter."""
        for key, value in self.params:
            if key == name:
                return value
        return default


class FsStats(NamedTuple):
    """A file system's sizes, in blocks of `block_size` bytes, as statfs
    reports them."""

    block_size: int
    blocks: int
    blocks_free: int
    #: Free blocks an unprivileged user may use.
    blocks_available: int
    files: int
    files_free: int
    read_only: bool


#: The host's log levels, in order; Python levels map onto them.
LEVELS = ("trace", "debug", "info", "warn", "error")

_NO_REQUEST = Request(target=None, params=[], timeout=None)


class _NativeBackend:
    """The backend outside the component."""

    def log(self, level: str, message: str) -> None:
        sys.stderr.write(f"{level}: {message}\n")

    def config(self) -> List[Tuple[str, str]]:
        return []

    def config_get(self, key: str) -> Optional[str]:
        return dict(self.config()).get(key)

    def statfs(self, path: str) -> FsStats:
        raise OSError(f"statfs {path}: only the wasm_exporter host answers statfs")


_backend = _NativeBackend()
_request = _NO_REQUEST


def _use_backend(backend) -> None:
    """Routes the functions below to `backend` (the component's glue and the
    unit tests use it)."""
    global _backend
    _backend = backend


def _set_request(request: Optional[Request]) -> None:
    global _request
    _request = request if request is not None else _NO_REQUEST


def config() -> Dict[str, str]:
    """This plugin's configuration (the `config:` map of its entry in the
    host's configuration), sorted by key."""
    return dict(_backend.config())


def config_get(key: str, default: Optional[str] = None) -> Optional[str]:
    """One value of this plugin's configuration, or `default`."""
    value = _backend.config_get(key)
    return default if value is None else value


def request() -> Request:
    """The scrape being served: its probe target, parameters and the time
    left. Outside a scrape: no target, no parameters, no timeout."""
    return _request


def log(level: str, message: str) -> None:
    """Writes a record to the host's log (`level`: one of `LEVELS`)."""
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r} (use one of {', '.join(LEVELS)})")
    _backend.log(level, message)


def statfs(path: str) -> FsStats:
    """The statistics of the file system mounted at `path`, which must be
    granted (`grants.statfs`); raises OSError otherwise."""
    return _backend.statfs(path)


def level_of(levelno: int) -> str:
    """The host level of a `logging` level number."""
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warn"
    if levelno >= logging.INFO:
        return "info"
    if levelno >= logging.DEBUG:
        return "debug"
    return "trace"


class HostLogHandler(logging.Handler):
    """A `logging` handler writing records to the host's log. Inside the
    component it is installed on the root logger (level DEBUG: the host's
    `--log.level` decides what is kept), so `logging.info(...)` and
    module loggers reach the host as they are."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            _backend.log(level_of(record.levelno), message)
        except Exception:
            self.handleError(record)
