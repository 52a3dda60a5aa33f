//! One scrape: every selected plugin collected concurrently, merged, and
//! joined by the host's own series.
//!
//! Each plugin runs in its own task on the runtime's plugin threads (so two
//! cores run two plugins), each in a fresh store; a failure of one never
//! touches the others. Each plugin's families arrive encoded (as
//! [`Block`]s, checked and written while they lay in the plugin's memory);
//! the merge and the host's own series join them, and they come back
//! sorted by name, ready to be streamed
//! ([`wasm_exporter_exposition::stream::Exposition`]).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;

use wasm_exporter_exposition::block::Block;
use wasm_exporter_exposition::merge::Merge;
use wasm_exporter_runtime::budget::Reservation;
use wasm_exporter_runtime::collect::{self, CollectInput};
use wasm_exporter_runtime::limits::plugin_deadline;
use wasm_exporter_runtime::outcome::{Failure, FailureReason, Outcome};

use crate::health;
use crate::probe;
use crate::process;
use crate::registry::{PluginMap, PluginState, RegisteredPlugin};
use crate::reuse::{Served, Stale};

/// Subtracted from Prometheus' scrape timeout
/// (`X-Prometheus-Scrape-Timeout-Seconds`) so the answer arrives before
/// Prometheus gives up, as blackbox_exporter's `--timeout-offset` does.
pub const DEFAULT_SCRAPE_TIMEOUT_OFFSET_MS: u64 = 500;

/// Which plugins a scrape runs, as node_exporter's `collect[]` and
/// `exclude[]` query parameters select collectors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Selection {
    /// Every registered plugin.
    #[default]
    All,
    /// Only these.
    Only(Vec<String>),
    /// All but these.
    Except(Vec<String>),
}

impl Selection {
    /// Whether the plugin called `name` is selected.
    pub fn includes(&self, name: &str) -> bool {
        match self {
            Selection::All => true,
            Selection::Only(names) => names.iter().any(|n| n == name),
            Selection::Except(names) => !names.iter().any(|n| n == name),
        }
    }

    /// Names the selection asks for that are not in `plugins`.
    pub fn unknown<'a>(&'a self, plugins: &PluginMap) -> Vec<&'a str> {
        match self {
            Selection::All => Vec::new(),
            Selection::Only(names) | Selection::Except(names) => names
                .iter()
                .filter(|n| !plugins.contains_key(n.as_str()))
                .map(String::as_str)
                .collect(),
        }
    }
}

/// What one scrape asks for.
#[derive(Debug, Clone, Default)]
pub struct ScrapeRequest {
    /// Target and parameters handed to every plugin.
    pub input: CollectInput,
    /// The scraper's timeout (`X-Prometheus-Scrape-Timeout-Seconds`).
    pub scrape_timeout: Option<Duration>,
    /// Taken off the scraper's timeout so the answer arrives in time.
    pub timeout_offset: Duration,
    /// The plugins to run.
    pub selection: Selection,
    /// Whether to add the host's own `process_*` and build series.
    pub host_series: bool,
    /// Whether it is a probe (`/probe`): `probe_success` and
    /// `probe_duration_seconds` are added.
    pub probe: bool,
    /// Put before the name of every plugin family (a tenant's prefix).
    pub metric_prefix: Option<String>,
    /// Series the plugins may return in all (a tenant's budget): those
    /// past it, in name order, are down with reason `too_large`.
    pub series_budget: Option<u64>,
}

/// The result of one scrape.
#[derive(Debug)]
pub struct ScrapeResult {
    /// Every family to expose, encoded, sorted by name.
    pub families: Vec<Block>,
    /// One outcome per selected plugin, by plugin name. Their families
    /// have been moved into `families`.
    pub outcomes: Vec<Outcome>,
    /// The share of the host's memory budget `families` hold: keep it
    /// until they are sent.
    pub memory: Vec<Arc<Reservation>>,
    /// Whether plugins were down because the series budget was spent.
    pub series_budget_spent: bool,
}

