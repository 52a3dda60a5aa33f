//! Startup and reload never wait on a slow plugin: the port opens first,
//! plugins load side by side, `describe` has a short limit of its own, and
//! only a bounded `describe` result is kept.

use std::time::{Duration, Instant};

use crate::common::{Host, TempDir, example_plugin, test_plugin};

#[test]
fn the_port_opens_before_plugins_whose_describe_blocks() {
    let dir = TempDir::new("slow_describe");
    dir.add("slow_describe", &test_plugin("slow_describe"));
    dir.add("demo_queue", &example_plugin("demo_queue"));
    let mut config = String::from("plugins:\n  - path: demo_queue.wasm\n");
    for i in 0..3 {
        // describe sleeps a minute; it is given one second.
        config.push_str(&format!(
            "  - name: slow_{i}\n    path: slow_describe.wasm\n    config: {{ describe_sleep_ms: 60000 }}\n"
        ));
    }
    let started = Instant::now();
    let host = Host::spawn_config(dir, &config, &[]);
    // Listening: health answers at once, readiness waits for the plugins.
    assert_eq!(host.get_ok("/-/healthy"), "Healthy\n");
    let mut became_ready = None;
    let mut not_ready_seen = false;
    while started.elapsed() < Duration::from_secs(30) {
        match host.get_with("/-/ready", &[]).status {
            200 => {
                became_ready = Some(started.elapsed());
                break;
            }
            503 => not_ready_seen = true,
            other => panic!("/-/ready answered {other}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        not_ready_seen,
        "the port was open while the plugins were still loading"
    );
    // Three describes of a minute each, one after another, took three
    // minutes before the port even opened; side by side, each cut at one
    // second, the host is ready far sooner than a single describe sleeps.
    let took = became_ready.expect("ready within 30 s");
    assert!(took < Duration::from_secs(30), "ready after {took:?}");
    let page = host.scrape();
    assert_eq!(page.up("demo_queue"), Some(1.0));
    for i in 0..3 {
        let name = format!("slow_{i}");
        assert_eq!(page.up(&name), Some(0.0), "{name}");
        assert_eq!(page.failures(&name, "load"), 1.0, "{name}");
    }
    assert!(
        host.get_ok("/")
            .contains("describe failed (timeout): did not finish within 1000 ms"),
        "the landing page says why"
    );
}

#[test]
fn a_huge_describe_result_is_refused_and_a_modest_one_kept() {
    let dir = TempDir::new("huge_describe");
    dir.add("slow_describe", &test_plugin("slow_describe"));
    let config = "plugins:\n\
        \x20 - name: huge\n    path: slow_describe.wasm\n    config: { describe_bytes: 8388608 }\n\
        \x20 - name: modest\n    path: slow_describe.wasm\n    config: { describe_bytes: 524288 }\n";
    let host = Host::start_config(dir, config, &[]);
    let page = host.scrape();
    assert_eq!(page.up("huge"), Some(0.0));
    assert_eq!(page.failures("huge", "load"), 1.0);
    assert!(
        host.get_ok("/").contains("describe failed (too_large)"),
        "an 8 MiB describe is refused while it is copied"
    );
    assert_eq!(page.up("modest"), Some(1.0), "half a megabyte is kept");
}
