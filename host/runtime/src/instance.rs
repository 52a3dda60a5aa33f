//! The one path from a linked plugin to a call of one of its exports: a
//! fresh store and instance under the plugin's limits, the call, and the
//! failure classified.
//!
//! Per call, in order: a slot of the instance pool and the host memory its
//! result may take, waited for (in line, within the deadline) rather than
//! failed for; then a new [`Sandbox`] and store with the fuel budget, the
//! memory meter, a cap on the bytes any one copy between guest and host
//! may take (`hostcall fuel`: an oversized result is refused while it is
//! copied, not after), an epoch deadline that yields to other tasks every
//! tick, charges host work to the fuel and interrupts the guest at the
//! deadline, and a `tokio` timeout around instantiate + call for guests
//! blocked inside a host call (where epochs cannot reach them). The store
//! is dropped when the call returns, trapped or not, so nothing a plugin
//! does survives into its next call. `collect` and `describe` both go
//! through [`call`]; neither builds a store of its own.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, ComponentExportIndex, Instance};
use wasmtime::{Store, Trap, UpdateDeadline};

use crate::bindings::model::{CollectRequest, Descriptor};
use crate::bindings::{COLLECTOR_EXPORT, Plugin, PluginPre};
use crate::budget::Reservation;
use crate::capabilities;
use crate::engine::{EPOCH_TICK_MS, Runtime};
use crate::grants::Host;
use crate::limits::PluginLimits;
use crate::outcome::{Failure, FailureReason, root_message};
use crate::pool::{Needs, Share};
use crate::read::{InPlace, Reading};
use crate::sandbox::{HostWork, MemoryMeter, PluginContext, Reach, Sandbox};

/// Extra time the `tokio` timeout allows past the deadline, so a guest
/// running wasm is stopped by its epoch deadline (and classified the same
/// way every time) before the timeout fires.
const TIMEOUT_GRACE: Duration = Duration::from_millis(4 * EPOCH_TICK_MS);

/// One export of the `collector` interface, called on a fresh instance.
pub trait Export {
    /// What the export returns.
    type Output: Send;

    /// Calls the export of `instance` in `store`.
    fn call(
        self,
        instance: &Instance,
        store: &mut Store<Sandbox>,
    ) -> impl Future<Output = wasmtime::Result<Self::Output>> + Send;
}

/// `describe`: the families the plugin may return.
pub struct Describe;

impl Export for Describe {
    type Output = Vec<Descriptor>;

    async fn call(
        self,
        instance: &Instance,
        store: &mut Store<Sandbox>,
    ) -> wasmtime::Result<Vec<Descriptor>> {
        let plugin = Plugin::new(&mut *store, instance)?;
        plugin
            .wasm_exporter_collector_collector()
            .call_describe(store)
            .await
    }
}

/// `collect`: one scrape's families, read in place, checked and encoded
/// ([`crate::read`]), or the plugin's own error.
pub struct Collect<'a> {
    /// The export, found once when the plugin was loaded
    /// ([`collect_export`]).
    pub export: ComponentExportIndex,
    /// What the scrape asks.
    pub request: &'a CollectRequest,
    /// What the result is checked against.
    pub reading: Reading,
}

impl Export for Collect<'_> {
    type Output = Result<InPlace, String>;

    async fn call(
        self,
        instance: &Instance,
        store: &mut Store<Sandbox>,
    ) -> wasmtime::Result<Result<InPlace, String>> {
        let collect = instance.get_typed_func::<(&CollectRequest,), (Result<InPlace, String>,)>(
            &mut *store,
            &self.export,
        )?;
        let call = collect.call_async(&mut *store, (self.request,));
        let (result,) = self.reading.scope(call).await?;
        Ok(result)
    }
}

/// The `collect` export of `component`, if it has the collector
/// interface.
pub fn collect_export(component: &Component) -> Option<ComponentExportIndex> {
    let collector = component.get_export_index(None, COLLECTOR_EXPORT)?;
    component.get_export_index(Some(&collector), "collect")
}

/// What one call may use.
#[derive(Debug, Clone)]
pub struct Allowance<'a> {
    /// The plugin's limits (fuel, memory).
    pub limits: &'a PluginLimits,
    /// Wall time from now, waiting for a slot included.
    pub time_allowed: Duration,
    /// Host bytes its result (or any one copy between guest and host) may
    /// take.
    pub result_bytes: u64,
    /// The target of the probe this call answers, when the plugin is
    /// granted its probe's target.
    pub probe_host: Option<Host>,
    /// The share of the pool its tenant's calls draw from, if it serves a
    /// tenant.
    pub share: Option<&'a Share>,
}

/// What one call came to.
#[derive(Debug)]
pub struct Called<T> {
    /// What the export returned, or why the call failed.
    pub result: Result<T, Failure>,
    /// Fuel the call burned (instantiation and host work included).
    pub fuel_consumed: u64,
    /// Peak linear memory of the instance.
    pub memory_peak_bytes: u64,
    /// The share of the host's memory budget the result holds (the whole
    /// `result_bytes` until the caller shrinks it).
    pub reservation: Option<Reservation>,
}

/// The message of wasmtime's refusal to copy more than the store's
/// hostcall fuel allows (its error type is private).
const COPY_REFUSED: &str = "fuel allocated for hostcalls has been exhausted";

