//! Tenants: registries of their own behind credentials of their own.
//!
//! Each tenant of the configuration gets a [`Registry`], served at
//! `/tenants/NAME/metrics` and `/tenants/NAME/probe`, credentials (SHA-256
//! digests of bearer tokens, bcrypt basic-auth users) and a bound on its
//! scrapes in flight, a budget per scrape (fuel, memory, series) and a
//! share of the instance pool and of the host's memory budget, so that a
//! tenant whose plugins are slow or heavy waits for itself and not the
//! others. A request for a tenant that does not exist is answered exactly
//! as one with wrong credentials, after a check of the same cost, so the
//! endpoints do not tell which tenants exist.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use hyper::header::{self, HeaderMap};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use wasm_exporter_exposition::model::{Label, MetricFamily, MetricType, Value};
use wasm_exporter_runtime::cache::constant_time_eq;
use wasm_exporter_runtime::pool::Share;

use crate::auth::BasicAuth;
use crate::config::{TenantBudget, TenantSpec};
use crate::registry::Registry;

/// One tenant's counters, kept across changes of its settings.
#[derive(Debug, Default)]
pub struct TenantStats {
    scrapes: AtomicU64,
    auth_rejections: AtomicU64,
    limit_rejections: AtomicU64,
    last_duration_ns: AtomicU64,
    last_fuel: AtomicU64,
    last_memory_bytes: AtomicU64,
    last_series: AtomicU64,
    series_budget_spent: AtomicU64,
}

/// What one scrape of a tenant took of its budget.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScrapeCost {
    /// Fuel its plugins burned.
    pub fuel: u64,
    /// The sum of its plugins' peak linear memory.
    pub memory_bytes: u64,
    /// Series its plugins returned.
    pub series: u64,
    /// Whether plugins were down because its series budget was spent.
    pub series_budget_spent: bool,
}

