//! The zig SDK: its native unit tests, its build checks and its port test.
//!
//! The SDK's model (families and their builders, plain Zig) and the
//! example plugin's parser are tested natively with `zig test`; the
//! example and template plugins run in the host.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{Host, TempDir, binary, example_plugin, repo_root, target_dir, test_plugin};

/// The zig of the project's venv (`cargo xtask toolchains` installs it).
fn zig() -> PathBuf {
    let lib = repo_root().join(".venv/lib");
    std::fs::read_dir(&lib)
        .ok()
        .and_then(|entries| {
            entries.flatten().find_map(|python| {
                let zig = python.path().join("site-packages/ziglang/zig");
                zig.is_file().then_some(zig)
            })
        })
        .unwrap_or_else(|| {
            panic!(
                "no zig under {}: run `cargo xtask toolchains`",
                lib.display()
            )
        })
}

/// Runs `zig test FILE` natively and returns its report.
fn zig_test(file: &str) -> String {
    let cache = target_dir().join("tools/zig-cache");
    let out = Command::new(zig())
        .arg("test")
        .arg(repo_root().join(file))
        .env("ZIG_GLOBAL_CACHE_DIR", &cache)
        .env("ZIG_LOCAL_CACHE_DIR", &cache)
        .output()
        .unwrap();
    // zig test reports on stderr.
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "zig test {file}:\n{report}");
    report
}

/// The SDK's builders and request helpers, natively: labels copied, the
/// +Inf bucket added once, a builder of another type refused with a
/// message naming the family, no leak when an allocation fails midway.
#[test]
fn model_unit_tests_pass() {
    let report = zig_test("sdk/zig/model.zig");
    // A filter or a compile-time skip would pass with fewer.
    assert!(report.contains("All 9 tests passed."), "{report}");
}

#[test]
fn example_parser_unit_tests_pass() {
    let report = zig_test("plugins/zig/zig_uptime/uptime.zig");
    assert!(report.contains("All 2 tests passed."), "{report}");
}

fn proc_uptime() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn boot_time() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .expect("btime in /proc/stat")
        .trim()
        .parse()
        .unwrap()
}

/// The example plugin reads the file it is granted with std.Io, reads the
/// wall clock, and says which grant is missing when it is not.
#[test]
fn zig_uptime_reads_the_granted_file() {
    let dir = TempDir::new("zig_uptime");
    dir.add("zig_uptime", &example_plugin("zig_uptime"));
    let host = Host::start_config(
        dir,
        "plugins:\n  - path: zig_uptime.wasm\n    grants: { files: [/proc/uptime] }\n  \
         - name: ungranted\n    path: zig_uptime.wasm\n",
        &[],
    );
    let before = proc_uptime();
    let page = host.scrape();
    let after = proc_uptime();
    assert_eq!(page.up("zig_uptime"), Some(1.0), "{}", page.text);
    let uptime = page.value("uptime_seconds").expect("uptime_seconds");
    assert!(
        (before..=after).contains(&uptime),
        "uptime_seconds {uptime}, /proc/uptime {before} then {after}"
    );
    let idle = page
        .value("uptime_idle_seconds_total")
        .expect("uptime_idle_seconds_total");
    assert!(idle > 0.0, "{}", page.text);
    // btime is whole seconds; uptime and the clock are read a moment apart.
    let boot = page
        .value("node_boot_time_seconds")
        .expect("node_boot_time_seconds");
    assert!(
        (boot - boot_time()).abs() <= 2.0,
        "node_boot_time_seconds {boot}, btime {}",
        boot_time()
    );

    assert_eq!(page.up("ungranted"), Some(0.0), "{}", page.text);
    let landing = host.get_ok("/");
    assert!(
        landing.contains("cannot read /proc/uptime")
            && landing.contains("grant it with files: [/proc/uptime]"),
        "{landing}"
    );
}

/// The template builds, serves its families, and
/// fails with a message naming the configuration key it cannot use.
#[test]
fn template_collects_and_names_a_bad_setting() {
    let plugin = test_plugin("template_zig");
    let out = Command::new(binary())
        .arg("collect")
        .arg(&plugin)
        .args(["--config", "depth=7"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("template_queue_depth{queue=\"mail\"} 7\n"),
        "{text}"
    );
    assert!(text.contains("template_scrapes_total 1\n"), "{text}");

    let out = Command::new(binary())
        .arg("collect")
        .arg(&plugin)
        .args(["--config", "depth=deep"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("config depth: \"deep\" is not a number"),
        "{stderr}"
    );
}
