//! The c SDK: its native unit tests, its build checks and its port test.
//!
//! The header is compiled under strict warnings; the SDK's builders run
//! natively behind a fake host, under AddressSanitizer, through the very
//! export glue the host calls (which frees every buffer it is handed); and
//! the example and template plugins run in the host.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{Host, TempDir, binary, example_plugin, repo_root, target_dir, test_plugin};

/// What a user of the header may compile it with.
const STRICT: [&str; 5] = ["-std=c11", "-pedantic", "-Wall", "-Wextra", "-Werror"];

fn sdk() -> PathBuf {
    repo_root().join("sdk/c")
}

/// The generated C bindings that `cargo xtask plugins` writes for the C
/// and Zig builds.
fn bindings() -> PathBuf {
    let dir = target_dir().join("guest-build/c-bindings");
    assert!(
        dir.join("plugin.h").is_file(),
        "{} has no plugin.h: run `cargo xtask plugins` (or `cargo xtask test`) first",
        dir.display()
    );
    dir
}

/// Runs a prepared gcc command, failing the test with its errors unless
/// it succeeds.
fn run_ok(command: &mut Command, what: &str) {
    let out = output(command);
    assert!(
        out.status.success(),
        "{what} does not compile cleanly:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn output(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

fn include(dir: &Path) -> String {
    format!("-I{}", dir.display())
}

/// Every macro and function of the header, as a plugin would use them.
const USES_EVERYTHING: &str = r#"
#include <math.h>
#include <stddef.h>
#include "wasm_exporter.h"

void we_describe(we_descriptors *out) {
    we_describe_family(out, WE_TYPE_GAUGE, "g", "Gauge.", NULL, WE_NAMES("a", "b"));
    we_describe_family(out, WE_TYPE_STATE_SET, "s", "States.", NULL, WE_NO_NAMES);
}

int we_collect(const we_request *request, we_families *out) {
    we_log_trace("t");
    we_log_debug("%s", request->target ? request->target : "none");
    we_log_info("i");
    we_log_warn("%zu", request->param_count);
    we_log_error("%llu", (unsigned long long)request->timeout_ms);
    size_t count;
    const we_label *config = we_config(&count);
    const char *mode = we_config_get("mode");
    const char *module = we_request_param(request, "module");
    we_fs_stats stats;
    char why[64];
    if (we_statfs("/", &stats, why, sizeof why) != 0) {
        return we_error(out, "statfs: %s", why);
    }
    we_family *g = we_family_new(out, WE_TYPE_GAUGE, "g", "Gauge.");
    we_family_set_unit(we_family_new_counter(out, "c_seconds_total", "C."), "seconds");
    we_family_add(g, WE_LABELS({"a", mode ? mode : ""}, {"b", module ? module : ""}), 1);
    we_family_add(we_family_new_gauge(out, "n", "N."), count ? config : NULL, count, 2);
    we_family_add(we_family_new_unknown(out, "u", "U."), WE_NO_LABELS, 3);
    we_family_add_histogram(we_family_new_histogram(out, "h", "H."), WE_NO_LABELS,
                            WE_BUCKETS({0.5, 1}, {INFINITY, 2}), 1.5, 2);
    we_family_add_summary(we_family_new_summary(out, "s", "S."), WE_LABELS({"a", "b"}),
                          WE_QUANTILES({0.5, 1}), 1, 1);
    we_family_add_info(we_family_new_info(out, "i", "I."), WE_LABELS({"v", "1"}));
    we_family_add_states(we_family_new_state_set(out, "st", "St."), WE_NO_LABELS,
                         WE_STATES({"a", true}, {"b", false}));
    return 0;
}
"#;

/// The header and the SDK compile without a warning under `-std=c11
/// -pedantic -Wall -Wextra -Werror`, and those flags do reject a file
/// with a warning (so a clean result means something).
#[test]
fn header_is_clean_under_strict_warnings_that_bite() {
    let dir = TempDir::new("c_strict");
    let uses = dir.path().join("uses.c");
    std::fs::write(&uses, USES_EVERYTHING).unwrap();
    run_ok(
        Command::new("gcc")
            .args(STRICT)
            .arg("-fsyntax-only")
            .arg(include(&sdk()))
            .arg(&uses),
        "a file using every macro and function of the header",
    );
    run_ok(
        Command::new("gcc")
            .args(STRICT)
            .arg("-fsyntax-only")
            .arg(include(&sdk()))
            .arg(include(&bindings()))
            .arg(sdk().join("wasm_exporter.c")),
        "sdk/c/wasm_exporter.c",
    );

    let unused = dir.path().join("unused.c");
    std::fs::write(
        &unused,
        "#include \"wasm_exporter.h\"\nint f(void) { int unused; return 0; }\n",
    )
    .unwrap();
    let out = output(
        Command::new("gcc")
            .args(STRICT)
            .arg("-fsyntax-only")
            .arg(include(&sdk()))
            .arg(&unused),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the flags let a warning through");
    assert!(stderr.contains("unused variable"), "{stderr}");
}

/// What the fake host of `sdk/c/tests/native_test.c` reads from the export
/// glue, scenario by scenario.
const NATIVE_EXPECTED: &str = r#"== all
log 2 target 10.0.0.1:9100, 2 params, module=http_2xx, 4500 ms
family "g_celsius" type 1 help "Gauge." unit "celsius"
  {room="room0",empty=""} gauge 0.5
  {room="room1",empty=""} gauge 1.5
  {room="room2",empty=""} gauge 2.5
family "c_total" type 0 help ""
  {} counter 7
family "u" type 6 help "Unknown."
  {} unknown -1
family "h_seconds" type 2 help "Histogram."
  {path="/"} histogram 0.1:2 0.5:5 inf:6 sum 1.75 count 6
  {} histogram 1:1 inf:3 sum 4 count 3
  {} histogram inf:0 sum 0 count 0
family "s_bytes" type 3 help "Summary."
  {} summary 0.5:100 0.9:250 sum 1200 count 8
  {} summary sum 0 count 0
family "i" type 4 help "Info."
  {version="1"} info
family "st" type 5 help "States."
  {} states a=1 b=0
  {} states
family "empty" type 1 help "No series."
family "config" type 1 help "Config."
  {key="alpha",value="1"} gauge 1
  {key="mode",value="fast"} gauge 1
  {mode="fast"} gauge 2
  {missing="unset"} gauge 3
  {statfs="not granted"} gauge -1
== wrong_builder
error "family h_seconds: we_family_add does not apply to a histogram family"
== null_label
error "family g: label 1 has a NULL value"
== null_name
error "family (unnamed): name is NULL"
== error
error "cannot open /x: denied"
== status
error "we_collect returned 3"
== describe
descriptor "d_seconds" type 2 unit set labels
descriptor "d_build" type 4 unit none labels "version" "os"
"#;

/// The builders, natively: every family type, copied labels, the request
/// and configuration of the host, each way a call fails with a message
/// naming what was wrong, and the descriptors; all handed over through
/// the generated glue and freed by its post-return without one invalid,
/// double or missing free (AddressSanitizer and LeakSanitizer abort the
/// run otherwise).
#[test]
fn builders_hand_the_host_only_what_it_may_free() {
    let dir = TempDir::new("c_native");
    let bindings = bindings();
    let sanitize = [
        "-g",
        "-O1",
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        "-fno-omit-frame-pointer",
    ];
    // The generated glue is not ours to hold to -Werror.
    let glue = dir.path().join("plugin.o");
    run_ok(
        Command::new("gcc")
            .args(["-std=c11", "-w", "-c"])
            .args(sanitize)
            .arg(include(&bindings))
            .arg(bindings.join("plugin.c"))
            .arg("-o")
            .arg(&glue),
        "the generated plugin.c",
    );
    let test = dir.path().join("native_test");
    run_ok(
        Command::new("gcc")
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror"])
            .args(sanitize)
            .arg(include(&sdk()))
            .arg(include(&bindings))
            .arg(sdk().join("tests/native_test.c"))
            .arg(sdk().join("wasm_exporter.c"))
            .arg(&glue)
            .arg("-lm")
            .arg("-o")
            .arg(&test),
        "the native test of the SDK",
    );

    let out = Command::new(&test)
        .args([
            "all",
            "wrong_builder",
            "null_label",
            "null_name",
            "error",
            "status",
            "describe",
        ])
        .env("ASAN_OPTIONS", "detect_leaks=1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, NATIVE_EXPECTED);
}

/// The example plugin reads the file it is granted with stdio, and says
/// which grant is missing when it is not.
#[test]
fn c_loadavg_reads_the_granted_file() {
    let dir = TempDir::new("c_loadavg");
    dir.add("c_loadavg", &example_plugin("c_loadavg"));
    let host = Host::start_config(
        dir,
        "plugins:\n  - path: c_loadavg.wasm\n    grants: { files: [/proc/loadavg] }\n  \
         - name: ungranted\n    path: c_loadavg.wasm\n",
        &[],
    );
    let before = std::fs::read_to_string("/proc/loadavg").unwrap();
    let page = host.scrape();
    let after = std::fs::read_to_string("/proc/loadavg").unwrap();
    assert_eq!(page.up("c_loadavg"), Some(1.0), "{}", page.text);
    // The kernel updates the averages every 5 s: the plugin saw one of
    // the two readings around the scrape.
    for (i, name) in ["node_load1", "node_load5", "node_load15"]
        .iter()
        .enumerate()
    {
        let seen = page
            .value(name)
            .unwrap_or_else(|| panic!("no {name}: {}", page.text));
        let read = |text: &str| -> f64 { text.split_whitespace().nth(i).unwrap().parse().unwrap() };
        assert!(
            seen == read(&before) || seen == read(&after),
            "{name} {seen}, /proc/loadavg {before:?} then {after:?}"
        );
    }
    let total = page
        .value("loadavg_tasks{state=\"total\"}")
        .expect("loadavg_tasks total");
    let runnable = page
        .value("loadavg_tasks{state=\"runnable\"}")
        .expect("loadavg_tasks runnable");
    assert!(total >= 1.0 && runnable <= total, "{}", page.text);

    assert_eq!(page.up("ungranted"), Some(0.0), "{}", page.text);
    let landing = host.get_ok("/");
    assert!(
        landing.contains("cannot open /proc/loadavg")
            && landing.contains("grant it with files: [/proc/loadavg]"),
        "{landing}"
    );
}

/// The template builds, serves its families, and fails with a message
/// naming the configuration key it cannot use.
#[test]
fn template_collects_and_names_a_bad_setting() {
    let plugin = test_plugin("template_c");
    let text = crate::common::collect_alone(&plugin);
    assert!(
        text.contains("template_queue_depth{queue=\"mail\"} 0\n"),
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
