//! Returns a family whose name breaks the metric name syntax.

use wasm_exporter_sdk::{Collector, Family, Request, export_collector};

struct BadName;

impl Collector for BadName {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        Ok(vec![
            Family::gauge("0bad-name", "Invalid name.").with(&[], 1.0),
        ])
    }
}

export_collector!(BadName);
