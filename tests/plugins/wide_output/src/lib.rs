//! Output that is small in bytes but wide in one place: a single series
//! with a huge number of labels, or one data point with a huge number of
//! states, quantiles or buckets. Checking such output with nested scans
//! costs the host seconds of CPU; the host must check it in linear time,
//! refuse it past its per-series caps, and stay responsive meanwhile.
//!
//! Written against the WIT directly: the SDK would not build some of it.
//! Config: `shape` (`labels`, `states`, `quantiles` or `buckets`) and `n`
//! (entries, default 100000).

wit_bindgen::generate!({ path: "../../../wit", world: "plugin" });

use exports::wasm_exporter::collector::collector::{CollectRequest, Guest};
use wasm_exporter::collector::host::config_get;
use wasm_exporter::collector::metrics::{
    Bucket, Descriptor, Histogram, Label, Metric, MetricFamily, MetricType, Quantile, State,
    Summary, Value,
};

struct WideOutput;

fn family(name: &str, type_: MetricType, labels: Vec<Label>, value: Value) -> MetricFamily {
    MetricFamily {
        name: name.into(),
        help: "One very wide data point.".into(),
        type_,
        unit: None,
        metrics: vec![Metric { labels, value }],
    }
}

impl Guest for WideOutput {
    fn describe() -> Vec<Descriptor> {
        Vec::new()
    }

    fn collect(_: CollectRequest) -> Result<Vec<MetricFamily>, String> {
        let n: usize =
            config_get("n").map_or(Ok(100_000), |v| v.parse().map_err(|e| format!("n: {e}")))?;
        let shape = config_get("shape").unwrap_or_else(|| "labels".into());
        let f = match shape.as_str() {
            "labels" => family(
                "wide_labels",
                MetricType::Gauge,
                (0..n)
                    .map(|i| Label {
                        name: format!("l{i}"),
                        value: "v".into(),
                    })
                    .collect(),
                Value::Gauge(1.0),
            ),
            "states" => family(
                "wide_states",
                MetricType::StateSet,
                Vec::new(),
                Value::StateSet(
                    (0..n)
                        .map(|i| State {
                            name: format!("s{i}"),
                            enabled: i == 0,
                        })
                        .collect(),
                ),
            ),
            "quantiles" => family(
                "wide_quantiles",
                MetricType::Summary,
                Vec::new(),
                Value::Summary(Summary {
                    quantiles: (0..n)
                        .map(|i| Quantile {
                            quantile: i as f64 / n as f64,
                            value: 1.0,
                        })
                        .collect(),
                    sum: 1.0,
                    count: 1,
                }),
            ),
            "buckets" => family(
                "wide_buckets",
                MetricType::Histogram,
                Vec::new(),
                Value::Histogram(Histogram {
                    buckets: (0..n)
                        .map(|i| Bucket {
                            upper_bound: if i + 1 == n { f64::INFINITY } else { i as f64 },
                            count: i as u64,
                        })
                        .collect(),
                    sum: 1.0,
                    count: n.saturating_sub(1) as u64,
                }),
            ),
            other => return Err(format!("unknown shape {other:?}")),
        };
        Ok(vec![f])
    }
}

export!(WideOutput);
