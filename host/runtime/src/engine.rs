//! The one wasmtime [`Engine`] of the host, the [`Linker`] every plugin is
//! linked with, and the threads plugins run on.
//!
//! Once per process: Cranelift, fuel metering, epoch interruption, the
//! pooling allocator (with its slots handed out by [`crate::pool`]), the
//! host's memory budget ([`crate::budget`]), WASI p2 and the `host` import
//! wired into the linker, and a thread pool of its own for plugin work.
//! Plugins run there, not on the threads that serve HTTP: lifting and
//! checking a large result is CPU work that cannot yield, and it must not
//! stall `/-/healthy` or another tenant's scrape. Nothing here runs per
//! scrape except the epoch ticker's increment.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Result, anyhow};
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
};

use crate::bindings::METRICS_INTERFACE;
use crate::budget::MemoryBudget;
use crate::cache::{self, CompileCache};
use crate::capabilities;
use crate::compiler::{self, CompileWorker, WorkerError};
use crate::host_calls;
use crate::limits::{
    DEFAULT_KEEP_RESIDENT_BYTES, DEFAULT_MAX_INSTANCES, DEFAULT_MEMORY_BUDGET_BYTES,
    DEFAULT_WARM_SLOTS, MAX_PLUGIN_MEMORY_BYTES, MAX_TABLE_ELEMENTS,
};
use crate::pool::{
    MAX_CORE_INSTANCES_PER_COMPONENT, MAX_MEMORIES_PER_COMPONENT, MAX_TABLES_PER_COMPONENT,
    PoolSize, Slots,
};
use crate::sandbox::Sandbox;

/// How often the epoch advances. A running plugin yields to the scheduler
/// and has its deadline checked once per tick, so this bounds how long one
/// plugin can hold a worker thread before others get a turn, and how late a
/// deadline can fire.
pub const EPOCH_TICK_MS: u64 = 2;

/// Wasm stack one call may use; deep recursion past it traps instead of
/// overflowing the host's stack.
pub const MAX_WASM_STACK_BYTES: usize = 512 << 10;

/// How to build a [`Runtime`].
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Where compiled plugins are cached; none: compile at every start.
    pub cache_dir: Option<PathBuf>,
    /// Plugin instances alive at once ([`DEFAULT_MAX_INSTANCES`]).
    pub max_instances: u32,
    /// Host memory running plugins may hold ([`DEFAULT_MEMORY_BUDGET_BYTES`]).
    pub memory_budget_bytes: u64,
    /// Threads that run plugins; 0: one per core.
    pub threads: usize,
    /// Unused pool slots kept warm for the plugin that used them last
    /// ([`DEFAULT_WARM_SLOTS`]).
    pub warm_slots: u32,
    /// Linear memory each pool slot keeps resident between calls
    /// ([`DEFAULT_KEEP_RESIDENT_BYTES`]).
    pub keep_resident_bytes: usize,
    /// Compile plugins in a child process started this way (see
    /// [`crate::compiler`]); none: in this process.
    pub compile_worker: Option<CompileWorker>,
    /// Called after each plugin file is compiled or loaded from the cache,
    /// to hand the memory the allocator kept from it back to the system
    /// (the binary passes its allocator's collect).
    pub release_memory: Option<fn()>,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            cache_dir: None,
            max_instances: DEFAULT_MAX_INSTANCES,
            memory_budget_bytes: DEFAULT_MEMORY_BUDGET_BYTES,
            threads: 0,
            warm_slots: DEFAULT_WARM_SLOTS,
            keep_resident_bytes: DEFAULT_KEEP_RESIDENT_BYTES,
            compile_worker: None,
            release_memory: None,
        }
    }
}

/// The compilation of one file, shared by the loads that asked for it
/// while it ran.
type CompileTurn = Arc<Mutex<Option<Component>>>;

/// The engine, the linker, the compile cache, the pool's slots, the
/// memory budget, the plugin threads and the epoch ticker.
pub struct Runtime {
    engine: Engine,
    linker: Linker<Sandbox>,
    cache: Option<CompileCache>,
    compile_worker: Option<CompileWorker>,
    release_memory: Option<fn()>,
    compilations: AtomicU64,
    cache_hits: AtomicU64,
    /// One entry per file being compiled or loaded: the loads of one file
    /// under several plugin names (one per configuration) wait for the
    /// first one's result instead of each compiling it (seconds and
    /// hundreds of MiB each for a Python or JavaScript plugin).
    compiling: Mutex<HashMap<String, CompileTurn>>,
    pool_size: PoolSize,
    slots: Slots,
    budget: MemoryBudget,
    executor: Option<tokio::runtime::Runtime>,
    ticker: Option<EpochTicker>,
}

