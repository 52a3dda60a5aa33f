//! The go SDK: its native unit tests, its port test and what the Go port
//! does differently from the others.
//!
//! The SDK's own tests (`go test` with the project-local Go) check the
//! client_golang model and the canonical-ABI layout of its output, decoded
//! back in Go. The port test builds one client_golang collector twice,
//! with Debian's Go and client_golang and as a plugin, and compares what
//! each serves. The `go_behaviour` plugin (sdk/go/testdata/behaviour) shows
//! panics recovered into errors, invalid UTF-8, the request, the label
//! order, failed registration, and the garbage collector switched off for
//! a scrape of 50,000 series.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{
    Host, TempDir, collect_command, example_plugin, repo_root, run, target_dir, test_plugin, text,
};

/// The fuel of one `collect` unless configured otherwise.
const DEFAULT_FUEL: u64 = 1_000_000_000;

/// The Go that `cargo xtask toolchains` installs into `.venv`.
fn project_go() -> PathBuf {
    let lib = repo_root().join(".venv/lib");
    std::fs::read_dir(&lib)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("site-packages/go/bin/go"))
        .find(|go| go.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no Go under {}: run `cargo xtask toolchains`",
                lib.display()
            )
        })
}

/// `go` offline and inside the project, as the build tool runs it.
fn go_command(go: &Path, dir: &Path) -> Command {
    let cache = target_dir().join("go");
    let mut command = Command::new(go);
    command
        .current_dir(dir)
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .env("GOWORK", "off")
        .env("GOENV", "off")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", cache.join("cache"))
        .env("GOMODCACHE", cache.join("mod"))
        .env("GOPATH", cache.join("path"));
    command
}

#[test]
fn the_sdk_and_example_unit_tests_pass_natively() {
    let go = project_go();
    for (dir, packages) in [
        (
            "sdk/go",
            &[
                "wasm-exporter.dev/sdk/go/prometheus",
                "wasm-exporter.dev/sdk/go/wasmexporter",
                "wasm-exporter.dev/sdk/go/wasmexporter/hostslog",
            ][..],
        ),
        (
            "plugins/go/go_netdev",
            &["wasm-exporter.dev/plugins/go_netdev"][..],
        ),
    ] {
        let out = run(go_command(&go, &repo_root().join(dir)).args(["test", "-count=1", "./..."]));
        let report = text(&out);
        assert!(out.status.success(), "go test in {dir}:\n{report}");
        for package in packages {
            assert!(
                report.contains(&format!("ok  \t{package}")),
                "{package} ran no tests:\n{report}"
            );
        }
    }
}

/// `wasm_exporter collect` of a plugin with `--config` pairs and extra
/// arguments.
fn collect(plugin: &Path, config: &[&str], extra: &[&str]) -> Output {
    let mut command = collect_command(plugin);
    for pair in config {
        command.args(["--config", pair]);
    }
    run(command.args(extra))
}

fn behaviour(config: &[&str], extra: &[&str]) -> Output {
    collect(&test_plugin("go_behaviour"), config, extra)
}

