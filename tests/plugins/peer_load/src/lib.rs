//! The synthetic load of the peer benchmark (`cargo xtask bench-peers`),
//! the same one the Go and Python peer exporters in `tests/peers/` serve.
//!
//! [`FAMILIES`] gauge families `peer_load_<f>`, each with [`SERIES`]
//! series; series `i` has the labels `l0="s<i>"`, `l1="v1"` and the value
//! `i`. The sizes are fixed, so that every exporter serves the same
//! series.

use wasm_exporter_sdk::{Collector, Family, Request, export_collector};

/// Families per scrape.
const FAMILIES: usize = 10;
/// Series per family.
const SERIES: usize = 1000;
/// Help text of every family.
const HELP: &str = "Synthetic series.";

struct PeerLoad;

impl Collector for PeerLoad {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        // The first label's values are the same in every family: format
        // them once per scrape, not once per series.
        let values: Vec<String> = (0..SERIES).map(|i| format!("s{i}")).collect();
        let mut out = Vec::with_capacity(FAMILIES);
        for f in 0..FAMILIES {
            let mut family = Family::gauge(format!("peer_load_{f}"), HELP);
            for (i, value) in values.iter().enumerate() {
                family = family.with(&[("l0", value), ("l1", "v1")], i as f64);
            }
            out.push(family);
        }
        Ok(out)
    }
}

export_collector!(PeerLoad);