/// Instantiates `pre` (a component needing `needs` of the pool) in a fresh
/// store of `runtime` and calls `export`, within `allowance`. Never panics
/// on anything the plugin does.
pub async fn call<E: Export>(
    runtime: &Runtime,
    pre: &PluginPre<Sandbox>,
    needs: Needs,
    context: &Arc<PluginContext>,
    allowance: Allowance<'_>,
    export: E,
) -> Called<E::Output> {
    let started = Instant::now();
    let deadline = started + allowance.time_allowed;
    let limits = allowance.limits;
    let not_run = |failure| Called {
        result: Err(failure),
        fuel_consumed: 0,
        memory_peak_bytes: 0,
        reservation: None,
    };
    // All the call may take, at once: its linear memory up to the cap and
    // its result up to the copy limit. Taken whole, so no call holds part
    // of the budget while it waits for more.
    let most = limits.memory_bytes.saturating_add(allowance.result_bytes);
    // Its tenant's share first, then the pool, then the budget: always in
    // this order.
    let _share = match allowance.share {
        None => None,
        Some(share) => match share.take(most, deadline).await {
            Some(held) => Some(held),
            None => {
                return not_run(waited(
                    started,
                    format!(
                        "a plugin instance of its tenant's share ({} instances, {} bytes; {} and {} in use)",
                        share.instances(),
                        share.memory_bytes(),
                        share.instances_in_use(),
                        share.memory_in_use_bytes()
                    ),
                ));
            }
        },
    };
    let Some(_slots) = runtime.slots().take(needs, deadline).await else {
        return not_run(waited(
            started,
            format!(
                "a free plugin instance (all {} in use)",
                runtime.pool_size().instances
            ),
        ));
    };
    let Some(mut reservation) = runtime.budget().reserve(most, deadline).await else {
        return not_run(waited(
            started,
            format!(
                "{most} bytes of the host's memory budget ({} of {} in use)",
                runtime.budget().reserved_bytes(),
                runtime.budget().total_bytes()
            ),
        ));
    };
    // The epoch ticks while the store lives (its deadline, its yields).
    let _ticking = runtime.ticking();
    let reach = Arc::new(Reach::new(
        context.clone(),
        allowance.probe_host.clone(),
        deadline,
        limits.memory_bytes,
        HostWork::default(),
    ));
    let mut store = new_store(runtime, reach, limits, deadline);
    store.set_hostcall_fuel(usize::try_from(allowance.result_bytes).unwrap_or(usize::MAX));
    let mut instantiated = false;
    let call = async {
        let instance = pre.instance_pre().instantiate_async(&mut store).await?;
        instantiated = true;
        export.call(&instance, &mut store).await
    };
    let called = tokio::time::timeout_at((deadline + TIMEOUT_GRACE).into(), call).await;
    let fuel_left = store.get_fuel().unwrap_or(0);
    let owed = store.data().host_work.take();
    let fuel_consumed = (limits.fuel - fuel_left).saturating_add(owed);
    let sandbox = store.data();
    let last_stderr = sandbox.flush_output();
    let memory_peak_bytes = sandbox.memory.peak_bytes as u64;
    let result = match called {
        Err(_) => Err(timeout_failure(allowance.time_allowed)),
        Ok(Err(e)) => Err(with_stderr(
            classify(&e, sandbox, instantiated, &allowance),
            last_stderr,
        )),
        // Host work done after the last epoch tick, past the fuel left.
        Ok(Ok(_)) if owed > fuel_left => Err(Failure::new(FailureReason::Fuel, "ran out of fuel")),
        Ok(Ok(output)) => Ok(output),
    };
    drop(store);
    // The linear memory is gone with the store; the result's share stays.
    reservation.shrink_to(allowance.result_bytes);
    Called {
        result,
        fuel_consumed,
        memory_peak_bytes,
        reservation: Some(reservation),
    }
}

/// A call that waited for `what` until its deadline, and so never ran.
fn waited(started: Instant, what: String) -> Failure {
    Failure::new(
        FailureReason::Timeout,
        format!(
            "waited {} ms for {what} and reached its deadline",
            started.elapsed().as_millis()
        ),
    )
}

fn new_store(
    runtime: &Runtime,
    reach: Arc<Reach>,
    limits: &PluginLimits,
    deadline: Instant,
) -> Store<Sandbox> {
    let meter = MemoryMeter::new(limits.memory_bytes);
    let open = reach.clone();
    let sandbox = Sandbox::with_reach(reach, meter, |builder| {
        capabilities::open(builder, &open);
    });
    let mut store = Store::new(runtime.engine(), sandbox);
    store.limiter(|s| &mut s.memory);
    store
        .set_fuel(limits.fuel)
        .expect("fuel is enabled on the engine");
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |mut store| {
        // Host work done since the last tick is paid from the fuel; at zero
        // the guest stops with `fuel` at its next instruction.
        let owed = store.data().host_work.take();
        if owed > 0 {
            let left = store.get_fuel()?;
            store.set_fuel(left.saturating_sub(owed))?;
        }
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
    allowance: &Allowance<'_>,
) -> Failure {
    if let Some(why) = &sandbox.memory.refused {
        return Failure::new(FailureReason::Memory, why.clone());
    }
    if e.chain()
        .any(|cause| cause.to_string().contains(COPY_REFUSED))
    {
        return Failure::new(
            FailureReason::TooLarge,
            format!(
                "tried to copy more than {} bytes into the host in one go \
                 (its result, or one call's data; the limit is {} x max_bytes)",
                allowance.result_bytes,
                crate::limits::RESULT_BYTES_PER_EXPOSITION_BYTE
            ),
        );
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Failure::new(FailureReason::Fuel, "ran out of fuel"),
        Some(Trap::Interrupt) => timeout_failure(allowance.time_allowed),
        Some(trap) => Failure::new(FailureReason::Trap, trap.to_string()),
        None if !instantiated => Failure::new(
            FailureReason::Host,
            format!("cannot instantiate: {}", root_message(e)),
        ),
        None => Failure::new(FailureReason::Trap, root_message(e)),
    }
}
