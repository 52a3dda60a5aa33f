//! The host's output parses with Prometheus' reference parsers (Python
//! prometheus_client, text and OpenMetrics), for the example plugins and
//! every metric type, and the format follows the Accept header.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{Host, TempDir, example_plugin, repo_root, test_plugin};

/// The project-local Python with prometheus_client (`cargo xtask test`
/// creates it), or `WASM_EXPORTER_PYTHON`.
fn python() -> PathBuf {
    if let Ok(p) = std::env::var("WASM_EXPORTER_PYTHON") {
        return p.into();
    }
    let venv = repo_root().join(".venv/bin/python");
    assert!(
        venv.is_file(),
        "{} is missing: run `cargo xtask test` (it creates the venv with prometheus_client)",
        venv.display()
    );
    venv
}

pub fn parse_with_python(format: &str, body: &str) -> serde_json::Value {
    let dir = TempDir::new("parse");
    let file = dir.path().join("exposition.txt");
    std::fs::write(&file, body).unwrap();
    let out = Command::new(python())
        .arg(repo_root().join("tests/python/parse_exposition.py"))
        .arg(format)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "prometheus_client's {format} parser rejected the output: {}\n---\n{body}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn host_with_every_type() -> Host {
    let dir = TempDir::new("expo");
    for name in ["demo_queue", "demo_latency", "demo_config"] {
        dir.add(name, &example_plugin(name));
    }
    dir.add("all_types", &test_plugin("all_types"));
    Host::start(dir, &[])
}

#[test]
fn openmetrics_output_parses_with_the_reference_parser() {
    let host = host_with_every_type();
    let r = host.get_with(
        "/metrics",
        &[("Accept", "application/openmetrics-text; version=1.0.0")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let parsed = parse_with_python("openmetrics", &r.body);
    let families = &parsed["families"];
    for (name, type_) in [
        ("all_types_requests", "counter"),
        ("all_types_gauge", "gauge"),
        ("all_types_untyped", "unknown"),
        ("all_types_request_duration_seconds", "histogram"),
        ("all_types_rpc_duration_seconds", "summary"),
        ("all_types_build", "info"),
        ("all_types_state", "stateset"),
        ("demo_queue_jobs_processed", "counter"),
        ("wasm_exporter_plugin_up", "gauge"),
        ("wasm_exporter_plugin_failures", "counter"),
        ("wasm_exporter_build", "info"),
        ("process_cpu_seconds", "counter"),
    ] {
        assert_eq!(families[name]["type"], type_, "{name} in {families}");
    }
}

#[test]
fn text_output_parses_with_the_reference_parser() {
    let host = host_with_every_type();
    let r = host.get_with("/metrics", &[("Accept", "text/plain;version=0.0.4")]);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(!r.body.contains("# EOF"));
    let parsed = parse_with_python("text", &r.body);
    let families = &parsed["families"];
    for (name, type_) in [
        ("all_types_requests", "counter"),
        ("all_types_gauge", "gauge"),
        ("all_types_untyped", "unknown"),
        ("all_types_request_duration_seconds", "histogram"),
        ("all_types_rpc_duration_seconds", "summary"),
        ("all_types_build_info", "gauge"),
        ("all_types_state", "gauge"),
        ("demo_latency_http_request_duration_seconds", "histogram"),
        ("wasm_exporter_plugin_up", "gauge"),
    ] {
        assert_eq!(families[name]["type"], type_, "{name} in {families}");
    }
}

#[test]
fn no_accept_header_gets_text_and_gzip_is_honoured() {
    let host = host_with_every_type();
    let plain = host.get_with("/metrics", &[]);
    assert_eq!(
        plain.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    // reqwest decompresses transparently when it asked for gzip; ask by hand.
    let resp = reqwest::blocking::Client::builder()
        .no_gzip()
        .build()
        .unwrap()
        .get(host.url("/metrics"))
        .header("Accept-Encoding", "gzip")
        .send()
        .unwrap();
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let zipped = resp.bytes().unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut text)
        .unwrap();
    assert!(text.contains("all_types_requests_total{code=\"200\"} 1027"));
}

#[test]
fn plugin_output_never_carries_timestamps() {
    let host = host_with_every_type();
    for line in host
        .get_ok("/metrics?format=text")
        .lines()
        .filter(|l| !l.starts_with('#'))
    {
        let rest = match line.rfind('}') {
            Some(i) => &line[i + 1..],
            None => line.split_once(' ').map_or("", |(_, r)| r),
        };
        assert_eq!(
            rest.split_whitespace().count(),
            1,
            "only a value follows the series: {line}"
        );
    }
}
