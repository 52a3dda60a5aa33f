"""The mapping of every family type onto the host's data model."""

import math
import unittest

import prometheus_client.core as reference

from wasm_exporter import model
from wasm_exporter.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
    UntypedMetricFamily,
)
from wasm_exporter.samples import Exemplar, Timestamp


class Counter(unittest.TestCase):
    def test_total_is_stripped_from_the_family_and_kept_in_the_host_name(self):
        family = CounterMetricFamily("jobs_total", "Jobs done.", labels=["queue"])
        family.add_metric(["mail"], 3)
        family.add_metric(["billing"], 0.5)
        self.assertEqual(family.name, "jobs")
        converted = model.family(family)
        self.assertEqual(converted.name, "jobs_total")
        self.assertEqual(converted.type, model.COUNTER)
        self.assertEqual(converted.help, "Jobs done.")
        self.assertIsNone(converted.unit)
        self.assertEqual(
            converted.metrics,
            [model.Series([("queue", "mail")], 3.0), model.Series([("queue", "billing")], 0.5)],
        )
        self.assertIsInstance(converted.metrics[0].value, float)

    def test_a_name_without_total_is_exposed_with_it(self):
        converted = model.family(CounterMetricFamily("restarts", "Restarts.", value=2))
        self.assertEqual(converted.name, "restarts_total")
        self.assertEqual(converted.metrics, [model.Series([], 2.0)])

    def test_unit_goes_before_total(self):
        converted = model.family(CounterMetricFamily("cpu_total", "CPU time.", value=1, unit="seconds"))
        self.assertEqual((converted.name, converted.unit), ("cpu_seconds_total", "seconds"))

    def test_created_is_refused(self):
        family = CounterMetricFamily("jobs_total", "Jobs done.", value=1, created=1700000000.0)
        with self.assertRaisesRegex(ValueError, "'jobs'.*jobs_created.*created"):
            model.family(family)


class Gauge(unittest.TestCase):
    def test_series_and_unit(self):
        family = GaugeMetricFamily("temperature", "Temperature.", labels=["room"], unit="celsius")
        family.add_metric(["hall"], 21.5)
        family.add_metric(["cellar"], -3.25)
        converted = model.family(family)
        # As prometheus_client does: the unit is appended to the name.
        self.assertEqual(converted.name, "temperature_celsius")
        self.assertEqual(converted.unit, "celsius")
        self.assertEqual(converted.type, model.GAUGE)
        self.assertEqual([s.value for s in converted.metrics], [21.5, -3.25])
        self.assertEqual(converted.metrics[1].labels, [("room", "cellar")])

    def test_special_values_pass_through(self):
        family = GaugeMetricFamily("g", "G.", labels=["v"])
        family.add_metric(["nan"], float("nan"))
        family.add_metric(["inf"], float("inf"))
        values = [s.value for s in model.family(family).metrics]
        self.assertTrue(math.isnan(values[0]))
        self.assertEqual(values[1], math.inf)

    def test_a_value_that_is_not_a_number_is_refused(self):
        family = GaugeMetricFamily("g", "G.", labels=["v"])
        family.add_metric(["x"], "many")
        with self.assertRaisesRegex(TypeError, "'g'.*'many' is not a number"):
            model.family(family)


class Unknown(unittest.TestCase):
    def test_unknown_and_its_untyped_alias(self):
        for cls in (UnknownMetricFamily, UntypedMetricFamily):
            converted = model.family(cls("mystery", "Unknown.", value=42))
            self.assertEqual(converted.type, model.UNKNOWN)
            self.assertEqual(converted.metrics, [model.Series([], 42.0)])


