//! How one scrape's cost grows: `cargo xtask bench -- --bench scaling`.
//!
//! Prints two tables (also written to `target/scaling/report.md`):
//!
//! - one scrape, end to end in process (collect, validate, merge, health
//!   series, encode), for 1, 10, 100 and 500 copies of the benchmark
//!   plugin × 10, 1,000, 10,000 and 100,000 series each, beside its floor
//!   (the same plugins' calls with nothing but a fresh instance, `collect`
//!   and wasmtime's lift, run as the scrape runs them), as time per scrape,
//!   µs per plugin and ns per series. Cells past 1,000,000 series in one
//!   scrape are left out: they take gigabytes and minutes, and say nothing
//!   the smaller ones do not;
//! - 1, 4 and 16 concurrent scrapers of the same registry: scrapes per
//!   second, per core, and the median scrape time.
//!
//! Each cell is the median of repeated scrapes (at least 3, and as many as
//! fit in about 2 s, after one warm-up scrape).
//!
//! Options after `--`: `--warm-slots N` and `--keep-resident-bytes N` set
//! the instance pool as the host's flags of the same names do;
//! `--plugins 100,500` measures only those rows.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasm_exporter::registry::Registry;
use wasm_exporter::runtime::engine::{Runtime, RuntimeOptions};
use wasm_exporter::runtime::limits::PluginLimits;
use wasm_exporter::scrape::{self, ScrapeRequest};
use wasm_exporter_exposition::encode::Format;
use wasm_exporter_exposition::stream;

mod common;
mod in_process;

const PLUGINS: [usize; 4] = [1, 10, 100, 500];
const SERIES: [usize; 4] = [10, 1_000, 10_000, 100_000];
/// The largest scrape measured, in series.
const MAX_SERIES_PER_SCRAPE: usize = 1_000_000;
const SCRAPERS: [usize; 3] = [1, 4, 16];
/// Time spent on one cell, past its first scrape.
const CELL_TIME: Duration = Duration::from_secs(2);
/// Time each concurrency level runs.
const CONCURRENCY_TIME: Duration = Duration::from_secs(3);

/// Limits that let the largest cells run: room for 100,000 series per
/// plugin, and the defaults otherwise.
fn limits(series: usize) -> PluginLimits {
    let series = series as u64;
    PluginLimits {
        max_series: series.max(PluginLimits::default().max_series),
        max_bytes: (series * 80).max(PluginLimits::default().max_bytes),
        memory_bytes: (series * 400).max(PluginLimits::default().memory_bytes),
        fuel: (series * 2_000).max(PluginLimits::default().fuel),
        timeout_ms: 120_000,
        ..PluginLimits::default()
    }
}

/// One scrape of every plugin of `registry`, encoded as text; returns its
/// size and checks that every plugin was up.
async fn scrape_once(registry: &Registry, plugins: usize) -> usize {
    let request = Arc::new(ScrapeRequest {
        host_series: true,
        probe: false,
        ..ScrapeRequest::default()
    });
    let result = scrape::scrape(registry.snapshot(), request).await;
    let up = result.outcomes.iter().filter(|o| o.result.is_ok()).count();
    if let Some(down) = result.outcomes.iter().find(|o| o.result.is_err()) {
        panic!(
            "{up} of {plugins} up; {}: {:?}",
            down.plugin,
            down.result.as_ref().err()
        );
    }
    stream::Exposition::new(result.families, Format::Text, false)
        .map(|chunk| chunk.len())
        .sum()
}

/// The median time of `run`, repeated for about [`CELL_TIME`].
fn median_of(rt: &tokio::runtime::Runtime, mut run: impl AsyncFnMut()) -> Duration {
    rt.block_on(async {
        run().await;
        let mut times = Vec::new();
        let started = Instant::now();
        while times.len() < 3 || (started.elapsed() < CELL_TIME && times.len() < 200) {
            let t = Instant::now();
            run().await;
            times.push(t.elapsed());
        }
        times.sort();
        times[times.len() / 2]
    })
}

struct Cell {
    plugins: usize,
    series: usize,
    scrape: Duration,
    floor: Duration,
}

impl Cell {
    fn total(&self) -> usize {
        self.plugins * self.series
    }

    fn us_per_plugin(&self, d: Duration) -> f64 {
        d.as_secs_f64() * 1e6 / self.plugins as f64
    }