/// Runs one scrape over the plugins of `snapshot`.
pub async fn scrape(snapshot: Arc<PluginMap>, request: Arc<ScrapeRequest>) -> ScrapeResult {
    let started = std::time::Instant::now();
    let selected: Vec<Arc<RegisteredPlugin>> = snapshot
        .values()
        .filter(|plugin| request.selection.includes(&plugin.name))
        .cloned()
        .collect();
    let names: Vec<String> = selected.iter().map(|p| p.name.clone()).collect();
    // The calls run on the runtime's plugin threads, not on the threads
    // that serve HTTP: one hop there and back per scrape.
    let runtime = selected
        .iter()
        .find_map(|p| p.version())
        .map(|v| v.runtime().clone());
    let calls = collect_all(selected, request.clone());
    let served = match runtime {
        Some(runtime) => runtime.run(calls).await.unwrap_or_else(|| {
            names
                .iter()
                .map(|name| {
                    Served::fresh(Outcome::not_run(
                        name,
                        Failure::new(FailureReason::Host, "the plugin threads are stopping"),
                    ))
                })
                .collect()
        }),
        None => calls.await,
    };
    let (mut outcomes, mut stale): (Vec<Outcome>, Vec<Option<Stale>>) =
        served.into_iter().map(|s| (s.outcome, s.stale)).unzip();
    // A probe's duration sample is the host's; everything `process` writes
    // is the host's on every page.
    let mut host_samples = process::SAMPLE_NAMES.to_vec();
    if request.probe {
        host_samples.push(probe::DURATION);
    }
    let series_budget_spent = request
        .series_budget
        .is_some_and(|budget| hold_to_series_budget(&mut outcomes, &mut stale, budget));
    let mut families = merge(
        &mut outcomes,
        &mut stale,
        &host_samples,
        request.metric_prefix.as_deref(),
    );
    for outcome in &outcomes {
        if let Some(plugin) = snapshot.get(&outcome.plugin) {
            plugin.stats.record(outcome);
        }
        if let Err(failure) = &outcome.result {
            tracing::debug!(plugin = %outcome.plugin, reason = %failure.reason, error = %failure.message, "plugin down for this scrape");
        }
    }
    let stale_plugins: Vec<bool> = stale.iter().map(Option::is_some).collect();
    let mut host = health::plugin_families(&snapshot, &outcomes, &stale_plugins);
    if request.host_series {
        host.push(health::build_family());
        host.extend(process::families());
    }
    if request.probe {
        let up = outcomes.iter().all(|o| o.result.is_ok());
        host.extend(probe::families(&families, up, started.elapsed()));
    }
    families.extend(Block::all(&host));
    families.sort_by(|a, b| a.name.cmp(&b.name));
    let memory = outcomes
        .iter_mut()
        .filter(|o| o.result.is_ok())
        .filter_map(|o| o.memory.take())
        .chain(stale.iter_mut().flatten().filter_map(|s| s.memory.take()))
        .collect();
    ScrapeResult {
        families,
        outcomes,
        memory,
        series_budget_spent,
    }
}

/// Serves the plugins of `outcomes` (with their `stale` families beside
/// them) in name order while their series fit `budget`; the first one
/// past it, and each after it that does not fit what is left, is down
/// with reason `too_large` and serves nothing. Whether one was.
fn hold_to_series_budget(
    outcomes: &mut [Outcome],
    stale: &mut [Option<Stale>],
    budget: u64,
) -> bool {
    let mut used = 0u64;
    let mut spent = false;
    for (outcome, stale) in outcomes.iter_mut().zip(stale.iter_mut()) {
        let series = match (&outcome.result, &*stale) {
            (Ok(_), _) => outcome.series,
            (Err(_), Some(last)) => last.families.iter().map(|b| b.len() as u64).sum(),
            (Err(_), None) => 0,
        };
        if used.saturating_add(series) <= budget {
            used += series;
            continue;
        }
        spent = true;
        *stale = None;
        if outcome.result.is_ok() {
            outcome.result = Err(Failure::new(
                FailureReason::TooLarge,
                format!(
                    "returned {series} series, past what is left of the tenant's series budget \
                     ({} of {budget})",
                    budget - used
                ),
            ));
            outcome.memory = None;
        }
    }
    spent
}

