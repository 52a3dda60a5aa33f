//! Each plugin's counters and last state, kept across its versions: what
//! the health series and the landing page report.
//!
//! This module sits at the bottom of the server: the registry holds a
//! plugin's stats, a scrape records into them, the health series and the
//! landing page read them. It depends on nothing of the server.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use wasm_exporter_runtime::outcome::{FailureReason, Outcome};

/// Counters and last state of one plugin, kept across its versions.
#[derive(Debug, Default)]
pub struct PluginStats {
    failures: [AtomicU64; FailureReason::ALL.len()],
    collects: AtomicU64,
    last: Mutex<Option<LastScrape>>,
    last_failure: Mutex<Option<LastScrape>>,
    recent: Mutex<VecDeque<Sample>>,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    last_reload_error: Mutex<Option<String>>,
}

/// What the last scrape of a plugin found, for the landing page.
#[derive(Debug, Clone)]
pub struct LastScrape {
    /// When it finished.
    pub at: SystemTime,
    /// The failure reason, if it was down.
    pub reason: Option<FailureReason>,
    /// The failure message, if it was down.
    pub message: String,
    /// How long it took.
    pub duration: Duration,
    /// Samples it returned.
    pub series: u64,
}

/// Scrapes kept per plugin for the status page's charts.
pub const RECENT_SCRAPES: usize = 60;

/// One recent scrape of a plugin, for the status page's charts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When it finished.
    pub at: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// Samples it returned.
    pub series: u64,
    /// Fuel it burned.
    pub fuel: u64,
    /// Whether the plugin was up.
    pub up: bool,
}

impl PluginStats {
    /// Counts one scrape's outcome.
    pub fn record(&self, outcome: &Outcome) {
        let at = SystemTime::now();
        let (reason, message) = match &outcome.result {
            Ok(_) => (None, String::new()),
            Err(f) => {
                self.failures[f.reason.index()].fetch_add(1, Ordering::Relaxed);
                (Some(f.reason), f.message.clone())
            }
        };
        let last = LastScrape {
            at,
            reason,
            message,
            duration: outcome.duration,
            series: outcome.series,
        };
        if reason.is_some() {
            *lock(&self.last_failure) = Some(last.clone());
        }
        *lock(&self.last) = Some(last);
        let mut recent = lock(&self.recent);
        if recent.len() == RECENT_SCRAPES {
            recent.pop_front();
        }
        recent.push_back(Sample {
            at,
            duration: outcome.duration,
            series: outcome.series,
            fuel: outcome.fuel_consumed,
            up: reason.is_none(),
        });
    }

    /// The last scrape that found the plugin down, however long ago.
    pub fn last_failure(&self) -> Option<LastScrape> {
        lock(&self.last_failure).clone()
    }

    /// The last [`RECENT_SCRAPES`] scrapes, oldest first.
    pub fn recent(&self) -> Vec<Sample> {
        lock(&self.recent).iter().copied().collect()
    }

    /// Counts one call of the plugin's `collect` (a scrape served from the
    /// cache, a call shared with another scrape, or a back-off makes none).
    pub fn count_collect(&self) {
        self.collects.fetch_add(1, Ordering::Relaxed);
    }

    /// Calls of the plugin's `collect` so far.
    pub fn collects(&self) -> u64 {
        self.collects.load(Ordering::Relaxed)
    }

    /// Failures so far with `reason`.
    pub fn failures(&self, reason: FailureReason) -> u64 {
        self.failures[reason.index()].load(Ordering::Relaxed)
    }

    /// Counts a load of a new file version: `Ok` if it now serves, else the
    /// error (the previous version, if any, keeps serving).
    pub fn record_reload(&self, result: Result<(), &str>) {
        let mut last = self
            .last_reload_error
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(()) => {
                self.reloads_ok.fetch_add(1, Ordering::Relaxed);
                *last = None;
            }
            Err(e) => {
                self.reloads_failed.fetch_add(1, Ordering::Relaxed);
                *last = Some(e.to_owned());
            }
        }
    }

    /// Loads that succeeded and that failed.
    pub fn reloads(&self) -> (u64, u64) {
        (
            self.reloads_ok.load(Ordering::Relaxed),
            self.reloads_failed.load(Ordering::Relaxed),
        )
    }

    /// Why the last load of a new version failed, while an older one
    /// serves.
    pub fn last_reload_error(&self) -> Option<String> {
        self.last_reload_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The last scrape's result, if the plugin was scraped.
    pub fn last(&self) -> Option<LastScrape> {
        lock(&self.last).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
