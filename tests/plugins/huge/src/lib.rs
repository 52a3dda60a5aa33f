//! Returns 100,000 series in one family, to hit the host's series limits.

use wasm_exporter_sdk::{Collector, Family, Request, export_collector};

const SERIES: usize = 100_000;

struct Huge;

impl Collector for Huge {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let mut family = Family::gauge("huge_series", "Far too many series.");
        for i in 0..SERIES {
            family = family.with(&[("i", &i.to_string())], i as f64);
        }
        Ok(vec![family])
    }
}

export_collector!(Huge);