/// The failure `collect` reports: its last stderr line.
fn failure(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "the scrape succeeded:\n{}",
        text(out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr.lines().last().unwrap_or_default().to_owned()
}

#[test]
fn a_panic_in_collect_fails_the_scrape_with_its_message() {
    let out = behaviour(&["mode=panic"], &[]);
    assert!(
        failure(&out).ends_with("failed (error): panic: go behaviour panic"),
        "{}",
        text(&out)
    );
    // A runtime error is a panic too: recovered, not a trap.
    let out = behaviour(&["mode=nil_map"], &[]);
    assert!(
        failure(&out).ends_with("failed (error): panic: assignment to entry in nil map"),
        "{}",
        text(&out)
    );
}

#[test]
fn invalid_utf8_is_refused_in_label_values_and_replaced_elsewhere() {
    // A label value: NewConstMetric's error, as client_golang reports it.
    let out = behaviour(&["mode=invalid_utf8"], &[]);
    assert!(
        failure(&out)
            .ends_with(r#"failed (error): label value "bad \xff value" is not valid UTF-8"#),
        "{}",
        text(&out)
    );
    // The log record of the same call arrives, its stray byte replaced.
    assert!(
        text(&out).contains("log with a stray \u{fffd} byte"),
        "{}",
        text(&out)
    );
    // Help text: replaced, and the scrape succeeds.
    let out = behaviour(&["mode=invalid_utf8_help"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("# HELP go_behaviour_bad_help Help with a stray \u{fffd} byte.\n"),
        "{}",
        text(&out)
    );
}

/// The `--stats` figures of a successful collect.
fn stats(out: &Output) -> (u64, u64) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("series="))
        .unwrap_or_else(|| panic!("no statistics in:\n{stderr}"));
    let field = |name: &str| -> u64 {
        line.split(' ')
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    (field("series"), field("fuel"))
}

#[test]
fn with_the_garbage_collector_off_50k_series_fit_the_default_fuel() {
    let off = behaviour(&["mode=series", "series=50000", "gc=off"], &["--stats"]);
    assert!(off.status.success(), "{}", text(&off));
    let (series, fuel_off) = stats(&off);
    assert_eq!(series, 50_000);
    assert!(fuel_off < DEFAULT_FUEL, "fuel {fuel_off}");
    let stdout = String::from_utf8_lossy(&off.stdout);
    assert!(
        stdout.contains("go_behaviour_series{group=\"d\",index=\"49999\"} 49999\n"),
        "the last series is missing"
    );
    // With the collector on, the same scrape costs more, or runs out.
    let on = behaviour(&["mode=series", "series=50000"], &["--stats"]);
    if on.status.success() {
        let (_, fuel_on) = stats(&on);
        assert!(fuel_on > fuel_off, "GC on: {fuel_on} fuel, off: {fuel_off}");
    } else {
        assert!(failure(&on).contains("failed (fuel)"), "{}", text(&on));
    }
}

#[test]
fn a_call_that_returns_nothing_costs_the_runtime_start_alone() {
    let out = behaviour(&[], &["--stats"]);
    assert!(out.status.success(), "{}", text(&out));
    let (series, fuel) = stats(&out);
    assert_eq!(series, 0);
    // Go 1.27 starts its runtime for about 1.3 M fuel; 1.24 and 1.25 took
    // about four times as much, which this would catch.
    assert!(fuel < 2_500_000, "an empty scrape took {fuel} fuel");
}

#[test]
fn the_request_reaches_collect() {
    let out = behaviour(&["mode=request"], &["--target", "db:5432 ü"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("go_behaviour_target{target=\"db:5432 ü\"} 1\n"),
        "{stdout}"
    );
    // collect's default timeout is 5 s.
    assert!(
        stdout.contains("go_behaviour_timeout_seconds 5\n"),
        "{stdout}"
    );
}

#[test]
fn series_and_labels_are_sorted_as_client_golang_sorts_them() {
    let out = behaviour(&["mode=sorted"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let series: Vec<&str> = stdout.lines().filter(|l| !l.starts_with('#')).collect();
    // Sent as (zeta, alpha) = (2, b), (1, b), (3, a), with the const label
    // middle="m": labels by name, series by their values in that order.
    assert_eq!(
        series,
        [
            r#"go_behaviour_sorted{alpha="a",middle="m",zeta="3"} 1"#,
            r#"go_behaviour_sorted{alpha="b",middle="m",zeta="1"} 1"#,
            r#"go_behaviour_sorted{alpha="b",middle="m",zeta="2"} 1"#,
        ]
    );
}

#[test]
fn a_failed_must_register_stops_the_plugin_loading_with_its_reason() {
    let out = behaviour(&["mode=must_register"], &[]);
    let reason = failure(&out);
    assert!(
        reason.contains("did not load")
            && reason
                .contains(r#"prometheus.MustRegister: descriptor Desc{fqName: "go behaviour""#)
            && reason.contains(r#"is not a valid metric name"#),
        "{}",
        text(&out)
    );
}

#[test]
fn statfs_answers_for_granted_mount_points_only() {
    let dir = TempDir::new("go_statfs");
    dir.add("granted", &test_plugin("go_behaviour"));
    dir.add("denied", &test_plugin("go_behaviour"));
    let config = "plugins:
  - name: granted
    path: granted.wasm
    grants:
      statfs: [/]
    config:
      mode: statfs
      path: /
  - name: denied
    path: denied.wasm
    config:
      mode: statfs
      path: /
";
    let host = Host::start_config_shared(dir, config, &[]);
    let page = host.scrape();
    assert_eq!(page.up("granted"), Some(1.0), "{}", page.text);
    let blocks = page
        .value(r#"go_behaviour_statfs_blocks{kind="total"}"#)
        .expect("no block count");
    let size = page
        .value(r#"go_behaviour_statfs_blocks{kind="size"}"#)
        .expect("no block size");
    assert!(blocks > 0.0 && size >= 512.0, "{blocks} blocks of {size}");
    assert_eq!(page.up("denied"), Some(0.0));
    assert_eq!(page.failures("denied", "error"), 1.0);
}

/// `/proc/net/dev`'s interfaces other than `lo`, with their received bytes.
fn net_dev() -> Vec<(String, f64)> {
    std::fs::read_to_string("/proc/net/dev")
        .unwrap()
        .lines()
        .skip(2)
        .filter_map(|line| {
            let (name, values) = line.rsplit_once(':')?;
            let bytes = values.split_whitespace().next()?.parse().ok()?;
            Some((name.trim().to_owned(), bytes))
        })
        .filter(|(name, _)| name != "lo")
        .collect()
}

#[test]
fn the_netdev_example_reads_its_granted_file() {
    let dir = TempDir::new("go_netdev");
    dir.add("go_netdev", &example_plugin("go_netdev"));
    dir.add("ungranted", &example_plugin("go_netdev"));
    let config = "plugins:
  - path: go_netdev.wasm
    grants:
      files: [/proc/net/dev]
  - path: ungranted.wasm
";
    let host = Host::start_config_shared(dir, config, &[]);
    let before = net_dev();
    let page = host.scrape();
    let after = net_dev();
    assert_eq!(page.up("go_netdev"), Some(1.0), "{}", page.text);
    assert!(!before.is_empty(), "no interface besides lo");
    for ((device, low), (_, high)) in before.iter().zip(&after) {
        let series = format!("node_network_receive_bytes_total{{device=\"{device}\"}}");
        let value = page
            .value(&series)
            .unwrap_or_else(|| panic!("no {series} in:\n{}", page.text));
        assert!(
            *low <= value && value <= *high,
            "{series} {value} outside [{low}, {high}]"
        );
    }
    assert!(
        page.value(r#"node_network_receive_bytes_total{device="lo"}"#)
            .is_none(),
        "lo is excluded by default"
    );
    assert_eq!(page.up("ungranted"), Some(0.0));
}

/// Debian's Go, which builds the client_golang side.
const DEBIAN_GO: &str = "/usr/bin/go";
/// Where Debian's Go library packages put their sources.
const GOPATH_DEB: &str = "/usr/share/gocode";

/// Builds the client_golang side of the port test and returns what it
/// writes.
fn client_golang_exposition() -> String {
    let client = Path::new(GOPATH_DEB).join("src/github.com/prometheus/client_golang/prometheus");
    assert!(
        Path::new(DEBIAN_GO).is_file() && client.is_dir(),
        "the port test needs Debian's packages golang-go and \
         golang-github-prometheus-client-golang-dev (apt-get install them)"
    );
    let out_dir = target_dir().join("ports");
    let binary = out_dir.join("client_golang");
    let gopath = std::env::join_paths([Path::new(GOPATH_DEB), &out_dir.join("gopath")]).unwrap();
    let build = run(Command::new(DEBIAN_GO)
        .args(["build", "-o"])
        .arg(&binary)
        .arg("./tests/ports/client_golang/native")
        .current_dir(repo_root())
        .env("GO111MODULE", "off")
        .env("GOPATH", gopath)
        .env("GOCACHE", out_dir.join("go-cache")));
    assert!(build.status.success(), "{}", text(&build));
    let out = run(&mut Command::new(&binary));
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// The name of the family a text exposition line belongs to.
fn family_of(line: &str) -> &str {
    let rest = line
        .strip_prefix("# HELP ")
        .or_else(|| line.strip_prefix("# TYPE "))
        .unwrap_or(line);
    let end = rest.find(['{', ' ']).unwrap_or(rest.len());
    let name = &rest[..end];
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .filter(|_| !line.starts_with('#'))
        .unwrap_or(name)
}

/// A sample line's series and value.
fn sample(line: &str) -> Option<(&str, f64)> {
    let (series, value) = line.rsplit_once(' ')?;
    Some((series, value.parse().ok()?))
}

#[test]
fn the_port_serves_what_client_golang_serves() {
    let port = repo_root().join("tests/ports/client_golang");
    let native = std::fs::read_to_string(port.join("native/collector.go")).unwrap();
    let wasm = std::fs::read_to_string(port.join("wasm/collector.go")).unwrap();
    let (native_lines, wasm_lines): (Vec<&str>, Vec<&str>) =
        (native.lines().collect(), wasm.lines().collect());
    assert_eq!(
        native_lines.len(),
        wasm_lines.len(),
        "the collectors differ in length"
    );
    let changed: Vec<(&str, &str)> = native_lines
        .iter()
        .zip(&wasm_lines)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| (*a, *b))
        .collect();
    assert_eq!(
        changed,
        [(
            "\t\"github.com/prometheus/client_golang/prometheus\"",
            "\t\"wasm-exporter.dev/sdk/go/prometheus\""
        )],
        "the collectors may differ in their import only"
    );

    let expected = client_golang_exposition();
    let dir = TempDir::new("port_client_golang");
    dir.add("port_client_golang", &test_plugin("port_client_golang"));
    let host = Host::start(dir, &[]);
    let served = host.get_ok("/metrics?format=text");
    // The host serves its own families beside the plugin's: its
    // wasm_exporter_* health and its process_* figures.
    let families: std::collections::BTreeSet<&str> = expected.lines().map(family_of).collect();
    let (served, host_own): (Vec<&str>, Vec<&str>) = served
        .lines()
        .partition(|l| families.contains(family_of(l)));
    let foreign: Vec<&&str> = host_own
        .iter()
        .filter(|l| {
            !family_of(l).starts_with("wasm_exporter_") && !family_of(l).starts_with("process_")
        })
        .collect();
    assert!(
        foreign.is_empty(),
        "families client_golang did not write: {foreign:#?}"
    );
    let expected: Vec<&str> = expected.lines().collect();
    assert!(expected.len() > 30, "client_golang wrote only {expected:?}");
    assert_eq!(expected.len(), served.len(), "{expected:#?}\n{served:#?}");
    // Go's text format writes floats with strconv's 'g' (1.5e+06, 1e-07);
    // the host writes integral values below 1e15 in full and others in
    // their shortest form (1500000, 1e-7). Those lines must name the same
    // series and parse to the same number; all others must be equal.
    let mut reformatted = 0;
    for (want, got) in expected.iter().zip(&served) {
        if want == got {
            continue;
        }
        match (sample(want), sample(got)) {
            (Some((want_series, want_value)), Some((got_series, got_value)))
                if want_series == got_series && want_value == got_value =>
            {
                reformatted += 1;
            }
            _ => panic!("client_golang: {want}\nplugin:        {got}"),
        }
    }
    assert!(
        reformatted < 10,
        "{reformatted} lines differ in their float format"
    );
}
