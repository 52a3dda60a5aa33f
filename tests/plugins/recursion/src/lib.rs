//! Recurses without bound until the wasm call stack is exhausted.
//!
//! The frames are kept small (no buffers in linear memory), so the engine's
//! native stack limit trips before Rust's 1 MiB shadow stack in linear
//! memory would. `black_box` keeps the optimizer from proving the recursion
//! endless or turning it into a loop.

use std::hint::black_box;

use wasm_exporter_sdk::{Collector, Family, Request, export_collector};

struct Recursion;

#[inline(never)]
fn descend(depth: u64) -> u64 {
    if black_box(depth) == u64::MAX {
        return depth;
    }
    let below = black_box(descend(depth + 1));
    below.wrapping_add(depth)
}

impl Collector for Recursion {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let depth = descend(0);
        Ok(vec![
            Family::gauge("recursion_depth", "Never returned.").with(&[], depth as f64),
        ])
    }
}

export_collector!(Recursion);
