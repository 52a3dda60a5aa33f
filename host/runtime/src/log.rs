//! The log budget of each plugin, and the records that attribute what a
//! plugin says to it.
//!
//! Everything a plugin says (through the `log` import or stdout/stderr)
//! is logged through `tracing` with `plugin=<name>`, and only while the
//! plugin's [`LogBudget`] allows it. Where the records go (format,
//! level, destination) is the server's choice, not this crate's.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::bindings::model::Level;
use crate::limits::{LOG_BURST, LOG_RECORDS_PER_SECOND};

/// One plugin's log rate limit: a token bucket of [`LOG_BURST`] records
/// refilled at [`LOG_RECORDS_PER_SECOND`], shared by all its scrapes.
#[derive(Debug)]
pub struct LogBudget {
    bucket: Mutex<(f64, Instant)>,
    dropped: AtomicU64,
}

impl Default for LogBudget {
    fn default() -> Self {
        LogBudget {
            bucket: Mutex::new((f64::from(LOG_BURST), Instant::now())),
            dropped: AtomicU64::new(0),
        }
    }
}

impl LogBudget {
    /// Takes one record's worth of budget; false (and counted as dropped)
    /// when the plugin has used it up.
    pub fn take(&self) -> bool {
        let mut guard = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = &mut *guard;
        let now = Instant::now();
        let refill = now.duration_since(*last).as_secs_f64() * f64::from(LOG_RECORDS_PER_SECOND);
        *tokens = (*tokens + refill).min(f64::from(LOG_BURST));
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Logs a record a plugin sent through the `log` import, with the
/// plugin's name and, for a tenant's plugin, the tenant's.
pub fn plugin_record(plugin: &str, tenant: Option<&str>, level: Level, message: &str) {
    macro_rules! record {
        ($log:ident) => {
            match tenant {
                Some(tenant) => tracing::$log!(plugin, tenant, "{message}"),
                None => tracing::$log!(plugin, "{message}"),
            }
        };
    }
    match level {
        Level::Trace => record!(trace),
        Level::Debug => record!(debug),
        Level::Info => record!(info),
        Level::Warn => record!(warn),
        Level::Error => record!(error),
    }
}

/// Logs one line a plugin wrote to stdout or stderr.
pub fn plugin_output(plugin: &str, tenant: Option<&str>, stream: &str, line: &str) {
    match tenant {
        Some(tenant) => tracing::info!(plugin, tenant, stream, "{line}"),
        None => tracing::info!(plugin, stream, "{line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_allows_a_burst_then_drops() {
        let budget = LogBudget::default();
        let allowed = (0..LOG_BURST * 2).filter(|_| budget.take()).count();
        assert!(allowed >= LOG_BURST as usize && allowed < LOG_BURST as usize + 3);
        assert!(budget.dropped() >= u64::from(LOG_BURST) - 3);
    }
}
