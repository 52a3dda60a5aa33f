//! Hot swap: bringing the registry in line with the configuration and the
//! plugin files, on file changes, SIGHUP and `POST /-/reload`.
//!
//! A new or changed file is read, hashed, compiled (or taken from the
//! compile cache), linked and smoke-tested off the scrape path; only then
//! does it replace the running version, atomically (one registry update).
//! Scrapes already running finish on the version they started with. A file
//! that fails never replaces a working version: the old one keeps serving,
//! and the failure is logged and counted. A file modified moments ago that
//! fails is given a settle time ([`DEFAULT_SETTLE_MS`], `--watch.settle`)
//! to finish being written before it counts as broken. A removed file
//! unregisters its plugin.
//!
//! Reloads are serialized; an invalid configuration keeps the running one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt as _;
use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use wasm_exporter_runtime::collect::{self, CollectInput};
use wasm_exporter_runtime::engine::Runtime;
use wasm_exporter_runtime::limits::PluginLimits;
use wasm_exporter_runtime::load::{self, LoadError, PluginVersion};
use wasm_exporter_runtime::model::{MetricFamily, MetricType};
use wasm_exporter_runtime::outcome::{Failure, FailureReason};
use wasm_exporter_runtime::sandbox::PluginContext;

use std::collections::BTreeMap;

use crate::config::{self, ConfigError, PluginSpec, ResolvedConfig};
use crate::registry::{FileStamp, PluginState, RegisteredPlugin, Registry};
use crate::reuse::Results;
use crate::shown::ShownConfig;
use crate::stats::PluginStats;
use crate::tenants::{PoolTotals, Tenants};

/// How long a freshly modified file that fails to load is given to finish
/// being written before its failure counts, unless told otherwise. Stops a
/// slow copy or an in-place write from being reported (and counted) as a
/// broken plugin.
pub const DEFAULT_SETTLE_MS: u64 = 1_000;

/// Plugin files loaded (compiled, linked, described) at once by a reload.
/// Compiling is CPU work on the plugin threads; the bound keeps a reload of
/// hundreds of plugins from queueing them all at once, while a few slow
/// ones do not hold up the rest.
pub const MAX_CONCURRENT_LOADS: usize = 8;

/// A plugin a reload must load: its new file, and what it replaces.
struct Pending {
    spec: PluginSpec,
    bytes: Vec<u8>,
    stamp: FileStamp,
    modified: Option<SystemTime>,
    current: Option<Arc<RegisteredPlugin>>,
}

/// Where the plugin set comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A configuration file (`--config.file`).
    ConfigFile(PathBuf),
    /// A plugins directory alone (`--plugins.dir`).
    PluginsDir(PathBuf),
}

/// What one reload changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    /// Plugins that now serve a new version.
    pub loaded: Vec<String>,
    /// Plugins whose new file failed to load.
    pub failed: Vec<String>,
    /// Plugins unregistered.
    pub removed: Vec<String>,
    /// Plugins whose file failed while it may still be being written.
    pub settling: Vec<String>,
}

#[derive(Debug)]
struct Status {
    last_ok: bool,
    last_success: SystemTime,
}

/// Keeps a registry in line with a [`Source`].
pub struct Reloader {
    runtime: Arc<Runtime>,
    registry: Arc<Registry>,
    tenants: Arc<Tenants>,
    source: Source,
    defaults: PluginLimits,
    settle: Duration,
    /// The running configuration; the lock serializes reloads.
    current: tokio::sync::Mutex<ResolvedConfig>,
    /// The running configuration as the status page shows it.
    shown: Mutex<Arc<ShownConfig>>,
    status: Mutex<Status>,
}

impl Reloader {
    /// A reloader for `registry`, giving a file that fails to load within
    /// `settle` of its last change that long to finish being written.
    /// Nothing is loaded until [`Reloader::reload`].
    pub fn new(
        runtime: Arc<Runtime>,
        registry: Arc<Registry>,
        source: Source,
        defaults: PluginLimits,
        settle: Duration,
    ) -> Arc<Self> {
        Arc::new(Reloader {
            runtime,
            registry,
            tenants: Arc::new(Tenants::default()),
            source,
            defaults,
            settle,
            current: tokio::sync::Mutex::new(ResolvedConfig::default()),
            shown: Mutex::new(Arc::default()),
            status: Mutex::new(Status {
                last_ok: false,
                last_success: UNIX_EPOCH,
            }),
        })
    }

