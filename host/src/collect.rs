//! One plugin's `collect` (or `describe`), in a fresh store, under its
//! limits, with any failure classified.
//!
//! Per call: a new [`Sandbox`] and store, the fuel budget, an epoch deadline
//! that yields to other tasks every tick and interrupts the guest at the
//! deadline, and a `tokio` timeout around the whole call for guests blocked
//! inside a host call (where epochs cannot reach them). The store is dropped
//! when the call returns, trapped or not.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Engine, Store, Trap, UpdateDeadline};

use crate::engine::EPOCH_TICK_MS;
use crate::limits::PluginLimits;
use crate::load::{PluginVersion, root_message};
use crate::model::{CollectRequest, Descriptor, MetricFamily};
use crate::sandbox::{PluginContext, Sandbox};
use crate::validate::{self, OutputStats};

/// Why a plugin is down for a scrape. The label values of
/// `wasm_exporter_plugin_failures_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    /// It ran past its deadline.
    Timeout,
    /// It ran out of fuel.
    Fuel,
    /// It tried to grow memory past its cap.
    Memory,
    /// It trapped (panic, stack overflow, unreachable, ...).
    Trap,
    /// It returned `err`.
    Error,
    /// Its output broke a rule of the exposition format.
    InvalidOutput,
    /// Its output was over the series or bytes cap.
    TooLarge,
    /// Its output clashed with another plugin's or the host's.
    Conflict,
    /// Its file could not be loaded.
    Load,
    /// The host could not run it (e.g. the instance pool was exhausted).
    Host,
}

impl FailureReason {
    /// Every reason, in label order.
    pub const ALL: [FailureReason; 10] = [
        FailureReason::Timeout,
        FailureReason::Fuel,
        FailureReason::Memory,
        FailureReason::Trap,
        FailureReason::Error,
        FailureReason::InvalidOutput,
        FailureReason::TooLarge,
        FailureReason::Conflict,
        FailureReason::Load,
        FailureReason::Host,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Timeout => "timeout",
            FailureReason::Fuel => "fuel",
            FailureReason::Memory => "memory",
            FailureReason::Trap => "trap",
            FailureReason::Error => "error",
            FailureReason::InvalidOutput => "invalid_output",
            FailureReason::TooLarge => "too_large",
            FailureReason::Conflict => "conflict",
            FailureReason::Load => "load",
            FailureReason::Host => "host",
        }
    }

    /// Index into [`FailureReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plugin's failure in one scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The class of failure.
    pub reason: FailureReason,
    /// What happened, for the log and the landing page.
    pub message: String,
}

impl Failure {
    /// A failure with a reason and a message.
    pub fn new(reason: FailureReason, message: impl Into<String>) -> Self {
        let mut message: String = message.into();
        if message.len() > MAX_MESSAGE_BYTES {
            let mut end = MAX_MESSAGE_BYTES;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push('…');
        }
        Failure { reason, message }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}

/// Longest failure message kept; a plugin's `err` string is its own text
/// and could be anything.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// What a scrape asks of each plugin.
#[derive(Debug, Clone, Default)]
pub struct CollectInput {
    /// The target of a `/probe` request.
    pub target: Option<String>,
    /// The other parameters of a `/probe` request.
    pub params: Vec<(String, String)>,
}

/// One plugin's result in one scrape.
#[derive(Debug)]
pub struct Outcome {
    /// The plugin.
    pub plugin: String,
    /// Its validated families, or why it is down.
    pub result: Result<Vec<MetricFamily>, Failure>,
    /// Wall time of instantiate + collect + validate.
    pub duration: Duration,
    /// Fuel the call burned.
    pub fuel_consumed: u64,
    /// Peak linear memory of the instance.
    pub memory_peak_bytes: u64,
    /// Samples returned (counted even when over the cap).
    pub series: u64,
}

impl Outcome {
    /// An outcome for a plugin that never ran.
    pub fn not_run(plugin: &str, failure: Failure) -> Self {
        Outcome {
            plugin: plugin.to_owned(),
            result: Err(failure),
            duration: Duration::ZERO,
            fuel_consumed: 0,
            memory_peak_bytes: 0,
            series: 0,
        }
    }
}

/// Extra time the `tokio` timeout allows past the deadline, so a guest
/// running wasm is stopped by its epoch deadline (and classified the same
/// way every time) before the timeout fires.
const TIMEOUT_GRACE: Duration = Duration::from_millis(4 * EPOCH_TICK_MS);

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

/// Runs `collect` of `version` once, in a fresh store, and validates the
/// result. Never panics on anything the plugin does.
pub async fn collect(
    version: &PluginVersion,
    context: &Arc<PluginContext>,
    limits: &PluginLimits,
    input: &CollectInput,
    time_allowed: Duration,
) -> Outcome {
    let start = Instant::now();
    let deadline = start + time_allowed;
    let mut store = new_store(version.engine(), context, limits, deadline);
    let request = CollectRequest {
        target: input.target.clone(),
        params: input.params.clone(),
        timeout_ms: time_allowed.as_millis().try_into().unwrap_or(u64::MAX),
    };
    let mut instantiated = false;
    let call = async {
        let plugin = version.pre().instantiate_async(&mut store).await?;
        instantiated = true;
        plugin
            .wasm_exporter_collector_collector()
            .call_collect(&mut store, &request)
            .await
    };
    let called = tokio::time::timeout(time_allowed + TIMEOUT_GRACE, call).await;
    let fuel_consumed = limits.fuel - store.get_fuel().unwrap_or(0);
    let sandbox = store.data();
    let last_stderr = sandbox.flush_output();
    let memory_peak_bytes = sandbox.memory.peak_bytes as u64;
    let mut series = 0;
    let result = match called {
        Err(_) => Err(timeout_failure(time_allowed)),
        Ok(Err(e)) => Err(with_stderr(
            classify(&e, sandbox, instantiated, time_allowed),
            last_stderr,
        )),
        Ok(Ok(Err(message))) => Err(Failure::new(FailureReason::Error, message)),
        Ok(Ok(Ok(mut families))) => match validate::validate(&mut families, limits) {
            Ok(OutputStats { series: n, .. }) => {
                series = n;
                Ok(families)
            }
            Err((failure, n)) => {
                series = n;
                Err(failure)
            }
        },
    };
    drop(store);
    Outcome {
        plugin: context.name.clone(),
        result,
        duration: start.elapsed(),
        fuel_consumed,
        memory_peak_bytes,
        series,
    }
}

/// Calls `describe` of `version` once under `limits`: the smoke check of a
/// freshly loaded plugin.
pub async fn describe(
    version: &PluginVersion,
    context: &Arc<PluginContext>,
    limits: &PluginLimits,
) -> Result<Vec<Descriptor>, Failure> {
    let time_allowed = limits.timeout();
    let mut store = new_store(
        version.engine(),
        context,
        limits,
        Instant::now() + time_allowed,
    );
    let mut instantiated = false;
    let call = async {
        let plugin = version.pre().instantiate_async(&mut store).await?;
        instantiated = true;
        plugin
            .wasm_exporter_collector_collector()
            .call_describe(&mut store)
            .await
    };
    let called = tokio::time::timeout(time_allowed + TIMEOUT_GRACE, call).await;
    let last_stderr = store.data().flush_output();
    match called {
        Err(_) => Err(timeout_failure(time_allowed)),
        Ok(Err(e)) => Err(with_stderr(
            classify(&e, store.data(), instantiated, time_allowed),
            last_stderr,
        )),
        Ok(Ok(descriptors)) => Ok(descriptors),
    }
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
