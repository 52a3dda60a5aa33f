//! The host's own series: per-plugin health and build information.
//!
//! Every registered plugin gets its health series on every scrape that
//! selects it, up or down, so an alert on `wasm_exporter_plugin_up == 0`
//! sees every failure, including a plugin whose file does not load.

use wasm_exporter_runtime::WASMTIME_VERSION;
use wasm_exporter_runtime::bindings::WIT_VERSION;
use wasm_exporter_runtime::grants::Capability;
use wasm_exporter_runtime::model::{Label, MetricFamily, MetricType, Value};
use wasm_exporter_runtime::outcome::{FailureReason, Outcome};

use crate::registry::PluginMap;

/// Names of the per-plugin health families.
pub mod names {
    /// 1 if the plugin's last collect succeeded.
    pub const UP: &str = "wasm_exporter_plugin_up";
    /// Wall time of the plugin's collect in this scrape.
    pub const DURATION: &str = "wasm_exporter_plugin_scrape_duration_seconds";
    /// Failures by reason (counter).
    pub const FAILURES: &str = "wasm_exporter_plugin_failures_total";
    /// Fuel burned by this scrape's collect.
    pub const FUEL: &str = "wasm_exporter_plugin_fuel_consumed";
    /// Peak linear memory of this scrape's instance.
    pub const MEMORY: &str = "wasm_exporter_plugin_memory_peak_bytes";
    /// Samples returned by this scrape's collect.
    pub const SERIES: &str = "wasm_exporter_plugin_series";
    /// Log records dropped by the plugin's rate limit (counter).
    pub const LOG_DROPPED: &str = "wasm_exporter_plugin_log_records_dropped_total";
    /// File hash and WIT version of the serving version (info).
    pub const INFO: &str = "wasm_exporter_plugin";
    /// The host's version (info).
    pub const BUILD: &str = "wasm_exporter_build";
    /// Loads of new plugin versions by result (counter).
    pub const RELOADS: &str = "wasm_exporter_plugin_reloads_total";
    /// Refused attempts to reach what was not granted, by capability
    /// (counter).
    pub const DENIED: &str = "wasm_exporter_plugin_denied_total";
    /// 1 if this scrape served the plugin's last good result in place of a
    /// failed one.
    pub const STALE: &str = "wasm_exporter_plugin_stale";
    /// Calls of the plugin's collect (counter).
    pub const COLLECTS: &str = "wasm_exporter_plugin_collects_total";
}

fn gauge(name: &str, help: &str, unit: Option<&str>) -> MetricFamily {
    let mut f = MetricFamily::new(name, help, MetricType::Gauge);
    f.unit = unit.map(str::to_owned);
    f
}

fn plugin_label(name: &str) -> Vec<Label> {
    vec![Label::new("plugin", name)]
}

