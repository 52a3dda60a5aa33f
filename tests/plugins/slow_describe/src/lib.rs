//! A plugin whose `describe` is slow or huge, for the host's startup and
//! reload paths: the port must open at once, other plugins must load
//! meanwhile, `describe` gets a short limit of its own, and only a bounded
//! result is kept.
//!
//! Config: `describe_sleep_ms` (sleep in `describe`, default none) and
//! `describe_bytes` (describe families with that many bytes of help text
//! in all, default none). `collect` returns `slow_describe_up 1`.

wit_bindgen::generate!({ path: "../../../wit", world: "plugin" });

use exports::wasm_exporter::collector::collector::{CollectRequest, Guest};
use wasm_exporter::collector::host::config_get;
use wasm_exporter::collector::metrics::{Descriptor, Metric, MetricFamily, MetricType, Value};

struct SlowDescribe;

fn setting(key: &str) -> Option<u64> {
    config_get(key).and_then(|v| v.parse().ok())
}

impl Guest for SlowDescribe {
    fn describe() -> Vec<Descriptor> {
        if let Some(ms) = setting("describe_sleep_ms") {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        let bytes = setting("describe_bytes").unwrap_or(0) as usize;
        let chunk = 64 << 10;
        (0..bytes.div_ceil(chunk))
            .map(|i| Descriptor {
                name: format!("slow_describe_{i}"),
                help: "h".repeat(chunk),
                type_: MetricType::Gauge,
                unit: None,
                label_names: Vec::new(),
            })
            .collect()
    }

    fn collect(_: CollectRequest) -> Result<Vec<MetricFamily>, String> {
        Ok(vec![MetricFamily {
            name: "slow_describe_up".into(),
            help: "Set once collect ran.".into(),
            type_: MetricType::Gauge,
            unit: None,
            metrics: vec![Metric {
                labels: Vec::new(),
                value: Value::Gauge(1.0),
            }],
        }])
    }
}

export!(SlowDescribe);
