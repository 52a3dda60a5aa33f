//! Returns the same label set twice in one family.

use wasm_exporter_sdk::{Collector, Family, Request, export_collector};

struct DupSeries;

impl Collector for DupSeries {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        Ok(vec![
            Family::gauge("dup_series", "The same series twice.")
                .with(&[("a", "1")], 1.0)
                .with(&[("a", "1")], 2.0),
        ])
    }
}

export_collector!(DupSeries);
