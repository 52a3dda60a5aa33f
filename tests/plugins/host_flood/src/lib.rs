//! A plugin that makes the host work for it: host calls whose cost the
//! guest's own fuel does not see unless the host charges it.
//!
//! Written against the WIT directly. Config `mode`:
//! - `big_key`: `config-get` with a 4 MiB key, in a loop;
//! - `big_log`: `log` with a 4 MiB message, in a loop;
//! - `config_loop`: `config()` in a loop (the plugin is given a large
//!   configuration);
//! - `long_key_once`: one `config-get` with a 2 KiB key that is also in
//!   its configuration; returns `host_flood_long_key_found` (1 if the host
//!   answered it, 0 if it refused it).

wit_bindgen::generate!({ path: "../../../wit", world: "plugin" });

use std::hint::black_box;

use exports::wasm_exporter::collector::collector::{CollectRequest, Guest};
use wasm_exporter::collector::host::{Level, config, config_get, log};
use wasm_exporter::collector::metrics::{Descriptor, Metric, MetricFamily, MetricType, Value};

struct HostFlood;

impl Guest for HostFlood {
    fn describe() -> Vec<Descriptor> {
        Vec::new()
    }

    fn collect(_: CollectRequest) -> Result<Vec<MetricFamily>, String> {
        let mode = config_get("mode").unwrap_or_default();
        let big = "k".repeat(4 << 20);
        match mode.as_str() {
            "big_key" => loop {
                black_box(config_get(&big));
            },
            "big_log" => loop {
                log(Level::Debug, &big);
            },
            "config_loop" => loop {
                black_box(config());
            },
            "long_key_once" => {
                let found = config_get(&"k".repeat(2048)).is_some();
                Ok(vec![MetricFamily {
                    name: "host_flood_long_key_found".into(),
                    help: "1 if the host answered a 2 KiB config-get key.".into(),
                    type_: MetricType::Gauge,
                    unit: None,
                    metrics: vec![Metric {
                        labels: Vec::new(),
                        value: Value::Gauge(if found { 1.0 } else { 0.0 }),
                    }],
                }])
            }
            other => Err(format!("unknown mode {other:?}")),
        }
    }
}

export!(HostFlood);
