//! The OpenMetrics data model: metric families, series, values.
//!
//! These types mirror the `metrics` interface of the WIT package
//! `wasm-exporter:collector` (`wit/collector.wit`) field for field. With
//! the `component-model` feature they also derive wasmtime's
//! `ComponentType`, `Lift` and `Lower`, so the runtime lifts a plugin's
//! result straight into them: one copy out of the guest, none after. The
//! feature only adds those derives; without it this module has no
//! dependency at all.

#[cfg(feature = "component-model")]
use wasmtime::component::{ComponentType, Lift, Lower};

/// The type of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "component-model",
    derive(ComponentType, Lift, Lower),
    component(enum)
)]
#[repr(u8)]
pub enum MetricType {
    /// A monotonically increasing total. The text format writes the name
    /// as given; OpenMetrics names the family without `_total` and its
    /// sample with it (as the Go client does).
    #[cfg_attr(feature = "component-model", component(name = "counter"))]
    Counter,
    /// A value that can go up and down.
    #[cfg_attr(feature = "component-model", component(name = "gauge"))]
    Gauge,
    /// Cumulative buckets of observations, with their sum and count.
    #[cfg_attr(feature = "component-model", component(name = "histogram"))]
    Histogram,
    /// Quantiles of observations, with their sum and count.
    #[cfg_attr(feature = "component-model", component(name = "summary"))]
    Summary,
    /// Constant labels describing the target (`_info`, value 1).
    #[cfg_attr(feature = "component-model", component(name = "info"))]
    Info,
    /// Named boolean states; the family name labels the states.
    #[cfg_attr(feature = "component-model", component(name = "state-set"))]
    StateSet,
    /// A value of unknown type (`untyped` in the text format).
    #[cfg_attr(feature = "component-model", component(name = "unknown"))]
    Unknown,
}

impl MetricType {
    /// The lowercase name used in logs and errors.
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

/// The text of the model: owned (`String`, what the host builds and
/// keeps) or borrowed (`&str`, a view of a plugin's result read where it
/// lies in the plugin's memory). The validator and the encoders take
/// either.
pub trait Text: AsRef<str> + Clone + PartialEq + std::fmt::Debug {
    /// Keeps the first `len` bytes (a char boundary).
    fn truncate_to(&mut self, len: usize);
}

impl Text for String {
    fn truncate_to(&mut self, len: usize) {
        self.truncate(len);
    }
}

impl Text for &str {
    fn truncate_to(&mut self, len: usize) {
        *self = &self[..len];
    }
}

/// One label of a series.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "component-model",
    derive(ComponentType, Lift, Lower),
    component(record)
)]
pub struct Label<S = String> {
    /// The label name.
    #[cfg_attr(feature = "component-model", component(name = "name"))]
    pub name: S,
    /// The label value.
    #[cfg_attr(feature = "component-model", component(name = "value"))]
    pub value: S,
}

impl Label {
    /// A label from a name and a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// One cumulative histogram bucket: observations ≤ `upper_bound`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "component-model",
    derive(ComponentType, Lift, Lower),
    component(record)
)]
pub struct Bucket {
    /// The bucket's upper bound (`le`); the last bucket's is +Inf.
    #[cfg_attr(feature = "component-model", component(name = "upper-bound"))]
    pub upper_bound: f64,
    /// Observations less than or equal to the bound.
    #[cfg_attr(feature = "component-model", component(name = "count"))]
    pub count: u64,
}

/// A histogram data point.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "component-model",
    derive(ComponentType, Lift, Lower),
    component(record)
)]
pub struct Histogram {
    /// Buckets by increasing upper bound, the last one +Inf.
    #[cfg_attr(feature = "component-model", component(name = "buckets"))]
    pub buckets: Vec<Bucket>,
    /// Sum of the observations.
    #[cfg_attr(feature = "component-model", component(name = "sum"))]
    pub sum: f64,
    /// Number of observations (the +Inf bucket's count).
    #[cfg_attr(feature = "component-model", component(name = "count"))]
    pub count: u64,
}

/// One quantile of a summary.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "component-model",
    derive(ComponentType, Lift, Lower),
    component(record)
)]
pub struct Quantile {
    /// The quantile, in [0, 1].
    #[cfg_attr(feature = "component-model", component(name = "quantile"))]
    pub quantile: f64,
    /// Its value.
    #[cfg_attr(feature = "component-model", component(name = "value"))]
    pub value: f64,
}

/// A summary data point.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "component-model",
    derive(ComponentType, Lift, Lower),
    component(record)
)]
pub struct Summary {
    /// The quantiles.
    #[cfg_attr(feature = "component-model", component(name = "quantiles"))]
    pub quantiles: Vec<Quantile>,
    /// Sum of the observations.
    #[cfg_attr(feature = "component-model", component(name = "sum"))]
    pub sum: f64,
    /// Number of observations.
    #[cfg_attr(feature = "component-model", component(name = "count"))]
    pub count: u64,
}

