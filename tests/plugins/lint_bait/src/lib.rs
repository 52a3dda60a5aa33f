//! Returns one clean, described gauge (`lint_bait_queue_depth`) and, per
//! its `case` config value, one family that breaks exactly one of the
//! rules `wasm_exporter check` lints for. `case=clean` (the default)
//! breaks none.

use wasm_exporter_sdk::{
    Collector, Descriptor, Family, MetricType, Request, config_get, export_collector,
};

/// The bait: its name, type, help, label, series, and whether `describe`
/// declares it.
struct Bait {
    name: &'static str,
    type_: MetricType,
    help: &'static str,
    label: &'static str,
    series: usize,
    described: bool,
}

const fn bait(name: &'static str, type_: MetricType) -> Bait {
    Bait {
        name,
        type_,
        help: "A family that breaks one rule.",
        label: "queue",
        series: 1,
        described: true,
    }
}

fn case() -> String {
    config_get("case").unwrap_or_else(|| "clean".into())
}

fn bait_of(case: &str) -> Option<Bait> {
    Some(match case {
        "no_help" => Bait {
            help: "",
            ..bait("lint_bait_workers", MetricType::Gauge)
        },
        "counter_without_total" => bait("lint_bait_requests", MetricType::Counter),
        "non_base_unit" => bait("lint_bait_latency_milliseconds", MetricType::Gauge),
        "abbreviated_unit" => bait("lint_bait_latency_ms", MetricType::Gauge),
        "camel_case" => bait("lint_bait_queueSize", MetricType::Gauge),
        "camel_case_label" => Bait {
            label: "queueName",
            ..bait("lint_bait_size", MetricType::Gauge)
        },
        "type_in_name" => bait("lint_bait_size_gauge", MetricType::Gauge),
        "reserved_suffix" => bait("lint_bait_latency_bucket", MetricType::Gauge),
        "colon" => bait("lint_bait:size", MetricType::Gauge),
        "high_cardinality" => Bait {
            series: 2_000,
            ..bait("lint_bait_jobs", MetricType::Gauge)
        },
        "undescribed" => Bait {
            described: false,
            ..bait("lint_bait_hidden", MetricType::Gauge)
        },
        _ => return None,
    })
}

const DEPTH: (&str, &str) = ("lint_bait_queue_depth", "Jobs waiting in the queue.");

struct LintBait;

impl Collector for LintBait {
    fn describe() -> Vec<Descriptor> {
        let case = case();
        // `type_mismatch` declares the clean gauge as a counter.
        let depth_type = if case == "type_mismatch" {
            MetricType::Counter
        } else {
            MetricType::Gauge
        };
        let mut out =
            vec![Descriptor::new(depth_type, DEPTH.0, DEPTH.1).with_label_names(&["queue"])];
        if case == "not_returned" {
            out.push(Descriptor::new(
                MetricType::Gauge,
                "lint_bait_missing",
                "Never returned.",
            ));
        }
        if let Some(b) = bait_of(&case).filter(|b| b.described) {
            out.push(Descriptor::new(b.type_, b.name, b.help).with_label_names(&[b.label]));
        }
        out
    }

    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let mut out = vec![Family::gauge(DEPTH.0, DEPTH.1).with(&[("queue", "mail")], 3.0)];
        if let Some(b) = bait_of(&case()) {
            let mut family = match b.type_ {
                MetricType::Counter => Family::counter(b.name, b.help),
                _ => Family::gauge(b.name, b.help),
            };
            for i in 0..b.series {
                family = family.with(&[(b.label, &format!("q{i}"))], i as f64);
            }
            out.push(family);
        }
        Ok(out)
    }
}

export_collector!(LintBait);
