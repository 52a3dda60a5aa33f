//! The configuration file (`--config.file`, YAML) and the plugin set it
//! describes.
//!
//! ```yaml
//! global:                 # defaults for every plugin (each field optional)
//!   timeout: 5s
//!   fuel: 1000000000
//!   memory_bytes: 67108864
//!   max_series: 50000
//!   max_bytes: 16777216
//!   max_labels_per_series: 128
//!   max_buckets: 256
//!   max_quantiles: 64
//!   max_states: 1024
//!   grants: { env: [TZ] } # granted to every plugin, unless it narrows them
//!   cache_ttl: 10s        # reuse settings: defaults for every plugin
//!   serve_stale_on_error: false
//!   stale_max_age: 1h
//!   backoff: { after: 3, initial: 30s, max: 5m }
//! plugins_dir: plugins/   # serve every *.wasm here too (name = file stem)
//! plugins:
//!   - name: redis         # default: the file stem
//!     path: redis.wasm    # relative to this file's directory
//!     limits: { timeout: 2s }
//!     grants:             # nothing is reachable unless granted
//!       tcp: ["127.0.0.1:6379"]
//!     serve_stale_on_error: true
//!     config:
//!       address: 127.0.0.1:6379
//!       password: { file: /etc/wasm_exporter/redis-password }
//!       token: { env: REDIS_TOKEN }
//!       metrics: [{ name: x }]   # a list or map reaches the plugin as JSON
//!   - path: http_probe.wasm
//!     targets: [127.0.0.0/8, "*.example.com"]  # what /probe may ask about
//!     grants: { probe_target: true }
//! tenants:                # registries at /tenants/NAME/metrics
//!   payments:
//!     auth: { bearer_token_sha256: [<hex>], basic_auth_users: { u: <bcrypt> } }
//!     grants_ceiling: { tcp: ["10.0.4.7:6379"] }
//!     max_in_flight: 4
//!     metric_prefix: payments_   # put before every family name of its plugins
//!     budget:             # one scrape of it, its plugins together
//!       fuel_per_scrape: 2000000000          # shared among its plugins
//!       memory_bytes_per_scrape: 134217728   # shared among its plugins
//!       series_per_scrape: 20000             # past it: too_large, by name
//!       instances: 16     # of --plugins.max-instances (default: an even split)
//!     plugins: [ { path: redis.wasm, grants: { tcp: ["10.0.4.7:6379"] } } ]
//! ```
//!
//! Secrets are referenced, never inlined: a `{ file: ... }` or `{ env: ... }`
//! value is read when the configuration is loaded and handed to the plugin,
//! but never written to a log, an error or the landing page.
//!
//! Errors name the file, the line where it can be found, the field and the
//! reason, as `promtool check config` does.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use wasm_exporter_exposition::validate::{RESERVED_PREFIX, is_metric_name};
use wasm_exporter_runtime::grants::{
    Endpoint, FileGrant, Grants, UrlPrefix, env_name, statfs_path,
};
use wasm_exporter_runtime::limits::{PluginLimits, check_memory_bytes};
use wasm_exporter_runtime::load::plugin_name;

use crate::probe::TargetRule;
use crate::reuse::{ReusePolicy, show_duration};

/// A configuration error. Its `Display` names the file, line and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The configuration file (or directory, for `--plugins.dir`).
    pub file: PathBuf,
    /// The 1-based line the error is on, when known.
    pub line: Option<usize>,
    /// The field, as a path (`plugins[1].limits.timeout`), when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The file as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Defaults for every plugin.
    #[serde(default)]
    pub global: LimitOverrides,
    /// A directory whose `*.wasm` files are served with the global limits.
    #[serde(default)]
    pub plugins_dir: Option<PathBuf>,
    /// Plugins listed one by one.
    #[serde(default)]
    pub plugins: Vec<PluginEntry>,
    /// Tenants: registries of their own, each at `/tenants/NAME/metrics`.
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantEntry>,
}

/// One tenant as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TenantEntry {
    /// Its credentials; at least one kind is required.
    #[serde(default)]
    pub auth: TenantAuthEntry,
    /// The capabilities its plugins may be granted, at most; a kind not
    /// listed is granted to none of them.
    #[serde(default)]
    pub grants_ceiling: Option<GrantsEntry>,
    /// Scrapes of this tenant served at once; past it 503 (default 4).
    #[serde(default)]
    pub max_in_flight: Option<usize>,
    /// Put before the name of every family its plugins return.
    #[serde(default)]
    pub metric_prefix: Option<String>,
    /// What one scrape of it may take, its plugins together.
    #[serde(default)]
    pub budget: TenantBudgetEntry,
    /// Its plugins, as in `plugins` (paths relative to this file).
    #[serde(default)]
    pub plugins: Vec<PluginEntry>,
}

/// A tenant's budget as written; every field optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TenantBudgetEntry {
    /// Fuel its plugins burn in one scrape, in all.
    pub fuel_per_scrape: Option<u64>,
    /// Linear memory its plugins may grow to in one scrape, in all.
    pub memory_bytes_per_scrape: Option<u64>,
    /// Series one scrape of it may return.
    pub series_per_scrape: Option<u64>,
    /// Plugin instances its scrapes hold at once, of `--plugins.max-instances`.
    pub instances: Option<u32>,
}

/// A tenant's credentials as written: secrets only as hashes.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TenantAuthEntry {
    /// SHA-256 (hex) of each bearer token accepted.
    #[serde(default)]
    pub bearer_token_sha256: Vec<String>,
    /// Basic-auth users and their bcrypt hashes.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
}

/// Limits that override the defaults; every field optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    /// Wall-clock limit of one collect (`5s`, `800ms`).
    pub timeout: Option<String>,
    /// Fuel budget of one collect.
    pub fuel: Option<u64>,
    /// Linear memory cap in bytes.
    pub memory_bytes: Option<u64>,
    /// Samples one scrape may return.
    pub max_series: Option<u64>,
    /// Estimated exposition bytes one scrape may return.
    pub max_bytes: Option<u64>,
    /// Labels one series may carry.
    pub max_labels_per_series: Option<u64>,
    /// Buckets one histogram data point may have.
    pub max_buckets: Option<u64>,
    /// Quantiles one summary data point may have.
    pub max_quantiles: Option<u64>,
    /// States one state-set data point may have.
    pub max_states: Option<u64>,
    /// Only in `global`: the capabilities every plugin is granted unless
    /// its own `grants` narrow them.
    #[serde(default)]
    pub grants: Option<GrantsEntry>,
    /// Only in `global`: the default of each plugin's `cache_ttl`.
    pub cache_ttl: Option<String>,
    /// Only in `global`: the default of `serve_stale_on_error`.
    pub serve_stale_on_error: Option<bool>,
    /// Only in `global`: the default of `stale_max_age`.
    pub stale_max_age: Option<String>,
    /// Only in `global`: the default back-off.
    pub backoff: Option<BackoffEntry>,
}