impl Runtime {
    /// Builds the engine and linker and starts the epoch ticker; no compile
    /// cache, default pool and budget.
    pub fn new() -> Result<Arc<Self>> {
        Runtime::with_options(RuntimeOptions::default())
    }

    /// Like [`Runtime::new`], with compiled plugins cached in `cache_dir`.
    pub fn with_cache(cache_dir: Option<&Path>) -> Result<Arc<Self>> {
        Runtime::with_options(RuntimeOptions {
            cache_dir: cache_dir.map(Path::to_owned),
            ..RuntimeOptions::default()
        })
    }

    /// A runtime built as `options` say.
    pub fn with_options(options: RuntimeOptions) -> Result<Arc<Self>> {
        let pool_size = PoolSize::for_instances(options.max_instances);
        let engine = Engine::new(&engine_config(pool_size, &options))
            .map_err(|e| anyhow!("cannot create the wasm engine: {e}"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| anyhow!("cannot link WASI p2: {e}"))?;
        host_calls::add_to_linker(&mut linker)
            .map_err(|e| anyhow!("cannot link the host interface: {e}"))?;
        capabilities::add_to_linker(&mut linker)
            .map_err(|e| anyhow!("cannot link the capabilities: {e}"))?;
        // `metrics` declares types only; plugins import it all the same.
        linker
            .instance(METRICS_INTERFACE)
            .map_err(|e| anyhow!("cannot link the metrics interface: {e}"))?;
        let cache = options
            .cache_dir
            .as_deref()
            .map(|dir| CompileCache::open(dir, &engine))
            .transpose()?;
        let threads = match options.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let executor = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("plugin")
            .enable_all()
            .build()
            .map_err(|e| anyhow!("cannot start the plugin threads: {e}"))?;
        let ticker = EpochTicker::start(engine.clone());
        Ok(Arc::new(Runtime {
            engine,
            linker,
            cache,
            compile_worker: options.compile_worker,
            release_memory: options.release_memory,
            compilations: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
            compiling: Mutex::default(),
            pool_size,
            slots: Slots::new(pool_size),
            budget: MemoryBudget::new(options.memory_budget_bytes),
            executor: Some(executor),
            ticker: Some(ticker),
        }))
    }

    /// Runs `work` on the plugin threads and waits for it from wherever
    /// the caller runs. `None` if the task panicked or the runtime is
    /// shutting down.
    pub async fn run<F>(&self, work: F) -> Option<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let executor = self.executor.as_ref()?;
        executor.spawn(work).await.ok()
    }

    /// The pool's size.
    pub fn pool_size(&self) -> PoolSize {
        self.pool_size
    }

    /// The pool's free slots.
    pub fn slots(&self) -> &Slots {
        &self.slots
    }

    /// The host's memory budget for plugins.
    pub fn budget(&self) -> &MemoryBudget {
        &self.budget
    }

    /// Compiles a plugin file's bytes (whose sha256 is given), or loads the
    /// compilation from the cache. CPU-heavy: call it off the async
    /// runtime's worker threads.
    pub fn compile(&self, sha256: &str, bytes: &[u8]) -> wasmtime::Result<Component> {
        let turn = self
            .compiling
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(sha256.to_owned())
            .or_default()
            .clone();
        let component = {
            let mut done = turn.lock().unwrap_or_else(PoisonError::into_inner);
            match &*done {
                Some(component) => {
                    self.cache_hits.fetch_add(1, Ordering::Relaxed);
                    Ok(component.clone())
                }
                None => {
                    let component = self.compile_or_load(sha256, bytes);
                    if let Ok(component) = &component {
                        *done = Some(component.clone());
                    }
                    component
                }
            }
        };
        let mut compiling = self
            .compiling
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // The map's reference and ours: nobody else waits for this file.
        if Arc::strong_count(&turn) == 2 {
            compiling.remove(sha256);
        }
        drop(compiling);
        if let Some(release) = self.release_memory {
            release();
        }
        component
    }