/// Merges the families of every plugin that is up, and the last good
/// families of those down that serve them (`stale`, beside `outcomes`), in
/// plugin-name order (`outcomes` is sorted by name), beside the host's own
/// series, each family's name after `prefix`, if any. A plugin whose
/// families conflict with what is already merged is down with reason
/// `conflict`, and none of its families are served (nor stale ones: they
/// are dropped).
pub fn merge(
    outcomes: &mut [Outcome],
    stale: &mut [Option<Stale>],
    host_samples: &[&str],
    prefix: Option<&str>,
) -> Vec<Block> {
    let named = |families: Vec<Block>| match prefix {
        Some(prefix) => families.into_iter().map(|b| b.prefixed(prefix)).collect(),
        None => families,
    };
    let mut merge = Merge::new(host_samples);
    for (i, outcome) in outcomes.iter_mut().enumerate() {
        match &mut outcome.result {
            Ok(families) => {
                let families = named(std::mem::take(families));
                if let Err(conflict) = merge.add(&outcome.plugin, families) {
                    outcome.result = Err(conflict.into());
                }
            }
            Err(_) => {
                if let Some(slot) = stale.get_mut(i)
                    && let Some(last) = slot
                    && merge
                        .add(&outcome.plugin, named(std::mem::take(&mut last.families)))
                        .is_err()
                {
                    *slot = None;
                }
            }
        }
    }
    merge.finish()
}

/// Collects every plugin of `plugins` concurrently, in their order: the
/// first in this task, each other in a task of its own (so several cores
/// run several plugins, and a scrape of one plugin costs no hop to
/// another thread).
async fn collect_all(
    plugins: Vec<Arc<RegisteredPlugin>>,
    request: Arc<ScrapeRequest>,
) -> Vec<Served> {
    let mut plugins = plugins.into_iter();
    let first = plugins.next();
    let tasks: Vec<_> = plugins
        .map(|plugin| {
            let name = plugin.name.clone();
            (name, tokio::spawn(serve(plugin, request.clone())))
        })
        .collect();
    let failed = |name: &str, e: &dyn std::fmt::Display| {
        Served::fresh(Outcome::not_run(
            name,
            Failure::new(FailureReason::Host, format!("collect task failed: {e}")),
        ))
    };
    let mut outcomes = Vec::with_capacity(tasks.len() + 1);
    if let Some(plugin) = first {
        let name = plugin.name.clone();
        let served = AssertUnwindSafe(serve(plugin, request.clone()))
            .catch_unwind()
            .await;
        outcomes.push(served.unwrap_or_else(|_| failed(&name, &"it panicked")));
    }
    for (name, task) in tasks {
        outcomes.push(task.await.unwrap_or_else(|e| failed(&name, &e)));
    }
    outcomes
}

/// One plugin's answer to `request`: collected, or reused.
async fn serve(plugin: Arc<RegisteredPlugin>, request: Arc<ScrapeRequest>) -> Served {
    match &plugin.state {
        PluginState::Broken(message) => Served::fresh(Outcome::not_run(
            &plugin.name,
            Failure::new(FailureReason::Load, message.clone()),
        )),
        PluginState::Ready(version) => {
            let time_allowed = plugin_deadline(
                &plugin.limits,
                request.scrape_timeout,
                request.timeout_offset,
            );
            let call = collect::collect(
                version,
                &plugin.context,
                &plugin.limits,
                &request.input,
                time_allowed,
            );
            plugin
                .results
                .serve(
                    &plugin.name,
                    &plugin.stats,
                    &request.input,
                    time_allowed,
                    call,
                )
                .await
        }
    }
}
