//! Fails cleanly: collect returns an error message.

use wasm_exporter_sdk::{Collector, Family, Request, export_collector};

struct Error;

impl Collector for Error {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        Err("upstream unreachable: connection refused".to_owned())
    }
}

export_collector!(Error);