/// When to back off a plugin that keeps failing, as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BackoffEntry {
    /// Failures in a row that start it (0: never back off).
    pub after: Option<u32>,
    /// The first wait (`30s`).
    pub initial: Option<String>,
    /// The longest wait (`5m`).
    pub max: Option<String>,
}

/// The reuse settings of `global` or of one plugin, as written.
struct ReuseOverrides<'a> {
    cache_ttl: &'a Option<String>,
    serve_stale_on_error: &'a Option<bool>,
    stale_max_age: &'a Option<String>,
    backoff: &'a Option<BackoffEntry>,
}

impl LimitOverrides {
    fn reuse(&self) -> ReuseOverrides<'_> {
        ReuseOverrides {
            cache_ttl: &self.cache_ttl,
            serve_stale_on_error: &self.serve_stale_on_error,
            stale_max_age: &self.stale_max_age,
            backoff: &self.backoff,
        }
    }

    /// The first field only `global` may set, if set here.
    fn global_only_field(&self) -> Option<&'static str> {
        [
            ("grants", self.grants.is_some()),
            ("cache_ttl", self.cache_ttl.is_some()),
            ("serve_stale_on_error", self.serve_stale_on_error.is_some()),
            ("stale_max_age", self.stale_max_age.is_some()),
            ("backoff", self.backoff.is_some()),
        ]
        .into_iter()
        .find_map(|(field, set)| set.then_some(field))
    }
}

/// Capability grants as written; every kind optional. In `global` they are
/// defaults; a plugin's list of a kind replaces the global one, and may
/// only narrow it (every entry must be in the global list).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GrantsEntry {
    /// URL prefixes for outgoing HTTP (`http://host:port/path`).
    pub http: Option<Vec<String>>,
    /// `host:port` pairs for TCP; a name here may also be looked up.
    pub tcp: Option<Vec<String>>,
    /// `host:port` pairs for UDP.
    pub udp: Option<Vec<String>>,
    /// Read-only files and directories: a path (seen at the same path), or
    /// `{ host: PATH, guest: PATH }`.
    pub files: Option<Vec<FileEntry>>,
    /// Environment variables, by name.
    pub env: Option<Vec<String>>,
    /// Mount points whose file-system statistics may be read.
    pub statfs: Option<Vec<String>>,
    /// Whether each probe's target may be looked up and connected to.
    pub probe_target: Option<bool>,
}

/// A file grant as written.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum FileEntry {
    /// Seen by the plugin at the same path.
    Same(String),
    /// Seen at another path.
    Mapped {
        /// The path on the host.
        host: String,
        /// The path the plugin opens.
        guest: String,
    },
}

/// One plugin of the `plugins` list.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    /// Its name; the file stem when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Its `.wasm` file, relative to the configuration file's directory.
    pub path: PathBuf,
    /// Limits over the global ones.
    #[serde(default)]
    pub limits: LimitOverrides,
    /// Key/value configuration handed to the plugin.
    #[serde(default)]
    pub config: BTreeMap<String, ConfigValue>,
    /// What it may reach, over the global grants.
    #[serde(default)]
    pub grants: Option<GrantsEntry>,
    /// For a probe plugin: the targets `/probe` may ask it about (addresses,
    /// CIDRs, host names, `*.domain`); others are refused with 400.
    #[serde(default)]
    pub targets: Option<Vec<String>>,
    /// Serve a good result again for this long (`30s`); none by default.
    #[serde(default)]
    pub cache_ttl: Option<String>,
    /// On failure, serve the last good result (marked stale).
    #[serde(default)]
    pub serve_stale_on_error: Option<bool>,
    /// The oldest last good result served on failure (`1h` by default).
    #[serde(default)]
    pub stale_max_age: Option<String>,
    /// When to stop running it for a while after failures in a row.
    #[serde(default)]
    pub backoff: Option<BackoffEntry>,
}

impl PluginEntry {
    fn reuse(&self) -> ReuseOverrides<'_> {
        ReuseOverrides {
            cache_ttl: &self.cache_ttl,
            serve_stale_on_error: &self.serve_stale_on_error,
            stale_max_age: &self.stale_max_age,
            backoff: &self.backoff,
        }
    }
}

/// A configuration value: inline, or a reference to a secret.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ConfigValue {
    /// A string written in the file.
    Text(String),
    /// An integer written in the file.
    Integer(i64),
    /// A number written in the file.
    Number(f64),
    /// A boolean written in the file.
    Bool(bool),
    /// A secret read from a file or an environment variable of the host.
    Secret(SecretRef),
    /// A list or a map (other than a secret reference): handed to the
    /// plugin as JSON text.
    Structured(serde_json::Value),
}

/// Where a secret lives. Exactly one field is set.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// A file whose contents (without a trailing newline) are the value.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// An environment variable of the host holding the value.
    #[serde(default)]
    pub env: Option<String>,
}

/// One plugin to serve, with everything resolved.
#[derive(Clone, PartialEq, Eq)]
pub struct PluginSpec {
    /// The plugin's name.
    pub name: String,
    /// Its file.
    pub path: PathBuf,
    /// Its limits.
    pub limits: PluginLimits,
    /// Its configuration, secrets resolved, sorted by key.
    pub config: Vec<(String, String)>,
    /// What it may reach.
    pub grants: Grants,
    /// The targets `/probe` may ask it about; none: any.
    pub targets: Option<TargetRule>,
    /// How its results are reused: cache, stale results, back-off.
    pub reuse: ReusePolicy,
}

impl fmt::Debug for PluginSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets: show the keys only.
        let keys: Vec<&str> = self.config.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("PluginSpec")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("limits", &self.limits)
            .field("config_keys", &keys)
            .field("grants", &self.grants.summary())
            .field("reuse", &self.reuse)
            .finish()
    }
}

/// One tenant, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSpec {
    /// Its name: the path segment of its endpoints.
    pub name: String,
    /// SHA-256 digests of its bearer tokens.
    pub bearer_token_sha256: Vec<[u8; 32]>,
    /// Its basic-auth users and their bcrypt hashes.
    pub basic_auth_users: BTreeMap<String, String>,
    /// Scrapes served at once.
    pub max_in_flight: usize,
    /// Put before the name of every family its plugins return.
    pub metric_prefix: Option<String>,
    /// What one scrape of it may take.
    pub budget: TenantBudget,
    /// Its plugins, by name.
    pub plugins: BTreeMap<String, PluginSpec>,
}

/// What one scrape of a tenant may take, its plugins together. The fuel
/// and memory are shared among its plugins when it is loaded (each
/// plugin's own limit is at most its share), so a scrape can never take
/// more; the series are counted as the scrape's results come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantBudget {
    /// Fuel (its `fuel_per_scrape`, or the sum of its plugins' fuel).
    pub fuel: u64,
    /// Linear memory in bytes (its `memory_bytes_per_scrape`, or the sum
    /// of its plugins' caps).
    pub memory_bytes: u64,
    /// Series (its `series_per_scrape`, or the sum of its plugins'
    /// `max_series`).
    pub series: u64,
    /// Plugin instances held at once, if it says; otherwise an even split
    /// of the pool among the tenants and the default registry.
    pub instances: Option<u32>,
}

