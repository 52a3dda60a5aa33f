//! The one wasmtime [`Engine`] of the host and the [`Linker`] every plugin
//! is linked with.
//!
//! Once per process: Cranelift, fuel metering, epoch interruption, the
//! pooling allocator, WASI p2 and the `host` import wired into the linker.
//! Nothing here runs per scrape except the epoch ticker's increment.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Result, anyhow};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
};

use crate::bindings::Plugin;
use crate::cache::CompileCache;
use crate::limits::MAX_PLUGIN_MEMORY_BYTES;
use crate::sandbox::Sandbox;

/// How often the epoch advances. A running plugin yields to the scheduler
/// and has its deadline checked once per tick, so this bounds how long one
/// plugin can hold a worker thread before others get a turn, and how late a
/// deadline can fire.
pub const EPOCH_TICK_MS: u64 = 2;

/// Instances that can exist at once across all concurrent scrapes (one per
/// plugin per scrape in flight). Past it, a plugin fails with reason `host`
/// rather than the host allocating without bound.
pub const POOL_INSTANCES: u32 = 1_000;

/// Linear memories across all pooled instances (most plugins have one; some
/// language runtimes have a few).
pub const POOL_MEMORIES: u32 = 2 * POOL_INSTANCES;

/// Wasm stack one call may use; deep recursion past it traps instead of
/// overflowing the host's stack.
pub const MAX_WASM_STACK_BYTES: usize = 512 << 10;

/// Memory of a pooled slot reset in place instead of by `madvise` when the
/// store is dropped: `madvise` on every drop stopped concurrent scrapes
/// from scaling (each call takes the process's memory-map lock). With the
/// `PAGEMAP_SCAN` ioctl (Linux 6.7+, used when available) only the pages
/// the plugin dirtied are reset; without it the whole amount is `memset`,
/// which made an empty plugin's scrape 3x slower (20 µs against 7 µs).
pub const KEEP_RESIDENT_BYTES: usize = 1 << 20;

/// The engine, the linker, the compile cache and the epoch ticker.
pub struct Runtime {
    engine: Engine,
    linker: Linker<Sandbox>,
    cache: Option<CompileCache>,
    compilations: AtomicU64,
    cache_hits: AtomicU64,
    ticker: Option<EpochTicker>,
}

impl Runtime {
    /// Builds the engine and linker and starts the epoch ticker; no compile
    /// cache.
    pub fn new() -> Result<Arc<Self>> {
        Runtime::with_cache(None)
    }

    /// Like [`Runtime::new`], with compiled plugins cached in `cache_dir`.
    pub fn with_cache(cache_dir: Option<&Path>) -> Result<Arc<Self>> {
        let engine = Engine::new(&engine_config())
            .map_err(|e| anyhow!("cannot create the wasm engine: {e}"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| anyhow!("cannot link WASI p2: {e}"))?;
        Plugin::add_to_linker::<Sandbox, HasSelf<Sandbox>>(&mut linker, |s| s)
            .map_err(|e| anyhow!("cannot link the host interface: {e}"))?;
        let cache = cache_dir
            .map(|dir| CompileCache::open(dir, &engine))
            .transpose()?;
        let ticker = EpochTicker::start(engine.clone());
        Ok(Arc::new(Runtime {
            engine,
            linker,
            cache,
            compilations: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
            ticker: Some(ticker),
        }))
    }

    /// Compiles a plugin file's bytes (whose sha256 is given), or loads the
    /// compilation from the cache. CPU-heavy: call it off the async
    /// runtime's worker threads.
    pub fn compile(&self, sha256: &str, bytes: &[u8]) -> wasmtime::Result<Component> {
        let Some(cache) = &self.cache else {
            self.compilations.fetch_add(1, Ordering::Relaxed);
            return Component::new(&self.engine, bytes);
        };
        if let Some(component) = cache.get(&self.engine, sha256) {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(component);
        }
        self.compilations.fetch_add(1, Ordering::Relaxed);
        let (component, artifact) = crate::cache::compile_to_artifact(&self.engine, bytes)?;
        cache.put(sha256, &artifact);
        Ok(component)
    }

    /// Plugins compiled since start (cache misses included).
    pub fn compilations(&self) -> u64 {
        self.compilations.load(Ordering::Relaxed)
    }

    /// Plugins loaded from the compile cache since start.
    pub fn cache_hits(&self) -> u64 {
        self.cache_hits.load(Ordering::Relaxed)
    }

    /// The engine plugins are compiled for.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker plugins are linked with.
    pub fn linker(&self) -> &Linker<Sandbox> {
        &self.linker
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.stop();
        }
    }
}

fn engine_config() -> Config {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(POOL_INSTANCES)
        .total_core_instances(8 * POOL_INSTANCES)
        .total_memories(POOL_MEMORIES)
        .total_tables(4 * POOL_INSTANCES)
        .total_stacks(POOL_INSTANCES)
        .max_core_instances_per_component(64)
        .max_memories_per_component(8)
        .max_tables_per_component(16)
        .max_core_instance_size(8 << 20)
        .max_component_instance_size(4 << 20)
        .max_memory_size(MAX_PLUGIN_MEMORY_BYTES as usize)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(64 << 10)
        .async_stack_keep_resident(128 << 10)
        .pagemap_scan(Enabled::Auto);
    let mut config = Config::new();
    config
        .consume_fuel(true)
        .epoch_interruption(true)
        .cranelift_opt_level(OptLevel::Speed)
        .max_wasm_stack(MAX_WASM_STACK_BYTES)
        .async_stack_size(MAX_WASM_STACK_BYTES + (1 << 20))
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// A thread that advances the engine's epoch every [`EPOCH_TICK_MS`].
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl EpochTicker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(EPOCH_TICK_MS));
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch ticker thread");
        EpochTicker { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}