/// One state of a state set.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "component-model",
    derive(ComponentType, Lift, Lower),
    component(record)
)]
pub struct State<S = String> {
    /// The state's name (the value of the family-named label).
    #[cfg_attr(feature = "component-model", component(name = "name"))]
    pub name: S,
    /// Whether the state holds.
    #[cfg_attr(feature = "component-model", component(name = "enabled"))]
    pub enabled: bool,
}

/// The value of one series; its case must match the family's type.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "component-model",
    derive(ComponentType, Lift, Lower),
    component(variant)
)]
pub enum Value<S = String> {
    /// A counter's total.
    #[cfg_attr(feature = "component-model", component(name = "counter"))]
    Counter(f64),
    /// A gauge's value.
    #[cfg_attr(feature = "component-model", component(name = "gauge"))]
    Gauge(f64),
    /// An untyped value.
    #[cfg_attr(feature = "component-model", component(name = "unknown"))]
    Unknown(f64),
    /// A histogram data point.
    #[cfg_attr(feature = "component-model", component(name = "histogram"))]
    Histogram(Histogram),
    /// A summary data point.
    #[cfg_attr(feature = "component-model", component(name = "summary"))]
    Summary(Summary),
    /// An info series (value 1).
    #[cfg_attr(feature = "component-model", component(name = "info"))]
    Info,
    /// The states of a state set.
    #[cfg_attr(feature = "component-model", component(name = "state-set"))]
    StateSet(Vec<State<S>>),
}

impl<S> Value<S> {
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

/// One series: its labels (without the family name) and its value.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "component-model",
    derive(ComponentType, Lift, Lower),
    component(record)
)]
pub struct Metric<S = String> {
    /// The series' labels.
    #[cfg_attr(feature = "component-model", component(name = "labels"))]
    pub labels: Vec<Label<S>>,
    /// The series' value.
    #[cfg_attr(feature = "component-model", component(name = "value"))]
    pub value: Value<S>,
}

/// A metric family: every series of one metric name.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "component-model",
    derive(ComponentType, Lift, Lower),
    component(record)
)]
pub struct MetricFamily<S = String> {
    /// The family name.
    #[cfg_attr(feature = "component-model", component(name = "name"))]
    pub name: S,
    /// The HELP text.
    #[cfg_attr(feature = "component-model", component(name = "help"))]
    pub help: S,
    /// The family type.
    #[cfg_attr(feature = "component-model", component(name = "type"))]
    pub type_: MetricType,
    /// The OpenMetrics unit; the name must then end with `_<unit>`.
    #[cfg_attr(feature = "component-model", component(name = "unit"))]
    pub unit: Option<S>,
    /// The series.
    #[cfg_attr(feature = "component-model", component(name = "metrics"))]
    pub metrics: Vec<Metric<S>>,
}

/// A family's name without a counter's `_total`: the OpenMetrics family
/// name, and the stem of every sample name the family writes.
pub fn base_name(name: &str, type_: MetricType) -> &str {
    match type_ {
        MetricType::Counter => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    }
}

impl<S: Text> MetricFamily<S> {
    /// Its [`base_name`].
    pub fn base_name(&self) -> &str {
        base_name(self.name.as_ref(), self.type_)
    }
}

impl MetricFamily {
    /// An empty family with no unit.
    pub fn new(name: impl Into<String>, help: impl Into<String>, type_: MetricType) -> Self {
        MetricFamily {
            name: name.into(),
            help: help.into(),
            type_,
            unit: None,
            metrics: Vec::new(),
        }
    }

    /// A family of one unlabelled series (a host series such as
    /// `process_open_fds`); a counter's value becomes a counter value.
    pub fn single(name: &str, help: &str, type_: MetricType, value: f64) -> Self {
        let mut f = MetricFamily::new(name, help, type_);
        let value = match type_ {
            MetricType::Counter => Value::Counter(value),
            _ => Value::Gauge(value),
        };
        f.push(Vec::new(), value);
        f
    }

    /// Adds one series.
    pub fn push(&mut self, labels: Vec<Label>, value: Value) {
        self.metrics.push(Metric { labels, value });
    }
}

/// The static description of one family a plugin may return (its
/// `describe`), for documentation and load-time checks.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(
    feature = "component-model",
    derive(ComponentType, Lift, Lower),
    component(record)
)]
pub struct Descriptor {
    /// The family name.
    #[cfg_attr(feature = "component-model", component(name = "name"))]
    pub name: String,
    /// The HELP text.
    #[cfg_attr(feature = "component-model", component(name = "help"))]
    pub help: String,
    /// The family type.
    #[cfg_attr(feature = "component-model", component(name = "type"))]
    pub type_: MetricType,
    /// The OpenMetrics unit.
    #[cfg_attr(feature = "component-model", component(name = "unit"))]
    pub unit: Option<String>,
    /// The label names its series carry.
    #[cfg_attr(feature = "component-model", component(name = "label-names"))]
    pub label_names: Vec<String>,
}
