//! Request latencies of a simulated HTTP service (a histogram per method and
//! route) and of its database queries (a summary per query).
//!
//! Latencies follow an exponential distribution with a mean per route, and
//! the number of observations grows with the wall clock, so every bucket,
//! sum and count only goes up, as on a real service (until the simulated
//! daily restart).

use std::time::{SystemTime, UNIX_EPOCH};

use wasm_exporter_sdk::{
    Collector, DEFAULT_BUCKETS, Descriptor, Family, Histogram, MetricType, Request, Summary,
    export_collector,
};

/// The simulated service restarts every day at 00:00 UTC; its counters then
/// start again from zero, as after a real restart.
const RESTART_EVERY_SECS: f64 = 86_400.0;

/// Method, route, requests per second, mean latency in seconds.
const ROUTES: [(&str, &str, f64, f64); 4] = [
    ("GET", "/api/users", 40.0, 0.035),
    ("POST", "/api/orders", 6.0, 0.120),
    ("GET", "/api/reports", 0.2, 1.8),
    ("GET", "/healthz", 1.0, 0.002),
];

/// Query, executions per second, mean duration in seconds.
const QUERIES: [(&str, f64, f64); 3] = [
    ("select_user", 45.0, 0.004),
    ("insert_order", 6.0, 0.015),
    ("report_rollup", 0.2, 1.2),
];

const QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];

/// Name and help of each family.
const REQUESTS: (&str, &str) = (
    "demo_latency_http_request_duration_seconds",
    "Time to serve an HTTP request.",
);
const DB_QUERIES: (&str, &str) = (
    "demo_latency_db_query_duration_seconds",
    "Time to run a database query.",
);

struct DemoLatency;

impl Collector for DemoLatency {
    fn describe() -> Vec<Descriptor> {
        vec![
            Descriptor::new(MetricType::Histogram, REQUESTS.0, REQUESTS.1)
                .with_unit("seconds")
                .with_label_names(&["method", "route"]),
            Descriptor::new(MetricType::Summary, DB_QUERIES.0, DB_QUERIES.1)
                .with_unit("seconds")
                .with_label_names(&["query"]),
        ]
    }

    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| format!("clock before 1970: {e}"))?
            .as_secs_f64();
        let uptime = now % RESTART_EVERY_SECS;

        let mut requests = Family::histogram(REQUESTS.0, REQUESTS.1).with_unit("seconds");
        for (method, route, rate, mean) in ROUTES {
            let count = (uptime * rate).floor();
            // Observations at or below each bound: count * CDF(bound).
            let buckets: Vec<(f64, u64)> = DEFAULT_BUCKETS
                .iter()
                .map(|&bound| {
                    (
                        bound,
                        (count * (1.0 - (-bound / mean).exp())).floor() as u64,
                    )
                })
                .collect();
            let histogram = Histogram::new(&buckets, count * mean, count as u64);
            requests = requests.with_histogram(&[("method", method), ("route", route)], histogram);
        }

        let mut queries = Family::summary(DB_QUERIES.0, DB_QUERIES.1).with_unit("seconds");
        for (query, rate, mean) in QUERIES {
            let count = (uptime * rate).floor();
            // Recent quantiles wobble a little from one minute to the next.
            let wobble = 1.0 + 0.1 * (uptime / 60.0).floor().sin();
            let quantiles: Vec<(f64, f64)> = QUANTILES
                .iter()
                .map(|&q| (q, -mean * (1.0 - q).ln() * wobble))
                .collect();
            let summary = Summary::new(&quantiles, count * mean, count as u64);
            queries = queries.with_summary(&[("query", query)], summary);
        }
        Ok(vec![requests, queries])
    }
}

export_collector!(DemoLatency);