    fn ns_per_series(&self, d: Duration) -> f64 {
        d.as_secs_f64() * 1e9 / self.total() as f64
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("scaling: bench");
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let defaults = RuntimeOptions::default();
    let warm_slots = option("--warm-slots").map_or(defaults.warm_slots, |v| v.parse().unwrap());
    let keep_resident_bytes = option("--keep-resident-bytes")
        .map_or(defaults.keep_resident_bytes, |v| v.parse().unwrap());
    let rows: Vec<usize> = option("--plugins").map_or(PLUGINS.to_vec(), |v| {
        v.split(',').map(|n| n.parse().unwrap()).collect()
    });
    let path = common::plugin("test-plugins", "bench_series");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let runtime = Runtime::with_options(RuntimeOptions {
        // Accounting, not allocation: room for the largest cells' limits.
        memory_budget_bytes: 64 << 30,
        warm_slots,
        keep_resident_bytes,
        ..defaults
    })
    .unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut report = String::new();
    let _ = writeln!(
        report,
        "# Scaling\n\nOne scrape in process, median; {cores} cores, {cores} plugin threads, \
         {warm_slots} warm slots, {keep_resident_bytes} bytes kept resident per slot.\n"
    );
    let _ = writeln!(
        report,
        "| plugins | series each | series | scrape | floor | ÷ floor | µs per plugin | floor µs per plugin | ns per series | floor ns per series |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut cells = Vec::new();
    for &plugins in &rows {
        for series in SERIES {
            if plugins * series > MAX_SERIES_PER_SCRAPE {
                continue;
            }
            eprintln!("{plugins} plugins x {series} series");
            let registry =
                in_process::registry_of(&rt, &runtime, &path, plugins, series, limits(series));
            let scrape = median_of(&rt, async || {
                scrape_once(&registry, plugins).await;
            });
            // The floor calls the very versions the registry loaded.
            let loaded = in_process::loaded_of(&registry);
            let floor = median_of(&rt, async || {
                let mut calls = tokio::task::JoinSet::new();
                for one in &loaded {
                    calls.spawn(in_process::floor_call(runtime.clone(), one.clone()));
                }
                let mut samples = 0;
                while let Some(n) = calls.join_next().await {
                    samples += n.unwrap();
                }
                assert_eq!(samples, plugins * series);
            });
            let cell = Cell {
                plugins,
                series,
                scrape,
                floor,
            };
            let _ = writeln!(
                report,
                "| {plugins} | {series} | {} | {:.3} ms | {:.3} ms | {:.2} | {:.1} | {:.1} | {:.0} | {:.0} |",
                cell.total(),
                scrape.as_secs_f64() * 1e3,
                floor.as_secs_f64() * 1e3,
                ratio(scrape, floor),
                cell.us_per_plugin(scrape),
                cell.us_per_plugin(floor),
                cell.ns_per_series(scrape),
                cell.ns_per_series(floor),
            );
            cells.push(cell);
        }
    }
    let _ = writeln!(
        report,
        "\nConcurrent scrapers of one registry, each scraping in a loop for {} s.\n",
        CONCURRENCY_TIME.as_secs()
    );
    let _ = writeln!(
        report,
        "| plugins × series | scrapers | scrapes/s | scrapes/s per core | series/s per core | median scrape |\n|---|---:|---:|---:|---:|---:|"
    );
    for (plugins, series) in [(10, 1_000), (100, 10)]
        .into_iter()
        .filter(|(plugins, _)| rows.contains(plugins))
    {
        let registry =
            in_process::registry_of(&rt, &runtime, &path, plugins, series, limits(series));
        for scrapers in SCRAPERS {
            eprintln!("{scrapers} scrapers of {plugins} plugins x {series} series");
            let (count, median) = rt.block_on(async {
                let stop = Instant::now() + CONCURRENCY_TIME;
                let mut loops = tokio::task::JoinSet::new();
                for _ in 0..scrapers {
                    let registry = registry.clone();
                    loops.spawn(async move {
                        let mut times = Vec::new();
                        while Instant::now() < stop {
                            let t = Instant::now();
                            scrape_once(&registry, plugins).await;
                            times.push(t.elapsed());
                        }
                        times
                    });
                }
                let mut times = Vec::new();
                while let Some(t) = loops.join_next().await {
                    times.extend(t.unwrap());
                }
                times.sort();
                (times.len(), times[times.len() / 2])
            });
            let per_second = count as f64 / CONCURRENCY_TIME.as_secs_f64();
            let _ = writeln!(
                report,
                "| {plugins} × {series} | {scrapers} | {per_second:.1} | {:.1} | {:.0} | {:.3} ms |",
                per_second / cores as f64,
                per_second * (plugins * series) as f64 / cores as f64,
                median.as_secs_f64() * 1e3
            );
        }
    }
    let growth = growth_summary(&cells);
    let _ = writeln!(report, "\n{growth}");
    println!("{report}");
    let dir = common::target_dir().join("scaling");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("report.md"), &report).unwrap();
    eprintln!("written to {}", dir.join("report.md").display());
}

/// How the cost per series and per plugin moves from the smallest cell
/// to the largest along each axis: a linear cost keeps them flat.
fn growth_summary(cells: &[Cell]) -> String {
    let mut out =
        String::from("Growth (scrape ÷ floor at the largest size over the smallest, per axis):\n");
    for plugins in PLUGINS {
        let row: Vec<&Cell> = cells.iter().filter(|c| c.plugins == plugins).collect();
        if let (Some(first), Some(last)) = (row.first(), row.last())
            && row.len() > 1
        {
            let _ = writeln!(
                out,
                "- {plugins} plugins, {} → {} series each: ns per series {:.0} → {:.0}, ÷ floor {:.2} → {:.2}",
                first.series,
                last.series,
                first.ns_per_series(first.scrape),
                last.ns_per_series(last.scrape),
                ratio(first.scrape, first.floor),
                ratio(last.scrape, last.floor),
            );
        }
    }
    for series in SERIES {
        let column: Vec<&Cell> = cells.iter().filter(|c| c.series == series).collect();
        if let (Some(first), Some(last)) = (column.first(), column.last())
            && column.len() > 1
        {
            let _ = writeln!(
                out,
                "- {series} series each, {} → {} plugins: µs per plugin {:.1} → {:.1}, ÷ floor {:.2} → {:.2}",
                first.plugins,
                last.plugins,
                first.us_per_plugin(first.scrape),
                last.us_per_plugin(last.scrape),
                ratio(first.scrape, first.floor),
                ratio(last.scrape, last.floor),
            );
        }
    }
    out
}

/// The same allocator as the `wasm_exporter` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
