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

/// One series of a family, as [`Family::series`] shows it: its label
/// pairs (without the metric name) and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Series<'a> {
    /// Label name/value pairs, in the order they were given.
    pub labels: Vec<(&'a str, &'a str)>,
    /// The value; its variant matches the family type.
    pub value: Value,
}

/// Where one label's name and value lie in a family's text: the start and
/// length of each, in bytes. Laid out as the canonical ABI's `label` record
/// (two strings, each a 32-bit address and length) once the text's address
/// is added to both starts, so returning the family copies no label.
pub(crate) type LabelSpan = [u32; 4];

/// One series, laid out as the canonical ABI's `metric` record: its
/// labels (index of the first span and count, until lowered), its value's
/// case, and the payload (a scalar's bits, or the index of a histogram,
/// summary or state set in the family's `values` until lowered). Plain
/// words: adding a series allocates nothing of its own, and returning or
/// dropping the family does not visit each series to free it.
pub(crate) type MetricRecord = [u64; 5];

/// The cases of the WIT `value` variant, in its order.
pub(crate) mod case {
    pub const COUNTER: u64 = 0;
    pub const GAUGE: u64 = 1;
    pub const UNKNOWN: u64 = 2;
    pub const HISTOGRAM: u64 = 3;
    pub const SUMMARY: u64 = 4;
    pub const INFO: u64 = 5;
    pub const STATE_SET: u64 = 6;
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
    /// Every label name and value of every series, one after another:
    /// one buffer per family rather than two strings per label.
    text: String,
    labels: Vec<LabelSpan>,
    records: Vec<MetricRecord>,
    /// The values that are more than a number, which records refer to.
    values: Vec<Value>,
    /// The names set by [`Family::with_label_names`]: start and length of
    /// each in `text`.
    label_names: Vec<[u32; 2]>,
}

