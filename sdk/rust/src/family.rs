//! Metric families as a collector returns them, built like client_golang's
//! const metrics: one family per metric name, one series per label set.

use crate::histogram::{Histogram, Summary};

/// The type of a metric family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// A monotonically increasing total. The text format shows the name as
    /// written: end it in `_total` unless matching an exporter whose
    /// counter has none. OpenMetrics names the sample `<base>_total`.
    Counter,
    /// A value that can go up and down.
    Gauge,
    /// Cumulative buckets of observations, plus their sum and count.
    Histogram,
    /// Quantiles of observations, plus their sum and count.
    Summary,
    /// Constant labels describing the target; the sample is `<name>_info 1`.
    Info,
    /// A set of named boolean states; the family name becomes the label name
    /// of the states.
    StateSet,
    /// A value of unknown type (`untyped` in the Prometheus text format).
    Unknown,
}

impl MetricType {
    /// The OpenMetrics name of the type (`counter`, `stateset`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

/// The value of one series. Its variant always matches the type of the
/// family holding it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// The value of a counter series.
    Counter(f64),
    /// The value of a gauge series.
    Gauge(f64),
    /// The value of an untyped series.
    Unknown(f64),
    /// The value of a histogram series.
    Histogram(Histogram),
    /// The value of a summary series.
    Summary(Summary),
    /// An info series (its value is always 1).
    Info,
    /// The states of a state-set series, in order.
    StateSet(Vec<(String, bool)>),
}

impl Value {
    /// The family type this value belongs to.
    pub fn metric_type(&self) -> MetricType {
        match self {
            Value::Counter(_) => MetricType::Counter,
            Value::Gauge(_) => MetricType::Gauge,
            Value::Unknown(_) => MetricType::Unknown,
            Value::Histogram(_) => MetricType::Histogram,
            Value::Summary(_) => MetricType::Summary,
            Value::Info => MetricType::Info,
            Value::StateSet(_) => MetricType::StateSet,
        }
    }
}

/// One series of a family: its label pairs (without the metric name) and
/// its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Label name/value pairs, in the order they were given.
    pub labels: Vec<(String, String)>,
    /// The value; its variant matches the family type.
    pub value: Value,
}

/// Every series of one metric name, with its help text, type and unit.
///
/// Build one with the constructor of its type, add series with the method
/// that fits that type, and return it from [`Collector::collect`]:
///
/// ```
/// use wasm_exporter_sdk::Family;
///
/// let depth = Family::gauge("queue_depth", "Jobs waiting per queue.")
///     .with(&[("queue", "mail")], 3.0)
///     .with(&[("queue", "billing")], 0.0);
/// assert_eq!(depth.series().len(), 2);
/// ```
///
/// Names follow the Prometheus rules (`[a-zA-Z_:][a-zA-Z0-9_:]*` for
/// metrics, `[a-zA-Z_][a-zA-Z0-9_]*` for labels, no label starting with
/// `__`). The host validates every result and marks the whole plugin down
/// for the scrape when one rule is broken, so a typo shows up at once.
///
/// [`Collector::collect`]: crate::Collector::collect
#[derive(Clone, Debug, PartialEq)]
#[must_use = "a family is only exported when collect returns it"]
pub struct Family {
    name: String,
    help: String,
    metric_type: MetricType,
    unit: Option<String>,
    series: Vec<Series>,
}

impl Family {
    /// An empty family of any type; the typed constructors below read better.
    pub fn new(metric_type: MetricType, name: impl Into<String>, help: impl Into<String>) -> Self {
        Family {
            name: name.into(),
            help: help.into(),
            metric_type,
            unit: None,
            series: Vec::new(),
        }
    }

