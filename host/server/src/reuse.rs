//! Reusing what a plugin's `collect` produced, for collectors that are
//! expensive or flaky (per plugin, all off unless said otherwise, except
//! the back-off):
//!
//! - `cache_ttl`: a good result is served again for that long, and the
//!   HELP text of each of its families says so;
//! - single flight: scrapes that ask a plugin the same thing at the same
//!   time (the two Prometheus servers of an HA pair) share one `collect`;
//! - `serve_stale_on_error`: when the plugin fails, its last good result
//!   (at most `stale_max_age` old) is served, while `up` says 0 and
//!   `wasm_exporter_plugin_stale` says 1;
//! - back-off: a plugin that failed `after` scrapes in a row is not run
//!   for `initial`, then twice as long after each further failure, up to
//!   `max`, and reported down with reason `backoff` meanwhile, so a broken
//!   plugin stops burning its budget on every scrape.
//!
//! "The same thing" is the request: a `/metrics` scrape, or one probe
//! target with its parameters; each has its own cache and back-off. The
//! state lives with the plugin's registration, so a new version or new
//! settings start afresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use wasm_exporter_exposition::block::Block;
use wasm_exporter_runtime::budget::Reservation;
use wasm_exporter_runtime::collect::CollectInput;
use wasm_exporter_runtime::outcome::{Failure, FailureReason, Outcome};

use crate::stats::PluginStats;

/// Failures in a row before a plugin backs off, unless configured.
pub const DEFAULT_BACKOFF_AFTER: u32 = 3;
/// The first back-off, unless configured.
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_secs(30);
/// The longest back-off, unless configured.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(300);
/// How old a last good result may be and still be served on error, unless
/// configured. Past it, a plugin's series disappear as without the option.
pub const DEFAULT_STALE_MAX_AGE: Duration = Duration::from_secs(3600);
/// Requests remembered per plugin (targets of a probe plugin, with their
/// parameters); the least recently asked is forgotten first.
pub const MAX_REQUESTS: usize = 256;
/// How long past its own deadline a scrape waits for a `collect` it shares
/// with another scrape. That call ends at its own deadline, which for the
/// scrapes of an HA pair is about the same.
const SHARED_CALL_GRACE: Duration = Duration::from_secs(1);

/// When to back off a failing plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures in a row that start it; 0: never.
    pub after: u32,
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            after: DEFAULT_BACKOFF_AFTER,
            initial: DEFAULT_BACKOFF_INITIAL,
            max: DEFAULT_BACKOFF_MAX,
        }
    }
}

/// How a plugin's results are reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReusePolicy {
    /// Serve a good result again for this long.
    pub cache_ttl: Option<Duration>,
    /// On failure, serve the last good result.
    pub serve_stale_on_error: bool,
    /// The oldest result served on failure.
    pub stale_max_age: Duration,
    /// When to stop running a failing plugin for a while.
    pub backoff: Backoff,
}

impl Default for ReusePolicy {
    fn default() -> Self {
        ReusePolicy {
            cache_ttl: None,
            serve_stale_on_error: false,
            stale_max_age: DEFAULT_STALE_MAX_AGE,
            backoff: Backoff::default(),
        }
    }
}

impl ReusePolicy {
    /// Whether good results are kept after the scrape that asked for them.
    fn keeps_results(&self) -> bool {
        self.cache_ttl.is_some() || self.serve_stale_on_error
    }
}

/// What one scrape gets from a plugin.
#[derive(Debug)]
pub struct Served {
    /// The result: the plugin's, a cached one, or why it is down.
    pub outcome: Outcome,
    /// When down: the last good result, served in its place.
    pub stale: Option<Stale>,
}

/// A last good result served while the plugin is down.
#[derive(Debug)]
pub struct Stale {
    /// Its families, encoded.
    pub families: Vec<Block>,
    /// How old it is.
    pub age: Duration,
    /// The share of the memory budget it holds.
    pub memory: Option<Arc<Reservation>>,
}

impl Served {
    /// A scrape outcome with nothing stale.
    pub fn fresh(outcome: Outcome) -> Self {
        Served {
            outcome,
            stale: None,
        }
    }
}