impl TenantStats {
    /// A scrape served, taking `duration` until its exposition was ready
    /// and `cost` of its budget.
    pub fn record_scrape(&self, duration: std::time::Duration, cost: ScrapeCost) {
        self.scrapes.fetch_add(1, Ordering::Relaxed);
        self.last_duration_ns.store(
            u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.last_fuel.store(cost.fuel, Ordering::Relaxed);
        self.last_memory_bytes
            .store(cost.memory_bytes, Ordering::Relaxed);
        self.last_series.store(cost.series, Ordering::Relaxed);
        if cost.series_budget_spent {
            self.series_budget_spent.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Scrapes served, refused for credentials, and turned away past its
    /// scrapes in flight.
    pub fn counts(&self) -> (u64, u64, u64) {
        (
            self.scrapes.load(Ordering::Relaxed),
            self.auth_rejections.load(Ordering::Relaxed),
            self.limit_rejections.load(Ordering::Relaxed),
        )
    }

    /// What its last scrape took, and how often its series budget was
    /// spent.
    pub fn last_cost(&self) -> (std::time::Duration, ScrapeCost, u64) {
        let cost = ScrapeCost {
            fuel: self.last_fuel.load(Ordering::Relaxed),
            memory_bytes: self.last_memory_bytes.load(Ordering::Relaxed),
            series: self.last_series.load(Ordering::Relaxed),
            series_budget_spent: false,
        };
        (
            std::time::Duration::from_nanos(self.last_duration_ns.load(Ordering::Relaxed)),
            cost,
            self.series_budget_spent.load(Ordering::Relaxed),
        )
    }

    /// A scrape turned away: past its scrapes in flight.
    pub fn record_limit(&self) {
        self.limit_rejections.fetch_add(1, Ordering::Relaxed);
    }
}

/// One tenant: its registry, credentials and bound.
pub struct Tenant {
    /// Its name.
    pub name: String,
    /// Its plugins.
    pub registry: Arc<Registry>,
    /// Its scrapes in flight.
    pub in_flight: Arc<Semaphore>,
    /// The bound of [`Tenant::in_flight`].
    pub max_in_flight: usize,
    /// Its counters.
    pub stats: Arc<TenantStats>,
    /// Its share of the instance pool and of the host's memory budget.
    pub share: Share,
    share_size: (u32, u64),
    tokens: Vec<[u8; 32]>,
    basic: Option<BasicAuth>,
    decoy_cost: u32,
    spec: TenantSpec,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("name", &self.name)
            .field("max_in_flight", &self.max_in_flight)
            .finish_non_exhaustive()
    }
}

impl Tenant {
    /// A tenant as `spec` describes it, serving `registry`.
    pub fn new(
        spec: &TenantSpec,
        registry: Arc<Registry>,
        stats: Arc<TenantStats>,
        decoy_cost: u32,
        share: (u32, u64),
    ) -> Tenant {
        let basic = (!spec.basic_auth_users.is_empty()).then(|| {
            BasicAuth::new(spec.basic_auth_users.clone()).expect("checked by the configuration")
        });
        Tenant {
            name: spec.name.clone(),
            registry,
            in_flight: Arc::new(Semaphore::new(spec.max_in_flight)),
            max_in_flight: spec.max_in_flight,
            stats,
            share: Share::new(share.0, share.1),
            share_size: share,
            tokens: spec.bearer_token_sha256.clone(),
            basic,
            decoy_cost,
            spec: spec.clone(),
        }
    }

    /// Whether its settings (all but its plugins) differ from `spec`'s.
    fn settings_differ(&self, spec: &TenantSpec) -> bool {
        self.spec.bearer_token_sha256 != spec.bearer_token_sha256
            || self.spec.basic_auth_users != spec.basic_auth_users
            || self.spec.max_in_flight != spec.max_in_flight
            || self.spec.metric_prefix != spec.metric_prefix
            || self.spec.budget != spec.budget
    }

    /// What a scrape of it is held to beyond each plugin's limits.
    pub fn metric_prefix(&self) -> Option<&str> {
        self.spec.metric_prefix.as_deref()
    }

    /// Its budget per scrape.
    pub fn budget(&self) -> &TenantBudget {
        &self.spec.budget
    }

    /// Its share of the instance pool and of the memory budget.
    pub fn share_size(&self) -> (u32, u64) {
        self.share_size
    }

    /// Whether the request's `Authorization` header holds one of its
    /// credentials.
    pub async fn check(&self, headers: &HeaderMap) -> bool {
        check_credentials(&self.tokens, self.basic.as_ref(), self.decoy_cost, headers).await
    }
}

/// Whether the `Authorization` header holds a token whose digest is in
/// `tokens` or a user of `basic`. Basic credentials without `basic` are
/// checked against a decoy of `decoy_cost`, so they cost what a wrong
/// password costs.
async fn check_credentials(
    tokens: &[[u8; 32]],
    basic: Option<&BasicAuth>,
    decoy_cost: u32,
    headers: &HeaderMap,
) -> bool {
    let authorization = headers.get(header::AUTHORIZATION);
    if let Some(token) = authorization
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
    {
        return token_matches(tokens, token);
    }
    match basic {
        Some(basic) => basic.check(authorization).await,
        None => {
            decoy(decoy_cost).check(authorization).await;
            false
        }
    }
}

/// The token of a `Bearer` authorization header.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Whether the SHA-256 of `token` is one of `digests`, comparing every
/// digest in full (constant time in the token and in which one matches).
fn token_matches(digests: &[[u8; 32]], token: &str) -> bool {
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let mut found = false;
    for known in digests {
        found |= constant_time_eq(known, &digest);
    }
    found
}

/// Basic auth with one user nobody knows the password of, hashed at
/// `cost`: what a request for an unknown tenant (or a tenant without
/// basic-auth users) is checked against, so it costs what a wrong password
/// costs. One per cost, made when first needed.
fn decoy(cost: u32) -> Arc<BasicAuth> {
    static DECOYS: OnceLock<Mutex<BTreeMap<u32, Arc<BasicAuth>>>> = OnceLock::new();
    let mut decoys = DECOYS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    decoys
        .entry(cost)
        .or_insert_with(|| {
            let mut secret = [0u8; 16];
            let _ = std::fs::File::open("/dev/urandom")
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut secret));
            let hash = bcrypt::hash(secret, cost).expect("bcrypt of 16 bytes");
            Arc::new(
                BasicAuth::new(BTreeMap::from([(String::new(), hash)]))
                    .expect("a fresh bcrypt hash"),
            )
        })
        .clone()
}

/// The bcrypt cost of the first basic-auth user of `specs` (10, the usual
/// cost, if none): what a decoy check costs.
fn decoy_cost<'a>(specs: impl IntoIterator<Item = &'a TenantSpec>) -> u32 {
    specs
        .into_iter()
        .flat_map(|spec| spec.basic_auth_users.values())
        .find_map(|hash| hash.parse::<bcrypt::HashParts>().ok())
        .map_or(10, |parts| parts.get_cost())
}

