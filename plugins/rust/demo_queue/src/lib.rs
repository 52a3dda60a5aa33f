//! A job queue service as an exporter would see it: depth and busy workers
//! per queue (gauges), jobs processed per queue and outcome (counters), and
//! the build of the service (info).
//!
//! The numbers are derived from the wall clock, so counters grow steadily
//! across scrapes and gauges drift over minutes, although a fresh instance
//! builds everything from scratch on each scrape.

use std::time::{SystemTime, UNIX_EPOCH};

use wasm_exporter_sdk::{Collector, Descriptor, Family, MetricType, Request, export_collector};

/// The simulated service restarts every day at 00:00 UTC; its counters then
/// start again from zero, as after a real restart.
const RESTART_EVERY_SECS: f64 = 86_400.0;

/// Queue name, jobs processed per second, failure ratio, worker pool size.
const QUEUES: [(&str, f64, f64, u32); 4] = [
    ("mail", 12.5, 0.004, 8),
    ("billing", 1.2, 0.001, 2),
    ("reports", 0.05, 0.02, 1),
    ("webhooks", 30.0, 0.015, 16),
];

const DEPTH: (&str, &str) = ("demo_queue_depth", "Jobs waiting in the queue.");
const BUSY: (&str, &str) = (
    "demo_queue_workers_busy",
    "Workers currently running a job.",
);
const PROCESSED: (&str, &str) = (
    "demo_queue_jobs_processed_total",
    "Jobs taken off the queue, by outcome.",
);
const BUILD: (&str, &str) = ("demo_queue_build", "Build of the queue service.");

struct DemoQueue;

impl Collector for DemoQueue {
    fn describe() -> Vec<Descriptor> {
        vec![
            Descriptor::new(MetricType::Gauge, DEPTH.0, DEPTH.1).with_label_names(&["queue"]),
            Descriptor::new(MetricType::Gauge, BUSY.0, BUSY.1).with_label_names(&["queue"]),
            Descriptor::new(MetricType::Counter, PROCESSED.0, PROCESSED.1)
                .with_label_names(&["queue", "outcome"]),
            Descriptor::new(MetricType::Info, BUILD.0, BUILD.1)
                .with_label_names(&["version", "revision"]),
        ]
    }

    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| format!("clock before 1970: {e}"))?
            .as_secs_f64();
        let uptime = now % RESTART_EVERY_SECS;

        let mut depth = Family::gauge(DEPTH.0, DEPTH.1);
        let mut busy = Family::gauge(BUSY.0, BUSY.1);
        let mut processed = Family::counter(PROCESSED.0, PROCESSED.1);
        for (i, &(queue, rate, failure_ratio, workers)) in QUEUES.iter().enumerate() {
            // A slow wave per queue, phase-shifted so the queues differ.
            let load = 0.5 + 0.5 * (uptime / 60.0 + i as f64).sin();
            let labels = [("queue", queue)];
            depth = depth.with(&labels, (load * rate * 20.0).round());
            busy = busy.with(&labels, (load * f64::from(workers)).ceil());

            let total = (uptime * rate).floor();
            let failed = (total * failure_ratio).floor();
            processed = processed
                .with(&[("queue", queue), ("outcome", "success")], total - failed)
                .with(&[("queue", queue), ("outcome", "failure")], failed);
        }
        let build = Family::info(BUILD.0, BUILD.1).with_info(&[
            ("version", env!("CARGO_PKG_VERSION")),
            ("revision", "4f2c9e1"),
        ]);
        Ok(vec![depth, busy, processed, build])
    }
}

export_collector!(DemoQueue);
