"""Registration as with prometheus_client's REGISTRY."""

import unittest

import wasm_exporter
import wasm_exporter.core
import wasm_exporter.registry
from wasm_exporter.core import CollectorRegistry, DuplicateTimeseries, GaugeMetricFamily
from wasm_exporter.registry import Collector


class Queue(Collector):
    def __init__(self, name):
        self.name = name

    def collect(self):
        yield GaugeMetricFamily(self.name, "Queue depth.", value=1)


class Described(Queue):
    def describe(self):
        return [GaugeMetricFamily(self.name, "Queue depth.")]


class Registry(unittest.TestCase):
    def test_one_registry_whatever_the_module(self):
        self.assertIs(wasm_exporter.REGISTRY, wasm_exporter.core.REGISTRY)
        self.assertIs(wasm_exporter.REGISTRY, wasm_exporter.registry.REGISTRY)

    def test_collects_in_registration_order(self):
        registry = CollectorRegistry()
        registry.register(Queue("b"))
        registry.register(Queue("a"))
        self.assertEqual([m.name for m in registry.collect()], ["b", "a"])
        self.assertEqual(registry.get_sample_value("a"), 1)

    def test_unregister(self):
        registry = CollectorRegistry()
        queue = Described("a")
        registry.register(queue)
        registry.unregister(queue)
        self.assertEqual(list(registry.collect()), [])
        registry.register(Described("a"))

    def test_duplicates_described_are_refused(self):
        registry = CollectorRegistry()
        registry.register(Described("a"))
        with self.assertRaises(DuplicateTimeseries):
            registry.register(Described("a"))

    def test_the_same_collector_twice_is_refused(self):
        registry = CollectorRegistry()
        queue = Queue("a")
        registry.register(queue)
        with self.assertRaisesRegex(ValueError, "already registered"):
            registry.register(queue)

    def test_registration_does_not_collect(self):
        class Exploding(Collector):
            def collect(self):
                raise AssertionError("collected at registration")

        CollectorRegistry(auto_describe=True).register(Exploding())

    def test_describe_uses_describe_only(self):
        registry = CollectorRegistry()
        registry.register(Queue("a"))
        registry.register(Described("b"))
        self.assertEqual([m.name for m in registry.describe()], ["b"])

    def test_target_info(self):
        registry = CollectorRegistry(target_info={"env": "prod"})
        registry.register(Queue("a"))
        families = list(registry.collect())
        self.assertEqual([m.name for m in families], ["target", "a"])
        self.assertEqual(registry.get_sample_value("target_info", {"env": "prod"}), 1)


if __name__ == "__main__":
    unittest.main()