/// The requests a plugin answers, and what it answered each.
#[derive(Debug, Default)]
pub struct Results {
    policy: ReusePolicy,
    requests: Mutex<HashMap<Key, Entry>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    target: Option<String>,
    params: Vec<(String, String)>,
}

impl Key {
    fn of(input: &CollectInput) -> Key {
        Key {
            target: input.target.clone(),
            params: input.params.clone(),
        }
    }
}

#[derive(Debug)]
struct Entry {
    /// The last good result, when the policy keeps them.
    good: Option<(Instant, Arc<Outcome>)>,
    failures_in_row: u32,
    backoff: Option<Wait>,
    /// The `collect` running now, which scrapes of this request share.
    flight: Option<Arc<Flight>>,
    last_asked: Instant,
}

#[derive(Debug)]
struct Wait {
    until: Instant,
    length: Duration,
    last_error: String,
}

#[derive(Debug, Default)]
struct Flight {
    result: tokio::sync::OnceCell<Arc<Outcome>>,
}

impl Results {
    /// Results reused by `policy`.
    pub fn new(policy: ReusePolicy) -> Self {
        Results {
            policy,
            requests: Mutex::default(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &ReusePolicy {
        &self.policy
    }

    /// Serves `input` for the plugin `name` within `time_allowed`: from the
    /// cache, from a `collect` another scrape already started, as a
    /// back-off, or by awaiting `call` (which runs `collect`, bounded by
    /// the same time).
    pub async fn serve<F>(
        &self,
        name: &str,
        stats: &PluginStats,
        input: &CollectInput,
        time_allowed: Duration,
        call: F,
    ) -> Served
    where
        F: Future<Output = Outcome>,
    {
        let key = Key::of(input);
        let now = Instant::now();
        let flight = {
            let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            let entry = entry(&mut requests, &key, now);
            if let (Some(ttl), Some((at, good))) = (self.policy.cache_ttl, &entry.good)
                && now.duration_since(*at) < ttl
            {
                return Served::fresh(copy(good));
            }
            if let Some(wait) = &entry.backoff
                && now < wait.until
            {
                let failure = Failure::new(
                    FailureReason::Backoff,
                    format!(
                        "not run: it failed the last {} scrapes in a row; next try in {}; last error: {}",
                        entry.failures_in_row,
                        show_duration(wait.until - now),
                        wait.last_error
                    ),
                );
                return self.down(entry, Outcome::not_run(name, failure), now);
            }
            match &entry.flight {
                Some(flight) => {
                    tracing::debug!(plugin = %name, "sharing the collect of a concurrent scrape of the same request");
                    flight.clone()
                }
                None => entry.flight.insert(Default::default()).clone(),
            }
        };
        let shared = tokio::time::timeout(
            time_allowed + SHARED_CALL_GRACE,
            flight.result.get_or_init(|| async {
                let outcome = call.await;
                Arc::new(self.finish(&key, &flight, stats, outcome))
            }),
        )
        .await
        .is_ok();
        let outcome = if shared {
            // Alone with the result (no other scrape joined, no cache keeps
            // it): take it rather than copy it.
            match Arc::try_unwrap(flight) {
                Ok(flight) => {
                    let result = flight.result.into_inner().expect("initialised");
                    Arc::try_unwrap(result).unwrap_or_else(|shared| copy(&shared))
                }
                Err(flight) => copy(flight.result.get().expect("initialised")),
            }
        } else {
            Outcome::not_run(
                name,
                Failure::new(
                    FailureReason::Timeout,
                    format!(
                        "waited {} for the collect of a concurrent scrape of the same request",
                        show_duration(time_allowed + SHARED_CALL_GRACE)
                    ),
                ),
            )
        };
        if outcome.result.is_ok() || !self.policy.serve_stale_on_error {
            return Served::fresh(outcome);
        }
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        match requests.get_mut(&key) {
            Some(entry) => self.down(entry, outcome, Instant::now()),
            None => Served::fresh(outcome),
        }
    }

    /// A failed outcome, with the last good result beside it if the policy
    /// serves it.
    fn down(&self, entry: &Entry, outcome: Outcome, now: Instant) -> Served {
        let stale = match &entry.good {
            Some((at, good)) if self.policy.serve_stale_on_error => {
                let age = now.duration_since(*at);
                (age <= self.policy.stale_max_age).then(|| Stale {
                    families: good.result.clone().unwrap_or_default(),
                    age,
                    memory: good.memory.clone(),
                })
            }
            _ => None,
        };
        Served { outcome, stale }
    }

    /// Records what one `collect` returned, once per call, whichever scrape
    /// ran it: the cache, the failure streak and the back-off.
    fn finish(
        &self,
        key: &Key,
        flight: &Arc<Flight>,
        stats: &PluginStats,
        mut outcome: Outcome,
    ) -> Outcome {
        stats.count_collect();
        if let (Some(ttl), Ok(families)) = (self.policy.cache_ttl, &mut outcome.result) {
            let note = format!("Cached for up to {}.", show_duration(ttl));
            for family in families {
                if family.help.is_empty() {
                    family.help = note.clone();
                } else {
                    family.help = format!("{} ({note})", family.help);
                }
            }
        }
        let now = Instant::now();
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = requests.get_mut(key) else {
            return outcome;
        };
        if entry
            .flight
            .as_ref()
            .is_some_and(|f| Arc::ptr_eq(f, flight))
        {
            entry.flight = None;
        }
        match &outcome.result {
            Ok(_) => {
                entry.failures_in_row = 0;
                entry.backoff = None;
                if self.policy.keeps_results() {
                    let kept = Arc::new(copy(&outcome));
                    entry.good = Some((now, kept));
                }
            }
            Err(failure) if counts_for_backoff(failure.reason) => {
                entry.failures_in_row = entry.failures_in_row.saturating_add(1);
                let backoff = self.policy.backoff;
                if backoff.after > 0 && entry.failures_in_row >= backoff.after {
                    let length = match &entry.backoff {
                        Some(wait) => (wait.length * 2).min(backoff.max),
                        None => backoff.initial.min(backoff.max),
                    };
                    entry.backoff = Some(Wait {
                        until: now + length,
                        length,
                        last_error: failure.message.clone(),
                    });
                }
            }
            Err(_) => {}
        }
        // Nothing to remember: forget the request.
        if entry.good.is_none() && entry.failures_in_row == 0 && entry.flight.is_none() {
            requests.remove(key);
        }
        outcome
    }
}

/// The entry of `key`, made if new; past [`MAX_REQUESTS`], the least
/// recently asked request with no call running is forgotten.
fn entry<'a>(requests: &'a mut HashMap<Key, Entry>, key: &Key, now: Instant) -> &'a mut Entry {
    if !requests.contains_key(key) && requests.len() >= MAX_REQUESTS {
        let oldest = requests
            .iter()
            .filter(|(_, e)| e.flight.is_none())
            .min_by_key(|(_, e)| e.last_asked)
            .map(|(k, _)| k.clone());
        if let Some(oldest) = oldest {
            requests.remove(&oldest);
        }
    }
    let entry = requests.entry(key.clone()).or_insert_with(|| Entry {
        good: None,
        failures_in_row: 0,
        backoff: None,
        flight: None,
        last_asked: now,
    });
    entry.last_asked = now;
    entry
}

/// Failures of the plugin itself. Not: a clash with other plugins'
/// output (`conflict`, found after the call), the host being short of
/// slots or memory (`host`), a file that does not load (`load`, never
/// run), or a back-off itself.
fn counts_for_backoff(reason: FailureReason) -> bool {
    !matches!(
        reason,
        FailureReason::Conflict
            | FailureReason::Host
            | FailureReason::Load
            | FailureReason::Backoff
    )
}

/// A copy of an outcome for one more scrape: its families cloned, its
/// share of the memory budget shared.
fn copy(outcome: &Outcome) -> Outcome {
    Outcome {
        plugin: outcome.plugin.clone(),
        result: outcome.result.clone(),
        duration: outcome.duration,
        fuel_consumed: outcome.fuel_consumed,
        memory_peak_bytes: outcome.memory_peak_bytes,
        series: outcome.series,
        memory: outcome.memory.clone(),
    }
}

/// `30s`, `5m`, `1m30s`, `250ms`: as the configuration writes durations.
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) || ms == 0 {
        return format!("{ms}ms");
    }
    let secs = ms / 1000;
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use wasm_exporter_exposition::block::write_all;
    use wasm_exporter_exposition::encode::Format;
    use wasm_exporter_runtime::model::{MetricFamily, MetricType, Value};

    fn good(value: f64) -> Outcome {
        let mut family = MetricFamily::new("x", "An x.", MetricType::Gauge);
        family.push(Vec::new(), Value::Gauge(value));
        Outcome {
            plugin: "p".into(),
            result: Ok(vec![Block::of(&family)]),
            duration: Duration::from_millis(1),
            fuel_consumed: 1,
            memory_peak_bytes: 1,
            series: 1,
            memory: None,
        }
    }

    fn failed(reason: FailureReason) -> Outcome {
        Outcome::not_run("p", Failure::new(reason, "broken"))
    }

    fn value(served: &Served) -> Option<f64> {
        let families = match &served.outcome.result {
            Ok(f) => f,
            Err(_) => &served.stale.as_ref()?.families,
        };
        let text = String::from_utf8(write_all(families, Format::Text)).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("x "))?
            .parse()
            .ok()
    }

    /// Serves one request with a call that returns `outcome`, counting calls.
    async fn serve(results: &Results, calls: &AtomicU32, outcome: Outcome) -> Served {
        let stats = PluginStats::default();
        results
            .serve(
                "p",
                &stats,
                &CollectInput::default(),
                Duration::from_secs(5),
                async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    outcome
                },
            )
            .await
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_cached_result_is_served_without_a_call_and_says_so() {
        block_on(async {
            let results = Results::new(ReusePolicy {
                cache_ttl: Some(Duration::from_secs(3600)),
                ..ReusePolicy::default()
            });
            let calls = AtomicU32::new(0);
            let first = serve(&results, &calls, good(1.0)).await;
            let second = serve(&results, &calls, good(2.0)).await;
            assert_eq!(calls.load(Ordering::SeqCst), 1);
            assert_eq!((value(&first), value(&second)), (Some(1.0), Some(1.0)));
            let help = &second.outcome.result.as_ref().unwrap()[0].help;
            assert_eq!(help, "An x. (Cached for up to 1h.)");
        });
    }

    #[test]
    fn without_a_ttl_every_scrape_calls() {
        block_on(async {
            let results = Results::new(ReusePolicy::default());
            let calls = AtomicU32::new(0);
            serve(&results, &calls, good(1.0)).await;
            let second = serve(&results, &calls, good(2.0)).await;
            assert_eq!(calls.load(Ordering::SeqCst), 2);
            assert_eq!(value(&second), Some(2.0));
            assert_eq!(second.outcome.result.unwrap()[0].help, "An x.");
            // Nothing is kept for a plugin that neither caches nor serves
            // stale results.
            assert!(results.requests.lock().unwrap().is_empty());
        });
    }

    #[test]
    fn the_last_good_result_is_served_on_error_only_when_asked() {
        block_on(async {
            let calls = AtomicU32::new(0);
            let stale = Results::new(ReusePolicy {
                serve_stale_on_error: true,
                ..ReusePolicy::default()
            });
            serve(&stale, &calls, good(7.0)).await;
            let down = serve(&stale, &calls, failed(FailureReason::Error)).await;
            assert!(down.outcome.result.is_err());
            assert_eq!(value(&down), Some(7.0));

            let plain = Results::new(ReusePolicy::default());
            serve(&plain, &calls, good(7.0)).await;
            let down = serve(&plain, &calls, failed(FailureReason::Error)).await;
            assert!(down.stale.is_none());
        });
    }

    #[test]
    fn stale_results_expire() {
        block_on(async {
            let calls = AtomicU32::new(0);
            let results = Results::new(ReusePolicy {
                serve_stale_on_error: true,
                stale_max_age: Duration::from_secs(60),
                ..ReusePolicy::default()
            });
            serve(&results, &calls, good(7.0)).await;
            tokio::time::advance(Duration::from_secs(61)).await;
            let down = serve(&results, &calls, failed(FailureReason::Error)).await;
            assert!(down.stale.is_none());
        });
    }

    #[test]
    fn backoff_starts_after_n_failures_doubles_and_resets_on_success() {
        block_on(async {
            let results = Results::new(ReusePolicy {
                backoff: Backoff {
                    after: 2,
                    initial: Duration::from_secs(10),
                    max: Duration::from_secs(25),
                },
                ..ReusePolicy::default()
            });
            let calls = AtomicU32::new(0);
            let fail = || failed(FailureReason::Trap);
            serve(&results, &calls, fail()).await;
            serve(&results, &calls, fail()).await;
            assert_eq!(calls.load(Ordering::SeqCst), 2);
            // Backing off for 10 s: not called.
            let skipped = serve(&results, &calls, good(1.0)).await;
            assert_eq!(calls.load(Ordering::SeqCst), 2);
            let failure = skipped.outcome.result.unwrap_err();
            assert_eq!(failure.reason, FailureReason::Backoff);
            assert!(
                failure.message.contains("last error: broken"),
                "{}",
                failure.message
            );
            // After it, one try; failing again doubles the wait (20 s)...
            tokio::time::advance(Duration::from_secs(10)).await;
            serve(&results, &calls, fail()).await;
            assert_eq!(calls.load(Ordering::SeqCst), 3);
            tokio::time::advance(Duration::from_secs(19)).await;
            serve(&results, &calls, good(1.0)).await;
            assert_eq!(calls.load(Ordering::SeqCst), 3);
            tokio::time::advance(Duration::from_secs(1)).await;
            serve(&results, &calls, fail()).await;
            assert_eq!(calls.load(Ordering::SeqCst), 4);
            // ...up to the cap (25 s, not 40 s).
            tokio::time::advance(Duration::from_secs(25)).await;
            let ok = serve(&results, &calls, good(3.0)).await;
            assert_eq!(calls.load(Ordering::SeqCst), 5);
            assert_eq!(value(&ok), Some(3.0));
            // A success resets the streak: one failure does not back off.
            serve(&results, &calls, fail()).await;
            serve(&results, &calls, good(4.0)).await;
            assert_eq!(calls.load(Ordering::SeqCst), 7);
        });
    }

    #[test]
    fn host_failures_and_conflicts_do_not_count_for_backoff() {
        block_on(async {
            let results = Results::new(ReusePolicy {
                backoff: Backoff {
                    after: 1,
                    ..Backoff::default()
                },
                ..ReusePolicy::default()
            });
            let calls = AtomicU32::new(0);
            serve(&results, &calls, failed(FailureReason::Host)).await;
            serve(&results, &calls, failed(FailureReason::Host)).await;
            assert_eq!(calls.load(Ordering::SeqCst), 2);
        });
    }

    #[test]
    fn concurrent_scrapes_of_one_request_share_one_call() {
        block_on(async {
            let results = Results::new(ReusePolicy::default());
            let calls = AtomicU32::new(0);
            let stats = PluginStats::default();
            let one = |v: f64| {
                let (results, calls, stats) = (&results, &calls, &stats);
                async move {
                    results
                        .serve(
                            "p",
                            stats,
                            &CollectInput::default(),
                            Duration::from_secs(5),
                            async {
                                calls.fetch_add(1, Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                good(v)
                            },
                        )
                        .await
                }
            };
            let served = futures::future::join_all((0..5).map(|i| one(i as f64))).await;
            assert_eq!(calls.load(Ordering::SeqCst), 1);
            assert_eq!(stats.collects(), 1);
            let values: Vec<_> = served.iter().map(value).collect();
            assert!(values.iter().all(|v| *v == values[0]), "{values:?}");
            // Another target is another request.
            let probe = CollectInput {
                target: Some("a".into()),
                ..CollectInput::default()
            };
            results
                .serve("p", &stats, &probe, Duration::from_secs(5), async {
                    good(9.0)
                })
                .await;
            assert_eq!(stats.collects(), 2);
        });
    }

    #[test]
    fn durations_show_as_configured() {
        assert_eq!(show_duration(Duration::from_secs(30)), "30s");
        assert_eq!(show_duration(Duration::from_secs(300)), "5m");
        assert_eq!(show_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(show_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(show_duration(Duration::from_secs(7200)), "2h");
    }
}