    fn compile_or_load(&self, sha256: &str, bytes: &[u8]) -> wasmtime::Result<Component> {
        if let Some(component) = self
            .cache
            .as_ref()
            .and_then(|cache| cache.get(&self.engine, sha256))
        {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(component);
        }
        self.compilations.fetch_add(1, Ordering::Relaxed);
        let artifact = match self.compile_in_worker(bytes)? {
            Some(artifact) => artifact,
            None => self.engine.precompile_component(bytes)?,
        };
        let component = cache::deserialize_own(&self.engine, &artifact)?;
        if let Some(cache) = &self.cache {
            cache.put(sha256, &artifact);
        }
        Ok(component)
    }

    /// The artifact compiled by the worker process, if there is one and it
    /// could be run (`None`: compile in this process).
    fn compile_in_worker(&self, bytes: &[u8]) -> wasmtime::Result<Option<Vec<u8>>> {
        let Some(worker) = &self.compile_worker else {
            return Ok(None);
        };
        match compiler::compile(worker, bytes) {
            Ok(artifact) => Ok(Some(artifact)),
            Err(WorkerError::Failed(message)) => Err(wasmtime::Error::msg(message)),
            Err(WorkerError::Unavailable(reason)) => {
                tracing::warn!(%reason, "compiling in the host process instead");
                Ok(None)
            }
        }
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

    /// How many times the epoch has advanced.
    pub fn epoch_ticks(&self) -> u64 {
        self.ticker
            .as_ref()
            .map_or(0, |t| t.ticks.load(Ordering::Relaxed))
    }

    /// Keeps the epoch ticking for a call (its deadline and its yields to
    /// other tasks) until the guard is dropped.
    pub fn ticking(&self) -> Ticking {
        match &self.ticker {
            Some(ticker) => ticker.ticking(),
            None => Ticking { running: None },
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.stop();
        }
        // Not `drop`: that waits for the threads, and the last reference
        // may go from inside an async task.
        if let Some(executor) = self.executor.take() {
            executor.shutdown_background();
        }
    }
}

/// The compiler process's side (see [`crate::compiler`]): compiles the
/// component on stdin for an engine configured as a [`Runtime`] with
/// `max_instances` configures its own, and writes the artifact to stdout.
pub fn compile_worker_main(max_instances: u32) -> wasmtime::Result<()> {
    let engine = Engine::new(&engine_config(
        PoolSize::for_instances(max_instances),
        &RuntimeOptions::default(),
    ))?;
    compiler::worker_main(&engine)
}

/// The engine's configuration. What decides how compiled code looks (and
/// so whether a cached artifact fits) depends on `size` only; `options`
/// tune how pool slots are reused.
fn engine_config(size: PoolSize, options: &RuntimeOptions) -> Config {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(size.instances)
        // Core instances are only counted, not reserved: room for every
        // component to use its most.
        .total_core_instances(
            size.instances
                .saturating_mul(MAX_CORE_INSTANCES_PER_COMPONENT),
        )
        .total_memories(size.memories)
        .total_tables(size.tables)
        .total_stacks(size.instances)
        .max_core_instances_per_component(MAX_CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MAX_MEMORIES_PER_COMPONENT)
        .max_tables_per_component(MAX_TABLES_PER_COMPONENT)
        .max_core_instance_size(8 << 20)
        .max_component_instance_size(4 << 20)
        .table_elements(MAX_TABLE_ELEMENTS)
        .max_memory_size(MAX_PLUGIN_MEMORY_BYTES as usize)
        .linear_memory_keep_resident(options.keep_resident_bytes)
        .max_unused_warm_slots(options.warm_slots)
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

/// A thread that advances the engine's epoch every [`EPOCH_TICK_MS`]
/// while a call runs, and sleeps while none does (an idle exporter does
/// not wake 500 times a second).
struct EpochTicker {
    stop: Arc<AtomicBool>,
    running: Arc<AtomicUsize>,
    ticks: Arc<AtomicU64>,
    thread: JoinHandle<()>,
}

impl EpochTicker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let running = Arc::new(AtomicUsize::new(0));
        let ticks = Arc::new(AtomicU64::new(0));
        let (flag, calls, count) = (stop.clone(), running.clone(), ticks.clone());
        let thread = std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    if calls.load(Ordering::SeqCst) == 0 {
                        // Woken by the next call (or, at worst, a second
                        // later); an unpark before the park is not lost.
                        std::thread::park_timeout(Duration::from_secs(1));
                        continue;
                    }
                    std::thread::sleep(Duration::from_millis(EPOCH_TICK_MS));
                    engine.increment_epoch();
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
            .expect("spawning the epoch ticker thread");
        EpochTicker {
            stop,
            running,
            ticks,
            thread,
        }
    }

