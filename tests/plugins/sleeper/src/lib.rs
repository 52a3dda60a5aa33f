//! Blocks in a host call (a WASI clock sleep) for 60 s, where epoch
//! deadlines cannot reach it, then returns a family.

use std::time::Duration;

use wasm_exporter_sdk::{Collector, Family, Request, export_collector};

const SLEEP: Duration = Duration::from_secs(60);

struct Sleeper;

impl Collector for Sleeper {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        std::thread::sleep(SLEEP);
        Ok(vec![
            Family::gauge("sleeper_woke", "Set once the sleep ended.").with(&[], 1.0),
        ])
    }
}

export_collector!(Sleeper);
