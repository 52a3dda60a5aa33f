//! The command line: `collect`, `--version`, bad flags.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{TempDir, binary, example_plugin, target_dir, test_plugin};

fn run(args: &[&str]) -> (bool, String, String) {
    // `collect` caches compiled plugins under $XDG_CACHE_HOME by default.
    let out = Command::new(binary())
        .args(args)
        .env("XDG_CACHE_HOME", target_dir().join("test-cache-home"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn collect_compiles_a_plugin_once_into_its_cache() {
    let cache = TempDir::new("collect_cache");
    let plugin = example_plugin("demo_latency");
    let cache_dir = cache.path().to_str().unwrap();
    let entries = || {
        std::fs::read_dir(cache.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension() == Some("cwasm".as_ref()))
            .count()
    };
    let (ok, first, _) = run(&[
        "collect",
        plugin.to_str().unwrap(),
        "--cache.dir",
        cache_dir,
    ]);
    assert!(ok);
    assert_eq!(entries(), 1, "the compiled plugin was not cached");
    let (ok, second, _) = run(&[
        "collect",
        plugin.to_str().unwrap(),
        "--cache.dir",
        cache_dir,
    ]);
    assert!(ok);
    assert_eq!(entries(), 1);
    assert_eq!(
        first
            .lines()
            .filter(|l| l.starts_with("# "))
            .collect::<Vec<_>>(),
        second
            .lines()
            .filter(|l| l.starts_with("# "))
            .collect::<Vec<_>>()
    );
}

#[test]
fn collect_prints_one_plugins_exposition() {
    let plugin = example_plugin("demo_latency");
    let (ok, stdout, _) = run(&["collect", plugin.to_str().unwrap()]);
    assert!(ok);
    assert!(
        stdout.contains("# TYPE demo_latency_http_request_duration_seconds histogram"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("wasm_exporter_"),
        "only the plugin's own series"
    );
    let (ok, stdout, _) = run(&[
        "collect",
        plugin.to_str().unwrap(),
        "--format",
        "openmetrics",
    ]);
    assert!(ok);
    assert!(stdout.ends_with("# EOF\n"));
}

#[test]
fn collect_passes_target_and_config() {
    let plugin = test_plugin("echo_request");
    let (ok, stdout, stderr) = run(&[
        "collect",
        plugin.to_str().unwrap(),
        "--target",
        "10.0.0.1:9100",
        "--config",
        "region=eu",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("target=\"10.0.0.1:9100\""), "{stdout}");
    assert!(
        stdout.contains("echo_config{key=\"region\",value=\"eu\"} 1"),
        "{stdout}"
    );
}

/// The most wasm instructions (fuel) the 10,000-series benchmark plugin
/// may spend per series: its own loop, the SDK's builder and the lowering
/// of its result. Fuel counts instructions, so this holds on any machine.
const MAX_FUEL_PER_SERIES: u64 = 600;

#[test]
fn collect_stats_show_the_sdk_staying_under_its_fuel_per_series() {
    let plugin = test_plugin("bench_series");
    let (ok, stdout, stderr) = run(&[
        "collect",
        plugin.to_str().unwrap(),
        "--stats",
        "--config",
        "series=10000",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout.lines().count(),
        10_002,
        "HELP, TYPE and every series"
    );
    let stat = |key: &str| -> u64 {
        let line = stderr.lines().last().unwrap_or_default();
        line.split(' ')
            .find_map(|field| field.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in {stderr:?}"))
            .parse()
            .unwrap()
    };
    assert_eq!(stat("series"), 10_000);
    assert_eq!(stat("fuel_per_series"), stat("fuel") / 10_000);
    assert!(
        stat("fuel_per_series") <= MAX_FUEL_PER_SERIES,
        "{} fuel per series, over {MAX_FUEL_PER_SERIES}: {stderr}",
        stat("fuel_per_series")
    );
    assert!(stat("memory_peak_bytes") > 0);
}

#[test]
fn collect_fails_with_the_reason() {
    let (ok, _, stderr) = run(&["collect", test_plugin("error").to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("failed (error): upstream unreachable"),
        "{stderr}"
    );
    let (ok, _, stderr) = run(&[
        "collect",
        test_plugin("loop").to_str().unwrap(),
        "--plugin.fuel",
        "1000000",
    ]);
    assert!(!ok);
    assert!(stderr.contains("failed (fuel)"), "{stderr}");
    let (ok, _, stderr) = run(&["collect", "/nonexistent.wasm"]);
    assert!(!ok);
    assert!(
        stderr.contains("/nonexistent.wasm: cannot read"),
        "{stderr}"
    );
}

#[test]
fn version_and_bad_flags() {
    let (ok, stdout, _) = run(&["--version"]);
    assert!(ok);
    assert!(stdout.contains(env!("CARGO_PKG_VERSION")));
    let (ok, _, stderr) = run(&["--plugin.timeout", "5 parsecs"]);
    assert!(!ok);
    assert!(stderr.contains("--plugin.timeout"), "{stderr}");
}

/// The host compiles plugins in a child process of its own binary: a
/// component on stdin, the compiled artifact (an ELF object) on stdout, the
/// reason and a failure status for bytes that do not compile.
#[test]
fn the_compiler_process_is_a_filter() {
    let compile = |input: &[u8]| {
        let mut child = Command::new(binary())
            .args(["compile-worker", "--plugins.max-instances", "16"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    let plugin = std::fs::read(example_plugin("demo_queue")).unwrap();
    let out = compile(&plugin);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.starts_with(b"\x7fELF"), "an ELF artifact");

    // A component header followed by junk.
    let out = compile(b"\0asm\x0d\x00\x01\x00junk");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.trim().is_empty(), "a reason on stderr");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

/// A result read in place is bounds-, alignment- and value-checked as
/// wasmtime's own lift checks it: each way of breaking the canonical ABI
/// layout fails the plugin with reason `trap` and wasmtime's words, and
/// the same bytes laid out right are served.
#[test]
fn a_raw_result_is_read_only_when_its_layout_holds() {
    let plugin = test_plugin("raw_output");
    let plugin = plugin.to_str().unwrap();
    let (ok, stdout, stderr) = run(&["collect", plugin]);
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout,
        "# HELP raw_gauge Raw.\n# TYPE raw_gauge gauge\nraw_gauge{k=\"v\"} 1.5\n"
    );
    for (case, why) in [
        (
            "list_out_of_bounds",
            "list pointer/length out of bounds of memory",
        ),
        (
            "string_out_of_bounds",
            "string pointer/length out of bounds of memory",
        ),
        ("misaligned_list", "list pointer is not aligned"),
        ("bad_variant", "invalid variant discriminant"),
        ("bad_type", "unexpected discriminant: 7"),
        ("bad_option", "invalid option discriminant"),
        ("bad_utf8", "invalid utf-8"),
        ("bad_bool", "invalid boolean value"),
    ] {
        let config = format!("case={case}");
        let (ok, stdout, stderr) = run(&["collect", plugin, "--config", &config]);
        assert!(!ok && stdout.is_empty(), "{case}: served {stdout:?}");
        assert!(
            stderr.contains(&format!("failed (trap): {why}")),
            "{case}: {stderr}"
        );
    }
}

#[test]
fn describe_lists_every_family_collect_returns_in_markdown_and_json() {
    // A family's base name: OpenMetrics names a counter's family without
    // `_total`, and an info's without `_info`.
    let base = |name: &str| -> String {
        let name = name.strip_suffix("_total").unwrap_or(name);
        name.strip_suffix("_info").unwrap_or(name).to_owned()
    };
    for name in ["demo_queue", "demo_latency"] {
        let plugin = example_plugin(name);
        let plugin = plugin.to_str().unwrap();
        let (ok, exposition, err) = run(&["collect", "--format", "openmetrics", plugin]);
        assert!(ok, "{name}: {err}");
        let collected: std::collections::BTreeSet<String> = exposition
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_whitespace().next())
            .map(base)
            .collect();
        assert!(!collected.is_empty(), "{name}: {exposition}");

        let (ok, json, err) = run(&["describe", "--format", "json", plugin]);
        assert!(ok, "{name}: {err}");
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(value["plugin"], name);
        let described: std::collections::BTreeSet<String> = value["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| base(m["name"].as_str().unwrap()))
            .collect();
        assert!(
            collected.is_subset(&described),
            "{name}: returned but not described: {:?}",
            collected.difference(&described).collect::<Vec<_>>()
        );

        let (ok, markdown, err) = run(&["describe", plugin]);
        assert!(ok, "{name}: {err}");
        assert!(markdown.starts_with(&format!("# {name}\n")), "{markdown}");
        let rows = markdown.lines().filter(|l| l.starts_with("| `")).count();
        assert_eq!(rows, described.len(), "{markdown}");
    }
    // A file that is not a plugin: an error naming it, and a failure.
    let dir = TempDir::new("describe_broken");
    let broken = dir.write("broken", b"not wasm");
    let (ok, _, err) = run(&["describe", broken.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("plugin \"broken\" did not load"), "{err}");
}

/// Each case of the `lint_bait` plugin, whether `check` passes it, and
/// the one finding it must report.
const LINT_CASES: [(&str, bool, &str); 14] = [
    ("clean", true, ""),
    ("no_help", false, "PROBLEM lint_bait_workers: no help text"),
    (
        "counter_without_total",
        false,
        "PROBLEM lint_bait_requests: counter metrics should have \"_total\" suffix",
    ),
    (
        "non_base_unit",
        false,
        "PROBLEM lint_bait_latency_milliseconds: use base unit \"seconds\" instead of \"milliseconds\"",
    ),
    (
        "abbreviated_unit",
        false,
        "PROBLEM lint_bait_latency_ms: metric names should not contain abbreviated units",
    ),
    (
        "camel_case",
        false,
        "PROBLEM lint_bait_queueSize: metric names should be written in 'snake_case' not 'camelCase'",
    ),
    (
        "camel_case_label",
        false,
        "PROBLEM lint_bait_size: label names should be written in 'snake_case' not 'camelCase' (queueName)",
    ),
    (
        "type_in_name",
        false,
        "PROBLEM lint_bait_size_gauge: metric name should not include type 'gauge'",
    ),
    (
        "reserved_suffix",
        false,
        "PROBLEM lint_bait_latency_bucket: non-histogram metrics should not have \"_bucket\" suffix",
    ),
    (
        "colon",
        false,
        "PROBLEM lint_bait:size: metric names should not contain ':'",
    ),
    (
        "high_cardinality",
        true,
        "WARNING lint_bait_jobs: 2000 series, more than 1000: check that its labels are bounded; label \"queue\" has 2000 values",
    ),
    (
        "undescribed",
        false,
        "PROBLEM lint_bait_hidden: returned but not described",
    ),
    (
        "not_returned",
        true,
        "WARNING lint_bait_missing: described but not returned",
    ),
    (
        "type_mismatch",
        false,
        "PROBLEM lint_bait_queue_depth: described as counter but returned as gauge",
    ),
];

#[test]
fn check_catches_each_lint_on_a_plugin_that_breaks_it() {
    let plugin = test_plugin("lint_bait");
    let plugin = plugin.to_str().unwrap();
    for (case, passes, finding) in LINT_CASES {
        let config = format!("case={case}");
        let (ok, out, err) = run(&["check", plugin, "--config", &config]);
        assert_eq!(ok, passes, "{case}: exit status\n{out}{err}");
        let findings: Vec<&str> = out
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("PROBLEM") || l.starts_with("WARNING"))
            .collect();
        if finding.is_empty() {
            assert_eq!(findings, Vec::<&str>::new(), "{case}:\n{out}");
            assert!(out.contains("SUCCESS"), "{case}:\n{out}");
        } else {
            assert_eq!(findings.len(), 1, "{case}: one finding\n{out}");
            assert!(findings[0].starts_with(finding), "{case}:\n{out}");
        }
    }
    // A cardinality bound of the operator's choosing.
    let (ok, out, _) = run(&[
        "check",
        plugin,
        "--config",
        "case=clean",
        "--lint.max-series-per-family",
        "0",
    ]);
    assert!(
        ok && out.contains("WARNING lint_bait_queue_depth: 1 series, more than 0"),
        "{out}"
    );
}

#[test]
fn check_validates_the_component_and_its_grants() {
    // Not the world this host serves, and another WIT version: named.
    for (name, reason) in [
        ("other_world", "not a collector plugin"),
        ("wrong_version", "built against WIT version 0.2.0"),
    ] {
        let plugin = test_plugin(name);
        let (ok, out, _) = run(&["check", plugin.to_str().unwrap()]);
        assert!(!ok, "{name}: {out}");
        assert!(
            out.contains("FAILED") && out.contains(reason),
            "{name}: {out}"
        );
        assert!(out.contains(&format!("{name}.wasm")), "{name}: {out}");
    }
    // Its imports against what a configuration grants: tcp and udp are,
    // http, statfs, files and name lookups are not. Each is a warning (a
    // call is refused, not fatal): this plugin's collect makes none, so
    // the check passes.
    let plugin = test_plugin("reach_out");
    let dir = TempDir::new("check_grants");
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "plugins:\n  - path: {}\n    grants: {{ tcp: [\"127.0.0.1:1\"], udp: [\"127.0.0.1:1\"] }}\n",
            plugin.display()
        ),
    )
    .unwrap();
    let (ok, out, _) = run(&[
        "check",
        plugin.to_str().unwrap(),
        "--config.file",
        config.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let ungranted: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("WARNING capabilities"))
        .collect();
    assert_eq!(ungranted.len(), 4, "{out}");
    for grant in [
        "grants.http",
        "grants.statfs",
        "grants.files",
        "a host name",
    ] {
        assert!(
            ungranted.iter().any(|l| l.contains(grant)),
            "{grant}: {out}"
        );
    }
    assert!(out.contains("wasi:sockets/tcp@0.2.6: granted"), "{out}");
    // A plugin that needs what is not granted fails its collect.
    let redis = example_plugin("redis");
    let redis_config = dir.path().join("redis.yml");
    std::fs::write(
        &redis_config,
        format!(
            "plugins:\n  - path: {}\n    config: {{ address: \"127.0.0.1:1\" }}\n",
            redis.display()
        ),
    )
    .unwrap();
    let (ok, out, _) = run(&[
        "check",
        redis.to_str().unwrap(),
        "--config.file",
        redis_config.to_str().unwrap(),
    ]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("WARNING capabilities: imports wasi:sockets/tcp@")
            && out.contains("FAILED: collect: error: cannot connect to 127.0.0.1:1"),
        "{out}"
    );
    // A plugin the configuration does not list.
    let other = test_plugin("empty");
    let (ok, out, _) = run(&[
        "check",
        other.to_str().unwrap(),
        "--config.file",
        config.to_str().unwrap(),
    ]);
    assert!(!ok && out.contains("no plugin with path"), "{out}");
}

/// `cargo xtask`'s binary (built by `cargo xtask test`): it builds one
/// plugin directory of any language with the toolchains it installed.
fn xtask() -> std::path::PathBuf {
    let xtask = target_dir().join("debug/xtask");
    assert!(
        xtask.is_file(),
        "{} is missing: run the tests with `cargo xtask test`",
        xtask.display()
    );
    xtask
}

#[test]
fn new_then_build_then_check_passes_for_every_language() {
    let dir = TempDir::new("new_plugin");
    let sdk = crate::common::repo_root().join("sdk");
    for lang in ["rust", "python", "js", "c", "zig", "go"] {
        let name = format!("new_{lang}");
        let src = dir.path().join(&name);
        let (ok, out, err) = run(&[
            "new",
            "--lang",
            lang,
            &name,
            "--dir",
            src.to_str().unwrap(),
            "--sdk",
            sdk.to_str().unwrap(),
        ]);
        assert!(ok, "new --lang {lang}: {out}{err}");
        assert!(out.contains("wasm_exporter check"), "{out}");
        let wasm = dir.path().join(format!("{name}.wasm"));
        let built = Command::new(xtask())
            .arg("build-plugin")
            .arg(&src)
            .arg(&wasm)
            .current_dir(crate::common::repo_root())
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "building the new {lang} plugin: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        let (ok, out, err) = run(&["check", wasm.to_str().unwrap()]);
        assert!(ok, "check of the new {lang} plugin:\n{out}{err}");
        assert!(!out.contains("PROBLEM"), "{lang}:\n{out}");
        // And against a configuration that lists it and grants nothing.
        let config = dir.path().join(format!("{name}.yml"));
        std::fs::write(&config, format!("plugins:\n  - path: {}\n", wasm.display())).unwrap();
        let (ok, out, err) = run(&[
            "check",
            wasm.to_str().unwrap(),
            "--config.file",
            config.to_str().unwrap(),
        ]);
        assert!(
            ok && !out.contains("PROBLEM"),
            "{lang} with a configuration:\n{out}{err}"
        );
        // Its metrics are named after it.
        let (ok, exposition, err) = run(&["collect", wasm.to_str().unwrap()]);
        assert!(ok, "{lang}: {err}");
        assert!(
            exposition
                .lines()
                .filter(|l| !l.starts_with('#'))
                .all(|l| l.starts_with(&format!("{name}_"))),
            "{lang}:\n{exposition}"
        );
    }
    // What it refuses: an existing directory, a name that cannot prefix
    // metrics.
    let existing = dir.path().join("new_c");
    let (ok, _, err) = run(&[
        "new",
        "--lang",
        "c",
        "x",
        "--dir",
        existing.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = run(&["new", "--lang", "zig", "Bad-Name"]);
    assert!(!ok && err.contains("cannot name a plugin"), "{err}");
}