/// The label a tenant's plugins may not set: a tenant's series are its
/// own, and a plugin must not pass them off as another's.
pub const TENANT_LABEL: &str = "tenant";

/// Scrapes of one tenant served at once, unless its `max_in_flight` says.
pub const DEFAULT_TENANT_MAX_IN_FLIGHT: usize = 4;

/// Whether `name` is acceptable as a tenant name (a URL path segment and a
/// label value): lowercase letters, digits, `_` and `-`.
pub fn is_tenant_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The plugin set a configuration describes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedConfig {
    /// Every plugin of the default registry, by name.
    pub plugins: BTreeMap<String, PluginSpec>,
    /// Every tenant, by name.
    pub tenants: BTreeMap<String, TenantSpec>,
    /// Directories to watch for new, changed and removed plugin files.
    pub watch_dirs: Vec<PathBuf>,
}

impl ResolvedConfig {
    /// Every plugin, the default registry's first, each with the name it
    /// is reported by: `tenant/plugin` for a tenant's.
    pub fn all_plugins(&self) -> impl Iterator<Item = (String, &PluginSpec)> {
        let tenant_plugins = self.tenants.values().flat_map(|t| {
            t.plugins
                .values()
                .map(move |spec| (format!("{}/{}", t.name, spec.name), spec))
        });
        self.plugins
            .values()
            .map(|spec| (spec.name.clone(), spec))
            .chain(tenant_plugins)
    }
}

/// Whether `name` is acceptable as a plugin name (it becomes a label value
/// and appears in logs): letters, digits, `_`, `-` and `.`.
pub fn is_plugin_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// Reads, parses and resolves a configuration file.
pub fn load(path: &Path, defaults: &PluginLimits) -> Result<ResolvedConfig, ConfigError> {
    load_with_text(path, defaults).map(|(resolved, _)| resolved)
}

/// [`load`], and the text it was read from.
pub fn load_with_text(
    path: &Path,
    defaults: &PluginLimits,
) -> Result<(ResolvedConfig, String), ConfigError> {
    let (file, text) = read(path)?;
    let base_dir = path.parent().unwrap_or(Path::new(""));
    let resolved = resolve(&file, path, base_dir, Some(&text), defaults)?;
    Ok((resolved, text))
}

/// The plugin set of a plugins directory alone (`--plugins.dir`).
pub fn from_dir(dir: &Path, defaults: &PluginLimits) -> Result<ResolvedConfig, ConfigError> {
    let file = ConfigFile {
        plugins_dir: Some(dir.to_owned()),
        ..ConfigFile::default()
    };
    resolve(&file, dir, Path::new(""), None, defaults)
}

/// Reads and parses a configuration file.
pub fn read(path: &Path) -> Result<(ConfigFile, String), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_owned(),
        line: None,
        field: None,
        message: format!("cannot read: {e}"),
    })?;
    let file = parse(&text, path)?;
    Ok((file, text))
}

/// Parses configuration text; `path` is used in errors.
pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
    if text.trim().is_empty() {
        return Ok(ConfigFile::default());
    }
    serde_norway::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        let mut message = e.to_string();
        // The position is reported separately.
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        let (field, message) = match message.split_once(": ") {
            Some((field, rest)) if !field.contains(' ') => {
                (Some(field.to_owned()), rest.to_owned())
            }
            _ => (None, message),
        };
        ConfigError {
            file: path.to_owned(),
            line,
            field,
            message,
        }
    })
}

