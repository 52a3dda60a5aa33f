//! The synthetic load of the peer benchmark (`cargo xtask bench-peers`),
//! the same one the Go and Python peer exporters in `tests/peers/` serve.
//!
//! `families` gauge families `peer_load_<f>` (config key `families`,
//! default [`FAMILIES`]), each with `series` series (config key `series`,
//! default [`SERIES`]); series `i` has the labels `l0="s<i>"`, `l1="v1"`
//! and the value `i`.

use wasm_exporter_sdk::{Collector, Family, Request, config_get, export_collector};

/// Families per scrape, unless configured.
const FAMILIES: usize = 10;
/// Series per family, unless configured.
const SERIES: usize = 1000;
/// Help text of every family.
const HELP: &str = "Synthetic series.";

struct PeerLoad;

impl Collector for PeerLoad {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let families = size("families", FAMILIES)?;
        let series = size("series", SERIES)?;
        // The first label's values are the same in every family: format
        // them once per scrape, not once per series.
        let values: Vec<String> = (0..series).map(|i| format!("s{i}")).collect();
        let mut out = Vec::with_capacity(families);
        for f in 0..families {
            let mut family =
                Family::gauge(format!("peer_load_{f}"), HELP).with_label_names(&["l0", "l1"]);
            for (i, value) in values.iter().enumerate() {
                family.add_values(&[value, "v1"], i as f64);
            }
            out.push(family);
        }
        Ok(out)
    }
}

/// The configured `key`, or `default`.
fn size(key: &str, default: usize) -> Result<usize, String> {
    match config_get(key) {
        None => Ok(default),
        Some(value) => value
            .parse()
            .map_err(|_| format!("config {key}: {value:?} is not a number")),
    }
}

export_collector!(PeerLoad);
