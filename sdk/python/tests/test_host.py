"""Configuration, request, log and statfs, with the host replaced."""

import logging
import unittest

import wasm_exporter
from wasm_exporter import host


class FakeHost:
    def __init__(self):
        self.records = []

    def log(self, level, message):
        self.records.append((level, message))

    def config(self):
        return [("address", "127.0.0.1:6379"), ("mode", "fast")]

    def config_get(self, key):
        return dict(self.config()).get(key)

    def statfs(self, path):
        return host.FsStats(4096, 10, 5, 4, 100, 50, False)


class WithFakeHost(unittest.TestCase):
    def setUp(self):
        self.fake = FakeHost()
        self.previous = host._backend
        host._use_backend(self.fake)

    def tearDown(self):
        host._use_backend(self.previous)
        host._set_request(None)


class Config(WithFakeHost):
    def test_config_is_a_dict_in_key_order(self):
        self.assertEqual(list(wasm_exporter.config().items()), [("address", "127.0.0.1:6379"), ("mode", "fast")])

    def test_config_get_with_default(self):
        self.assertEqual(wasm_exporter.config_get("mode"), "fast")
        self.assertIsNone(wasm_exporter.config_get("missing"))
        self.assertEqual(wasm_exporter.config_get("missing", "slow"), "slow")

    def test_statfs(self):
        self.assertEqual(wasm_exporter.statfs("/").blocks_available, 4)


class Log(WithFakeHost):
    def test_levels_of_the_logging_module(self):
        logger = logging.getLogger("wasm_exporter_test")
        logger.propagate = False
        logger.setLevel(1)
        handler = wasm_exporter.HostLogHandler()
        logger.addHandler(handler)
        try:
            logger.log(5, "fine")
            logger.debug("d")
            logger.info("i %s", "arg")
            logger.warning("w")
            logger.error("e")
            logger.critical("c")
        finally:
            logger.removeHandler(handler)
        self.assertEqual(
            self.fake.records,
            [("trace", "fine"), ("debug", "d"), ("info", "i arg"), ("warn", "w"), ("error", "e"), ("error", "c")],
        )

    def test_log_checks_the_level(self):
        wasm_exporter.log("warn", "careful")
        self.assertEqual(self.fake.records, [("warn", "careful")])
        with self.assertRaisesRegex(ValueError, "unknown log level 'fatal'"):
            wasm_exporter.log("fatal", "x")


class NativeBackend(unittest.TestCase):
    def test_outside_the_component(self):
        self.assertEqual(wasm_exporter.config(), {})
        request = wasm_exporter.request()
        self.assertEqual((request.target, request.params, request.timeout), (None, [], None))
        with self.assertRaisesRegex(OSError, "statfs /"):
            wasm_exporter.statfs("/")


class RequestParams(WithFakeHost):
    def test_param(self):
        host._set_request(host.Request("db1:5432", [("module", "a"), ("module", "b")], 4.5))
        request = wasm_exporter.request()
        self.assertEqual(request.target, "db1:5432")
        self.assertEqual(request.param("module"), "a")
        self.assertEqual(request.param("other", "x"), "x")
        self.assertEqual(request.timeout, 4.5)


if __name__ == "__main__":
    unittest.main()