    /// A counter family. Add series with [`Family::with`].
    pub fn counter(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricType::Counter, name, help)
    }

    /// A gauge family. Add series with [`Family::with`].
    pub fn gauge(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricType::Gauge, name, help)
    }

    /// An untyped family. Add series with [`Family::with`].
    pub fn unknown(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricType::Unknown, name, help)
    }

    /// A histogram family. Add series with [`Family::with_histogram`].
    pub fn histogram(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricType::Histogram, name, help)
    }

    /// A summary family. Add series with [`Family::with_summary`].
    pub fn summary(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricType::Summary, name, help)
    }

    /// An info family. Add series with [`Family::with_info`].
    pub fn info(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricType::Info, name, help)
    }

    /// A state-set family. Add series with [`Family::with_states`].
    pub fn state_set(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(MetricType::StateSet, name, help)
    }

    /// Sets the OpenMetrics unit (`seconds`, `bytes`, ...). The family name
    /// must then end with `_<unit>` (before any `_total`).
    pub fn with_unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = Some(unit.into());
        self
    }

    /// Adds a series to a counter, gauge or untyped family.
    ///
    /// # Panics
    ///
    /// If the family is of another type.
    #[track_caller]
    pub fn with(self, labels: &[(&str, &str)], value: f64) -> Self {
        let value = match self.metric_type {
            MetricType::Counter => Value::Counter(value),
            MetricType::Gauge => Value::Gauge(value),
            MetricType::Unknown => Value::Unknown(value),
            other => misuse("with", other, &self.name),
        };
        self.push(labels, value)
    }

    /// Adds a series to a histogram family.
    ///
    /// # Panics
    ///
    /// If the family is not a histogram.
    #[track_caller]
    pub fn with_histogram(self, labels: &[(&str, &str)], histogram: Histogram) -> Self {
        self.expect(MetricType::Histogram, "with_histogram");
        self.push(labels, Value::Histogram(histogram))
    }

    /// Adds a series to a summary family.
    ///
    /// # Panics
    ///
    /// If the family is not a summary.
    #[track_caller]
    pub fn with_summary(self, labels: &[(&str, &str)], summary: Summary) -> Self {
        self.expect(MetricType::Summary, "with_summary");
        self.push(labels, Value::Summary(summary))
    }

    /// Adds a series to an info family: the labels are the information.
    ///
    /// # Panics
    ///
    /// If the family is not an info family.
    #[track_caller]
    pub fn with_info(self, labels: &[(&str, &str)]) -> Self {
        self.expect(MetricType::Info, "with_info");
        self.push(labels, Value::Info)
    }

    /// Adds a series to a state-set family: each state by name, and whether
    /// it is the one (or one of those) currently enabled.
    ///
    /// # Panics
    ///
    /// If the family is not a state set.
    #[track_caller]
    pub fn with_states(self, labels: &[(&str, &str)], states: &[(&str, bool)]) -> Self {
        self.expect(MetricType::StateSet, "with_states");
        let states = states
            .iter()
            .map(|&(name, enabled)| (name.to_owned(), enabled))
            .collect();
        self.push(labels, Value::StateSet(states))
    }

    /// Adds a series with an explicit value, for code that builds values
    /// generically.
    ///
    /// # Panics
    ///
    /// If the value's type is not the family's.
    #[track_caller]
    pub fn with_value(self, labels: &[(&str, &str)], value: Value) -> Self {
        if value.metric_type() != self.metric_type {
            misuse("with_value", self.metric_type, &self.name);
        }
        self.push(labels, value)
    }

    /// The metric name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The help text.
    pub fn help(&self) -> &str {
        &self.help
    }

    /// The family type.
    pub fn metric_type(&self) -> MetricType {
        self.metric_type
    }

    /// The OpenMetrics unit, if set.
    pub fn unit(&self) -> Option<&str> {
        self.unit.as_deref()
    }

    /// The series added so far, in order.
    pub fn series(&self) -> &[Series] {
        &self.series
    }

    /// The static description of this family, with the label names of its
    /// first series.
    pub fn descriptor(&self) -> Descriptor {
        let label_names = self.series.first().map_or_else(Vec::new, |series| {
            series.labels.iter().map(|(name, _)| name.clone()).collect()
        });
        Descriptor {
            name: self.name.clone(),
            help: self.help.clone(),
            metric_type: self.metric_type,
            unit: self.unit.clone(),
            label_names,
        }
    }

    pub(crate) fn into_parts(self) -> (String, String, MetricType, Option<String>, Vec<Series>) {
        (
            self.name,
            self.help,
            self.metric_type,
            self.unit,
            self.series,
        )
    }

    #[track_caller]
    fn expect(&self, wanted: MetricType, method: &str) {
        if self.metric_type != wanted {
            misuse(method, self.metric_type, &self.name);
        }
    }

    fn push(mut self, labels: &[(&str, &str)], value: Value) -> Self {
        let labels = labels
            .iter()
            .map(|&(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        self.series.push(Series { labels, value });
        self
    }
}

#[track_caller]
fn misuse(method: &str, metric_type: MetricType, name: &str) -> ! {
    panic!(
        "Family::{method} does not fit {} family `{name}`",
        metric_type.as_str()
    )
}

/// The static description of a family a collector may return, for the
/// host's documentation and load-time conflict checks (see
/// [`Collector::describe`]).
///
/// [`Collector::describe`]: crate::Collector::describe
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a descriptor is only used when describe returns it"]
pub struct Descriptor {
    /// The metric name.
    pub name: String,
    /// The help text.
    pub help: String,
    /// The family type.
    pub metric_type: MetricType,
    /// The OpenMetrics unit, if any.
    pub unit: Option<String>,
    /// The label names of every series, in order.
    pub label_names: Vec<String>,
}

impl Descriptor {
    /// A descriptor without unit or labels.
    pub fn new(metric_type: MetricType, name: impl Into<String>, help: impl Into<String>) -> Self {
        Descriptor {
            name: name.into(),
            help: help.into(),
            metric_type,
            unit: None,
            label_names: Vec::new(),
        }
    }

    /// Sets the OpenMetrics unit.
    pub fn with_unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = Some(unit.into());
        self
    }

    /// Sets the label names.
    pub fn with_label_names(mut self, names: &[&str]) -> Self {
        self.label_names = names.iter().map(|&name| name.to_owned()).collect();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_families_take_their_own_value_variant() {
        let counter = Family::counter("jobs_total", "Jobs.").with(&[("queue", "a")], 2.0);
        let gauge = Family::gauge("depth", "Depth.").with(&[], 1.5);
        let unknown = Family::unknown("thing", "Thing.").with(&[], -1.0);
        assert_eq!(counter.series()[0].value, Value::Counter(2.0));
        assert_eq!(gauge.series()[0].value, Value::Gauge(1.5));
        assert_eq!(unknown.series()[0].value, Value::Unknown(-1.0));
        assert_eq!(
            counter.series()[0].labels,
            vec![("queue".to_owned(), "a".to_owned())]
        );
    }

    #[test]
    fn series_keep_insertion_order() {
        let family = Family::gauge("depth", "Depth.")
            .with(&[("queue", "b")], 1.0)
            .with(&[("queue", "a")], 2.0);
        let queues: Vec<_> = family
            .series()
            .iter()
            .map(|s| s.labels[0].1.as_str())
            .collect();
        assert_eq!(queues, ["b", "a"]);
    }

    #[test]
    fn states_and_info_series() {
        let states =
            Family::state_set("mode", "Mode.").with_states(&[], &[("on", true), ("off", false)]);
        assert_eq!(
            states.series()[0].value,
            Value::StateSet(vec![("on".into(), true), ("off".into(), false)])
        );
        let info = Family::info("build", "Build.").with_info(&[("version", "1.2.3")]);
        assert_eq!(info.series()[0].value, Value::Info);
    }

    #[test]
    #[should_panic(expected = "Family::with does not fit histogram family `latency_seconds`")]
    fn scalar_value_on_histogram_panics() {
        let _ = Family::histogram("latency_seconds", "Latency.").with(&[], 1.0);
    }

    #[test]
    #[should_panic(expected = "Family::with_info does not fit gauge family `depth`")]
    fn info_on_gauge_panics() {
        let _ = Family::gauge("depth", "Depth.").with_info(&[]);
    }

    #[test]
    fn descriptor_takes_labels_of_first_series() {
        let family = Family::counter("sent_bytes_total", "Bytes sent.")
            .with_unit("bytes")
            .with(&[("peer", "a"), ("proto", "tcp")], 1.0);
        assert_eq!(
            family.descriptor(),
            Descriptor::new(MetricType::Counter, "sent_bytes_total", "Bytes sent.")
                .with_unit("bytes")
                .with_label_names(&["peer", "proto"])
        );
    }
}