/// What the tenants' shares are taken from: the instance pool and the
/// host's memory budget.
#[derive(Debug, Clone, Copy)]
pub struct PoolTotals {
    /// Plugin instances alive at once (`--plugins.max-instances`).
    pub instances: u32,
    /// The host's memory budget in bytes.
    pub memory_bytes: u64,
}

/// The tenants being served, by name; changed by reloads.
#[derive(Debug, Default)]
pub struct Tenants {
    by_name: RwLock<BTreeMap<String, Arc<Tenant>>>,
    decoy_cost: std::sync::atomic::AtomicU32,
}

impl Tenants {
    /// Whether the request carries the credentials of the tenant called
    /// `name`: the tenant, if so. An unknown tenant costs what a wrong
    /// credential costs, and is refused the same way.
    pub async fn authorize(&self, name: &str, headers: &HeaderMap) -> Option<Arc<Tenant>> {
        match self.get(name) {
            Some(tenant) => {
                let ok = tenant.check(headers).await;
                if !ok {
                    tenant.stats.auth_rejections.fetch_add(1, Ordering::Relaxed);
                }
                ok.then_some(tenant)
            }
            None => {
                let cost = self.decoy_cost.load(std::sync::atomic::Ordering::Relaxed);
                // The check a wrong credential gets: one digest compared,
                // or a decoy bcrypt check.
                let cost = if cost == 0 { 10 } else { cost };
                check_credentials(&[[0u8; 32]], None, cost, headers).await;
                None
            }
        }
    }

