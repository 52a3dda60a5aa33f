//! Hostile plugins fail alone: the host keeps serving, the plugin's `up` is
//! 0 with the right reason, the others' output is unchanged, and the next
//! scrape works.

use crate::common::{Host, TempDir, collect_alone, example_plugin, test_plugin};

/// Each hostile plugin, the one reason it must fail with, and limits under
/// which no other reason is possible however slow the machine: the two
/// that spin get a fuel budget of about a millisecond of guest work and a
/// minute of wall time, so they always run out of fuel; the one that
/// sleeps burns no fuel and gets a short deadline; every other failure is
/// deterministic (it does not depend on time), and gets a minute too.
const HOSTILE: [(&str, &str, &str); 10] = [
    ("loop", "fuel", "{ fuel: 10000000, timeout: 60s }"),
    ("membomb", "memory", "{ timeout: 60s }"),
    ("panic", "trap", "{ timeout: 60s }"),
    ("recursion", "trap", "{ timeout: 60s }"),
    ("sleeper", "timeout", "{ timeout: 1500ms }"),
    ("error", "error", "{ timeout: 60s }"),
    ("bad_name", "invalid_output", "{ timeout: 60s }"),
    ("dup_series", "invalid_output", "{ timeout: 60s }"),
    ("huge", "too_large", "{ timeout: 60s }"),
    ("stdout_flood", "fuel", "{ fuel: 10000000, timeout: 60s }"),
];

#[test]
fn each_hostile_plugin_is_down_with_its_reason_and_the_rest_serves() {
    let dir = TempDir::new("hostile");
    let mut config = String::from("plugins:\n");
    for (name, _, limits) in HOSTILE {
        dir.add(name, &test_plugin(name));
        config.push_str(&format!("  - path: {name}.wasm\n    limits: {limits}\n"));
    }
    dir.add("all_types", &test_plugin("all_types"));
    dir.add("demo_queue", &example_plugin("demo_queue"));
    for name in ["all_types", "demo_queue"] {
        config.push_str(&format!(
            "  - path: {name}.wasm\n    limits: {{ timeout: 60s }}\n"
        ));
    }
    let config_file = dir.path().join("config.yml");
    std::fs::write(&config_file, config).unwrap();
    let host = Host::start_with(
        dir,
        TempDir::new("cache"),
        vec!["--config.file".into(), config_file.into()],
        &[],
    );
    let reference = collect_alone(&test_plugin("all_types"));
    let reference_lines: Vec<&str> = reference.lines().filter(|l| !l.starts_with('#')).collect();

    for round in 1..=2 {
        let page = host.scrape();
        for (name, reason, _) in HOSTILE {
            assert_eq!(page.up(name), Some(0.0), "{name} is down in round {round}");
            assert_eq!(
                page.failures(name, reason),
                round as f64,
                "{name} failed with reason {reason} in round {round}"
            );
            assert!(
                page.lines_of(&format!("{name}_")).is_empty(),
                "nothing of {name} is served"
            );
        }
        assert_eq!(page.up("all_types"), Some(1.0));
        assert_eq!(page.up("demo_queue"), Some(1.0));
        assert_eq!(
            page.lines_of("all_types_"),
            reference_lines,
            "all_types' output is the same as when it runs alone"
        );
        assert!(page.value("demo_queue_depth{queue=\"mail\"}").is_some());
    }

    // Failures are attributed in the log, and the landing page says why.
    host.wait_for_log(&["plugin=panic", "panicked"]);
    let landing = host.get_ok("/");
    assert!(landing.contains("ran out of fuel"), "{landing}");
    assert!(landing.contains("memory limit exceeded"), "{landing}");
    assert!(landing.contains("upstream unreachable"), "{landing}");
}

#[test]
fn stdout_flood_is_rate_limited_in_the_log() {
    let dir = TempDir::new("flood");
    dir.add("stdout_flood", &test_plugin("stdout_flood"));
    let started = std::time::Instant::now();
    let host = Host::start(dir, &[]);
    for _ in 0..3 {
        assert_eq!(host.scrape().up("stdout_flood"), Some(0.0));
    }
    // The budget: a burst of 50 records, then 5 per second.
    let budget = 50 + (5.0 * started.elapsed().as_secs_f64()).ceil() as usize + 2;
    let lines = host
        .log()
        .iter()
        .filter(|l| l.contains("plugin=stdout_flood") && l.contains("stream=stdout"))
        .count();
    assert!(lines > 0, "some output reaches the log");
    assert!(
        lines <= budget,
        "{lines} lines logged (budget {budget}): the budget caps a flood"
    );
    let page = host.scrape();
    assert!(
        page.value("wasm_exporter_plugin_log_records_dropped_total{plugin=\"stdout_flood\"}")
            .unwrap()
            > 0.0
    );
}

#[test]
fn scrape_timeout_header_shortens_the_deadline() {
    let dir = TempDir::new("deadline");
    dir.add("sleeper", &test_plugin("sleeper"));
    dir.add("echo_request", &test_plugin("echo_request"));
    // A large offset, so that the answer arriving within the scraper's
    // timeout does not hang on the machine's speed: 3 s less the 2 s
    // offset leaves the plugins 1 s, and the host 2 s to answer.
    let host = Host::start(dir, &["--scrape.timeout-offset", "2s"]);
    let started = std::time::Instant::now();
    let r = host.get_with(
        "/metrics?format=text",
        &[("X-Prometheus-Scrape-Timeout-Seconds", "3")],
    );
    let took = started.elapsed();
    assert_eq!(r.status, 200);
    let page = crate::common::Exposition::parse(&r.body);
    assert_eq!(page.up("sleeper"), Some(0.0));
    assert_eq!(page.failures("sleeper", "timeout"), 1.0);
    // 3 s minus the 2 s offset.
    let left = page.value("echo_timeout_ms").unwrap();
    assert!((900.0..=1000.0).contains(&left), "echo saw {left} ms");
    assert!(
        took.as_secs_f64() < 3.0,
        "answered within the scrape timeout ({took:?})"
    );
}