/// Applies `overrides` over `base`.
fn apply(
    base: &PluginLimits,
    overrides: &LimitOverrides,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<PluginLimits, ConfigError> {
    let mut limits = base.clone();
    if let Some(t) = &overrides.timeout {
        let d = parse_duration(t).map_err(|m| err("timeout", m))?;
        if d.is_zero() {
            return Err(err("timeout", "must be more than 0".into()));
        }
        limits.timeout_ms = whole_millis(d);
    }
    if let Some(fuel) = overrides.fuel {
        if fuel == 0 {
            return Err(err("fuel", "must be more than 0".into()));
        }
        limits.fuel = fuel;
    }
    if let Some(m) = overrides.memory_bytes {
        limits.memory_bytes = check_memory_bytes(m).map_err(|e| err("memory_bytes", e))?;
    }
    for (cap, value) in [
        (&mut limits.max_series, overrides.max_series),
        (&mut limits.max_bytes, overrides.max_bytes),
        (
            &mut limits.max_labels_per_series,
            overrides.max_labels_per_series,
        ),
        (&mut limits.max_buckets, overrides.max_buckets),
        (&mut limits.max_quantiles, overrides.max_quantiles),
        (&mut limits.max_states, overrides.max_states),
    ] {
        if let Some(n) = value {
            *cap = n;
        }
    }
    Ok(limits)
}

/// Resolves written reuse settings over `base`.
fn reuse_policy(
    base: &ReusePolicy,
    written: &ReuseOverrides<'_>,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<ReusePolicy, ConfigError> {
    let positive = |field: &str, text: &str| -> Result<Duration, ConfigError> {
        let d = parse_duration(text).map_err(|m| err(field, m))?;
        if d.is_zero() {
            return Err(err(field, "must be more than 0".into()));
        }
        Ok(d)
    };
    let mut policy = base.clone();
    if let Some(ttl) = written.cache_ttl {
        policy.cache_ttl = Some(positive("cache_ttl", ttl)?);
    }
    if let Some(stale) = *written.serve_stale_on_error {
        policy.serve_stale_on_error = stale;
    }
    if let Some(age) = written.stale_max_age {
        policy.stale_max_age = positive("stale_max_age", age)?;
    }
    if let Some(backoff) = written.backoff {
        if let Some(after) = backoff.after {
            policy.backoff.after = after;
        }
        if let Some(initial) = &backoff.initial {
            policy.backoff.initial = positive("backoff.initial", initial)?;
        }
        if let Some(max) = &backoff.max {
            policy.backoff.max = positive("backoff.max", max)?;
        }
        if policy.backoff.max < policy.backoff.initial {
            return Err(err(
                "backoff",
                format!(
                    "max ({}) is shorter than initial ({})",
                    show_duration(policy.backoff.max),
                    show_duration(policy.backoff.initial)
                ),
            ));
        }
    }
    Ok(policy)
}

/// Resolves written grants: `own` over `global` (where `global` lists a
/// kind, `own` may only narrow it). Errors name the kind and the entry.
fn grants(
    own: &GrantsEntry,
    global: Option<(&GrantsEntry, &str)>,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Grants, ConfigError> {
    let ceiling_name = global.map_or("", |(_, name)| name);
    let global = global.map(|(g, _)| g);
    let narrow = |kind: &str, wider: String| {
        err(
            kind,
            format!(
                "{wider} is not in {ceiling_name}.{kind}: a plugin may only narrow {ceiling_name}"
            ),
        )
    };
    fn narrow_list<T: PartialEq + Clone>(
        kind: &str,
        own: &Option<Vec<T>>,
        global: Option<&Option<Vec<T>>>,
        show: impl Fn(&T) -> String,
        wider: &dyn Fn(&str, String) -> ConfigError,
    ) -> Result<Vec<T>, ConfigError> {
        let inherited = global.and_then(|g| g.as_ref());
        match (own, inherited) {
            (Some(list), Some(ceiling)) => {
                if let Some(outside) = list.iter().find(|x| !ceiling.contains(x)) {
                    return Err(wider(kind, show(outside)));
                }
                Ok(list.clone())
            }
            (Some(list), None) => Ok(list.clone()),
            (None, Some(ceiling)) => Ok(ceiling.clone()),
            (None, None) => Ok(Vec::new()),
        }
    }
    let quoted = |s: &String| format!("{s:?}");
    let each = |kind: &str, list: Vec<String>, parse: &dyn Fn(&str) -> Result<(), String>| {
        for item in &list {
            parse(item).map_err(|m| err(kind, m))?;
        }
        Ok::<_, ConfigError>(list)
    };
    let http = each(
        "http",
        narrow_list("http", &own.http, global.map(|g| &g.http), quoted, &narrow)?,
        &|s| UrlPrefix::parse(s).map(|_| ()),
    )?;
    let tcp = each(
        "tcp",
        narrow_list("tcp", &own.tcp, global.map(|g| &g.tcp), quoted, &narrow)?,
        &|s| Endpoint::parse(s).map(|_| ()),
    )?;
    let udp = each(
        "udp",
        narrow_list("udp", &own.udp, global.map(|g| &g.udp), quoted, &narrow)?,
        &|s| Endpoint::parse(s).map(|_| ()),
    )?;
    let env = each(
        "env",
        narrow_list("env", &own.env, global.map(|g| &g.env), quoted, &narrow)?,
        &|s| env_name(s).map(|_| ()),
    )?;
    let statfs = each(
        "statfs",
        narrow_list(
            "statfs",
            &own.statfs,
            global.map(|g| &g.statfs),
            quoted,
            &narrow,
        )?,
        &|s| statfs_path(s).map(|_| ()),
    )?;
    let files = narrow_list(
        "files",
        &own.files,
        global.map(|g| &g.files),
        |f| format!("{f:?}"),
        &narrow,
    )?;
    let probe_target = match (own.probe_target, global.and_then(|g| g.probe_target)) {
        (Some(true), Some(false)) => {
            return Err(err(
                "probe_target",
                format!(
                    "{ceiling_name}.probe_target is false: a plugin may only narrow {ceiling_name}"
                ),
            ));
        }
        (Some(own), _) => own,
        (None, inherited) => inherited.unwrap_or(false),
    };
    Ok(Grants {
        http: http
            .iter()
            .map(|s| UrlPrefix::parse(s).expect("checked"))
            .collect(),
        tcp: tcp
            .iter()
            .map(|s| Endpoint::parse(s).expect("checked"))
            .collect(),
        udp: udp
            .iter()
            .map(|s| Endpoint::parse(s).expect("checked"))
            .collect(),
        files: files
            .iter()
            .map(|f| match f {
                FileEntry::Same(path) => FileGrant::new(path, None),
                FileEntry::Mapped { host, guest } => FileGrant::new(host, Some(guest)),
            })
            .collect::<Result<_, _>>()
            .map_err(|m| err("files", m))?,
        env: env.iter().map(|s| env_name(s).expect("checked")).collect(),
        statfs: statfs
            .iter()
            .map(|s| statfs_path(s).expect("checked"))
            .collect(),
        probe_target,
    })
}

/// What a plugin entry resolves against: the limits and reuse settings
/// it overrides, the grants of a plugin that lists none, and the ceiling
/// (with its name, for errors) its own grants must stay within.
struct PluginScope<'a> {
    limits: &'a PluginLimits,
    reuse: &'a ReusePolicy,
    default_grants: &'a Grants,
    ceiling: Option<(&'a GrantsEntry, &'a str)>,
}

/// Resolves one plugin entry. `err` makes an error of a field (relative to
/// the entry, e.g. `limits.timeout`), the key to find its line by, and the
/// message.
fn resolve_plugin(
    entry: &PluginEntry,
    scope: &PluginScope<'_>,
    base_dir: &Path,
    err: &dyn Fn(&str, Option<&str>, String) -> ConfigError,
) -> Result<PluginSpec, ConfigError> {
    let path = base_dir.join(&entry.path);
    let name = match &entry.name {
        Some(n) => n.clone(),
        None => plugin_name(&path),
    };
    if !is_plugin_name(&name) {
        return Err(err(
            "name",
            Some("name"),
            format!("{name:?} is not a valid plugin name (letters, digits, _ - .)"),
        ));
    }
    if let Some(field) = entry.limits.global_only_field() {
        return Err(err(
            &format!("limits.{field}"),
            Some(field),
            format!("{field} goes beside the limits, not in them"),
        ));
    }
    let reuse = reuse_policy(scope.reuse, &entry.reuse(), &|field, m| {
        err(field, Some(field), m)
    })?;
    let limits = apply(scope.limits, &entry.limits, &|field, m| {
        err(&format!("limits.{field}"), Some(field), m)
    })?;
    let plugin_grants = match &entry.grants {
        None => scope.default_grants.clone(),
        Some(own) => grants(own, scope.ceiling, &|field, m| {
            err(&format!("grants.{field}"), Some(field), m)
        })?,
    };
    let targets = match &entry.targets {
        None => None,
        Some(list) => {
            Some(TargetRule::parse(list).map_err(|m| err("targets", Some("targets"), m))?)
        }
    };
    if plugin_grants.probe_target && targets.is_none() {
        return Err(err(
            "targets",
            Some("grants"),
            "grants.probe_target needs a targets rule: without one, /probe could make \
             the plugin connect to any host"
                .into(),
        ));
    }
    let mut config = Vec::with_capacity(entry.config.len());
    for (key, value) in &entry.config {
        let value = match value {
            ConfigValue::Text(s) => s.clone(),
            ConfigValue::Integer(n) => n.to_string(),
            ConfigValue::Number(n) => n.to_string(),
            ConfigValue::Bool(b) => b.to_string(),
            ConfigValue::Secret(secret) => read_secret(secret, base_dir)
                .map_err(|m| err(&format!("config.{key}"), Some(key), m))?,
            ConfigValue::Structured(value) => value.to_string(),
        };
        config.push((key.clone(), value));
    }
    Ok(PluginSpec {
        name,
        path,
        limits,
        config,
        grants: plugin_grants,
        targets,
        reuse,
    })
}

/// Resolves a parsed file: limits applied, secrets read, the plugins
/// directory scanned, names checked. Relative paths are taken from
/// `base_dir`; `config_path` names the file in errors and `text` (the
/// file's text, if any) locates lines.
pub fn resolve(
    file: &ConfigFile,
    config_path: &Path,
    base_dir: &Path,
    text: Option<&str>,
    defaults: &PluginLimits,
) -> Result<ResolvedConfig, ConfigError> {
    let lines = text.map(LineIndex::new);
    let error = |field: String, plugin: Option<usize>, key: Option<&str>, message: String| {
        let line = lines.as_ref().and_then(|l| l.find(plugin, key));
        ConfigError {
            file: config_path.to_owned(),
            line,
            field: Some(field),
            message,
        }
    };
    let global = apply(defaults, &file.global, &|field, m| {
        error(format!("global.{field}"), None, Some(field), m)
    })?;
    let no_grants = GrantsEntry::default();
    let global_grants = file.global.grants.as_ref().unwrap_or(&no_grants);
    let global_resolved = grants(global_grants, None, &|field, m| {
        error(format!("global.grants.{field}"), None, Some(field), m)
    })?;
    let global_reuse = reuse_policy(
        &ReusePolicy::default(),
        &file.global.reuse(),
        &|field, m| error(format!("global.{field}"), None, Some(field), m),
    )?;
    let mut resolved = ResolvedConfig::default();
    let mut names: HashMap<String, String> = HashMap::new();

    let top = PluginScope {
        limits: &global,
        reuse: &global_reuse,
        default_grants: &global_resolved,
        ceiling: Some((global_grants, "global.grants")),
    };
    for (i, entry) in file.plugins.iter().enumerate() {
        let at = format!("plugins[{i}]");
        let err = |field: &str, key: Option<&str>, m: String| {
            error(format!("{at}.{field}"), Some(i), key, m)
        };
        let spec = resolve_plugin(entry, &top, base_dir, &err)?;
        if let Some(other) = names.insert(spec.name.clone(), at.clone()) {
            return Err(err(
                "name",
                Some("name"),
                format!("plugin name {:?} is already used by {other}", spec.name),
            ));
        }
        if let Some(parent) = spec.path.parent() {
            resolved.watch_dirs.push(parent.to_owned());
        }
        resolved.plugins.insert(spec.name.clone(), spec);
    }

    if let Some(dir) = &file.plugins_dir {
        if global_resolved.probe_target {
            return Err(error(
                "global.grants.probe_target".into(),
                None,
                Some("probe_target"),
                "the plugins of plugins_dir would get probe_target without a targets rule \
                 (list probe plugins under plugins, with targets)"
                    .into(),
            ));
        }
        let dir = base_dir.join(dir);
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            error(
                "plugins_dir".into(),
                None,
                Some("plugins_dir"),
                format!("{}: {e}", dir.display()),
            )
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm") && p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let name = plugin_name(&path);
            if !is_plugin_name(&name) {
                tracing::warn!(path = %path.display(), "skipping a file whose name is not a valid plugin name");
                continue;
            }
            if names.contains_key(&name) {
                // Listed explicitly: that entry wins.
                continue;
            }
            names.insert(name.clone(), "plugins_dir".into());
            resolved.plugins.insert(
                name.clone(),
                PluginSpec {
                    name,
                    path,
                    limits: global.clone(),
                    config: Vec::new(),
                    grants: global_resolved.clone(),
                    targets: None,
                    reuse: global_reuse.clone(),
                },
            );
        }
        resolved.watch_dirs.push(dir);
    }
    for (tenant, entry) in &file.tenants {
        let at = format!("tenants.{tenant}");
        let err_at = |field: &str, m: String| {
            let key = field.rsplit('.').next().unwrap_or(field);
            let key = key.split('[').next().unwrap_or(key);
            ConfigError {
                file: config_path.to_owned(),
                line: lines.as_ref().and_then(|l| l.find(None, Some(key))),
                field: Some(if field.is_empty() {
                    at.clone()
                } else {
                    format!("{at}.{field}")
                }),
                message: m,
            }
        };
        let spec = resolve_tenant(tenant, entry, &global, &global_reuse, base_dir, &err_at)?;
        for plugin in spec.plugins.values() {
            if let Some(parent) = plugin.path.parent() {
                resolved.watch_dirs.push(parent.to_owned());
            }
        }
        resolved.tenants.insert(tenant.clone(), spec);
    }
    resolved.watch_dirs.sort();
    resolved.watch_dirs.dedup();
    Ok(resolved)
}