    fn ticking(&self) -> Ticking {
        if self.running.fetch_add(1, Ordering::SeqCst) == 0 {
            self.thread.thread().unpark();
        }
        Ticking {
            running: Some(self.running.clone()),
        }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.thread().unpark();
        let _ = self.thread.join();
    }
}

/// A call in progress: the epoch ticks while one is held.
pub struct Ticking {
    running: Option<Arc<AtomicUsize>>,
}

impl Drop for Ticking {
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            running.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits (bounded) until `ok` holds.
    fn eventually(ok: impl Fn() -> bool) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn the_epoch_ticks_only_while_a_call_runs() {
        let runtime = Runtime::new().unwrap();
        let idle = runtime.epoch_ticks();
        std::thread::sleep(Duration::from_millis(20 * EPOCH_TICK_MS));
        assert_eq!(runtime.epoch_ticks(), idle, "no call, no tick");
        let call = runtime.ticking();
        assert!(
            eventually(|| runtime.epoch_ticks() >= idle + 3),
            "a call keeps the epoch ticking"
        );
        drop(call);
        // The tick under way when the call ended may still come; then none.
        assert!(
            eventually(|| {
                let before = runtime.epoch_ticks();
                std::thread::sleep(Duration::from_millis(20 * EPOCH_TICK_MS));
                runtime.epoch_ticks() == before
            }),
            "idle again"
        );
    }
    use crate::sandbox::{MemoryMeter, PluginContext};
    use wasm_encoder::{
        AbstractHeapType, CodeSection, ExportKind, ExportSection, Function, FunctionSection,
        HeapType, Instruction, Module, RefType, TableSection, TableType, TypeSection, ValType,
    };

    /// A core module with a one-element table and `grow(n)`, which returns
    /// `table.grow`'s answer: the old size, or -1 when refused.
    fn table_grower() -> Vec<u8> {
        let mut module = Module::new();
        let mut types = TypeSection::new();
        types.ty().function([ValType::I32], [ValType::I32]);
        module.section(&types);
        let mut functions = FunctionSection::new();
        functions.function(0);
        module.section(&functions);
        let mut tables = TableSection::new();
        tables.table(TableType {
            element_type: RefType::FUNCREF,
            table64: false,
            minimum: 1,
            maximum: None,
            shared: false,
        });
        module.section(&tables);
        let mut exports = ExportSection::new();
        exports.export("grow", ExportKind::Func, 0);
        module.section(&exports);
        let mut code = CodeSection::new();
        let mut grow = Function::new([]);
        grow.instruction(&Instruction::RefNull(HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Func,
        }))
        .instruction(&Instruction::LocalGet(0))
        .instruction(&Instruction::TableGrow(0))
        .instruction(&Instruction::End);
        code.function(&grow);
        module.section(&code);
        module.finish()
    }

    /// The table limit the documentation states is the one that holds:
    /// neither the limiter nor the pool's table slots refuse less.
    #[test]
    fn tables_grow_to_the_documented_limit_and_no_further() {
        let runtime = Runtime::new().unwrap();
        let module = wasmtime::Module::new(runtime.engine(), table_grower()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let context = Arc::new(PluginContext::new("tables", Vec::new()));
            let sandbox = Sandbox::new(context, MemoryMeter::new(64 << 20));
            let mut store = wasmtime::Store::new(runtime.engine(), sandbox);
            store.limiter(|s| &mut s.memory);
            store.set_fuel(1 << 30).unwrap();
            store.set_epoch_deadline(1 << 40);
            let instance = wasmtime::Instance::new_async(&mut store, &module, &[])
                .await
                .unwrap();
            let grow = instance
                .get_typed_func::<i32, i32>(&mut store, "grow")
                .unwrap();
            let up_to_the_limit = (MAX_TABLE_ELEMENTS - 1) as i32;
            assert_eq!(
                grow.call_async(&mut store, up_to_the_limit).await.unwrap(),
                1,
                "growing to the limit succeeds"
            );
            assert_eq!(
                grow.call_async(&mut store, 1).await.unwrap(),
                -1,
                "one past the limit is refused"
            );
        });
    }
}
