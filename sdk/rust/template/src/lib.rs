//! A starting point for a Rust collector: rename the metrics, and replace
//! the body of `collect` with what reaches the system it observes (grant
//! what it needs in the host's configuration).

use wasm_exporter_sdk::{
    Collector, Descriptor, Family, MetricType, Request, config_get, debug, export_collector,
};

const QUEUE_DEPTH: (&str, &str) = ("template_queue_depth", "Jobs waiting per queue.");
const SCRAPES: (&str, &str) = ("template_scrapes_total", "Scrapes this plugin answered.");

struct Template;

impl Collector for Template {
    /// What `collect` returns: the host lists it, and `wasm_exporter check`
    /// compares the two.
    fn describe() -> Vec<Descriptor> {
        vec![
            Descriptor::new(MetricType::Gauge, QUEUE_DEPTH.0, QUEUE_DEPTH.1)
                .with_label_names(&["queue"]),
            Descriptor::new(MetricType::Counter, SCRAPES.0, SCRAPES.1),
        ]
    }

    fn collect(request: &Request) -> Result<Vec<Family>, String> {
        // Configuration arrives as strings: `config: { depth: "7" }`.
        let depth = match config_get("depth") {
            Some(text) => text
                .parse::<f64>()
                .map_err(|_| format!("config depth: {text:?} is not a number"))?,
            None => 0.0,
        };
        debug!("collecting with {:?} left", request.timeout);
        let queue = Family::gauge(QUEUE_DEPTH.0, QUEUE_DEPTH.1)
            .with(&[("queue", "mail")], depth)
            .with(&[("queue", "billing")], 0.0);
        let scrapes = Family::counter(SCRAPES.0, SCRAPES.1).with(&[], 1.0);
        Ok(vec![queue, scrapes])
    }
}

export_collector!(Template);
