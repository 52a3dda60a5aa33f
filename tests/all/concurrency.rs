//! Concurrent scrapers each get a complete, consistent page.

use std::sync::Arc;

use crate::common::{Exposition, Host, TempDir, collect_alone, example_plugin, get, test_plugin};

#[test]
fn sixteen_concurrent_scrapers_get_complete_consistent_pages() {
    let dir = TempDir::new("concurrent");
    for name in ["demo_queue", "demo_latency", "demo_config"] {
        dir.add(name, &example_plugin(name));
    }
    dir.add("all_types", &test_plugin("all_types"));
    dir.add("bench_series", &test_plugin("bench_series"));
    let host = Arc::new(Host::start(dir, &[]));
    let reference: Vec<String> = collect_alone(&test_plugin("all_types"))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let reference = Arc::new(reference);
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let url = host.url("/metrics");
            let reference = reference.clone();
            std::thread::spawn(move || {
                for _ in 0..8 {
                    let accept = if i % 2 == 0 {
                        "application/openmetrics-text;version=1.0.0"
                    } else {
                        "text/plain;version=0.0.4"
                    };
                    let r = get(&url, &[("Accept", accept)]);
                    assert_eq!(r.status, 200);
                    if i % 2 == 0 {
                        assert!(r.body.ends_with("# EOF\n"), "OpenMetrics page is complete");
                    }
                    let page = Exposition::parse(&r.body);
                    for plugin in [
                        "demo_queue",
                        "demo_latency",
                        "demo_config",
                        "all_types",
                        "bench_series",
                    ] {
                        assert_eq!(
                            page.up(plugin),
                            Some(1.0),
                            "{plugin} up in a concurrent scrape"
                        );
                    }
                    assert_eq!(page.lines_of("bench_series_").len(), 1000);
                    let ours: Vec<&str> = page.lines_of("all_types_");
                    assert_eq!(ours, *reference);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("scraper thread");
    }
}
