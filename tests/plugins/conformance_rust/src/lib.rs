//! The conformance plugin in Rust: the reference every other language's
//! conformance plugin is compared with (tests/conformance/README.md).

use wasm_exporter_sdk::{
    Collector, Descriptor, Family, Histogram, Request, Summary, config, config_get,
    export_collector, info,
};

struct Conformance;

/// The families, with the label names of their series, in order.
fn families() -> Vec<Family> {
    let requests = Family::counter("conformance_requests_total", "Requests handled.")
        .with_label_names(&["method", "code"])
        .with(&[("method", "get"), ("code", "200")], 3.0)
        .with(&[("method", "post"), ("code", "500")], 1.0);
    let temperature = Family::gauge("conformance_temperature_celsius", "Temperature in a room.")
        .with_unit("celsius")
        .with_label_names(&["room"])
        .with(&[("room", "hall")], 21.5)
        .with(&[("room", "cellar")], -3.25);
    let latency = Family::histogram("conformance_latency_seconds", "Request latency.")
        .with_unit("seconds")
        .with_histogram(&[], Histogram::new(&[(0.1, 2), (0.5, 5)], 1.75, 6));
    let size = Family::summary("conformance_size_bytes", "Response sizes.")
        .with_unit("bytes")
        .with_label_names(&["path"])
        .with_summary(
            &[("path", "/")],
            Summary::new(&[(0.5, 100.0), (0.9, 250.0)], 1200.0, 8),
        );
    let build = Family::info("conformance_build", "Build information.")
        .with_label_names(&["version", "language"])
        .with_info(&[("version", "1.2.3"), ("language", "rust")]);
    let state = Family::state_set("conformance_state", "Current state.")
        .with_states(&[], &[("a", true), ("b", false)]);
    let mystery =
        Family::unknown("conformance_mystery", "A value of unknown type.").with(&[], 42.0);
    let mut configured = Family::gauge("conformance_config", "Configuration the plugin received.")
        .with_label_names(&["key", "value"]);
    for (key, value) in config() {
        configured.add(&[("key", &key), ("value", &value)], 1.0);
    }
    let text = Family::gauge(
        "conformance_text",
        "Escaping: back\\slash, \"quotes\" and a\nline.",
    )
    .with_label_names(&["text"])
    .with(&[("text", "a\"b\\c\nd")], 1.0)
    .with(&[("text", "ünïcødé ✓")], 2.0);
    vec![
        requests,
        temperature,
        latency,
        size,
        build,
        state,
        mystery,
        configured,
        text,
    ]
}

impl Collector for Conformance {
    fn describe() -> Vec<Descriptor> {
        families().iter().map(Family::descriptor).collect()
    }

    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        info!("conformance collect");
        match config_get("mode").as_deref() {
            Some("error") => Err("requested error".to_owned()),
            Some("loop") => loop {
                std::hint::black_box(());
            },
            Some("membomb") => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            Some("panic") => panic!("requested panic"),
            _ => {
                let mut families = families();
                if let Some(n) = config_get("series").and_then(|n| n.parse::<usize>().ok()) {
                    let mut bench = Family::gauge("conformance_bench", "Benchmark series.")
                        .with_label_names(&["index"]);
                    for i in 0..n {
                        bench.add_values(&[&i.to_string()], i as f64);
                    }
                    families.push(bench);
                }
                Ok(families)
            }
        }
    }
}

export_collector!(Conformance);
