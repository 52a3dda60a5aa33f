//! Returns whatever a seed says: the fuzz plugin of the host's tests.
//!
//! The seed is the `/probe` target (`/probe?target=<seed>`: a number, or
//! any text, hashed), or the `seed` query parameter of a probe. For each
//! seed, [`plan::for_seed`] decides what `collect` does: return valid families
//! with hostile names, label values, help texts and floats, return them
//! with one rule broken (an invalid name, a label twice, a duplicate
//! series, a value of another type, a broken histogram, ...), return
//! thousands of series, return `err`, panic, spin, allocate gigabytes,
//! recurse, sleep or flood the log. The same seed always does the same
//! thing, so the host's test can predict each answer.
//!
//! On a plain `/metrics` scrape (no target) it returns nothing and is up.
//!
//! It builds the WIT values directly rather than through the SDK's
//! `Family`, which refuses a value of the wrong type.

pub mod plan;

use std::hint::black_box;
use std::io::Write as _;

use bindings::exports::wasm_exporter::collector::collector::{CollectRequest, Guest};
use bindings::wasm_exporter::collector::metrics as wit;
use wasm_exporter_sdk::{Level, log};

use plan::{Fam, Kind, Plan, Val};

struct FuzzOutput;

impl Guest for FuzzOutput {
    fn describe() -> Vec<wit::Descriptor> {
        Vec::new()
    }

    fn collect(request: CollectRequest) -> Result<Vec<wit::MetricFamily>, String> {
        let seed = request.target.as_deref().or_else(|| {
            request
                .params
                .iter()
                .find(|(k, _)| k == "seed")
                .map(|(_, v)| v.as_str())
        });
        let Some(seed) = seed else {
            return Ok(Vec::new());
        };
        match plan::for_seed(plan::seed_of(seed)) {
            Plan::Families { families, .. } => Ok(families.into_iter().map(family).collect()),
            Plan::Log { records, families } => {
                for i in 0..records {
                    log(Level::Warn, &format!("record {i} of {records}"));
                    println!("stdout line {i}");
                    let _ = writeln!(std::io::stderr(), "stderr line {i}");
                }
                Ok(families.into_iter().map(family).collect())
            }
            Plan::Error(message) => Err(message),
            Plan::Panic(message) => panic!("{message}"),
            Plan::Loop => {
                let mut spins: u64 = 0;
                loop {
                    spins = black_box(spins.wrapping_add(1));
                }
            }
            Plan::Allocate(bytes) => {
                let hoard = vec![1u8; bytes];
                black_box(&hoard);
                Err(format!("allocated {} bytes", hoard.len()))
            }
            Plan::Recurse => Err(format!("depth {}", descend(0))),
            Plan::Sleep(ms) => {
                std::thread::sleep(std::time::Duration::from_millis(ms));
                Err("slept".into())
            }
        }
    }
}

#[inline(never)]
fn descend(depth: u64) -> u64 {
    if black_box(depth) == u64::MAX {
        return depth;
    }
    black_box(descend(depth + 1)).wrapping_add(depth)
}

fn kind(kind: Kind) -> wit::MetricType {
    match kind {
        Kind::Counter => wit::MetricType::Counter,
        Kind::Gauge => wit::MetricType::Gauge,
        Kind::Histogram => wit::MetricType::Histogram,
        Kind::Summary => wit::MetricType::Summary,
        Kind::Info => wit::MetricType::Info,
        Kind::StateSet => wit::MetricType::StateSet,
        Kind::Unknown => wit::MetricType::Unknown,
    }
}

fn value(value: Val) -> wit::Value {
    match value {
        Val::Counter(v) => wit::Value::Counter(v),
        Val::Gauge(v) => wit::Value::Gauge(v),
        Val::Unknown(v) => wit::Value::Unknown(v),
        Val::Histogram(buckets, sum, count) => wit::Value::Histogram(wit::Histogram {
            buckets: buckets
                .into_iter()
                .map(|(upper_bound, count)| wit::Bucket { upper_bound, count })
                .collect(),
            sum,
            count,
        }),
        Val::Summary(quantiles, sum, count) => wit::Value::Summary(wit::Summary {
            quantiles: quantiles
                .into_iter()
                .map(|(quantile, value)| wit::Quantile { quantile, value })
                .collect(),
            sum,
            count,
        }),
        Val::Info => wit::Value::Info,
        Val::StateSet(states) => wit::Value::StateSet(
            states
                .into_iter()
                .map(|(name, enabled)| wit::State { name, enabled })
                .collect(),
        ),
    }
}

fn family(fam: Fam) -> wit::MetricFamily {
    wit::MetricFamily {
        name: fam.name,
        help: fam.help,
        type_: kind(fam.kind),
        unit: fam.unit,
        metrics: fam
            .series
            .into_iter()
            .map(|(labels, v)| wit::Metric {
                labels: labels
                    .into_iter()
                    .map(|(name, value)| wit::Label { name, value })
                    .collect(),
                value: value(v),
            })
            .collect(),
    }
}

/// The WIT types and exports, generated here: the SDK's own lowering only
/// takes families that are valid by construction.
mod bindings {
    wit_bindgen::generate!({ path: "../../../wit", world: "plugin" });
}

bindings::export!(FuzzOutput with_types_in bindings);
