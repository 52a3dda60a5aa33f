//! The same collector in every language: `cargo xtask bench -- --bench languages`.
//!
//! Runs each language's conformance plugin
//! (`target/test-plugins/conformance_<lang>.wasm`, see
//! `tests/conformance/README.md`) configured to return 100 more series
//! (`series: 100`, 118 samples in all), in process, and prints one table
//! (also written to `target/languages/report.md`):
//!
//! - component size;
//! - first load: compile (Cranelift), link and `describe`, with an empty
//!   compile cache;
//! - cached load: the same from the compile cache, in a new engine (as a
//!   restart does);
//! - instantiate: a fresh store and instance, dropped without a call: the
//!   per-scrape cost of the language's runtime start (Go's `_initialize`,
//!   CPython's and SpiderMonkey's snapshots);
//! - collect: one whole call as a scrape makes it (instantiate, `collect`,
//!   read, validate, encode), median and p90;
//! - fuel and peak linear memory of that call.
//!
//! Per-call figures are the median of as many calls as fit in about 2 s
//! (at least 5) after one warm-up call. A language whose plugin is not
//! built (its toolchain missing) is reported as such.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasm_exporter::runtime::collect::{self, CollectInput};
use wasm_exporter::runtime::engine::{Runtime, RuntimeOptions};
use wasm_exporter::runtime::limits::PluginLimits;
use wasm_exporter::runtime::load;
use wasm_exporter::runtime::sandbox::{MemoryMeter, PluginContext, Sandbox};
use wasmtime::Store;

mod common;

const LANGUAGES: [&str; 6] = ["rust", "c", "zig", "go", "js", "python"];
/// The extra series each collect returns.
const SERIES: usize = 100;
/// Time spent on each per-call figure, past its warm-up call.
const MEASURE_TIME: Duration = Duration::from_secs(2);
const MIN_CALLS: usize = 5;

struct Row {
    language: &'static str,
    size_bytes: u64,
    first_load: Duration,
    cached_load: Duration,
    instantiate: Duration,
    collect_p50: Duration,
    collect_p90: Duration,
    samples: u64,
    fuel: u64,
    memory_peak_bytes: u64,
}

/// Calls `f` repeatedly for [`MEASURE_TIME`] and returns the sorted times.
fn repeat(mut f: impl FnMut() -> Duration) -> Vec<Duration> {
    f();
    let start = Instant::now();
    let mut times = Vec::new();
    while times.len() < MIN_CALLS || start.elapsed() < MEASURE_TIME {
        times.push(f());
    }
    times.sort();
    times
}

fn runtime(cache_dir: &Path) -> Arc<Runtime> {
    Runtime::with_options(RuntimeOptions {
        cache_dir: Some(cache_dir.to_owned()),
        ..RuntimeOptions::default()
    })
    .unwrap()
}

fn measure(rt: &tokio::runtime::Runtime, language: &'static str, path: &Path) -> Row {
    let cache = common::temp_dir(&format!("languages_{language}"));
    let context = Arc::new(PluginContext::new(
        format!("conformance_{language}"),
        vec![("series".to_owned(), SERIES.to_string())],
    ));
    let limits = PluginLimits::default();

    let first = runtime(&cache);
    let start = Instant::now();
    rt.block_on(load::load(&first, path, &context, &limits))
        .unwrap_or_else(|e| panic!("{language}: {e}"));
    let first_load = start.elapsed();
    drop(first);

    let runtime = runtime(&cache);
    let start = Instant::now();
    let version = rt
        .block_on(load::load(&runtime, path, &context, &limits))
        .unwrap();
    let cached_load = start.elapsed();

    let instantiate = repeat(|| {
        let start = Instant::now();
        rt.block_on(async {
            let sandbox = Sandbox::new(context.clone(), MemoryMeter::new(limits.memory_bytes));
            let mut store = Store::new(runtime.engine(), sandbox);
            store.limiter(|s| &mut s.memory);
            store.set_fuel(limits.fuel).unwrap();
            store.set_epoch_deadline(u64::MAX / 2);
            version
                .pre()
                .instance_pre()
                .instantiate_async(&mut store)
                .await
                .unwrap();
        });
        start.elapsed()
    });

    let input = CollectInput::default();
    let mut last = None;
    let calls = repeat(|| {
        let outcome = rt.block_on(collect::collect(
            &version,
            &context,
            &limits,
            &input,
            limits.timeout(),
        ));
        if let Err(failure) = &outcome.result {
            panic!("{language}: collect failed: {failure:?}");
        }
        let duration = outcome.duration;
        last = Some(outcome);
        duration
    });
    let last = last.unwrap();
    let _ = std::fs::remove_dir_all(&cache);
    Row {
        language,
        size_bytes: std::fs::metadata(path).unwrap().len(),
        first_load,
        cached_load,
        instantiate: instantiate[instantiate.len() / 2],
        collect_p50: calls[calls.len() / 2],
        collect_p90: common::percentile(&calls, 0.9),
        samples: last.series,
        fuel: last.fuel_consumed,
        memory_peak_bytes: last.memory_peak_bytes,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("languages: bench");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut report = String::from(
        "| language | size | first load (ms) | cached load (ms) | instantiate (ms) \
         | collect p50 (ms) | collect p90 (ms) | samples | fuel | peak memory (MiB) |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for language in LANGUAGES {
        let path = common::target_dir()
            .join("test-plugins")
            .join(format!("conformance_{language}.wasm"));
        if !path.is_file() {
            writeln!(
                report,
                "| {language} | not built (`cargo xtask toolchains`, then `cargo xtask plugins`) |||||||||"
            )
            .unwrap();
            continue;
        }
        let row = measure(&rt, language, &path);
        writeln!(
            report,
            "| {} | {:.0} KiB | {} | {} | {} | {} | {} | {} | {:.2} M | {:.1} |",
            row.language,
            row.size_bytes as f64 / 1024.0,
            ms(row.first_load),
            ms(row.cached_load),
            ms(row.instantiate),
            ms(row.collect_p50),
            ms(row.collect_p90),
            row.samples,
            row.fuel as f64 / 1e6,
            row.memory_peak_bytes as f64 / (1 << 20) as f64,
        )
        .unwrap();
        eprintln!("{language} done");
    }
    print!("{report}");
    let dir = common::target_dir().join("languages");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("report.md"), &report).unwrap();
}