class Histogram(unittest.TestCase):
    def test_buckets_sum_and_count(self):
        family = HistogramMetricFamily("latency", "Latency.", labels=["path"], unit="seconds")
        family.add_metric(["/"], [("0.1", 2), ("0.5", 5), ("+Inf", 6)], 1.75)
        family.add_metric(["/api"], [("0.1", 0), ("0.5", 1), ("+Inf", 1)], 0.3)
        converted = model.family(family)
        self.assertEqual((converted.name, converted.type, converted.unit), ("latency_seconds", model.HISTOGRAM, "seconds"))
        self.assertEqual(len(converted.metrics), 2)
        first = converted.metrics[0]
        self.assertEqual(first.labels, [("path", "/")])
        self.assertEqual(first.value.buckets, [(0.1, 2), (0.5, 5), (math.inf, 6)])
        self.assertEqual((first.value.sum, first.value.count), (1.75, 6))
        self.assertIsInstance(first.value.count, int)
        self.assertEqual(converted.metrics[1].value, model.Histogram([(0.1, 0), (0.5, 1), (math.inf, 1)], 0.3, 1))

    def test_bucket_order_is_left_to_the_host(self):
        family = HistogramMetricFamily("h", "H.", buckets=[("+Inf", 3), ("1", 2)], sum_value=1)
        self.assertEqual(model.family(family).metrics[0].value.buckets, [(math.inf, 3), (1.0, 2)])

    def test_no_sum_is_refused(self):
        family = HistogramMetricFamily("h", "H.", buckets=[("1", 2), ("+Inf", 3)])
        with self.assertRaisesRegex(ValueError, "'h'.*no sum"):
            model.family(family)

    def test_a_fractional_count_is_refused(self):
        family = HistogramMetricFamily("h", "H.", buckets=[("1", 2.5), ("+Inf", 3)], sum_value=1)
        with self.assertRaisesRegex(ValueError, "'h'.*h_bucket.*whole number"):
            model.family(family)

    def test_an_exemplar_is_refused(self):
        family = HistogramMetricFamily(
            "h", "H.", buckets=[("1", 2, Exemplar({"trace": "a"}, 0.5)), ("+Inf", 3)], sum_value=1
        )
        with self.assertRaisesRegex(ValueError, "exemplar"):
            model.family(family)


class Summary(unittest.TestCase):
    def test_quantiles_sum_and_count(self):
        family = SummaryMetricFamily("size", "Sizes.", labels=["path"], unit="bytes")
        family.add_metric(["/"], count_value=8, sum_value=1200)
        family.add_sample("size_bytes", {"path": "/", "quantile": "0.5"}, 100)
        # The quantile label first: one series all the same.
        family.add_sample("size_bytes", {"quantile": "0.9", "path": "/"}, 250)
        converted = model.family(family)
        self.assertEqual((converted.name, converted.type, converted.unit), ("size_bytes", model.SUMMARY, "bytes"))
        self.assertEqual(converted.metrics, [model.Series([("path", "/")], model.Summary([(0.5, 100.0), (0.9, 250.0)], 1200.0, 8))])

    def test_without_quantiles(self):
        converted = model.family(SummaryMetricFamily("s", "S.", count_value=2, sum_value=3.5))
        self.assertEqual(converted.metrics, [model.Series([], model.Summary([], 3.5, 2))])

    def test_quantiles_without_count_are_refused(self):
        family = Metric("s", "S.", "summary")
        family.add_sample("s", {"quantile": "0.5"}, 1)
        with self.assertRaisesRegex(ValueError, "'s'.*s_count and s_sum"):
            model.family(family)


class Info(unittest.TestCase):
    def test_name_without_info_and_labels_merged(self):
        family = InfoMetricFamily("build", "Build.", labels=["component"])
        family.add_metric(["api"], {"version": "1.2.3", "commit": "abc"})
        converted = model.family(family)
        self.assertEqual((converted.name, converted.type, converted.unit), ("build", model.INFO, None))
        self.assertEqual(
            converted.metrics,
            [model.Series([("component", "api"), ("version", "1.2.3"), ("commit", "abc")], None)],
        )

    def test_descriptor_names_the_info_labels(self):
        family = InfoMetricFamily("build", "Build.", labels=["component"])
        family.add_metric(["api"], {"version": "1.2.3"})
        descriptor = model.descriptor(family)
        self.assertEqual(descriptor.label_names, ["component", "version"])
        self.assertEqual(descriptor.name, "build")


