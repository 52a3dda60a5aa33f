//! The one path from a linked plugin to a call of one of its exports: a
//! fresh store and instance under the plugin's limits, the call, and the
//! failure classified.
//!
//! Per call: a new [`Sandbox`] and store, the fuel budget, an epoch
//! deadline that yields to other tasks every tick and interrupts the guest
//! at the deadline, and a `tokio` timeout around instantiate + call for
//! guests blocked inside a host call (where epochs cannot reach them). The
//! store is dropped when the call returns, trapped or not, so nothing a
//! plugin does survives into its next call. `collect` and `describe` both
//! go through [`call`]; neither builds a store of its own.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Engine, Store, Trap, UpdateDeadline};

use crate::bindings::model::{CollectRequest, Descriptor, MetricFamily};
use crate::bindings::{Plugin, PluginPre};
use crate::engine::EPOCH_TICK_MS;
use crate::limits::PluginLimits;
use crate::outcome::{Failure, FailureReason, root_message};
use crate::sandbox::{PluginContext, Sandbox};

/// Extra time the `tokio` timeout allows past the deadline, so a guest
/// running wasm is stopped by its epoch deadline (and classified the same
/// way every time) before the timeout fires.
const TIMEOUT_GRACE: Duration = Duration::from_millis(4 * EPOCH_TICK_MS);

/// One export of the `collector` interface, called on a fresh instance.
pub trait Export {
    /// What the export returns.
    type Output: Send;

    /// Calls the export of `plugin` in `store`.
    fn call(
        self,
        plugin: &Plugin,
        store: &mut Store<Sandbox>,
    ) -> impl Future<Output = wasmtime::Result<Self::Output>> + Send;
}

/// `describe`: the families the plugin may return.
pub struct Describe;

impl Export for Describe {
    type Output = Vec<Descriptor>;

    async fn call(
        self,
        plugin: &Plugin,
        store: &mut Store<Sandbox>,
    ) -> wasmtime::Result<Vec<Descriptor>> {
        plugin
            .wasm_exporter_collector_collector()
            .call_describe(store)
            .await
    }
}

/// `collect`: one scrape's families, or the plugin's own error.
pub struct Collect<'a>(pub &'a CollectRequest);

impl Export for Collect<'_> {
    type Output = Result<Vec<MetricFamily>, String>;

    async fn call(
        self,
        plugin: &Plugin,
        store: &mut Store<Sandbox>,
    ) -> wasmtime::Result<Result<Vec<MetricFamily>, String>> {
        plugin
            .wasm_exporter_collector_collector()
            .call_collect(store, self.0)
            .await
    }
}

/// What one call came to.
#[derive(Debug)]
pub struct Called<T> {
    /// What the export returned, or why the call failed.
    pub result: Result<T, Failure>,
    /// Fuel the call burned (instantiation included).
    pub fuel_consumed: u64,
    /// Peak linear memory of the instance.
    pub memory_peak_bytes: u64,
}

/// Instantiates `pre` in a fresh store under `limits` and calls `export`,
/// giving up after `time_allowed`. Never panics on anything the plugin
/// does.
pub async fn call<E: Export>(
    pre: &PluginPre<Sandbox>,
    engine: &Engine,
    context: &Arc<PluginContext>,
    limits: &PluginLimits,
    time_allowed: Duration,
    export: E,
) -> Called<E::Output> {
    let deadline = Instant::now() + time_allowed;
    let mut store = new_store(engine, context, limits, deadline);
    let mut instantiated = false;
    let call = async {
        let plugin = pre.instantiate_async(&mut store).await?;
        instantiated = true;
        export.call(&plugin, &mut store).await
    };
    let called = tokio::time::timeout(time_allowed + TIMEOUT_GRACE, call).await;
    let fuel_consumed = limits.fuel - store.get_fuel().unwrap_or(0);
    let sandbox = store.data();
    let last_stderr = sandbox.flush_output();
    let memory_peak_bytes = sandbox.memory.peak_bytes as u64;
    let result = match called {
        Err(_) => Err(timeout_failure(time_allowed)),
        Ok(Err(e)) => Err(with_stderr(
            classify(&e, sandbox, instantiated, time_allowed),
            last_stderr,
        )),
        Ok(Ok(output)) => Ok(output),
    };
    Called {
        result,
        fuel_consumed,
        memory_peak_bytes,
    }
}

fn new_store(
    engine: &Engine,
    context: &Arc<PluginContext>,
    limits: &PluginLimits,
    deadline: Instant,
) -> Store<Sandbox> {
    let mut store = Store::new(engine, Sandbox::new(context.clone(), limits.memory_bytes));
    store.limiter(|s| &mut s.memory);
    store
        .set_fuel(limits.fuel)
        .expect("fuel is enabled on the engine");
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
    store
}

/// Adds the plugin's last stderr line to a trap (where a Rust panic
/// message lands), so the operator sees why it trapped.
fn with_stderr(mut failure: Failure, last_stderr: Option<String>) -> Failure {
    if failure.reason == FailureReason::Trap
        && let Some(line) = last_stderr
    {
        failure = Failure::new(
            FailureReason::Trap,
            format!("{} (stderr: {line})", failure.message),
        );
    }
    failure
}

fn timeout_failure(time_allowed: Duration) -> Failure {
    Failure::new(
        FailureReason::Timeout,
        format!("did not finish within {} ms", time_allowed.as_millis()),
    )
}

fn classify(
    e: &wasmtime::Error,
    sandbox: &Sandbox,
    instantiated: bool,
    time_allowed: Duration,
) -> Failure {
    if sandbox.memory.refused {
        return Failure::new(FailureReason::Memory, root_message(e));
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Failure::new(FailureReason::Fuel, "ran out of fuel"),
        Some(Trap::Interrupt) => timeout_failure(time_allowed),
        Some(trap) => Failure::new(FailureReason::Trap, trap.to_string()),
        None if !instantiated => Failure::new(
            FailureReason::Host,
            format!("cannot instantiate: {}", root_message(e)),
        ),
        None => Failure::new(FailureReason::Trap, root_message(e)),
    }
}