impl Family {
    /// An empty family of any type; the typed constructors below read better.
    pub fn new(metric_type: MetricType, name: impl Into<String>, help: impl Into<String>) -> Self {
        Family {
            name: name.into(),
            help: help.into(),
            metric_type,
            unit: None,
            text: String::new(),
            labels: Vec::new(),
            records: Vec::new(),
            values: Vec::new(),
            label_names: Vec::new(),
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
    pub fn with(mut self, labels: &[(&str, &str)], value: f64) -> Self {
        let case = self.scalar_case("with");
        self.push_series(labels, case, value.to_bits());
        self
    }

    /// Adds a series to a counter, gauge or untyped family in place: the
    /// same as [`Family::with`], for loops that add many series.
    ///
    /// ```
    /// use wasm_exporter_sdk::Family;
    ///
    /// let mut depth = Family::gauge("queue_depth", "Jobs waiting per queue.");
    /// for (queue, jobs) in [("mail", 3), ("billing", 0)] {
    ///     depth.add(&[("queue", queue)], f64::from(jobs));
    /// }
    /// assert_eq!(depth.len(), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// If the family is of another type.
    #[track_caller]
    #[inline]
    pub fn add(&mut self, labels: &[(&str, &str)], value: f64) {
        let case = self.scalar_case("add");
        self.push_series(labels, case, value.to_bits());
    }

    #[track_caller]
    fn scalar_case(&self, method: &str) -> u64 {
        match self.metric_type {
            MetricType::Counter => case::COUNTER,
            MetricType::Gauge => case::GAUGE,
            MetricType::Unknown => case::UNKNOWN,
            other => misuse(method, other, &self.name),
        }
    }

    /// Sets the label names of every series added with
    /// [`Family::add_values`], like the variable labels of client_golang's
    /// `NewDesc`: each name is kept once for the family rather than once
    /// per series.
    ///
    /// ```
    /// use wasm_exporter_sdk::Family;
    ///
    /// let mut bytes = Family::counter("disk_read_bytes_total", "Bytes read.")
    ///     .with_label_names(&["device", "mode"]);
    /// for (device, read) in [("sda", 4096.0), ("sdb", 512.0)] {
    ///     bytes.add_values(&[device, "direct"], read);
    /// }
    /// assert_eq!(bytes.series()[1].labels, [("device", "sdb"), ("mode", "direct")]);
    /// ```
    pub fn with_label_names(mut self, names: &[&str]) -> Self {
        self.label_names = names
            .iter()
            .map(|name| [append(&mut self.text, name), offset(name.len())])
            .collect();
        self
    }

    /// Adds a series to a counter, gauge or untyped family, with one value
    /// per label name set by [`Family::with_label_names`], in that order:
    /// the cheapest way to add many series.
    ///
    /// # Panics
    ///
    /// If the family is of another type, or the number of values is not
    /// the number of label names.
    #[track_caller]
    #[inline]
    pub fn add_values(&mut self, values: &[&str], value: f64) {
        let case = self.scalar_case("add_values");
        if values.len() != self.label_names.len() {
            panic!(
                "Family::add_values got {} label values for the {} label names of `{}`",
                values.len(),
                self.label_names.len(),
                self.name
            );
        }
        let first_label = offset(self.labels.len());
        let Family {
            text,
            labels,
            label_names,
            ..
        } = self;
        // One reservation for all the spans (the zipped slices tell their
        // length), then plain writes: this loop is most of what a series
        // costs in wasm instructions.
        labels.extend(
            label_names
                .iter()
                .zip(values)
                .map(|(&[name_at, name_len], label_value)| {
                    [
                        name_at,
                        name_len,
                        append(text, label_value),
                        offset(label_value.len()),
                    ]
                }),
        );
        self.push_record(first_label, values.len(), case, value.to_bits());
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

    /// The number of series added so far.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no series was added.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The series added so far, in order.
    pub fn series(&self) -> Vec<Series<'_>> {
        self.records
            .iter()
            .map(|record| Series {
                labels: self.labels_of(record).collect(),
                value: self.value_of(record),
            })
            .collect()
    }

    /// The static description of this family, with the label names of its
    /// first series.
    pub fn descriptor(&self) -> Descriptor {
        let label_names = self.records.first().map_or_else(Vec::new, |record| {
            self.labels_of(record)
                .map(|(name, _)| name.to_owned())
                .collect()
        });
        Descriptor {
            name: self.name.clone(),
            help: self.help.clone(),
            metric_type: self.metric_type,
            unit: self.unit.clone(),
            label_names,
        }
    }

    fn labels_of<'a>(&'a self, record: &MetricRecord) -> impl Iterator<Item = (&'a str, &'a str)> {
        let [first, count] = unpacked(record[0]).map(|n| n as usize);
        self.labels[first..first + count]
            .iter()
            .map(|&[name, name_len, value, value_len]| {
                (self.text_at(name, name_len), self.text_at(value, value_len))
            })
    }

    fn text_at(&self, start: u32, len: u32) -> &str {
        &self.text[start as usize..(start + len) as usize]
    }

    fn value_of(&self, record: &MetricRecord) -> Value {
        let number = f64::from_bits(record[2]);
        match record[1] {
            case::COUNTER => Value::Counter(number),
            case::GAUGE => Value::Gauge(number),
            case::UNKNOWN => Value::Unknown(number),
            case::INFO => Value::Info,
            _ => self.values[record[2] as usize].clone(),
        }
    }

    /// What the canonical ABI lowering reads and rewrites in place.
    pub(crate) fn parts_mut(&mut self) -> Parts<'_> {
        Parts {
            name: &self.name,
            help: &self.help,
            metric_type: self.metric_type,
            unit: self.unit.as_deref(),
            text: &self.text,
            labels: &mut self.labels,
            records: &mut self.records,
            values: &self.values,
        }
    }

    #[track_caller]
    fn expect(&self, wanted: MetricType, method: &str) {
        if self.metric_type != wanted {
            misuse(method, self.metric_type, &self.name);
        }
    }

    fn push(mut self, labels: &[(&str, &str)], value: Value) -> Self {
        let (case, payload) = match value {
            Value::Counter(v) => (case::COUNTER, v.to_bits()),
            Value::Gauge(v) => (case::GAUGE, v.to_bits()),
            Value::Unknown(v) => (case::UNKNOWN, v.to_bits()),
            Value::Info => (case::INFO, 0),
            other => {
                let case = match other {
                    Value::Histogram(_) => case::HISTOGRAM,
                    Value::Summary(_) => case::SUMMARY,
                    _ => case::STATE_SET,
                };
                self.values.push(other);
                (case, self.values.len() as u64 - 1)
            }
        };
        self.push_series(labels, case, payload);
        self
    }

