//! Inputs of the fuzz targets: metric families built from the fuzzer's
//! bytes with `arbitrary`, and the strict exposition reader of the
//! property tests (`tests/exposition/expfmt.rs`), shared as is.

use arbitrary::Arbitrary;
use wasm_exporter_exposition::validate::OutputLimits;
use wasm_exporter_exposition::model::{
    Bucket, Histogram, Label, Metric, MetricFamily, MetricType, Quantile, State, Summary, Value,
};

#[allow(dead_code)]
#[path = "../../../../tests/exposition/expfmt.rs"]
pub mod expfmt;

/// Names that hit the validator's rules: suffixes, reserved prefixes,
/// colons, bad characters.
const NAMES: &[&str] = &[
    "a",
    "a_total",
    "a_info",
    "a_count",
    "a_sum",
    "a_bucket",
    "a_created",
    "b:c",
    "x_seconds",
    "x_seconds_total",
    "_total",
    "_info",
    "__a",
    "wasm_exporter_up",
    "",
    "0a",
    "a-b",
    "é",
    "le",
    "quantile",
    ":",
    "_",
    "process_open_fds",
];

const UNITS: &[&str] = &["", "seconds", "total", "info", "count", "a b", "bytes"];

/// A name: one of [`NAMES`], or any text.
#[derive(Debug, Arbitrary)]
pub enum Name {
    Pool(u8),
    Text(String),
}

impl Name {
    fn get(&self, pool: &[&str]) -> String {
        match self {
            Name::Pool(i) => pool[*i as usize % pool.len()].to_owned(),
            Name::Text(s) => s.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
pub enum RawValue {
    Scalar(f64),
    Histogram(Vec<(f64, u64)>, f64, u64),
    Summary(Vec<(f64, f64)>, f64, u64),
    Info,
    StateSet(Vec<(String, bool)>),
}

#[derive(Debug, Arbitrary)]
pub struct RawMetric {
    pub labels: Vec<(Name, String)>,
    pub value: RawValue,
    /// Give the value the family's type (for a scalar) rather than its own.
    pub fit: bool,
}

#[derive(Debug, Arbitrary)]
pub struct RawFamily {
    pub name: Name,
    pub help: String,
    pub kind: u8,
    pub unit: Option<Name>,
    pub metrics: Vec<RawMetric>,
    /// Repeat the first series this many times (duplicates, large lists).
    pub repeat: u16,
}

const KINDS: [MetricType; 7] = [
    MetricType::Counter,
    MetricType::Gauge,
    MetricType::Unknown,
    MetricType::Histogram,
    MetricType::Summary,
    MetricType::Info,
    MetricType::StateSet,
];

impl RawFamily {
    pub fn build(&self) -> MetricFamily {
        let type_ = KINDS[self.kind as usize % KINDS.len()];
        let mut f = MetricFamily::new(self.name.get(NAMES), self.help.clone(), type_);
        f.unit = self.unit.as_ref().map(|u| u.get(UNITS));
        for m in &self.metrics {
            let labels = m
                .labels
                .iter()
                .map(|(n, v)| Label::new(n.get(&["a", "b", "le", "quantile", "a:b", "__x"]), v))
                .collect();
            let value = match &m.value {
                RawValue::Scalar(v) => match (m.fit, type_) {
                    (true, MetricType::Counter) | (false, _) => Value::Counter(*v),
                    (true, MetricType::Unknown) => Value::Unknown(*v),
                    (true, _) => Value::Gauge(*v),
                },
                RawValue::Histogram(buckets, sum, count) => Value::Histogram(Histogram {
                    buckets: buckets
                        .iter()
                        .map(|&(upper_bound, count)| Bucket { upper_bound, count })
                        .collect(),
                    sum: *sum,
                    count: *count,
                }),
                RawValue::Summary(quantiles, sum, count) => Value::Summary(Summary {
                    quantiles: quantiles
                        .iter()
                        .map(|&(quantile, value)| Quantile { quantile, value })
                        .collect(),
                    sum: *sum,
                    count: *count,
                }),
                RawValue::Info => Value::Info,
                RawValue::StateSet(states) => Value::StateSet(
                    states
                        .iter()
                        .map(|(name, enabled)| State {
                            name: name.clone(),
                            enabled: *enabled,
                        })
                        .collect(),
                ),
            };
            f.metrics.push(Metric { labels, value });
        }
        if let Some(first) = f.metrics.first().cloned() {
            for _ in 0..self.repeat % 4096 {
                f.metrics.push(first.clone());
            }
        }
        f
    }
}

#[derive(Debug, Arbitrary)]
pub struct Input {
    pub families: Vec<RawFamily>,
    pub max_series: Option<u8>,
    pub max_bytes: Option<u16>,
}

impl Input {
    pub fn families(&self) -> Vec<MetricFamily> {
        self.families.iter().map(RawFamily::build).collect()
    }

    pub fn limits(&self) -> OutputLimits {
        let mut limits = OutputLimits::default();
        if let Some(n) = self.max_series {
            limits.max_series = n.into();
        }
        if let Some(n) = self.max_bytes {
            limits.max_bytes = n.into();
        }
        limits
    }
}
