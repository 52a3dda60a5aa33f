//! Returns a configurable number of gauge series, for benchmarks.
//!
//! Config keys: `families` (default 1), `series` per family (default 1000)
//! `labels` per series (default 2) and `prefix` of the family names
//! (default `bench_series`, so several copies can be served side by side).
//! Family `f` is `<prefix>_<f>`;
//! series `i` has labels `l0="s<i>"`, `l1="v1"`, ... and the value `i`.

use wasm_exporter_sdk::{Collector, Family, Request, config_get, export_collector};

struct BenchSeries;

fn setting(key: &str, default: usize) -> Result<usize, String> {
    match config_get(key) {
        None => Ok(default),
        Some(value) => value
            .parse()
            .map_err(|e| format!("config {key}={value:?}: {e}")),
    }
}

impl Collector for BenchSeries {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let families = setting("families", 1)?;
        let series = setting("series", 1000)?;
        let labels = setting("labels", 2)?;
        let prefix = config_get("prefix").unwrap_or_else(|| "bench_series".into());

        let names: Vec<String> = (0..labels).map(|k| format!("l{k}")).collect();
        let constants: Vec<String> = (0..labels).map(|k| format!("v{k}")).collect();
        let mut out = Vec::with_capacity(families);
        for f in 0..families {
            let mut family = Family::gauge(format!("{prefix}_{f}"), "Synthetic series.");
            for i in 0..series {
                let first = format!("s{i}");
                let pairs: Vec<(&str, &str)> = names
                    .iter()
                    .zip(&constants)
                    .enumerate()
                    .map(|(k, (name, constant))| {
                        let value = if k == 0 { &first } else { constant };
                        (name.as_str(), value.as_str())
                    })
                    .collect();
                family = family.with(&pairs, i as f64);
            }
            out.push(family);
        }
        Ok(out)
    }
}

export_collector!(BenchSeries);
