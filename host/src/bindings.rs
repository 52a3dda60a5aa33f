//! Host bindings of the WIT package `wasm-exporter:collector`.
//!
//! [`model`] re-exports the metric types every later step works with, so no
//! other module names the generated paths.

#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "plugin",
        exports: { default: async },
        additional_derives: [PartialEq],
    });
}
pub use generated::*;

/// The WIT package version this host implements.
pub const WIT_VERSION: &str = "0.1.0";

/// The interface a plugin must export, with its version.
pub const COLLECTOR_EXPORT: &str = "wasm-exporter:collector/collector@0.1.0";

/// The OpenMetrics data model as plugins return it.
pub mod model {
    pub use super::exports::wasm_exporter::collector::collector::CollectRequest;
    pub use super::wasm_exporter::collector::host::Level;
    pub use super::wasm_exporter::collector::metrics::{
        Bucket, Descriptor, Histogram, Label, Metric, MetricFamily, MetricType, Quantile, State,
        Summary, Value,
    };

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

    impl Label {
        /// A label from a name and a value.
        pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
            Label {
                name: name.into(),
                value: value.into(),
            }
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
}
