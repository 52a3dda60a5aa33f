//! Version b of the hot-swap test collector (swap_a and swap_b differ only
//! in this constant): every series carries the version, so a scrape that
//! mixed versions would show both.

use wasm_exporter_sdk::{Collector, Descriptor, Family, Request, export_collector};

const VERSION: &str = "b";
const SERIES: usize = 50;

struct Swap;

impl Collector for Swap {
    fn describe() -> Vec<Descriptor> {
        Self::collect(&Request::default())
            .map(|families| families.iter().map(Family::descriptor).collect())
            .unwrap_or_default()
    }

    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let version = Family::gauge("swap_version", "Version of the swap collector.")
            .with(&[("version", VERSION)], 1.0);
        let mut series = Family::gauge("swap_series", "Series tagged with the version.");
        for i in 0..SERIES {
            series = series.with(&[("version", VERSION), ("i", &i.to_string())], i as f64);
        }
        Ok(vec![version, series])
    }
}

export_collector!(Swap);
