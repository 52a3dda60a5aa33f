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

use wasm_exporter::config::PluginSpec;
use wasm_exporter::registry::{FileStamp, Registry};
use wasm_exporter::reload;
use wasm_exporter::runtime::collect::{self, CollectInput};
use wasm_exporter::runtime::engine::Runtime;
use wasm_exporter::runtime::limits::PluginLimits;
use wasm_exporter::runtime::load;
use wasm_exporter::runtime::sandbox::{MemoryMeter, PluginContext, Sandbox};
use wasm_exporter::scrape::{self, ScrapeRequest};
use wasm_exporter_exposition::encode::{self, Format};
use wasm_exporter_exposition::model::{Label, MetricFamily, MetricType, Value};
use wasmtime::Store;

/// wasmtime's own bindings of the contract, with its generated metric
/// types (not the exposition core's): what the canonical lift costs alone.
mod floor_bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "plugin",
        exports: { default: async },
    });
}
use floor_bindings::exports::wasm_exporter::collector::collector::CollectRequest;

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

fn registry_of(
    rt: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    plugins: usize,
    series: usize,
) -> Arc<Registry> {
    let registry = Arc::new(Registry::new());
    let path = test_plugin("bench_series");
    for i in 0..plugins {
        let name = format!("bench_{i:02}");
        let config = vec![
            ("series".to_owned(), series.to_string()),
            ("prefix".to_owned(), name.clone()),
        ];
        let spec = PluginSpec {
            name,
            path: path.clone(),
            limits: PluginLimits::default(),
            config,
            grants: Default::default(),
            targets: None,
            reuse: Default::default(),
        };
        let bytes = std::fs::read(&path).unwrap();
        let stamp = FileStamp {
            len: bytes.len() as u64,
            modified: None,
            sha256: load::sha256_hex(&bytes),
        };
        let (plugin, loaded) =
            rt.block_on(reload::load_spec(runtime, &spec, bytes, stamp, None, false));
        loaded.unwrap();
        registry.register(Arc::new(plugin));
    }
    registry
}

fn end_to_end(rt: &tokio::runtime::Runtime, registry: &Registry, expect_up: usize) -> usize {
    let request = Arc::new(ScrapeRequest {
        host_series: true,
        ..ScrapeRequest::default()
    });
    let result = rt.block_on(scrape::scrape(registry.snapshot(), request));
    assert_eq!(
        result.outcomes.iter().filter(|o| o.result.is_ok()).count(),
        expect_up
    );
    encode::Exposition::new(result.families, Format::Text, false)
        .map(|chunk| chunk.len())
        .sum()
}

fn bench_scrape(c: &mut Criterion) {
    let rt = tokio();
    let runtime = Runtime::new().unwrap();
    let mut group = c.benchmark_group("scrape");
    let one = registry_of(&rt, &runtime, 1, 10_000);
    group.bench_function("10k_series", |b| b.iter(|| end_to_end(&rt, &one, 1)));
    let fifty = registry_of(&rt, &runtime, 50, 100);
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

/// A plugin version loaded as the scrape benchmarks load it, with its
/// context (name and config).
struct Loaded {
    version: Arc<load::PluginVersion>,
    context: Arc<PluginContext>,
}

fn load_bench_series(
    rt: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    plugin: &str,
    name: &str,
    config: Vec<(String, String)>,
) -> Loaded {
    let context = Arc::new(PluginContext::new(name, config));
    let version = rt
        .block_on(load::load(
            runtime,
            &test_plugin(plugin),
            &context,
            &PluginLimits::default(),
        ))
        .map(Arc::new)
        .unwrap();
    Loaded { version, context }
}

/// The floor of one call: fresh store and instance, `collect`, the
/// result lifted into wasmtime's generated types; returns the sample count.
async fn floor_call(runtime: Arc<Runtime>, loaded: Arc<Loaded>) -> usize {
    let limits = PluginLimits::default();
    let sandbox = Sandbox::new(
        loaded.context.clone(),
        MemoryMeter::new(limits.memory_bytes),
    );
    let mut store = Store::new(runtime.engine(), sandbox);
    store.limiter(|s| &mut s.memory);
    store.set_fuel(limits.fuel).unwrap();
    store.set_epoch_deadline(u64::MAX / 2);
    let pre = floor_bindings::PluginPre::new(loaded.version.pre().instance_pre().clone()).unwrap();
    let plugin = pre.instantiate_async(&mut store).await.unwrap();
    let request = CollectRequest {
        target: None,
        params: Vec::new(),
        timeout_ms: 5000,
    };
    let families = plugin
        .wasm_exporter_collector_collector()
        .call_collect(&mut store, &request)
        .await
        .unwrap()
        .unwrap();
    families.iter().map(|f| f.metrics.len()).sum()
}

fn bench_floor(c: &mut Criterion) {
    let rt = tokio();
    let runtime = Runtime::new().unwrap();
    let mut group = c.benchmark_group("floor");
    let empty = Arc::new(load_bench_series(
        &rt,
        &runtime,
        "empty",
        "empty",
        Vec::new(),
    ));
    group.bench_function("empty", |b| {
        b.iter(|| rt.block_on(floor_call(runtime.clone(), empty.clone())))
    });
    let config = |name: &str, series: usize| {
        vec![
            ("series".to_owned(), series.to_string()),
            ("prefix".to_owned(), name.to_owned()),
        ]
    };
    let one = Arc::new(load_bench_series(
        &rt,
        &runtime,
        "bench_series",
        "bench_00",
        config("bench_00", 10_000),
    ));
    group.bench_function("10k_series", |b| {
        b.iter(|| {
            let n = rt.block_on(floor_call(runtime.clone(), one.clone()));
            assert_eq!(n, 10_000);
        })
    });
    let fifty: Vec<Arc<Loaded>> = (0..50)
        .map(|i| {
            let name = format!("bench_{i:02}");
            Arc::new(load_bench_series(
                &rt,
                &runtime,
                "bench_series",
                &name,
                config(&name, 100),
            ))
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
