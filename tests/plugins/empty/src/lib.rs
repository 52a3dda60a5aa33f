//! Returns no families: the cheapest possible collect, for overhead benchmarks.

use wasm_exporter_sdk::{Collector, Family, Request, export_collector};

struct Empty;

impl Collector for Empty {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        Ok(Vec::new())
    }
}

export_collector!(Empty);
