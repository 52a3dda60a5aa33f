//! Blocks in a host call (a WASI clock sleep), where epoch deadlines
//! cannot reach it, for `sleep_ms` of its configuration (60 s unless told),
//! then returns a family.

use std::time::Duration;

use wasm_exporter_sdk::{Collector, Family, Request, config_get, export_collector};

const DEFAULT_SLEEP_MS: u64 = 60_000;

struct Sleeper;

impl Collector for Sleeper {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let ms = config_get("sleep_ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_SLEEP_MS);
        std::thread::sleep(Duration::from_millis(ms));
        Ok(vec![
            Family::gauge("sleeper_woke", "Set once the sleep ended.").with(&[], 1.0),
        ])
    }
}

export_collector!(Sleeper);
