//! Host work done for a plugin is paid from its fuel, and the arguments
//! of its host calls are bounded: a plugin cannot spend host CPU or memory
//! that its limits do not see.

use crate::common::{Host, TempDir, test_plugin};

/// Each mode calls the host in a loop with megabytes of data. Charged by
/// the byte, it runs out of fuel within a few hundred calls; uncharged, it
/// spun until its deadline (a minute here, so the outcome cannot depend on
/// the machine's speed).
#[test]
fn host_calls_in_a_loop_run_out_of_fuel() {
    let dir = TempDir::new("host_flood");
    dir.add("host_flood", &test_plugin("host_flood"));
    let big_value = "v".repeat(64 << 10);
    let mut config = String::from("plugins:\n");
    for mode in ["big_key", "big_log", "config_loop"] {
        config.push_str(&format!(
            "  - name: {mode}\n    path: host_flood.wasm\n    limits: {{ timeout: 60s }}\n    config:\n      mode: {mode}\n"
        ));
        if mode == "config_loop" {
            // A configuration of about a megabyte, returned by each call.
            for i in 0..16 {
                config.push_str(&format!("      key{i}: {big_value}\n"));
            }
        }
    }
    let host = Host::start_config(dir, &config, &[]);
    let page = host.scrape();
    for mode in ["big_key", "big_log", "config_loop"] {
        assert_eq!(page.up(mode), Some(0.0), "{mode}");
        assert_eq!(page.failures(mode, "fuel"), 1.0, "{mode} ran out of fuel");
    }
}

#[test]
fn a_config_key_past_the_limit_is_refused() {
    let dir = TempDir::new("long_key");
    dir.add("host_flood", &test_plugin("host_flood"));
    // YAML's plain keys stop at 1,024 characters; `? ` takes a longer one.
    let key = "k".repeat(2048);
    let config = format!(
        "plugins:\n  - path: host_flood.wasm\n    config:\n      mode: long_key_once\n      ? {key}\n      : present\n"
    );
    let host = Host::start_config(dir, &config, &[]);
    let page = host.scrape();
    assert_eq!(page.up("host_flood"), Some(1.0));
    assert_eq!(page.value("host_flood_long_key_found"), Some(0.0));
}
