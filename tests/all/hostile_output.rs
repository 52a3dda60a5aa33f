//! Output built to hurt the host rather than the scraper: one data point
//! with a huge number of labels, states, quantiles or buckets, and strings
//! aliased in the guest's memory so their copy into the host is hundreds of
//! times larger. The host refuses it within the plugin's limits, its own
//! memory stays bounded by the memory budget, `/-/healthy` answers
//! throughout, and a well-behaved plugin's output (`all_types`, whose
//! output never changes) stays the same.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{Host, TempDir, collect_alone, test_plugin};

/// `/-/healthy` must answer within this while plugins are attacking. A
/// liveness bound, far above the few milliseconds it takes: before the
/// host ran plugins on threads of its own, one wide result held the HTTP
/// threads for seconds.
const HEALTHY_WITHIN: Duration = Duration::from_secs(1);

/// Scrapes `host` from `threads` threads at once, `rounds` times each,
/// checking `/-/healthy` meanwhile; returns the slowest health answer.
fn attack(host: &Arc<Host>, threads: usize, rounds: usize, path: &str) -> Duration {
    let scrapers: Vec<_> = (0..threads)
        .map(|_| {
            let host = host.clone();
            let path = path.to_owned();
            std::thread::spawn(move || {
                for _ in 0..rounds {
                    let r = host.get_with(&path, &[]);
                    assert_eq!(r.status, 200, "{}", r.body);
                }
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    while scrapers.iter().any(|s| !s.is_finished()) {
        slowest = slowest.max(host.healthy_latency());
        std::thread::sleep(Duration::from_millis(20));
    }
    for s in scrapers {
        s.join().unwrap();
    }
    slowest
}

fn config_entry(name: &str, file: &str, limits: &str, config: &str) -> String {
    format!("  - name: {name}\n    path: {file}.wasm\n    limits: {limits}\n    config: {config}\n")
}

#[test]
fn wide_output_is_refused_by_the_per_series_caps() {
    let dir = TempDir::new("wide_caps");
    dir.add("wide_output", &test_plugin("wide_output"));
    dir.add("all_types", &test_plugin("all_types"));
    let mut config = String::from("plugins:\n  - path: all_types.wasm\n");
    for (shape, n) in [
        ("labels", 100_000),
        ("states", 5_000),
        ("quantiles", 5_000),
        ("buckets", 5_000),
    ] {
        config.push_str(&config_entry(
            &format!("wide_{shape}"),
            "wide_output",
            "{ timeout: 60s }",
            &format!("{{ shape: {shape}, n: {n} }}"),
        ));
    }
    let host = Arc::new(Host::start_config(dir, &config, &[]));
    let reference = collect_alone(&test_plugin("all_types"));
    let slowest = attack(&host, 4, 3, "/metrics?format=text");
    assert!(slowest < HEALTHY_WITHIN, "/-/healthy took {slowest:?}");
    let page = host.scrape();
    let landing = host.get_ok("/");
    for (shape, what) in [
        ("labels", "100000 labels, over the limit of 128"),
        ("states", "5000 states, over the limit of 1024"),
        ("quantiles", "5000 quantiles, over the limit of 64"),
        ("buckets", "5000 buckets, over the limit of 256"),
    ] {
        let name = format!("wide_{shape}");
        assert_eq!(page.up(&name), Some(0.0), "{name}");
        assert!(page.failures(&name, "too_large") >= 1.0, "{name}");
        assert!(
            landing.contains(what),
            "the landing page says why {name} is down: {what}"
        );
    }
    let own: Vec<&str> = reference.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(page.lines_of("all_types_"), own, "all_types is unchanged");
}

/// With the caps raised out of the way, the same wide data points are
/// valid: checking them must cost linear time, on threads that are not
/// the HTTP server's.
#[test]
fn wide_output_under_raised_caps_is_checked_without_stalling_the_server() {
    let dir = TempDir::new("wide_raised");
    dir.add("wide_output", &test_plugin("wide_output"));
    let raised = "{ timeout: 60s, max_series: 1000000, max_labels_per_series: 1000000, \
                  max_states: 1000000, max_quantiles: 1000000 }";
    let mut config = String::from("plugins:\n");
    for (shape, n) in [
        ("labels", 60_000),
        ("states", 60_000),
        ("quantiles", 60_000),
    ] {
        config.push_str(&config_entry(
            &format!("wide_{shape}"),
            "wide_output",
            raised,
            &format!("{{ shape: {shape}, n: {n} }}"),
        ));
    }
    let host = Arc::new(Host::start_config(dir, &config, &[]));
    let slowest = attack(&host, 2, 2, "/metrics?format=text");
    assert!(slowest < HEALTHY_WITHIN, "/-/healthy took {slowest:?}");
    let page = host.scrape();
    for shape in ["labels", "states", "quantiles"] {
        assert_eq!(page.up(&format!("wide_{shape}")), Some(1.0), "{shape}");
    }
    assert_eq!(page.lines_of("wide_states{").len(), 60_000);
}

/// Aliased strings: 100 label values that are one 4 MiB string in the
/// guest, 400 MiB once copied. The copy is refused as it passes the cap
/// (`too_large`, not `trap`), and however many scrapes ask at once, the
/// host's peak memory stays within its budget.
#[test]
fn aliased_strings_are_refused_while_copied_and_memory_stays_in_budget() {
    const BUDGET: u64 = 256 << 20;
    let dir = TempDir::new("alias");
    dir.add("alias_output", &test_plugin("alias_output"));
    dir.add("all_types", &test_plugin("all_types"));
    // Every scrape runs the plugin: no back-off after its failures.
    let host = Arc::new(Host::start_config(
        dir,
        "global:\n  backoff: { after: 0 }\nplugins_dir: .\n",
        &["--plugins.memory-budget-bytes", &BUDGET.to_string()],
    ));
    let reference = collect_alone(&test_plugin("all_types"));
    let (_, peak_before) = host.memory();
    let slowest = attack(&host, 16, 3, "/metrics?format=text");
    let (_, peak_after) = host.memory();
    assert!(slowest < HEALTHY_WITHIN, "/-/healthy took {slowest:?}");
    // The budget, plus room for what is not counted in it (the guests'
    // own 4 MiB, stacks, buffers).
    let allowed = BUDGET + (128 << 20);
    assert!(
        peak_after.saturating_sub(peak_before) < allowed,
        "peak RSS grew by {} MiB, over {} MiB",
        peak_after.saturating_sub(peak_before) >> 20,
        allowed >> 20
    );
    let page = host.scrape();
    assert_eq!(page.up("alias_output"), Some(0.0));
    assert_eq!(page.failures("alias_output", "trap"), 0.0);
    assert_eq!(page.failures("alias_output", "too_large"), 16.0 * 3.0 + 1.0);
    assert!(host.get_ok("/").contains("into the host in one go"));
    let own: Vec<&str> = reference.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(page.lines_of("all_types_"), own, "all_types is unchanged");
}