    fn push_series(&mut self, pairs: &[(&str, &str)], case: u64, payload: u64) {
        let first_label = offset(self.labels.len());
        let Family { text, labels, .. } = self;
        labels.extend(pairs.iter().map(|&(name, value)| {
            let name_at = append(text, name);
            [
                name_at,
                offset(name.len()),
                append(text, value),
                offset(value.len()),
            ]
        }));
        self.push_record(first_label, pairs.len(), case, payload);
    }

    fn push_record(&mut self, first_label: u32, label_count: usize, case: u64, payload: u64) {
        let labels = packed([first_label, offset(label_count)]);
        self.records.push([labels, case, payload, 0, 0]);
    }
}

/// A family's parts, as the canonical ABI lowering sees them.
pub(crate) struct Parts<'a> {
    pub(crate) name: &'a str,
    pub(crate) help: &'a str,
    pub(crate) metric_type: MetricType,
    pub(crate) unit: Option<&'a str>,
    pub(crate) text: &'a str,
    pub(crate) labels: &'a mut [LabelSpan],
    pub(crate) records: &'a mut [MetricRecord],
    pub(crate) values: &'a [Value],
}

/// Two 32-bit halves in one 64-bit word, as the canonical ABI lays out a
/// list or a string (address, then length) in a record of 64-bit fields;
/// a series record holds its labels so (first label, count) until lowered.
pub(crate) fn packed([low, high]: [u32; 2]) -> u64 {
    u64::from(low) | (u64::from(high) << 32)
}

/// The two halves of a [`packed`] word.
pub(crate) fn unpacked(word: u64) -> [u32; 2] {
    [word as u32, (word >> 32) as u32]
}

/// Appends `s` to a family's text and returns where it starts.
fn append(text: &mut String, s: &str) -> u32 {
    let at = offset(text.len());
    text.push_str(s);
    at
}

/// A length or position within one family, which a 32-bit guest cannot
/// exceed.
fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("a family holds less than 4 GiB")
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
        assert_eq!(counter.series()[0].labels, [("queue", "a")]);
    }

    #[test]
    fn series_keep_insertion_order() {
        let family = Family::gauge("depth", "Depth.")
            .with(&[("queue", "b")], 1.0)
            .with(&[("queue", "a")], 2.0);
        let queues: Vec<_> = family.series().iter().map(|s| s.labels[0].1).collect();
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
    fn label_names_once_values_per_series() {
        let mut family =
            Family::counter("reads_total", "Reads.").with_label_names(&["dev", "mode"]);
        family.add_values(&["sda", "direct"], 4.0);
        family.add(&[("dev", "sdb")], 1.0);
        family.add_values(&["sdc", ""], 2.0);
        let series = family.series();
        assert_eq!(series[0].labels, [("dev", "sda"), ("mode", "direct")]);
        assert_eq!(series[1].labels, [("dev", "sdb")]);
        assert_eq!(series[2].labels, [("dev", "sdc"), ("mode", "")]);
        assert_eq!(
            series.iter().map(|s| s.value.clone()).collect::<Vec<_>>(),
            [
                Value::Counter(4.0),
                Value::Counter(1.0),
                Value::Counter(2.0)
            ]
        );
        assert_eq!(family.descriptor().label_names, ["dev", "mode"]);
    }

    #[test]
    #[should_panic(
        expected = "Family::add_values got 1 label values for the 2 label names of `reads_total`"
    )]
    fn label_values_must_match_names() {
        Family::counter("reads_total", "Reads.")
            .with_label_names(&["dev", "mode"])
            .add_values(&["sda"], 1.0);
    }

    #[test]
    fn values_beyond_numbers_are_kept_in_order() {
        let family = Family::histogram("wait_seconds", "Wait.")
            .with_histogram(&[("q", "a")], Histogram::new(&[(1.0, 1)], 0.5, 1))
            .with_histogram(&[("q", "b")], Histogram::new(&[(1.0, 0)], 0.0, 2));
        let series = family.series();
        assert_eq!(series[1].labels, [("q", "b")]);
        assert_eq!(
            series[1].value,
            Value::Histogram(Histogram::new(&[(1.0, 0)], 0.0, 2))
        );
        assert_eq!(family.len(), 2);
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
