//! Prints to stdout forever, to exercise the host's output capture and
//! rate limiting.

use wasm_exporter_sdk::{Collector, Family, Request, export_collector};

struct StdoutFlood;

impl Collector for StdoutFlood {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let mut line: u64 = 0;
        loop {
            println!("flood line {line}");
            line += 1;
        }
    }
}

export_collector!(StdoutFlood);