    /// How long a freshly changed file that fails is given to settle.
    pub fn settle(&self) -> Duration {
        self.settle
    }

    /// The runtime plugins are compiled with.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The tenants the configuration describes, as of the last reload.
    pub fn tenants(&self) -> &Arc<Tenants> {
        &self.tenants
    }

    /// Reads the configuration (or scans the plugins directory) without
    /// loading anything: at start, to refuse a broken configuration before
    /// the port opens.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.read_source().map(|_| ())
    }

    fn read_source(&self) -> Result<(ResolvedConfig, ShownConfig), ConfigError> {
        match &self.source {
            Source::ConfigFile(path) => {
                let (resolved, text) = config::load_with_text(path, &self.defaults)?;
                Ok((resolved, ShownConfig::from_text(&text)))
            }
            Source::PluginsDir(dir) => Ok((
                config::from_dir(dir, &self.defaults)?,
                ShownConfig::plugins_dir(dir),
            )),
        }
    }

    /// The running configuration, secrets masked, for the status page.
    pub fn shown_config(&self) -> Arc<ShownConfig> {
        self.shown.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the last reload of the configuration succeeded, and when
    /// the last one that did finished.
    pub fn last_reload(&self) -> (bool, SystemTime) {
        let status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        (status.last_ok, status.last_success)
    }

    /// Re-reads the configuration and brings the registry in line with it
    /// and with the plugin files. An invalid configuration changes nothing
    /// and is returned as the error.
    pub async fn reload(&self) -> Result<ReloadReport, ConfigError> {
        let mut current = self.current.lock().await;
        let (resolved, shown) = match self.read_source() {
            Ok(r) => r,
            Err(e) => {
                self.status
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .last_ok = false;
                tracing::error!(error = %e, "reload failed; keeping the running configuration");
                return Err(e);
            }
        };
        let report = self.reconcile(&resolved).await;
        *current = resolved;
        *self.shown.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(shown);
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        status.last_ok = true;
        status.last_success = SystemTime::now();
        Ok(report)
    }

    /// Directories the running configuration wants watched (plus the
    /// configuration file's own).
    pub async fn watch_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = self.current.lock().await.watch_dirs.clone();
        if let Source::ConfigFile(path) = &self.source {
            dirs.push(parent_dir(path));
        }
        if let Source::PluginsDir(dir) = &self.source {
            dirs.push(dir.clone());
        }
        dirs.sort();
        dirs.dedup();
        dirs
    }

    async fn reconcile(&self, resolved: &ResolvedConfig) -> ReloadReport {
        let mut report = self
            .reconcile_registry(&self.registry, &resolved.plugins, None)
            .await;
        let pool = PoolTotals {
            instances: self.runtime.pool_size().instances,
            memory_bytes: self.runtime.budget().total_bytes(),
        };
        let (registries, removed) = self.tenants.update(&resolved.tenants, pool);
        for tenant in removed {
            tracing::info!(tenant = %tenant, "tenant removed");
        }
        for (registry, spec) in registries {
            let tenant = self
                .reconcile_registry(&registry, &spec.plugins, Some(&spec.name))
                .await;
            report.loaded.extend(tenant.loaded);
            report.failed.extend(tenant.failed);
            report.removed.extend(tenant.removed);
            report.settling.extend(tenant.settling);
        }
        report
    }

    /// Brings one registry in line with `plugins`; a tenant's plugins are
    /// reported as `tenant/plugin`.
    async fn reconcile_registry(
        &self,
        registry: &Registry,
        plugins: &BTreeMap<String, PluginSpec>,
        tenant: Option<&str>,
    ) -> ReloadReport {
        let shown = |name: &str| match tenant {
            Some(tenant) => format!("{tenant}/{name}"),
            None => name.to_owned(),
        };
        let mut report = ReloadReport::default();
        let snapshot = registry.snapshot();
        for name in snapshot.keys() {
            if !plugins.contains_key(name) {
                registry.unregister(name);
                tracing::info!(plugin = %name, "plugin removed");
                report.removed.push(shown(name));
            }
        }
        // Which plugins need loading; the others stay as they are.
        let mut pending = Vec::new();
        for (name, spec) in plugins {
            let current = snapshot.get(name).cloned();
            let Ok((len, modified)) = FileStamp::stat(&spec.path) else {
                if current.is_some() {
                    registry.unregister(name);
                    tracing::warn!(plugin = %name, path = %spec.path.display(), "plugin file is gone; plugin removed");
                    report.removed.push(shown(name));
                }
                continue;
            };
            let same_settings = current.as_ref().is_some_and(|c| same_spec(c, spec));
            let stamp_now = current
                .as_ref()
                .and_then(|c| c.stamp.lock().unwrap_or_else(|p| p.into_inner()).clone());
            if same_settings
                && stamp_now
                    .as_ref()
                    .is_some_and(|s| s.len == len && s.modified == modified)
            {
                continue;
            }
            let bytes = match std::fs::read(&spec.path) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(plugin = %name, path = %spec.path.display(), error = %e, "cannot read plugin file");
                    continue;
                }
            };
            let stamp = FileStamp {
                len: bytes.len() as u64,
                modified,
                sha256: load::sha256_hex(&bytes),
            };
            if same_settings && stamp_now.as_ref().is_some_and(|s| s.sha256 == stamp.sha256) {
                // Touched, not changed.
                if let Some(c) = &current {
                    *c.stamp.lock().unwrap_or_else(|p| p.into_inner()) = Some(stamp);
                }
                continue;
            }
            pending.push(Pending {
                spec: spec.clone(),
                bytes,
                stamp,
                modified,
                current,
            });
        }
        // Loaded side by side, so one slow plugin (a slow `describe`, a
        // large compile) does not hold up the others.
        let runtime = self.runtime.clone();
        let tenant = tenant.map(str::to_owned);
        let mut loaded: Vec<(Pending, RegisteredPlugin, Result<(), LoadError>)> =
            futures::stream::iter(pending)
                .map(move |mut p| {
                    let runtime = runtime.clone();
                    let tenant = tenant.clone();
                    async move {
                        let stats = p.current.as_ref().map(|c| c.stats.clone());
                        let replaces_running = p
                            .current
                            .as_ref()
                            .is_some_and(|c| matches!(c.state, PluginState::Ready(_)));
                        let bytes = std::mem::take(&mut p.bytes);
                        let (plugin, outcome) = load_spec(
                            &runtime,
                            &p.spec,
                            tenant.as_deref(),
                            bytes,
                            p.stamp.clone(),
                            stats,
                            replaces_running,
                        )
                        .await;
                        (p, plugin, outcome)
                    }
                })
                .buffer_unordered(MAX_CONCURRENT_LOADS)
                .collect()
                .await;
        loaded.sort_by(|a, b| a.0.spec.name.cmp(&b.0.spec.name));
        for (p, plugin, outcome) in loaded {
            let name = &p.spec.name;
            match outcome {
                Ok(()) => {
                    plugin.stats.record_reload(Ok(()));
                    registry.register(Arc::new(plugin));
                    report.loaded.push(shown(name));
                }
                Err(e) if recently_modified(p.modified, self.settle) => {
                    tracing::debug!(plugin = %name, error = %e, "plugin file changed moments ago and does not load yet; waiting for it to settle");
                    report.settling.push(shown(name));
                }
                Err(e) => {
                    let message = e.to_string();
                    plugin.stats.record_reload(Err(&message));
                    report.failed.push(shown(name));
                    match &p.current {
                        Some(c)
                            if matches!(c.state, PluginState::Ready(_))
                                && c.path == p.spec.path =>
                        {
                            tracing::error!(plugin = %name, error = %message, "new plugin file failed to load; the previous version keeps serving");
                            *c.stamp.lock().unwrap_or_else(|p| p.into_inner()) = Some(p.stamp);
                        }
                        _ => {
                            tracing::error!(plugin = %name, error = %message, "plugin failed to load");
                            registry.register(Arc::new(plugin));
                        }
                    }
                }
            }
        }
        report
    }

    /// The host's reload series.
    pub fn families(&self) -> Vec<MetricFamily> {
        let status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        let gauge = |name, help, v| MetricFamily::single(name, help, MetricType::Gauge, v);
        let counter =
            |name, help, v: u64| MetricFamily::single(name, help, MetricType::Counter, v as f64);
        vec![
            gauge(
                "wasm_exporter_config_last_reload_successful",
                "Whether the last configuration reload attempt was successful.",
                if status.last_ok { 1.0 } else { 0.0 },
            ),
            gauge(
                "wasm_exporter_config_last_reload_success_timestamp_seconds",
                "Timestamp of the last successful configuration reload.",
                status
                    .last_success
                    .duration_since(UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64()),
            ),
            counter(
                "wasm_exporter_plugin_compilations_total",
                "Plugin files compiled (not found in the compile cache).",
                self.runtime.compilations(),
            ),
            counter(
                "wasm_exporter_plugin_compile_cache_hits_total",
                "Plugin files loaded from the compile cache.",
                self.runtime.cache_hits(),
            ),
        ]
    }

    /// Watches the plugin files and the configuration, reloading (after
    /// `debounce` of quiet) when they change. Runs until the returned task
    /// is dropped or aborted.
    pub async fn watch(
        self: &Arc<Self>,
        debounce: Duration,
    ) -> notify::Result<tokio::task::JoinHandle<()>> {
        let (tx, mut rx) = mpsc::unbounded_channel::<()>();
        let events = tx.clone();
        let mut watcher =
            notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
                if let Ok(event) = res
                    && !matches!(event.kind, EventKind::Access(_))
                {
                    let _ = events.send(());
                }
            })?;
        let mut watched = Vec::new();
        for dir in self.watch_dirs().await {
            watch_dir(&mut watcher, &dir, &mut watched);
        }
        let reloader = self.clone();
        Ok(tokio::spawn(async move {
            while rx.recv().await.is_some() {
                // Debounce: wait for a quiet period.
                loop {
                    match tokio::time::timeout(debounce, rx.recv()).await {
                        Ok(Some(())) => continue,
                        Ok(None) => return,
                        Err(_) => break,
                    }
                }
                if let Ok(report) = reloader.reload().await {
                    log_report(&report);
                    if !report.settling.is_empty() {
                        let again = tx.clone();
                        let settle = reloader.settle;
                        tokio::spawn(async move {
                            tokio::time::sleep(settle).await;
                            let _ = again.send(());
                        });
                    }
                }
                for dir in reloader.watch_dirs().await {
                    watch_dir(&mut watcher, &dir, &mut watched);
                }
            }
        }))
    }
}