/// Resolves one tenant: its name, credentials, ceiling and plugins.
fn resolve_tenant(
    name: &str,
    entry: &TenantEntry,
    limits: &PluginLimits,
    reuse: &ReusePolicy,
    base_dir: &Path,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<TenantSpec, ConfigError> {
    if !is_tenant_name(name) {
        return Err(err(
            "",
            format!("{name:?} is not a valid tenant name (lowercase letters, digits, _ -)"),
        ));
    }
    let auth = &entry.auth;
    if auth.bearer_token_sha256.is_empty() && auth.basic_auth_users.is_empty() {
        return Err(err(
            "auth",
            "no credentials: give bearer_token_sha256 or basic_auth_users".into(),
        ));
    }
    let mut tokens = Vec::new();
    for (i, hex_digest) in auth.bearer_token_sha256.iter().enumerate() {
        let digest = hex::decode(hex_digest.trim())
            .ok()
            .and_then(|d| <[u8; 32]>::try_from(d).ok())
            .ok_or_else(|| {
                err(
                    &format!("auth.bearer_token_sha256[{i}]"),
                    "not a SHA-256 digest (64 hex digits): store the token's hash, not the token \
                     (printf %s TOKEN | sha256sum)"
                        .into(),
                )
            })?;
        tokens.push(digest);
    }
    crate::auth::BasicAuth::new(auth.basic_auth_users.clone())
        .map_err(|e| err(&format!("auth.basic_auth_users.{}", e.user), e.reason))?;
    let max_in_flight = match entry.max_in_flight {
        Some(0) => return Err(err("max_in_flight", "must be more than 0".into())),
        Some(n) => n,
        None => DEFAULT_TENANT_MAX_IN_FLIGHT,
    };
    // The ceiling: a kind not listed is granted to none of its plugins.
    let written = entry.grants_ceiling.clone().unwrap_or_default();
    let ceiling = GrantsEntry {
        http: Some(written.http.unwrap_or_default()),
        tcp: Some(written.tcp.unwrap_or_default()),
        udp: Some(written.udp.unwrap_or_default()),
        files: Some(written.files.unwrap_or_default()),
        env: Some(written.env.unwrap_or_default()),
        statfs: Some(written.statfs.unwrap_or_default()),
        probe_target: Some(written.probe_target.unwrap_or(false)),
    };
    grants(&ceiling, None, &|field, m| {
        err(&format!("grants_ceiling.{field}"), m)
    })?;
    let ceiling_name = format!("tenants.{name}.grants_ceiling");
    let scope = PluginScope {
        limits,
        reuse,
        default_grants: &Grants::default(),
        ceiling: Some((&ceiling, &ceiling_name)),
    };
    if let Some(prefix) = &entry.metric_prefix
        && let Err(m) = check_metric_prefix(prefix)
    {
        return Err(err("metric_prefix", m));
    }
    let mut plugins = BTreeMap::new();
    let mut own_limits = BTreeMap::new();
    for (i, plugin) in entry.plugins.iter().enumerate() {
        let at = format!("plugins[{i}]");
        let mut spec = resolve_plugin(plugin, &scope, base_dir, &|field, _, m| {
            err(&format!("{at}.{field}"), m)
        })?;
        spec.limits.reserved_label = Some(TENANT_LABEL);
        own_limits.insert(spec.name.clone(), &plugin.limits);
        if plugins.contains_key(&spec.name) {
            return Err(err(
                &format!("{at}.name"),
                format!("plugin name {:?} is already used in this tenant", spec.name),
            ));
        }
        plugins.insert(spec.name.clone(), spec);
    }
    let budget = tenant_budget(&entry.budget, &own_limits, &mut plugins, err)?;
    Ok(TenantSpec {
        name: name.to_owned(),
        bearer_token_sha256: tokens,
        basic_auth_users: auth.basic_auth_users.clone(),
        max_in_flight,
        metric_prefix: entry.metric_prefix.clone().filter(|p| !p.is_empty()),
        budget,
        plugins,
    })
}

/// Whether `prefix` makes a valid metric name of every valid one, and
/// none of the host's.
fn check_metric_prefix(prefix: &str) -> Result<(), String> {
    if !prefix.is_empty() && !is_metric_name(prefix) {
        return Err(format!(
            "{prefix:?} is not a metric-name prefix (letters, digits, _ and :, not starting with a digit)"
        ));
    }
    if prefix.starts_with("__") || prefix.starts_with(RESERVED_PREFIX) {
        return Err(format!(
            "{prefix:?}: names starting with __ or {RESERVED_PREFIX} are reserved"
        ));
    }
    Ok(())
}

/// A tenant's budget, its fuel and memory shared among its `plugins`
/// (`own`: the limits each wrote, by name).
fn tenant_budget(
    written: &TenantBudgetEntry,
    own: &BTreeMap<String, &LimitOverrides>,
    plugins: &mut BTreeMap<String, PluginSpec>,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<TenantBudget, ConfigError> {
    if written.instances == Some(0) {
        return Err(err("budget.instances", "must be more than 0".into()));
    }
    // Which plugins set their own limit (`own` is by name, as `plugins`).
    let fuel_own = own.values().map(|l| l.fuel.is_some());
    let memory_own = own.values().map(|l| l.memory_bytes.is_some());
    let fuel = share_budget(
        written.fuel_per_scrape,
        plugins
            .values_mut()
            .map(|p| &mut p.limits.fuel)
            .zip(fuel_own),
        "fuel_per_scrape",
        "fuel",
        err,
    )?;
    let memory_bytes = share_budget(
        written.memory_bytes_per_scrape,
        plugins
            .values_mut()
            .map(|p| &mut p.limits.memory_bytes)
            .zip(memory_own),
        "memory_bytes_per_scrape",
        "memory_bytes",
        err,
    )?;
    let series = match written.series_per_scrape {
        Some(0) => {
            return Err(err(
                "budget.series_per_scrape",
                "must be more than 0".into(),
            ));
        }
        Some(n) => {
            for plugin in plugins.values_mut() {
                plugin.limits.max_series = plugin.limits.max_series.min(n);
            }
            n
        }
        None => plugins.values().map(|p| p.limits.max_series).sum(),
    };
    Ok(TenantBudget {
        fuel,
        memory_bytes,
        series,
        instances: written.instances,
    })
}

/// Shares `total` (a tenant's budget of one kind per scrape) among its
/// plugins' `limits` (each with whether the plugin set it itself): one
/// that set its own keeps it; the others share what is left evenly, each
/// keeping less if it had less. The budget in effect: `total`, or without
/// one, the sum of the limits.
fn share_budget<'a>(
    total: Option<u64>,
    limits: impl Iterator<Item = (&'a mut u64, bool)>,
    field: &str,
    kind: &str,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<u64, ConfigError> {
    let limits: Vec<(&mut u64, bool)> = limits.collect();
    let Some(total) = total else {
        return Ok(limits.iter().map(|(l, _)| **l).fold(0, u64::saturating_add));
    };
    let field = format!("budget.{field}");
    if total == 0 {
        return Err(err(&field, "must be more than 0".into()));
    }
    let asked: u64 = limits
        .iter()
        .filter(|(_, own)| *own)
        .map(|(l, _)| **l)
        .fold(0, u64::saturating_add);
    if asked > total {
        return Err(err(
            &field,
            format!("{total} is less than the {asked} its plugins' own limits.{kind} ask for"),
        ));
    }
    let sharing = limits.iter().filter(|(_, own)| !own).count() as u64;
    if sharing == 0 {
        return Ok(total);
    }
    let each = (total - asked) / sharing;
    if each == 0 {
        return Err(err(
            &field,
            format!(
                "{total} leaves nothing for the plugins without limits.{kind} of their own, \
                 once those with their own have {asked}"
            ),
        ));
    }
    for (limit, own) in limits {
        if !own {
            *limit = (*limit).min(each);
        }
    }
    Ok(total)
}

fn read_secret(secret: &SecretRef, base_dir: &Path) -> Result<String, String> {
    match (&secret.file, &secret.env) {
        (Some(file), None) => {
            let path = base_dir.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read secret file {}: {e}", path.display()))?;
            Ok(text.strip_suffix('\n').unwrap_or(&text).to_owned())
        }
        (None, Some(var)) => {
            std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))
        }
        _ => Err("a secret needs exactly one of `file` or `env`".into()),
    }
}

/// Milliseconds of `d`, rounded up, so a sub-millisecond timeout is not
/// stored as none.
pub fn whole_millis(d: Duration) -> u64 {
    d.as_nanos()
        .div_ceil(1_000_000)
        .try_into()
        .unwrap_or(u64::MAX)
}

/// Parses a duration the way Prometheus flags and files write them:
/// `500ms`, `5s`, `1.5s`, `2m`, `1h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("{s:?} has no unit (use ms, s, m or h)"))?;
    let (number, unit) = s.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration"))?;
    let secs = match unit {
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
    };
    // `from_secs_f64` would panic on a duration past `Duration::MAX`.
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{s:?} is too long"))
}

