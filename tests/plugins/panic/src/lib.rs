//! Panics in collect, which the host sees as a trap.

use wasm_exporter_sdk::{Collector, Family, Request, export_collector};

struct Panic;

impl Collector for Panic {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        panic!("collector bug: queue index 7 out of range for 3 queues")
    }
}

export_collector!(Panic);
