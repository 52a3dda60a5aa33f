//! A result whose strings are aliased in the guest's memory: `n` label
//! values that all point at the same `size`-byte string. In the guest that
//! is one buffer; copied into the host it is `n` of them (100 × 4 MiB is
//! 400 MiB from a plugin holding 4 MiB). The host must refuse the copy as
//! `too_large` as soon as it passes the result's cap, and its memory must
//! stay bounded however many scrapes ask at once.
//!
//! Written against the WIT directly, with unsafe aliasing no SDK allows.
//! Config: `n` (default 100) and `size` (bytes, default 4 MiB).

wit_bindgen::generate!({ path: "../../../wit", world: "plugin" });

use exports::wasm_exporter::collector::collector::{CollectRequest, Guest};
use wasm_exporter::collector::host::config_get;
use wasm_exporter::collector::metrics::{
    Descriptor, Label, Metric, MetricFamily, MetricType, Value,
};

struct AliasOutput;

fn setting(key: &str, default: usize) -> Result<usize, String> {
    config_get(key).map_or(Ok(default), |v| {
        v.parse().map_err(|e| format!("{key}: {e}"))
    })
}

impl Guest for AliasOutput {
    fn describe() -> Vec<Descriptor> {
        Vec::new()
    }

    fn collect(_: CollectRequest) -> Result<Vec<MetricFamily>, String> {
        let n = setting("n", 100)?;
        let size = setting("size", 4 << 20)?;
        let shared: &'static mut str = "x".repeat(size).leak();
        let (ptr, len) = (shared.as_mut_ptr(), shared.len());
        let labels = (0..n)
            .map(|i| Label {
                name: format!("l{i}"),
                // SAFETY: none. Every value aliases one leaked buffer on
                // purpose; the guest never reads them, and what its
                // post-return does with them is its own business.
                value: unsafe { String::from_raw_parts(ptr, len, len) },
            })
            .collect();
        Ok(vec![MetricFamily {
            name: "alias_output".into(),
            help: "Aliased strings.".into(),
            type_: MetricType::Gauge,
            unit: None,
            metrics: vec![Metric {
                labels,
                value: Value::Gauge(1.0),
            }],
        }])
    }
}

export!(AliasOutput);
