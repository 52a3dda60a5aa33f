//! What the benchmarks that run the host in process share: a registry of
//! copies of the benchmark plugin, and what a scrape is compared with, the
//! floor of one plugin's call (a fresh store and instance, `collect`, and
//! wasmtime's canonical lift of the result into the types its own
//! `bindgen!` generates, not the exposition core's, then drop; no
//! validation, merge, host series or encoding).
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use wasm_exporter::config::PluginSpec;
use wasm_exporter::registry::{FileStamp, Registry};
use wasm_exporter::reload;
use wasm_exporter::runtime::engine::Runtime;
use wasm_exporter::runtime::limits::PluginLimits;
use wasm_exporter::runtime::load;
use wasm_exporter::runtime::sandbox::{MemoryMeter, PluginContext, Sandbox};
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

/// A plugin version loaded as the scrape benchmarks load it, with its
/// context (name and config).
pub struct Loaded {
    pub version: Arc<load::PluginVersion>,
    pub context: Arc<PluginContext>,
    pub limits: PluginLimits,
}

/// Loads the plugin file `path` as `name` with `config`, under `limits`.
pub fn load_plugin(
    rt: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    path: &Path,
    name: &str,
    config: Vec<(String, String)>,
    limits: PluginLimits,
) -> Loaded {
    let context = Arc::new(PluginContext::new(name, config));
    let version = rt
        .block_on(load::load(runtime, path, &context, &limits))
        .map(Arc::new)
        .unwrap();
    Loaded {
        version,
        context,
        limits,
    }
}

/// The floor of one call: fresh store and instance, `collect`, the
/// result lifted into wasmtime's generated types; returns the sample count.
pub async fn floor_call(runtime: Arc<Runtime>, loaded: Arc<Loaded>) -> usize {
    let limits = &loaded.limits;
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

/// A registry of `plugins` copies of the plugin file `path` (the
/// benchmark plugin), each returning `series` series under `limits`.
pub fn registry_of(
    rt: &tokio::runtime::Runtime,
    runtime: &Arc<Runtime>,
    path: &Path,
    plugins: usize,
    series: usize,
    limits: PluginLimits,
) -> Arc<Registry> {
    let registry = Arc::new(Registry::new());
    let path = path.to_path_buf();
    for i in 0..plugins {
        let name = format!("bench_{i:02}");
        let config = vec![
            ("series".to_owned(), series.to_string()),
            ("prefix".to_owned(), name.clone()),
        ];
        let spec = PluginSpec {
            name,
            path: path.clone(),
            limits: limits.clone(),
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
        let (plugin, loaded) = rt.block_on(reload::load_spec(
            runtime, &spec, None, bytes, stamp, None, false,
        ));
        loaded.unwrap();
        registry.register(Arc::new(plugin));
    }
    registry
}

/// The versions `registry` loaded, each with its context and limits, for
/// [`floor_call`]: the floor runs the same compiled plugins as the scrape.
pub fn loaded_of(registry: &Registry) -> Vec<Arc<Loaded>> {
    registry
        .snapshot()
        .values()
        .map(|plugin| {
            Arc::new(Loaded {
                version: plugin.version().expect("every plugin loaded").clone(),
                context: plugin.context.clone(),
                limits: plugin.limits.clone(),
            })
        })
        .collect()
}