    /// The tenant called `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<Arc<Tenant>> {
        self.by_name
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Every tenant, by name.
    pub fn all(&self) -> Vec<Arc<Tenant>> {
        self.by_name
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Brings the tenants in line with `specs`: a new tenant gets an empty
    /// registry, a changed one keeps its registry (and so its plugins'
    /// state) with its new settings, a removed one is gone. Each gets its
    /// share of `pool` (its `budget.instances`, or an even split of the
    /// instances among the tenants and the default registry, and an even
    /// split of the memory budget). Returns each tenant's registry, for its
    /// plugins to be reconciled, and the names of the tenants removed.
    pub fn update<'a>(
        &self,
        specs: &'a BTreeMap<String, TenantSpec>,
        pool: PoolTotals,
    ) -> (Vec<(Arc<Registry>, &'a TenantSpec)>, Vec<String>) {
        let parts = specs.len() as u64 + 1;
        let share_of = |spec: &TenantSpec| {
            let even = u32::try_from(u64::from(pool.instances) / parts).unwrap_or(u32::MAX);
            let instances = spec
                .budget
                .instances
                .unwrap_or(even)
                .clamp(1, pool.instances.max(1));
            (instances, pool.memory_bytes / parts)
        };
        let cost = decoy_cost(specs.values());
        self.decoy_cost
            .store(cost, std::sync::atomic::Ordering::Relaxed);
        let mut by_name = self.by_name.write().unwrap_or_else(|e| e.into_inner());
        let removed: Vec<String> = by_name
            .keys()
            .filter(|name| !specs.contains_key(*name))
            .cloned()
            .collect();
        for name in &removed {
            by_name.remove(name);
        }
        let mut registries = Vec::new();
        for (name, spec) in specs {
            let share = share_of(spec);
            let tenant = match by_name.get(name) {
                Some(current)
                    if !current.settings_differ(spec)
                        && current.decoy_cost == cost
                        && current.share_size == share =>
                {
                    current.clone()
                }
                Some(current) => {
                    let tenant = Arc::new(Tenant::new(
                        spec,
                        current.registry.clone(),
                        current.stats.clone(),
                        cost,
                        share,
                    ));
                    by_name.insert(name.clone(), tenant.clone());
                    tenant
                }
                None => {
                    let tenant = Arc::new(Tenant::new(
                        spec,
                        Arc::new(Registry::new()),
                        Arc::default(),
                        cost,
                        share,
                    ));
                    by_name.insert(name.clone(), tenant.clone());
                    tenant
                }
            };
            registries.push((tenant.registry.clone(), spec));
        }
        (registries, removed)
    }

    /// The tenants' series, for the host's own page (the operator's).
    pub fn families(&self) -> Vec<MetricFamily> {
        let tenants = self.all();
        if tenants.is_empty() {
            return Vec::new();
        }
        let mut scrapes = MetricFamily::new(
            "wasm_exporter_tenant_scrapes_total",
            "Scrapes of each tenant served.",
            MetricType::Counter,
        );
        let mut rejections = MetricFamily::new(
            "wasm_exporter_tenant_rejections_total",
            "Requests for each tenant refused, by reason: auth (wrong or missing credentials), limit (past max_in_flight).",
            MetricType::Counter,
        );
        let mut duration = MetricFamily::new(
            "wasm_exporter_tenant_last_scrape_duration_seconds",
            "How long each tenant's last scrape took until its exposition was ready.",
            MetricType::Gauge,
        );
        let mut in_flight = MetricFamily::new(
            "wasm_exporter_tenant_scrapes_in_flight",
            "Scrapes of each tenant being served now.",
            MetricType::Gauge,
        );
        let mut max_in_flight = MetricFamily::new(
            "wasm_exporter_tenant_max_scrapes_in_flight",
            "Scrapes of each tenant served at once at most (max_in_flight).",
            MetricType::Gauge,
        );
        let gauge = |name: &str, help: &str| MetricFamily::new(name, help, MetricType::Gauge);
        let mut budget_families = [
            gauge(
                "wasm_exporter_tenant_last_scrape_fuel_consumed",
                "Fuel each tenant's plugins burned in its last scrape, in all.",
            ),
            gauge(
                "wasm_exporter_tenant_fuel_budget",
                "Fuel each tenant's plugins may burn in one scrape, in all (budget.fuel_per_scrape, or the sum of its plugins' fuel).",
            ),
            gauge(
                "wasm_exporter_tenant_last_scrape_memory_peak_bytes",
                "The sum of the peak linear memory of each tenant's plugins in its last scrape.",
            ),
            gauge(
                "wasm_exporter_tenant_memory_budget_bytes",
                "Linear memory each tenant's plugins may grow to in one scrape, in all (budget.memory_bytes_per_scrape, or the sum of its plugins' caps).",
            ),
            gauge(
                "wasm_exporter_tenant_last_scrape_series",
                "Series each tenant's plugins returned in its last scrape, in all.",
            ),
            gauge(
                "wasm_exporter_tenant_series_budget",
                "Series one scrape of each tenant may return (budget.series_per_scrape, or the sum of its plugins' max_series).",
            ),
            gauge(
                "wasm_exporter_tenant_instances_in_use",
                "Plugin instances each tenant's scrapes hold now.",
            ),
            gauge(
                "wasm_exporter_tenant_instances_budget",
                "Plugin instances each tenant's scrapes may hold at once: its share of the pool.",
            ),
        ];
        let mut spent = MetricFamily::new(
            "wasm_exporter_tenant_series_budget_exceeded_total",
            "Scrapes of each tenant in which plugins were down because its series budget was spent.",
            MetricType::Counter,
        );
        for tenant in &tenants {
            let label = || vec![Label::new("tenant", tenant.name.clone())];
            let stats = &tenant.stats;
            let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed) as f64;
            scrapes.push(label(), Value::Counter(load(&stats.scrapes)));
            for (reason, counter) in [
                ("auth", &stats.auth_rejections),
                ("limit", &stats.limit_rejections),
            ] {
                let mut labels = label();
                labels.push(Label::new("reason", reason));
                rejections.push(labels, Value::Counter(load(counter)));
            }
            duration.push(label(), Value::Gauge(load(&stats.last_duration_ns) / 1e9));
            let busy = tenant.max_in_flight - tenant.in_flight.available_permits();
            in_flight.push(label(), Value::Gauge(busy as f64));
            max_in_flight.push(label(), Value::Gauge(tenant.max_in_flight as f64));
            let budget = tenant.budget();
            let values = [
                load(&stats.last_fuel),
                budget.fuel as f64,
                load(&stats.last_memory_bytes),
                budget.memory_bytes as f64,
                load(&stats.last_series),
                budget.series as f64,
                f64::from(tenant.share.instances_in_use()),
                f64::from(tenant.share.instances()),
            ];
            for (family, value) in budget_families.iter_mut().zip(values) {
                family.push(label(), Value::Gauge(value));
            }
            spent.push(label(), Value::Counter(load(&stats.series_budget_spent)));
        }
        let mut families = vec![
            scrapes,
            rejections,
            duration,
            in_flight,
            max_in_flight,
            spent,
        ];
        families.extend(budget_families);
        families
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_match_by_digest_only() {
        let digest: [u8; 32] = Sha256::digest(b"s3cret").into();
        assert!(token_matches(&[[1; 32], digest], "s3cret"));
        assert!(!token_matches(&[digest], "s3cre"));
        assert!(!token_matches(&[], "s3cret"));
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
