//! What one plugin's call came to: its result or the classified reason it
//! failed, with what it cost.
//!
//! These types sit at the bottom of the runtime: every later step (collect,
//! the server's scrape, merge and health series) speaks of a plugin's
//! failure in these words; this module depends on nothing of the runtime
//! but the memory budget's reservation.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use wasm_exporter_exposition::merge::Conflict;

use crate::budget::Reservation;
use wasm_exporter_exposition::block::Block;
use wasm_exporter_exposition::validate::{Rejection, RejectionKind};

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
    /// It was not run: it failed the scrapes before in a row, and waits
    /// out its back-off.
    Backoff,
}

impl FailureReason {
    /// Every reason, in label order.
    pub const ALL: [FailureReason; 11] = [
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
        FailureReason::Backoff,
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
            FailureReason::Backoff => "backoff",
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

impl From<Rejection> for Failure {
    fn from(rejection: Rejection) -> Self {
        let reason = match rejection.kind {
            RejectionKind::InvalidOutput => FailureReason::InvalidOutput,
            RejectionKind::TooLarge => FailureReason::TooLarge,
            RejectionKind::Deadline => FailureReason::Timeout,
        };
        Failure::new(reason, rejection.message)
    }
}

impl From<Conflict> for Failure {
    fn from(conflict: Conflict) -> Self {
        Failure::new(FailureReason::Conflict, conflict.message)
    }
}

/// One plugin's result in one scrape.
#[derive(Debug)]
pub struct Outcome {
    /// The plugin.
    pub plugin: String,
    /// Its validated families, or why it is down.
    pub result: Result<Vec<Block>, Failure>,
    /// Wall time of instantiate + collect + validate.
    pub duration: Duration,
    /// Fuel the call burned.
    pub fuel_consumed: u64,
    /// Peak linear memory of the instance.
    pub memory_peak_bytes: u64,
    /// Samples returned (counted even when over the cap).
    pub series: u64,
    /// The share of the host's memory budget its families hold, given
    /// back when it is dropped (with the families' last user).
    /// Shared by every scrape that serves these families (a cached or
    /// shared result).
    pub memory: Option<Arc<Reservation>>,
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
            memory: None,
        }
    }
}

/// The innermost message of an error chain, on one line (wasm backtraces
/// and outer context dropped).
pub fn root_message(e: &wasmtime::Error) -> String {
    let root = e.root_cause().to_string();
    root.lines().next().unwrap_or_default().trim().to_owned()
}
