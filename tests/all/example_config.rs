//! `plugins/example.yml`, the configuration `cargo xtask run` serves: every
//! plugin it names loads and is up on this machine, every collector finds
//! the files it is granted, and no two plugins serve one name.

use crate::common::{Host, TempDir, binary, example_plugin, repo_root, target_dir};

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

/// Lint rules a plugin of the example is exempt from, and why.
fn skipped_rules(name: &str) -> &'static [&'static str] {
    match name {
        // node_exporter's meminfo names (`node_memory_MemTotal_bytes`),
        // one per field of /proc/meminfo: camelCase, and only known once
        // the file is read.
        "python_meminfo" => &["camel_case", "undescribed"],
        _ => &[],
    }
}

#[test]
fn every_plugin_of_the_example_passes_check_against_it() {
    let config = std::fs::read_to_string(repo_root().join("plugins/example.yml")).unwrap();
    let files = plugin_files(&config);
    let dir = TempDir::new("example_check");
    for file in &files {
        let name = file.strip_suffix(".wasm").unwrap();
        dir.add(name, &example_plugin(name));
    }
    let config_file = dir.path().join("example.yml");
    std::fs::write(&config_file, &config).unwrap();
    for file in &files {
        let name = file.strip_suffix(".wasm").unwrap();
        let mut command = std::process::Command::new(binary());
        command
            .arg("check")
            .arg(dir.path().join(file))
            .arg("--config.file")
            .arg(&config_file)
            // The compile cache the other tests share.
            .arg("--cache.dir")
            .arg(target_dir().join("test-cache"));
        for rule in skipped_rules(name) {
            command.args(["--lint.skip", rule]);
        }
        let output = crate::common::run(&mut command);
        let out = crate::common::text(&output);
        assert!(
            output.status.success() && !out.contains("PROBLEM"),
            "{name}:\n{out}"
        );
    }
}
