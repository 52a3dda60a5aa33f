//! The instance pool under load: a hundred plugins scraped by as many
//! clients at once as `--web.max-requests` lets in need more instances than
//! the pool has, and a call waits for a free one instead of failing. No
//! well-behaved plugin is ever down for want of an instance.

use std::sync::Arc;

use crate::common::{Host, TempDir, test_plugin};

const PLUGINS: usize = 100;
const SCRAPERS: usize = 40;
const ROUNDS: usize = 3;

#[test]
fn a_hundred_plugins_under_max_requests_scrapers_never_fail_for_an_instance() {
    let dir = TempDir::new("pool");
    dir.add("bench_series", &test_plugin("bench_series"));
    let mut config = String::from("plugins:\n");
    for i in 0..PLUGINS {
        // A minute of deadline: every call here waits its turn, and its
        // turn comes; waiting must never look like a failure.
        config.push_str(&format!(
            "  - name: p{i:03}\n    path: bench_series.wasm\n    limits: {{ timeout: 60s }}\n    config: {{ series: 10, prefix: p{i:03} }}\n"
        ));
    }
    // 100 plugins x 40 scrapes want 4,000 instances at once; the pool has
    // its default 256. Small memory and result caps and a large memory
    // budget, so that the budget admits more calls than the pool has
    // instances: the pool is what runs out.
    let host = Arc::new(Host::start_config(
        dir,
        &config,
        &[
            "--web.max-requests",
            &SCRAPERS.to_string(),
            "--plugin.memory-bytes",
            "4194304",
            "--plugin.max-bytes",
            "65536",
            "--plugins.memory-budget-bytes",
            "17179869184",
        ],
    ));
    let scrapers: Vec<_> = (0..SCRAPERS)
        .map(|_| {
            let host = host.clone();
            std::thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let page = host.scrape();
                    let up = page.lines_of("wasm_exporter_plugin_up{");
                    let down: Vec<&&str> = up.iter().filter(|l| !l.ends_with(" 1")).collect();
                    assert_eq!(up.len(), PLUGINS);
                    assert!(down.is_empty(), "plugins down under load: {down:?}");
                }
            })
        })
        .collect();
    for s in scrapers {
        s.join().unwrap();
    }
    let page = host.scrape();
    for i in 0..PLUGINS {
        let name = format!("p{i:03}");
        for reason in ["host", "timeout"] {
            assert_eq!(
                page.failures(&name, reason),
                0.0,
                "{name} failed with {reason}"
            );
        }
    }
}

/// How the pool reuses its slots is a matter of speed and memory only: with
/// no warm slots and nothing kept resident (every slot reset by the system
/// and handed to whichever plugin comes), twenty plugins scraped
/// concurrently still answer in full every time.
#[test]
fn no_warm_slots_and_nothing_resident_still_serve_every_plugin() {
    const PLUGINS: usize = 20;
    let dir = TempDir::new("pool_cold");
    dir.add("bench_series", &test_plugin("bench_series"));
    let mut config = String::from("plugins:\n");
    for i in 0..PLUGINS {
        config.push_str(&format!(
            "  - name: p{i:02}\n    path: bench_series.wasm\n    config: {{ series: 50, prefix: p{i:02} }}\n"
        ));
    }
    let host = Arc::new(Host::start_config(
        dir,
        &config,
        &[
            "--plugins.warm-slots",
            "0",
            "--plugins.keep-resident-bytes",
            "0",
        ],
    ));
    let scrapers: Vec<_> = (0..4)
        .map(|_| {
            let host = host.clone();
            std::thread::spawn(move || {
                for _ in 0..5 {
                    let page = host.scrape();
                    let up = page.lines_of("wasm_exporter_plugin_up{");
                    assert_eq!(up.len(), PLUGINS);
                    assert!(up.iter().all(|l| l.ends_with(" 1")), "{up:?}");
                    for i in 0..PLUGINS {
                        let series = page.lines_of(&format!("p{i:02}_0{{"));
                        assert_eq!(series.len(), 50, "p{i:02}");
                    }
                }
            })
        })
        .collect();
    for s in scrapers {
        s.join().unwrap();
    }
}
