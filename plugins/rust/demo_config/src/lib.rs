//! Shows how a plugin reads the configuration the operator gave it and
//! logs through the host.
//!
//! Keys it understands:
//!
//! - `greeting`: free text, exposed as an info label (default `hello`).
//! - `targets`: comma-separated names to report on; a `/probe?target=`
//!   request reports on that one target instead.
//! - `mode`: `active`, `standby` or `maintenance` (default `active`).
//!
//! Every key, known or not, gets a gauge with the length of its value.

use wasm_exporter_sdk::{
    Collector, Descriptor, Family, MetricType, Request, config, export_collector, info, warn,
};

const MODES: [&str; 3] = ["active", "standby", "maintenance"];

struct DemoConfig;

const VALUE_BYTES: (&str, &str) = (
    "demo_config_value_bytes",
    "Length of each configuration value.",
);
const MODE: (&str, &str) = (
    "demo_config_mode",
    "Operating mode set in the configuration.",
);
const TARGET: (&str, &str) = (
    "demo_config_target_configured",
    "Targets this plugin reports on (1 each).",
);
const GREETING: (&str, &str) = ("demo_config_greeting", "The configured greeting.");

impl Collector for DemoConfig {
    fn describe() -> Vec<Descriptor> {
        vec![
            Descriptor::new(MetricType::Gauge, VALUE_BYTES.0, VALUE_BYTES.1)
                .with_unit("bytes")
                .with_label_names(&["key"]),
            Descriptor::new(MetricType::StateSet, MODE.0, MODE.1),
            Descriptor::new(MetricType::Gauge, TARGET.0, TARGET.1).with_label_names(&["target"]),
            Descriptor::new(MetricType::Info, GREETING.0, GREETING.1)
                .with_label_names(&["greeting"]),
        ]
    }

    fn collect(request: &Request) -> Result<Vec<Family>, String> {
        let config = config();
        let get = |key: &str| {
            config
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };

        let greeting = get("greeting").unwrap_or("hello");
        let mode = get("mode").unwrap_or("active");
        if !MODES.contains(&mode) {
            warn!("unknown mode {mode:?}, expected one of {MODES:?}");
        }
        let targets: Vec<&str> = match &request.target {
            Some(target) => vec![target.as_str()],
            None => get("targets")
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect(),
        };
        info!(
            "{greeting}: {} config keys, {} targets, mode {mode}",
            config.len(),
            targets.len()
        );

        let mut lengths = Family::gauge(VALUE_BYTES.0, VALUE_BYTES.1).with_unit("bytes");
        for (key, value) in &config {
            lengths = lengths.with(&[("key", key)], value.len() as f64);
        }

        let states: Vec<(&str, bool)> = MODES.iter().map(|&m| (m, m == mode)).collect();
        let modes = Family::state_set(MODE.0, MODE.1).with_states(&[], &states);

        let mut probed = Family::gauge(TARGET.0, TARGET.1);
        for target in targets {
            probed = probed.with(&[("target", target)], 1.0);
        }

        let greeting = Family::info(GREETING.0, GREETING.1).with_info(&[("greeting", greeting)]);
        Ok(vec![lengths, modes, probed, greeting])
    }
}

export_collector!(DemoConfig);
