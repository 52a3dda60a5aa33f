//! Never returns: collect spins forever, burning fuel until the host's fuel
//! budget or epoch deadline stops it.

use std::hint::black_box;

use wasm_exporter_sdk::{Collector, Family, Request, export_collector};

struct Loop;

impl Collector for Loop {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let mut spins: u64 = 0;
        loop {
            spins = black_box(spins.wrapping_add(1));
        }
    }
}

export_collector!(Loop);