/// The health families for the plugins of one scrape. `outcomes` holds one
/// entry per scraped plugin, in the order of `plugins`' keys.
pub fn plugin_families(
    plugins: &PluginMap,
    outcomes: &[Outcome],
    stale: &[bool],
) -> Vec<MetricFamily> {
    let mut up = gauge(
        names::UP,
        "1 if the plugin's collect succeeded in this scrape, 0 if not.",
        None,
    );
    let mut duration = gauge(
        names::DURATION,
        "Wall time of the plugin's collect in this scrape.",
        Some("seconds"),
    );
    let mut failures = MetricFamily::new(
        names::FAILURES,
        "Scrapes in which the plugin failed, by reason.",
        MetricType::Counter,
    );
    let mut fuel = gauge(
        names::FUEL,
        "Fuel the plugin's collect consumed in this scrape.",
        None,
    );
    let mut memory = gauge(
        names::MEMORY,
        "Peak linear memory of the plugin's instance in this scrape.",
        Some("bytes"),
    );
    let mut series = gauge(
        names::SERIES,
        "Samples the plugin returned in this scrape.",
        None,
    );
    let mut dropped = MetricFamily::new(
        names::LOG_DROPPED,
        "Log records of the plugin dropped by its rate limit.",
        MetricType::Counter,
    );
    let mut info = MetricFamily::new(
        names::INFO,
        "The serving version of each plugin.",
        MetricType::Info,
    );
    let mut denied = MetricFamily::new(
        names::DENIED,
        "Attempts of the plugin to reach what it was not granted, by capability.",
        MetricType::Counter,
    );
    let mut reloads = MetricFamily::new(
        names::RELOADS,
        "Loads of new versions of the plugin's file, by result; after a failure the previous version keeps serving.",
        MetricType::Counter,
    );
    let mut stale_family = gauge(
        names::STALE,
        "1 if the plugin failed in this scrape and its last good result was served in place of it (serve_stale_on_error).",
        None,
    );
    let mut collects = MetricFamily::new(
        names::COLLECTS,
        "Calls of the plugin's collect; scrapes served from its cache, by a call shared with a concurrent scrape, or skipped by its back-off make none.",
        MetricType::Counter,
    );
    for (i, outcome) in outcomes.iter().enumerate() {
        let Some(plugin) = plugins.get(&outcome.plugin) else {
            continue;
        };
        let name = &outcome.plugin;
        let ok = outcome.result.is_ok();
        up.push(plugin_label(name), Value::Gauge(if ok { 1.0 } else { 0.0 }));
        let served_stale = stale.get(i).copied().unwrap_or(false);
        stale_family.push(
            plugin_label(name),
            Value::Gauge(if served_stale { 1.0 } else { 0.0 }),
        );
        collects.push(
            plugin_label(name),
            Value::Counter(plugin.stats.collects() as f64),
        );
        duration.push(
            plugin_label(name),
            Value::Gauge(outcome.duration.as_secs_f64()),
        );
        for reason in FailureReason::ALL {
            failures.push(
                vec![
                    Label::new("plugin", name),
                    Label::new("reason", reason.as_str()),
                ],
                Value::Counter(plugin.stats.failures(reason) as f64),
            );
        }
        fuel.push(
            plugin_label(name),
            Value::Gauge(outcome.fuel_consumed as f64),
        );
        memory.push(
            plugin_label(name),
            Value::Gauge(outcome.memory_peak_bytes as f64),
        );
        series.push(plugin_label(name), Value::Gauge(outcome.series as f64));
        dropped.push(
            plugin_label(name),
            Value::Counter(plugin.context.log.dropped() as f64),
        );
        for capability in Capability::ALL {
            denied.push(
                vec![
                    Label::new("plugin", name),
                    Label::new("capability", capability.as_str()),
                ],
                Value::Counter(plugin.context.denials.get(capability) as f64),
            );
        }
        let (ok, failed) = plugin.stats.reloads();
        for (result, n) in [("success", ok), ("failure", failed)] {
            reloads.push(
                vec![Label::new("plugin", name), Label::new("result", result)],
                Value::Counter(n as f64),
            );
        }
        if let Some(v) = plugin.version() {
            info.push(
                vec![
                    Label::new("plugin", name),
                    Label::new("sha256", &v.sha256),
                    Label::new("wit_version", &v.wit_version),
                ],
                Value::Info,
            );
        }
    }
    vec![
        up,
        duration,
        failures,
        fuel,
        memory,
        series,
        dropped,
        info,
        reloads,
        denied,
        stale_family,
        collects,
    ]
}

/// `wasm_exporter_build_info`.
pub fn build_family() -> MetricFamily {
    let mut f = MetricFamily::new(
        names::BUILD,
        "A metric with a constant '1' value labeled by version, wasmtime version and WIT version from which wasm_exporter was built.",
        MetricType::Info,
    );
    f.push(
        vec![
            Label::new("version", crate::VERSION),
            Label::new("wasmtime_version", WASMTIME_VERSION),
            Label::new("wit_version", WIT_VERSION),
        ],
        Value::Info,
    );
    f
}