class StateSet(unittest.TestCase):
    def test_states_sorted_as_prometheus_client_does(self):
        family = StateSetMetricFamily("mode", "Mode.", labels=["unit"])
        family.add_metric(["a"], {"running": True, "failed": False, "idle": False})
        converted = model.family(family)
        self.assertEqual((converted.name, converted.type), ("mode", model.STATE_SET))
        self.assertEqual(
            converted.metrics,
            [model.Series([("unit", "a")], [("failed", False), ("idle", False), ("running", True)])],
        )
        self.assertEqual(model.descriptor(family).label_names, ["unit"])

    def test_a_value_other_than_0_or_1_is_refused(self):
        family = Metric("mode", "Mode.", "stateset")
        family.add_sample("mode", {"mode": "a"}, 2)
        with self.assertRaisesRegex(ValueError, "0 or 1"):
            model.family(family)


class Refused(unittest.TestCase):
    def test_timestamps(self):
        family = GaugeMetricFamily("g", "G.", labels=[])
        family.add_metric([], 1, timestamp=Timestamp(1, 0))
        with self.assertRaisesRegex(ValueError, "'g'.*timestamp"):
            model.family(family)

    def test_gauge_histograms(self):
        with self.assertRaisesRegex(ValueError, "gaugehistogram"):
            model.family(Metric("gh", "GH.", "gaugehistogram"))

    def test_a_label_count_that_differs_from_the_names(self):
        family = GaugeMetricFamily("g", "G.", labels=["a", "b"])
        with self.assertRaisesRegex(ValueError, "g: 1 label values"):
            family.add_metric(["x"], 1)

    def test_a_label_value_that_is_not_a_string(self):
        family = GaugeMetricFamily("g", "G.", labels=["cpu"])
        family.add_metric([0], 1)
        with self.assertRaisesRegex(TypeError, "'g'.*'cpu'=0.*str"):
            model.family(family)

    def test_a_sample_with_another_name(self):
        family = GaugeMetricFamily("g", "G.")
        family.add_sample("other", {}, 1)
        with self.assertRaisesRegex(ValueError, "'g'.*unexpected sample 'other'"):
            model.family(family)

    def test_what_is_not_a_family(self):
        with self.assertRaisesRegex(TypeError, "not a metric family"):
            model.families([GaugeMetricFamily("g", "G.", value=1), 3])

    def test_names_are_left_to_the_host(self):
        converted = model.family(GaugeMetricFamily("not a name", "G.", value=1))
        self.assertEqual(converted.name, "not a name")


class SameSamplesAsPrometheusClient(unittest.TestCase):
    """The families build the samples prometheus_client's do, so code that
    reads `family.samples` (and the exposition) stays the same."""

    def build(self, core):
        counter = core.CounterMetricFamily("c_total", "C.", labels=["a"], unit="seconds")
        counter.add_metric(["x"], 1)
        gauge = core.GaugeMetricFamily("g", "G.", value=2.5)
        histogram = core.HistogramMetricFamily("h", "H.", labels=["a"])
        histogram.add_metric(["x"], [("1", 1), ("+Inf", 2)], 3)
        summary = core.SummaryMetricFamily("s", "S.", count_value=2, sum_value=3)
        summary.add_sample("s", {"quantile": "0.5"}, 1)
        info = core.InfoMetricFamily("i", "I.", value={"v": "1"})
        state = core.StateSetMetricFamily("st", "St.", labels=["a"])
        state.add_metric(["x"], {"b": False, "a": True})
        unknown = core.UnknownMetricFamily("u", "U.", value=1, unit="bytes")
        return [counter, gauge, histogram, summary, info, state, unknown]

    def test_samples_and_attributes(self):
        import wasm_exporter.core as ours

        for mine, theirs in zip(self.build(ours), self.build(reference)):
            self.assertEqual(
                (mine.name, mine.documentation, mine.type, mine.unit),
                (theirs.name, theirs.documentation, theirs.type, theirs.unit),
            )
            self.assertEqual([tuple(s) for s in mine.samples], [tuple(s) for s in theirs.samples])


if __name__ == "__main__":
    unittest.main()