/// Finds the line of a field in block-style YAML: within the `plugins:`
/// list item `plugin` (or the whole file), the first line starting with
/// `key:`. Flow-style YAML gets no line numbers.
struct LineIndex<'a> {
    lines: Vec<&'a str>,
    /// Line ranges of the items of the top-level `plugins:` list.
    items: Vec<(usize, usize)>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let lines: Vec<&str> = text.lines().collect();
        let mut items: Vec<(usize, usize)> = Vec::new();
        if let Some(start) = lines.iter().position(|l| l.trim_end() == "plugins:") {
            let mut item_indent = None;
            for (i, line) in lines.iter().enumerate().skip(start + 1) {
                let trimmed = line.trim_start();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                let indent = line.len() - trimmed.len();
                if indent == 0 && !trimmed.starts_with('-') {
                    break;
                }
                if trimmed.starts_with("- ") || trimmed == "-" {
                    let expected = *item_indent.get_or_insert(indent);
                    if indent == expected {
                        if let Some(last) = items.last_mut() {
                            last.1 = i;
                        }
                        items.push((i, lines.len()));
                    }
                }
            }
            if let Some(last) = items.last_mut() {
                let end = lines
                    .iter()
                    .enumerate()
                    .skip(last.0 + 1)
                    .find(|(_, l)| {
                        !l.is_empty()
                            && !l.starts_with(' ')
                            && !l.starts_with('-')
                            && !l.starts_with('#')
                    })
                    .map_or(lines.len(), |(i, _)| i);
                last.1 = end;
            }
        }
        LineIndex { lines, items }
    }

    fn find(&self, plugin: Option<usize>, key: Option<&str>) -> Option<usize> {
        let (start, end) = match plugin {
            Some(i) => *self.items.get(i)?,
            None => (0, self.lines.len()),
        };
        let Some(key) = key else {
            return Some(start + 1);
        };
        let found = (start..end).find(|&i| {
            let t = self.lines[i].trim_start().trim_start_matches("- ");
            t.starts_with(&format!("{key}:"))
        });
        Some(found.unwrap_or(start) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_text(text: &str) -> Result<ResolvedConfig, ConfigError> {
        let path = Path::new("/etc/wasm_exporter/config.yml");
        let file = parse(text, path)?;
        resolve(
            &file,
            path,
            Path::new("/plugins"),
            Some(text),
            &PluginLimits::default(),
        )
    }

    fn error(text: &str) -> ConfigError {
        resolve_text(text).expect_err("must be rejected")
    }

    #[test]
    fn a_full_file_resolves_with_limits_layered() {
        let r = resolve_text(
            "global:\n  timeout: 2s\n  fuel: 500\nplugins:\n  - path: a.wasm\n  - name: bee\n    path: sub/b.wasm\n    limits:\n      timeout: 300ms\n      memory_bytes: 1048576\n    config:\n      port: 6379\n      verbose: true\n      host: db\n",
        )
        .unwrap();
        let a = &r.plugins["a"];
        assert_eq!(a.path, Path::new("/plugins/a.wasm"));
        assert_eq!(a.limits.timeout_ms, 2000);
        assert_eq!(a.limits.fuel, 500);
        let b = &r.plugins["bee"];
        assert_eq!(b.limits.timeout_ms, 300);
        assert_eq!(b.limits.fuel, 500);
        assert_eq!(b.limits.memory_bytes, 1 << 20);
        assert_eq!(
            b.config,
            vec![
                ("host".to_owned(), "db".to_owned()),
                ("port".to_owned(), "6379".to_owned()),
                ("verbose".to_owned(), "true".to_owned()),
            ]
        );
        assert_eq!(
            r.watch_dirs,
            vec![PathBuf::from("/plugins"), PathBuf::from("/plugins/sub")]
        );
    }

    /// A tenant `t` with `rest` (budget, prefix, plugins) after its
    /// credentials.
    fn tenant(rest: &str) -> String {
        format!(
            "tenants:\n  t:\n    auth: {{ bearer_token_sha256: [{}] }}\n{rest}",
            "ab".repeat(32)
        )
    }

    #[test]
    fn a_tenants_fuel_and_memory_are_shared_among_its_plugins() {
        let r = resolve_text(&tenant(
            "    budget: { fuel_per_scrape: 1000, memory_bytes_per_scrape: 40000000, series_per_scrape: 70 }\n    \
             plugins:\n      - { path: a.wasm, limits: { fuel: 400 } }\n      \
             - { path: b.wasm }\n      - { path: c.wasm, limits: { memory_bytes: 100 } }\n",
        ))
        .unwrap();
        let t = &r.tenants["t"];
        let fuel: Vec<u64> = t.plugins.values().map(|p| p.limits.fuel).collect();
        // a keeps its own 400; b and c share the 600 left.
        assert_eq!(fuel, [400, 300, 300]);
        let memory: Vec<u64> = t.plugins.values().map(|p| p.limits.memory_bytes).collect();
        assert_eq!(memory, [19_999_950, 19_999_950, 100]);
        assert!(t.plugins.values().all(|p| p.limits.max_series == 70));
        assert!(
            t.plugins
                .values()
                .all(|p| p.limits.reserved_label == Some(TENANT_LABEL))
        );
        assert_eq!(
            t.budget,
            TenantBudget {
                fuel: 1000,
                memory_bytes: 40_000_000,
                series: 70,
                instances: None,
            }
        );
        // Without a budget: the sum of the plugins' own limits, which a
        // share never raises.
        let r = resolve_text(&tenant(
            "    plugins:\n      - { path: a.wasm, limits: { fuel: 400 } }\n      - { path: b.wasm }\n",
        ))
        .unwrap();
        let default_fuel = PluginLimits::default().fuel;
        assert_eq!(r.tenants["t"].budget.fuel, 400 + default_fuel);
        let r = resolve_text(&tenant(
            "    budget: { fuel_per_scrape: 1000000000000 }\n    plugins:\n      - { path: b.wasm }\n",
        ))
        .unwrap();
        assert_eq!(r.tenants["t"].plugins["b"].limits.fuel, default_fuel);
        // The default registry is untouched.
        assert_eq!(r.plugins.len(), 0);
    }

    #[test]
    fn a_budget_its_plugins_cannot_fit_names_the_tenant_and_the_field() {
        let e = error(&tenant(
            "    budget: { fuel_per_scrape: 100 }\n    plugins:\n      - { path: a.wasm, limits: { fuel: 400 } }\n",
        ));
        assert_eq!(e.field.as_deref(), Some("tenants.t.budget.fuel_per_scrape"));
        assert!(e.message.contains("less than the 400"), "{e}");
        let e = error(&tenant(
            "    budget: { memory_bytes_per_scrape: 100 }\n    plugins:\n      \
             - { path: a.wasm, limits: { memory_bytes: 100 } }\n      - { path: b.wasm }\n",
        ));
        assert_eq!(
            e.field.as_deref(),
            Some("tenants.t.budget.memory_bytes_per_scrape")
        );
        assert!(e.message.contains("leaves nothing"), "{e}");
        for (budget, field) in [
            ("{ series_per_scrape: 0 }", "series_per_scrape"),
            ("{ instances: 0 }", "instances"),
            ("{ fuel_per_scrape: 0 }", "fuel_per_scrape"),
        ] {
            let e = error(&tenant(&format!("    budget: {budget}\n")));
            assert_eq!(
                e.field.as_deref(),
                Some(format!("tenants.t.budget.{field}").as_str())
            );
        }
        for prefix in ["9lives_", "a-b_", "wasm_exporter_", "__x"] {
            let e = error(&tenant(&format!("    metric_prefix: \"{prefix}\"\n")));
            assert_eq!(
                e.field.as_deref(),
                Some("tenants.t.metric_prefix"),
                "{prefix}"
            );
        }
        let r = resolve_text(&tenant("    metric_prefix: team_a_\n")).unwrap();
        assert_eq!(r.tenants["t"].metric_prefix.as_deref(), Some("team_a_"));
    }

    #[test]
    fn unknown_fields_are_reported_with_field_and_line() {
        let e = error("plugins:\n  - path: a.wasm\n    limits:\n      fule: 3\n");
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.to_string().contains("unknown field `fule`"), "{e}");
        assert!(
            e.to_string()
                .starts_with("/etc/wasm_exporter/config.yml:4: "),
            "{e}"
        );
        assert_eq!(e.field.as_deref(), Some("plugins[0].limits"), "{e}");
    }

    #[test]
    fn semantic_errors_name_field_and_line() {
        let e = error(
            "plugins:\n  - path: a.wasm\n  - path: b.wasm\n    limits:\n      timeout: 5 parsecs\n",
        );
        assert_eq!(e.field.as_deref(), Some("plugins[1].limits.timeout"));
        assert_eq!(e.line, Some(5), "{e}");
        let e = error("plugins:\n  - path: a.wasm\n  - path: other/a.wasm\n");
        assert_eq!(e.field.as_deref(), Some("plugins[1].name"));
        assert!(e.message.contains("already used by plugins[0]"), "{e}");
        assert_eq!(e.line, Some(3), "{e}");
        let e = error("plugins:\n  - name: 'bad name'\n    path: a.wasm\n");
        assert!(e.message.contains("not a valid plugin name"), "{e}");
        let e = error("global:\n  memory_bytes: 99999999999\n");
        assert_eq!(e.field.as_deref(), Some("global.memory_bytes"));
        assert_eq!(e.line, Some(2));
        let e = error("global:\n  fuel: 0\n");
        assert!(e.message.contains("more than 0"));
    }

    #[test]
    fn lists_and_maps_reach_the_plugin_as_json() {
        let text = "plugins:\n  - path: a.wasm\n    config:\n      metrics:\n        - name: x\n          labels: { a: b }\n      flags: [1, true]\n";
        let path = Path::new("/etc/wasm_exporter/c.yml");
        let file = parse(text, path).unwrap();
        let r = resolve(
            &file,
            path,
            Path::new("/etc/wasm_exporter"),
            Some(text),
            &PluginLimits::default(),
        )
        .unwrap();
        let config = &r.plugins["a"].config;
        assert!(
            config.contains(&(
                "metrics".into(),
                r#"[{"labels":{"a":"b"},"name":"x"}]"#.into()
            )),
            "{config:?}"
        );
        assert!(
            config.contains(&("flags".into(), "[1,true]".into())),
            "{config:?}"
        );
    }

    #[test]
    fn reuse_settings_are_read_with_global_defaults() {
        let text = "global:\n  serve_stale_on_error: true\n  backoff: { after: 5 }\nplugins:\n  - path: a.wasm\n    cache_ttl: 30s\n    backoff: { initial: 1m, max: 10m }\n  - path: b.wasm\n    serve_stale_on_error: false\n    stale_max_age: 2h\n";
        let path = Path::new("/etc/wasm_exporter/c.yml");
        let file = parse(text, path).unwrap();
        let r = resolve(
            &file,
            path,
            Path::new("/etc/wasm_exporter"),
            Some(text),
            &PluginLimits::default(),
        )
        .unwrap();
        let a = &r.plugins["a"].reuse;
        assert_eq!(a.cache_ttl, Some(Duration::from_secs(30)));
        assert!(a.serve_stale_on_error);
        assert_eq!(a.backoff.after, 5);
        assert_eq!(a.backoff.initial, Duration::from_secs(60));
        assert_eq!(a.backoff.max, Duration::from_secs(600));
        let b = &r.plugins["b"].reuse;
        assert_eq!(b.cache_ttl, None);
        assert!(!b.serve_stale_on_error);
        assert_eq!(b.stale_max_age, Duration::from_secs(7200));
        assert_eq!(b.backoff.initial, crate::reuse::DEFAULT_BACKOFF_INITIAL);

        let bad = |text: &str| {
            let file = parse(text, path).unwrap();
            resolve(
                &file,
                path,
                Path::new("/etc"),
                Some(text),
                &PluginLimits::default(),
            )
            .unwrap_err()
        };
        let e = bad("plugins:\n  - path: a.wasm\n    backoff: { initial: 10m, max: 1m }\n");
        assert_eq!(e.field.as_deref(), Some("plugins[0].backoff"));
        assert!(e.message.contains("shorter than initial"), "{e}");
        let e = bad("plugins:\n  - path: a.wasm\n    cache_ttl: 0s\n");
        assert_eq!(e.field.as_deref(), Some("plugins[0].cache_ttl"));
        let e = bad("plugins:\n  - path: a.wasm\n    limits: { cache_ttl: 5s }\n");
        assert!(e.message.contains("goes beside the limits"), "{e}");
        let e = bad("plugins:\n  - path: a.wasm\n    grants: { probe_target: true }\n");
        assert_eq!(e.field.as_deref(), Some("plugins[0].targets"));
        assert!(e.message.contains("needs a targets rule"), "{e}");
    }

    #[test]
    fn secrets_are_read_but_never_shown() {
        let dir = std::env::temp_dir().join(format!("wx_secret_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pw"), "hunter2\n").unwrap();
        let text = "plugins:\n  - path: a.wasm\n    config:\n      password: { file: pw }\n      path: { env: PATH }\n";
        let path = dir.join("c.yml");
        let file = parse(text, &path).unwrap();
        let r = resolve(&file, &path, &dir, Some(text), &PluginLimits::default()).unwrap();
        let spec = &r.plugins["a"];
        assert!(spec.config.contains(&("password".into(), "hunter2".into())));
        assert!(
            !format!("{spec:?}").contains("hunter2"),
            "Debug hides values"
        );

        let missing = "plugins:\n  - path: a.wasm\n    config:\n      password: { file: nope }\n";
        let e = resolve(
            &parse(missing, &path).unwrap(),
            &path,
            &dir,
            Some(missing),
            &PluginLimits::default(),
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("plugins[0].config.password"));
        assert!(e.message.contains("cannot read secret file"), "{e}");
        let unset =
            "plugins:\n  - path: a.wasm\n    config:\n      t: { env: WX_SURELY_UNSET_VAR }\n";
        let e = resolve(
            &parse(unset, &path).unwrap(),
            &path,
            &dir,
            Some(unset),
            &PluginLimits::default(),
        )
        .unwrap_err();
        assert!(e.message.contains("WX_SURELY_UNSET_VAR is not set"), "{e}");
        let both = "plugins:\n  - path: a.wasm\n    config:\n      t: { env: PATH, file: pw }\n";
        let e = resolve(
            &parse(both, &path).unwrap(),
            &path,
            &dir,
            Some(both),
            &PluginLimits::default(),
        )
        .unwrap_err();
        assert!(e.message.contains("exactly one"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_empty_file_is_an_empty_configuration() {
        assert!(resolve_text("").unwrap().plugins.is_empty());
        assert!(resolve_text("# nothing\n").unwrap().plugins.is_empty());
    }

    #[test]
    fn sub_millisecond_timeouts_round_up() {
        assert_eq!(whole_millis(Duration::from_micros(500)), 1);
        assert_eq!(whole_millis(Duration::from_millis(7)), 7);
        assert_eq!(whole_millis(Duration::MAX), u64::MAX);
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("5").is_err());
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("99999999999999999999999s").is_err());
        assert!(parse_duration(&format!("{}s", "9".repeat(400))).is_err());
    }
}
