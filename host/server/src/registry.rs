//! The set of plugins a scrape sees.
//!
//! A [`Registry`] maps plugin names to [`RegisteredPlugin`]s and hands each
//! scrape an immutable snapshot, so plugins can be registered, replaced and
//! unregistered while scrapes run: a scrape finishes on the versions it
//! started with. One [`RegisteredPlugin`] may sit in several registries
//! (its statistics are then shared); [`Registry::default_registry`] is the
//! one `/metrics` serves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::SystemTime;

use wasm_exporter_runtime::limits::PluginLimits;
use wasm_exporter_runtime::load::PluginVersion;
use wasm_exporter_runtime::sandbox::PluginContext;

use crate::probe::TargetRule;
use crate::reuse::Results;
use crate::stats::PluginStats;

/// A snapshot of a registry: plugins by name, sorted.
pub type PluginMap = BTreeMap<String, Arc<RegisteredPlugin>>;

/// What a registry holds for one plugin.
#[derive(Debug)]
pub struct RegisteredPlugin {
    /// The name series and logs are attributed to.
    pub name: String,
    /// Where the plugin was loaded from.
    pub path: PathBuf,
    /// The version that serves, or why there is none.
    pub state: PluginState,
    /// The limits each of its scrapes runs under.
    pub limits: PluginLimits,
    /// The targets `/probe` may ask it about; none: any.
    pub targets: Option<TargetRule>,
    /// Its configuration, grants, log budget and refusals.
    pub context: Arc<PluginContext>,
    /// Its counters and last state, kept across versions.
    pub stats: Arc<PluginStats>,
    /// Its cached and last good results, failure streaks and calls in
    /// flight, per request; a new version starts afresh.
    pub results: Results,
    /// The file as last examined (the serving version's, or that of a newer
    /// file that failed to load while this version kept serving).
    pub stamp: std::sync::Mutex<Option<FileStamp>>,
    /// When this entry was made: its version loaded, or its file failed.
    pub loaded_at: SystemTime,
}

/// The identity of a plugin file as last seen: cheap to compare (length and
/// modification time) before hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStamp {
    /// Length in bytes.
    pub len: u64,
    /// Modification time.
    pub modified: Option<SystemTime>,
    /// Hex sha256 of the contents.
    pub sha256: String,
}

impl FileStamp {
    /// Length and modification time of `path`, without its hash.
    pub fn stat(path: &Path) -> std::io::Result<(u64, Option<SystemTime>)> {
        let m = std::fs::metadata(path)?;
        Ok((m.len(), m.modified().ok()))
    }
}

/// Whether a registered plugin can be scraped.
#[derive(Debug)]
pub enum PluginState {
    /// Compiled and linked.
    Ready(Arc<PluginVersion>),
    /// The file could not be loaded; every scrape reports it down with
    /// reason `load` until a good file replaces it.
    Broken(String),
}

impl RegisteredPlugin {
    /// The serving version, if any.
    pub fn version(&self) -> Option<&Arc<PluginVersion>> {
        match &self.state {
            PluginState::Ready(v) => Some(v),
            PluginState::Broken(_) => None,
        }
    }
}

/// Plugins by name; cheap to snapshot, safe to change while scrapes run.
#[derive(Debug, Default)]
pub struct Registry {
    plugins: RwLock<Arc<PluginMap>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// The process-wide default registry.
    pub fn default_registry() -> &'static Arc<Registry> {
        static DEFAULT: OnceLock<Arc<Registry>> = OnceLock::new();
        DEFAULT.get_or_init(|| Arc::new(Registry::new()))
    }

    /// The plugins as of now. Later changes do not affect the snapshot.
    pub fn snapshot(&self) -> Arc<PluginMap> {
        self.plugins
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Registers `plugin` under its name, replacing (and returning) any
    /// plugin of the same name.
    pub fn register(&self, plugin: Arc<RegisteredPlugin>) -> Option<Arc<RegisteredPlugin>> {
        self.update(|map| map.insert(plugin.name.clone(), plugin))
    }

    /// Removes the plugin called `name`, returning it.
    pub fn unregister(&self, name: &str) -> Option<Arc<RegisteredPlugin>> {
        self.update(|map| map.remove(name))
    }

    /// The plugin called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<RegisteredPlugin>> {
        self.snapshot().get(name).cloned()
    }

    /// How many plugins are registered.
    pub fn len(&self) -> usize {
        self.snapshot().len()
    }

    /// Whether no plugin is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn update<R>(&self, change: impl FnOnce(&mut PluginMap) -> R) -> R {
        let mut guard = self.plugins.write().unwrap_or_else(|e| e.into_inner());
        let mut next = PluginMap::clone(&guard);
        let result = change(&mut next);
        *guard = Arc::new(next);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken(name: &str) -> Arc<RegisteredPlugin> {
        Arc::new(RegisteredPlugin {
            name: name.into(),
            path: PathBuf::from(format!("{name}.wasm")),
            state: PluginState::Broken("test".into()),
            limits: PluginLimits::default(),
            targets: None,
            context: Arc::new(PluginContext::new(name, vec![])),
            stats: Arc::new(PluginStats::default()),
            results: Results::default(),
            stamp: Default::default(),
            loaded_at: SystemTime::now(),
        })
    }

    #[test]
    fn snapshots_do_not_see_later_changes() {
        let r = Registry::new();
        r.register(broken("a"));
        let before = r.snapshot();
        r.register(broken("b"));
        r.unregister("a");
        assert_eq!(before.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(r.snapshot().keys().collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn one_plugin_can_sit_in_two_registries() {
        let (r1, r2) = (Registry::new(), Registry::new());
        let p = broken("shared");
        r1.register(p.clone());
        r2.register(p.clone());
        assert!(Arc::ptr_eq(
            &r1.get("shared").unwrap(),
            &r2.get("shared").unwrap()
        ));
        r1.unregister("shared");
        assert!(r1.get("shared").is_none());
        assert!(r2.get("shared").is_some());
    }

    #[test]
    fn register_replaces_and_returns_the_previous_plugin() {
        let r = Registry::new();
        assert!(r.register(broken("a")).is_none());
        assert!(r.register(broken("a")).is_some());
        assert_eq!(r.len(), 1);
    }
}
