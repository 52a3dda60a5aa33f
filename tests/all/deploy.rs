//! What `host/deploy/` ships for running the host: the systemd unit, and
//! the example Prometheus configuration with its alerting rules, each
//! checked by the real tool (`systemd-analyze`, `promtool`), and the
//! rules' series checked against what a running host exports.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use crate::common::{Host, TempDir, binary, example_plugin, repo_root, run, text};
use crate::prometheus::prometheus_binary;

fn deploy(path: &str) -> PathBuf {
    repo_root().join("host/deploy").join(path)
}

/// The systemd unit, with `ExecStart` pointing at the built binary (the
/// unit names where an install puts it, and `verify` checks it exists).
fn unit_for_this_build(dir: &TempDir) -> PathBuf {
    let unit = std::fs::read_to_string(deploy("systemd/wasm_exporter.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/wasm_exporter "));
    let unit = unit.replace(
        "/usr/local/bin/wasm_exporter",
        binary().to_str().expect("a UTF-8 path"),
    );
    let path = dir.path().join("wasm_exporter.service");
    std::fs::write(&path, unit).unwrap();
    path
}

#[test]
fn the_systemd_unit_verifies_and_is_hardened() {
    let dir = TempDir::new("deploy_systemd");
    let unit = unit_for_this_build(&dir);
    let output = run(Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit));
    // `verify` warns of an unknown key on stderr and still exits 0.
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "systemd-analyze verify: {}",
        text(&output)
    );
    let unit_text = std::fs::read_to_string(&unit).unwrap();
    for setting in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "ProtectHome=yes",
        "CapabilityBoundingSet=\n",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit_text.contains(setting), "{setting} missing");
    }
    // systemd's own score of the sandbox: "OK" or better (below 3.0 of 10).
    let output = run(Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&unit));
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    let exposure: f64 = report
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for wasm_exporter.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{}", text(&output)));
    assert!(exposure < 3.0, "exposure {exposure}:\n{report}");

    // The flags it starts the host with are the host's.
    let exec: String = unit_text
        .split("ExecStart=")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("ExecReload"))
        .collect::<Vec<_>>()
        .join(" ");
    let help = text(&run(Command::new(binary()).arg("--help")));
    for flag in exec.split_whitespace().filter(|w| w.starts_with("--")) {
        let name = flag.split('=').next().unwrap();
        assert!(help.contains(&format!("{name} ")), "{name} is not a flag");
    }
}

/// `promtool` with `args`, run in the directory of the deploy files;
/// its output, after checking it succeeded.
fn promtool(args: &[&str]) -> String {
    let output = run(Command::new(prometheus_binary("promtool"))
        .args(args)
        .current_dir(deploy("prometheus")));
    let report = text(&output);
    assert!(output.status.success(), "promtool {args:?}:\n{report}");
    report
}

#[test]
fn the_example_prometheus_configuration_and_alerts_pass_promtool() {
    let report = promtool(&["check", "config", "prometheus.yml"]);
    assert!(report.contains("SUCCESS: 9 rules found"), "{report}");
    promtool(&["check", "rules", "alerts.yml"]);
    let report = promtool(&["test", "rules", "alerts_test.yml"]);
    assert!(report.contains("SUCCESS"), "{report}");
    // Every rule has a unit test that expects it to fire.
    let alerts = std::fs::read_to_string(deploy("prometheus/alerts.yml")).unwrap();
    let tests = std::fs::read_to_string(deploy("prometheus/alerts_test.yml")).unwrap();
    for name in alerts
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
    {
        let firing = tests
            .split("alertname: ")
            .skip(1)
            .any(|t| t.starts_with(&format!("{name}\n")) && t.contains("exp_alerts"));
        assert!(firing, "no test in which {name} fires");
    }
}

#[test]
fn the_alerts_ask_only_for_series_the_host_exports() {
    // A host with a plugin in the default registry and a tenant: every
    // family of the host's own series is on /metrics.
    let dir = TempDir::new("deploy_series");
    dir.add("demo_queue", &example_plugin("demo_queue"));
    // `printf %s t | sha256sum`
    let config = "plugins: [ { path: demo_queue.wasm } ]
tenants:
  t:
    auth: { bearer_token_sha256: [e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8] }
    plugins: [ { path: demo_queue.wasm } ]
";
    let host = Host::start_config(dir, config, &[]);
    let page = host.get_ok("/metrics");
    let exported: BTreeSet<&str> = page
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let alerts = std::fs::read_to_string(deploy("prometheus/alerts.yml")).unwrap();
    let asked: BTreeSet<&str> = alerts
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr: "))
        .flat_map(|expr| {
            expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("wasm_exporter_"))
        })
        .collect();
    assert!(asked.len() >= 8, "{asked:?}");
    for series in &asked {
        assert!(exported.contains(series), "{series} is not on /metrics");
    }
}

/// Every PromQL expression of the Grafana dashboard, with Grafana's
/// variables replaced as Grafana would (all jobs and instances, a 1 m rate
/// window).
fn dashboard_queries() -> Vec<String> {
    let text = std::fs::read_to_string(deploy("grafana/wasm_exporter.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    let mut queries = Vec::new();
    for panel in panels {
        assert!(ids.insert(panel["id"].as_u64().expect("an id")), "id twice");
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("expr");
            queries.push(
                expr.replace("$__rate_interval", "1m")
                    .replace("$job", ".+")
                    .replace("$instance", ".+"),
            );
        }
    }
    assert!(queries.len() >= 20, "{queries:?}");
    queries
}

#[test]
fn every_dashboard_query_returns_data_from_a_real_prometheus() {
    let queries = dashboard_queries();
    let dir = TempDir::new("deploy_dashboard");
    dir.add("demo_queue", &example_plugin("demo_queue"));
    // `printf %s t | sha256sum`
    let config = "plugins: [ { path: demo_queue.wasm } ]
tenants:
  t:
    auth: { bearer_token_sha256: [e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8] }
    plugins: [ { path: demo_queue.wasm } ]
";
    let host = Host::start_config(dir, config, &[]);
    let address = host
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let prometheus = crate::prometheus::Prometheus::start(&format!(
        "  - job_name: wasm_exporter
    static_configs: [{{targets: ['{address}']}}]
  - job_name: tenant_t
    metrics_path: /tenants/t/metrics
    authorization: {{ credentials: t }}
    static_configs: [{{targets: ['{address}']}}]
"
    ));
    for query in &queries {
        prometheus.eventually(
            query,
            std::time::Duration::from_secs(60),
            || match prometheus.query(query) {
                Err(e) if e.contains("parse error") => panic!("{query}: {e}"),
                Err(e) => Err(e),
                Ok(samples) if samples.is_empty() => Err("no data".to_owned()),
                Ok(_) => Ok(()),
            },
        );
    }
}
