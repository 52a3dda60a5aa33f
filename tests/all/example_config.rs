//! `plugins/example.yml`, the configuration `cargo xtask run` serves: every
//! plugin it names loads and is up on this machine, every collector finds
//! the files it is granted, and no two plugins serve one name.

use crate::common::{Host, TempDir, example_plugin, repo_root};

/// The plugin files the configuration names (`- path: NAME.wasm` lines
/// that are not commented out).
fn plugin_files(config: &str) -> Vec<String> {
    config
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- path: "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn plugin_files_skips_commented_entries() {
    let config = "plugins:\n  - path: a.wasm\n  # - path: b.wasm\n  - path: c.wasm\n";
    assert_eq!(plugin_files(config), ["a.wasm", "c.wasm"]);
}

#[test]
fn the_example_configuration_serves_every_plugin_up() {
    let config = std::fs::read_to_string(repo_root().join("plugins/example.yml")).unwrap();
    let files = plugin_files(&config);
    assert!(files.len() >= 8, "plugins/example.yml names {files:?}");
    // As `cargo xtask run` serves it: beside the built plugins.
    let dir = TempDir::new("example_config");
    for file in &files {
        let name = file.strip_suffix(".wasm").unwrap();
        dir.add(name, &example_plugin(name));
    }
    let host = Host::start_config_shared(dir, &config, &[]);
    let scrape = host.scrape();
    for file in &files {
        let name = file.strip_suffix(".wasm").unwrap();
        assert_eq!(scrape.up(name), Some(1.0), "{name} is not up");
        assert_eq!(
            scrape.failures(name, "conflict"),
            0.0,
            "{name} conflicts with another plugin"
        );
    }
    // A family from each language's plugin (Go's netdev serves nothing on
    // a machine with only `lo`, which it leaves out).
    for series in [
        "node_cpu_seconds_total",
        "node_memory_MemTotal_bytes",
        "node_load1",
        "uptime_seconds",
    ] {
        assert!(
            !scrape.lines_of(series).is_empty(),
            "no {series} in the example's scrape"
        );
    }
    // Every grant a collector needs is given: nothing is skipped.
    let skipped: Vec<String> = host
        .log()
        .into_iter()
        .filter(|line| line.contains("skipped") || line.contains("denied"))
        .collect();
    assert!(skipped.is_empty(), "{skipped:#?}");
}
