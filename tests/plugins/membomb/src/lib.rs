//! Allocates and touches memory without bound, 1 MiB at a time, until the
//! host's memory limit refuses to grow the linear memory.

use std::hint::black_box;

use wasm_exporter_sdk::{Collector, Family, Request, export_collector};

const CHUNK_BYTES: usize = 1 << 20;
const PAGE_BYTES: usize = 4096;

struct MemBomb;

impl Collector for MemBomb {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut chunk = vec![0u8; CHUNK_BYTES];
            // Write every page so the memory is really committed.
            for page in chunk.chunks_mut(PAGE_BYTES) {
                page[0] = 1;
            }
            hoard.push(black_box(chunk));
        }
    }
}

export_collector!(MemBomb);