fn watch_dir(watcher: &mut notify::RecommendedWatcher, dir: &Path, watched: &mut Vec<PathBuf>) {
    if watched.iter().any(|d| d == dir) {
        return;
    }
    match watcher.watch(dir, RecursiveMode::NonRecursive) {
        Ok(()) => watched.push(dir.to_owned()),
        Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "cannot watch directory"),
    }
}

/// Logs what a reload changed, if anything.
pub fn log_report(report: &ReloadReport) {
    if report.loaded.is_empty() && report.failed.is_empty() && report.removed.is_empty() {
        return;
    }
    tracing::info!(
        loaded = ?report.loaded,
        failed = ?report.failed,
        removed = ?report.removed,
        "plugins reloaded"
    );
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn same_spec(plugin: &RegisteredPlugin, spec: &PluginSpec) -> bool {
    plugin.path == spec.path
        && plugin.limits == spec.limits
        && plugin.context.config == sorted(&spec.config)
        && *plugin.context.grants == spec.grants
        && plugin.targets == spec.targets
        && *plugin.results.policy() == spec.reuse
}

fn sorted(config: &[(String, String)]) -> Vec<(String, String)> {
    let mut c = config.to_vec();
    c.sort();
    c
}

fn recently_modified(modified: Option<SystemTime>, settle: Duration) -> bool {
    modified
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_some_and(|age| age < settle)
}

/// The smoke test a new version must pass before it replaces a running
/// one (`describe` already ran at load): one `collect` that does not crash.
pub async fn smoke_test(
    version: &Arc<PluginVersion>,
    context: &Arc<PluginContext>,
    limits: &PluginLimits,
) -> Result<(), LoadError> {
    smoke_collect(version, context, limits)
        .await
        .map_err(|f| LoadError {
            path: version.path.clone(),
            reason: format!("smoke test: collect failed ({}): {}", f.reason, f.message),
        })
}

/// Longest the smoke test's `collect` may take; past it the plugin is
/// accepted (it may be waiting on a slow target, which is not a defect).
pub const SMOKE_COLLECT_MS: u64 = 1_000;

/// Runs `collect` once, as a scrape would, and refuses a plugin that
/// crashes: a trap, running out of fuel or memory, or output that breaks
/// the exposition rules. An `err` result, a timeout or an oversized result
/// are accepted: they depend on the target and the limits, not on the code.
async fn smoke_collect(
    version: &Arc<PluginVersion>,
    context: &Arc<PluginContext>,
    limits: &PluginLimits,
) -> Result<(), Failure> {
    use FailureReason as R;
    let time = limits
        .timeout()
        .min(Duration::from_millis(SMOKE_COLLECT_MS));
    let input = CollectInput::default();
    let outcome = collect::collect(version, context, limits, &input, time).await;
    match outcome.result {
        Err(f)
            if matches!(
                f.reason,
                R::Trap | R::Fuel | R::Memory | R::InvalidOutput | R::Host
            ) =>
        {
            Err(f)
        }
        _ => Ok(()),
    }
}

/// Loads the plugin `spec` describes into a registry entry: a failure
/// becomes a broken entry. `stats` carries counters over from a previous
/// version. With `smoke`, the new version must also pass [`smoke_test`]
/// (when it would replace a running version: a plugin with nothing to
/// replace is served as it is, and its scrapes say how it fails).
#[allow(clippy::too_many_arguments)]
pub async fn load_spec(
    runtime: &Arc<Runtime>,
    spec: &PluginSpec,
    tenant: Option<&str>,
    bytes: Vec<u8>,
    stamp: FileStamp,
    stats: Option<Arc<PluginStats>>,
    smoke: bool,
) -> (RegisteredPlugin, Result<(), LoadError>) {
    let context = Arc::new(
        PluginContext::with_grants(&spec.name, spec.config.clone(), spec.grants.clone())
            .for_tenant(tenant),
    );
    let sha256 = stamp.sha256.clone();
    let mut result = load::load_bytes(runtime, &spec.path, bytes, sha256, &context, &spec.limits)
        .await
        .map(Arc::new);
    if smoke
        && let Ok(version) = &result
        && let Err(e) = smoke_test(version, &context, &spec.limits).await
    {
        result = Err(e);
    }
    let (state, outcome) = match result {
        Ok(version) => {
            tracing::info!(
                plugin = %spec.name,
                tenant = tenant.unwrap_or(""),
                path = %spec.path.display(),
                sha256 = %&version.sha256[..12],
                compile_ms = version.compile_time.as_millis() as u64,
                "plugin loaded"
            );
            (PluginState::Ready(version), Ok(()))
        }
        Err(e) => (PluginState::Broken(e.to_string()), Err(e)),
    };
    let plugin = RegisteredPlugin {
        name: spec.name.clone(),
        path: spec.path.clone(),
        state,
        limits: spec.limits.clone(),
        targets: spec.targets.clone(),
        context,
        stats: stats.unwrap_or_default(),
        results: Results::new(spec.reuse.clone()),
        stamp: std::sync::Mutex::new(Some(stamp)),
        loaded_at: SystemTime::now(),
    };
    (plugin, outcome)
}
