//! Benchmarks of the main operations, against built plugins
//! (`cargo xtask bench` builds them first):
//!
//! - `collect/empty`: an empty plugin's full per-scrape cost (fresh store,
//!   instantiate, collect, validate, drop);
//! - `scrape/10k_series`: one plugin returning 10,000 series, end to end
//!   (collect, validate, merge, health series, encode);
//! - `scrape/50_plugins_x_100_series`: 50 plugins in one scrape, end to end;
//! - `encode/*`: the encoders alone, in samples per second;
//! - `floor/*`: what each of the first three cannot avoid, to report them
//!   beside it: a fresh store and instance and the call (`floor/empty`),
//!   plus wasmtime's canonical lift of the same result into the types its
//!   own `bindgen!` generates, then drop (`floor/10k_series`,
//!   `floor/50_plugins_x_100_series`, the 50 calls run as the scrape runs
//!   them, concurrently on the same threads). No validation, merge, host
//!   series or encoding.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use wasm_exporter::registry::Registry;
use wasm_exporter::runtime::collect::{self, CollectInput};
use wasm_exporter::runtime::engine::Runtime;
use wasm_exporter::runtime::limits::PluginLimits;
use wasm_exporter::runtime::load;
use wasm_exporter::runtime::sandbox::PluginContext;
use wasm_exporter::scrape::{self, ScrapeRequest};
use wasm_exporter_exposition::encode::{self, Format};
use wasm_exporter_exposition::model::{Label, MetricFamily, MetricType, Value};
use wasm_exporter_exposition::stream;

mod in_process;
use in_process::{Loaded, floor_call};

fn test_plugin(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let path = target.join("test-plugins").join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} missing: run `cargo xtask plugins`",
        path.display()
    );
    path
}

fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn bench_collect(c: &mut Criterion) {
    let rt = tokio();
    let runtime = Runtime::new().unwrap();
    let limits = PluginLimits::default();
    let context = Arc::new(PluginContext::new("empty", Vec::new()));
    let version = rt
        .block_on(load::load(
            &runtime,
            &test_plugin("empty"),
            &context,
            &limits,
        ))
        .map(Arc::new)
        .unwrap();
    let input = CollectInput::default();
    c.bench_function("collect/empty", |b| {
        b.iter(|| {
            let outcome = rt.block_on(collect::collect(
                &version,
                &context,
                &limits,
                &input,
                Duration::from_secs(5),
            ));
            assert!(outcome.result.is_ok());
        })
    });
}

fn end_to_end(rt: &tokio::runtime::Runtime, registry: &Registry, expect_up: usize) -> usize {
    let request = Arc::new(ScrapeRequest {
        host_series: true,
        probe: false,
        ..ScrapeRequest::default()
    });
    let result = rt.block_on(scrape::scrape(registry.snapshot(), request));
    assert_eq!(
        result.outcomes.iter().filter(|o| o.result.is_ok()).count(),
        expect_up
    );
    stream::Exposition::new(result.families, Format::Text, false)
        .map(|chunk| chunk.len())
        .sum()
}

fn bench_scrape(c: &mut Criterion) {
    let rt = tokio();
    let runtime = Runtime::new().unwrap();
    let mut group = c.benchmark_group("scrape");
    let one = in_process::registry_of(
        &rt,
        &runtime,
        &test_plugin("bench_series"),
        1,
        10_000,
        PluginLimits::default(),
    );
    group.bench_function("10k_series", |b| b.iter(|| end_to_end(&rt, &one, 1)));
    let fifty = in_process::registry_of(
        &rt,
        &runtime,
        &test_plugin("bench_series"),
        50,
        100,
        PluginLimits::default(),
    );
    group.bench_function("50_plugins_x_100_series", |b| {
        b.iter(|| end_to_end(&rt, &fifty, 50))
    });
    group.finish();
}

fn synthetic(families: usize, series: usize) -> Vec<MetricFamily> {
    (0..families)
        .map(|f| {
            let mut family = MetricFamily::new(
                format!("synthetic_{f}"),
                "Synthetic series.",
                MetricType::Gauge,
            );
            for i in 0..series {
                family.push(
                    vec![
                        Label::new("instance", format!("host-{i}")),
                        Label::new("job", "bench"),
                    ],
                    Value::Gauge(i as f64 * 1.5),
                );
            }
            family
        })
        .collect()
}

fn bench_encode(c: &mut Criterion) {
    let families = synthetic(10, 10_000);
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(100_000));
    for (name, format) in [("text", Format::Text), ("openmetrics", Format::OpenMetrics)] {
        let mut out = Vec::with_capacity(8 << 20);
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                for f in &families {
                    encode::encode_family(&mut out, f, format);
                }
                out.len()
            })
        });
    }
    group.finish();
}

fn bench_floor(c: &mut Criterion) {
    let rt = tokio();
    let runtime = Runtime::new().unwrap();
    let mut group = c.benchmark_group("floor");
    let load = |plugin: &str, name: &str, config: Vec<(String, String)>| -> Arc<Loaded> {
        Arc::new(in_process::load_plugin(
            &rt,
            &runtime,
            &test_plugin(plugin),
            name,
            config,
            PluginLimits::default(),
        ))
    };
    let empty = load("empty", "empty", Vec::new());
    group.bench_function("empty", |b| {
        b.iter(|| rt.block_on(floor_call(runtime.clone(), empty.clone())))
    });
    let config = |name: &str, series: usize| {
        vec![
            ("series".to_owned(), series.to_string()),
            ("prefix".to_owned(), name.to_owned()),
        ]
    };
    let one = load("bench_series", "bench_00", config("bench_00", 10_000));
    group.bench_function("10k_series", |b| {
        b.iter(|| {
            let n = rt.block_on(floor_call(runtime.clone(), one.clone()));
            assert_eq!(n, 10_000);
        })
    });
    let fifty: Vec<Arc<Loaded>> = (0..50)
        .map(|i| {
            let name = format!("bench_{i:02}");
            load("bench_series", &name, config(&name, 100))
        })
        .collect();
    group.bench_function("50_plugins_x_100_series", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut calls = tokio::task::JoinSet::new();
                for loaded in &fifty {
                    calls.spawn(floor_call(runtime.clone(), loaded.clone()));
                }
                let mut samples = 0;
                while let Some(n) = calls.join_next().await {
                    samples += n.unwrap();
                }
                assert_eq!(samples, 5_000);
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(2));
    targets = bench_collect, bench_scrape, bench_encode, bench_floor
}
criterion_main!(benches);

/// The same allocator as the `wasm_exporter` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
