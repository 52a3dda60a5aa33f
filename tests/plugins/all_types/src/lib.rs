//! One family of every type, with the values and strings that exposition
//! formats must escape or spell specially.

use wasm_exporter_sdk::{
    Collector, Descriptor, Family, Histogram, Request, Summary, export_collector,
};

struct AllTypes;

impl Collector for AllTypes {
    fn describe() -> Vec<Descriptor> {
        Self::collect(&Request::default())
            .map(|families| families.iter().map(Family::descriptor).collect())
            .unwrap_or_default()
    }

    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let counter = Family::counter("all_types_requests_total", "Requests served.")
            .with(&[("code", "200")], 1027.0)
            .with(&[("code", "500")], 3.0);
        let gauge = Family::gauge(
            "all_types_gauge",
            "Edge values; help with a backslash \\ and a\nnewline.",
        )
        .with(
            &[
                ("case", "escaped"),
                ("text", "back\\slash \"quoted\"\nnewline"),
            ],
            1.0,
        )
        .with(&[("case", "nan")], f64::NAN)
        .with(&[("case", "pos_inf")], f64::INFINITY)
        .with(&[("case", "neg_inf")], f64::NEG_INFINITY)
        .with(&[("case", "neg_zero")], -0.0)
        .with(&[("case", "large")], 1.5e300)
        .with(&[("case", "small")], -2.5e-300);
        let unknown =
            Family::unknown("all_types_untyped", "A value of unknown type.").with(&[], 42.0);
        let histogram = Family::histogram("all_types_request_duration_seconds", "Request latency.")
            .with_unit("seconds")
            .with_histogram(
                &[("route", "/api")],
                Histogram::new(&[(0.1, 8), (0.5, 11), (1.0, 12)], 3.25, 13),
            );
        let summary = Family::summary("all_types_rpc_duration_seconds", "RPC latency.")
            .with_summary(
                &[("service", "auth")],
                Summary::new(&[(0.5, 0.012), (0.9, 0.031), (0.99, 0.2)], 17.5, 1200),
            );
        let info = Family::info("all_types_build", "Build information.")
            .with_info(&[("version", "1.0.0"), ("revision", "abc123")]);
        let state_set = Family::state_set("all_types_state", "Lifecycle state.").with_states(
            &[],
            &[("starting", false), ("running", true), ("stopped", false)],
        );
        Ok(vec![
            counter, gauge, unknown, histogram, summary, info, state_set,
        ])
    }
}

export_collector!(AllTypes);
