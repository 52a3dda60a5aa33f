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

/// A host with `demo_queue` in the default registry and in tenant `t`
/// (bearer token `t`): every family of the host's own series is on its
/// `/metrics`.
fn host_with_a_tenant(tag: &str) -> Host {
    let dir = TempDir::new(tag);
    dir.add("demo_queue", &example_plugin("demo_queue"));
    // `printf %s t | sha256sum`
    let config = "plugins: [ { path: demo_queue.wasm } ]
tenants:
  t:
    auth: { bearer_token_sha256: [e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8] }
    plugins: [ { path: demo_queue.wasm } ]
";
    Host::start_config(dir, config, &[])
}

#[test]
fn the_alerts_ask_only_for_series_the_host_exports() {
    let host = host_with_a_tenant("deploy_series");
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
    let host = host_with_a_tenant("deploy_dashboard");
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

/// `kubectl kustomize` of `dir` (under `host/deploy/kubernetes`), as one
/// JSON value per resource.
fn kustomize(dir: &str) -> Vec<serde_json::Value> {
    use serde::Deserialize as _;
    // kubectl 1.21+ (kustomize 4+) prints its kustomize's version; the
    // overlays delete Prometheus Operator resources, which older ones
    // cannot (Debian's kubernetes-client is 1.20).
    let version = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(
        version.contains("Kustomize Version: v"),
        "kubectl 1.21 or later is needed on PATH to render host/deploy/kubernetes; found: {version:?}"
    );
    let output = run(Command::new("kubectl")
        .arg("kustomize")
        .arg(deploy("kubernetes").join(dir)));
    assert!(
        output.status.success(),
        "kubectl kustomize {dir}: {}",
        text(&output)
    );
    let rendered = String::from_utf8(output.stdout).unwrap();
    serde_norway::Deserializer::from_str(&rendered)
        .map(|doc| serde_json::Value::deserialize(doc).expect("a resource"))
        .collect()
}

fn of_kind<'a>(
    resources: &'a [serde_json::Value],
    kind: &'a str,
) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
    resources.iter().filter(move |r| r["kind"] == kind)
}

fn name(resource: &serde_json::Value) -> &str {
    resource["metadata"]["name"].as_str().expect("a name")
}

/// Whether every label of `selector` (a `matchLabels` or a Service's
/// `selector`) is in `labels`.
fn selects(selector: &serde_json::Value, labels: &serde_json::Value) -> bool {
    let selector = selector.as_object().expect("a selector");
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The checks every rendering passes: workloads with their probes,
/// sandbox and configuration; Services, ServiceMonitors and PodMonitors
/// whose selectors, ports and secrets match what is rendered beside them.
/// Returns the pod labels of its workloads.
fn check_rendering(dir: &str, resources: &[serde_json::Value]) -> Vec<serde_json::Value> {
    let help = text(&run(Command::new(binary()).arg("--help")));
    let workloads: Vec<&serde_json::Value> = resources
        .iter()
        .filter(|r| r["kind"] == "Deployment" || r["kind"] == "DaemonSet")
        .collect();
    assert_eq!(workloads.len(), 1, "{dir}: one workload");
    let mut pod_labels = Vec::new();
    let mut container_ports = BTreeSet::new();
    for workload in &workloads {
        let spec = &workload["spec"];
        let labels = &spec["template"]["metadata"]["labels"];
        assert!(
            selects(&spec["selector"]["matchLabels"], labels),
            "{dir}: {} selects its pods",
            name(workload)
        );
        pod_labels.push(labels.clone());
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{dir}");
        for container in pod["containers"].as_array().unwrap() {
            let security = &container["securityContext"];
            assert_eq!(security["readOnlyRootFilesystem"], true, "{dir}");
            assert_eq!(security["allowPrivilegeEscalation"], false, "{dir}");
            let ports: Vec<&str> = container["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            container_ports.extend(ports.iter().map(|p| p.to_string()));
            for (probe, path) in [
                ("livenessProbe", "/-/healthy"),
                ("readinessProbe", "/-/ready"),
            ] {
                let get = &container[probe]["httpGet"];
                assert_eq!(get["path"], path, "{dir}: {probe}");
                assert!(
                    ports.contains(&get["port"].as_str().unwrap()),
                    "{dir}: {probe} port"
                );
            }
            for arg in container["args"].as_array().unwrap() {
                let flag = arg.as_str().unwrap().split('=').next().unwrap();
                assert!(help.contains(&format!("{flag} ")), "{dir}: {flag}");
            }
        }
        for volume in pod["volumes"].as_array().unwrap() {
            if let Some(map) = volume["configMap"]["name"].as_str() {
                assert!(
                    of_kind(resources, "ConfigMap").any(|c| name(c) == map),
                    "{dir}: ConfigMap {map} is rendered"
                );
            }
        }
    }
    let services: Vec<&serde_json::Value> = of_kind(resources, "Service").collect();
    for service in &services {
        assert!(
            pod_labels
                .iter()
                .any(|l| selects(&service["spec"]["selector"], l)),
            "{dir}: Service {} selects the pods",
            name(service)
        );
        for port in service["spec"]["ports"].as_array().unwrap() {
            let target = port["targetPort"].as_str().unwrap();
            assert!(container_ports.contains(target), "{dir}: {target}");
        }
    }
    for monitor in of_kind(resources, "ServiceMonitor") {
        let selector = &monitor["spec"]["selector"]["matchLabels"];
        let service = services
            .iter()
            .find(|s| selects(selector, &s["metadata"]["labels"]))
            .unwrap_or_else(|| {
                panic!("{dir}: ServiceMonitor {} selects no Service", name(monitor))
            });
        for endpoint in monitor["spec"]["endpoints"].as_array().unwrap() {
            assert!(
                service["spec"]["ports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == endpoint["port"]),
                "{dir}: ServiceMonitor port"
            );
        }
    }
    for monitor in of_kind(resources, "PodMonitor") {
        let selector = &monitor["spec"]["selector"]["matchLabels"];
        assert!(
            pod_labels.iter().any(|l| selects(selector, l)),
            "{dir}: PodMonitor {} selects the pods",
            name(monitor)
        );
        for endpoint in monitor["spec"]["podMetricsEndpoints"].as_array().unwrap() {
            let port = endpoint["port"].as_str().unwrap();
            assert!(container_ports.contains(port), "{dir}: {port}");
            let credentials = &endpoint["authorization"]["credentials"];
            let (secret, key) = (&credentials["name"], &credentials["key"]);
            assert!(
                of_kind(resources, "Secret").any(|s| s["metadata"]["name"] == *secret
                    && s["data"].get(key.as_str().unwrap()).is_some()),
                "{dir}: Secret {secret} with key {key} is rendered"
            );
        }
    }
    pod_labels
}

/// The ConfigMap's `config.yml` of a rendering passes `check-config`, with
/// the plugins volume and the node's mounts pointed at what is here.
fn check_config_of(dir: &str, resources: &[serde_json::Value]) {
    let config = of_kind(resources, "ConfigMap")
        .find_map(|c| c["data"]["config.yml"].as_str())
        .unwrap_or_else(|| panic!("{dir}: no config.yml"));
    let plugins = TempDir::new("deploy_kubernetes_plugins");
    for plugin in ["node", "python_meminfo", "c_loadavg", "go_netdev"] {
        if config.contains(&format!("/{plugin}.wasm")) {
            plugins.add(plugin, &example_plugin(plugin));
        }
    }
    let config = config
        .replace(
            "/var/lib/wasm_exporter/plugins",
            plugins.path().to_str().unwrap(),
        )
        .replace("/host/proc/", "/proc/");
    let file = plugins.path().join("config.yml");
    std::fs::write(&file, config).unwrap();
    let output = run(Command::new(binary()).arg("check-config").arg(&file));
    assert!(output.status.success(), "{dir}: {}", text(&output));
}

#[test]
fn the_kubernetes_manifests_render_with_selectors_probes_and_secrets_that_match() {
    let base = kustomize("base");
    let labels = check_rendering("base", &base);
    assert_eq!(of_kind(&base, "Deployment").count(), 1);
    for kind in [
        "Service",
        "ServiceMonitor",
        "PodMonitor",
        "ConfigMap",
        "Secret",
    ] {
        assert_eq!(of_kind(&base, kind).count(), 1, "base: {kind}");
    }
    check_config_of("base", &base);
    assert_eq!(labels.len(), 1);

    // Per node: a DaemonSet reading the node's /proc and /sys read-only.
    let node = kustomize("overlays/node");
    check_rendering("overlays/node", &node);
    let daemonset = of_kind(&node, "DaemonSet").next().expect("a DaemonSet");
    let pod = &daemonset["spec"]["template"]["spec"];
    for (volume, path) in [("proc", "/proc"), ("sys", "/sys")] {
        assert!(
            pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["name"] == volume && v["hostPath"]["path"] == path),
            "host {path}"
        );
        assert!(
            pod["containers"][0]["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["name"] == volume && m["readOnly"] == true),
            "{path} read-only"
        );
    }
    assert_eq!(of_kind(&node, "Deployment").count(), 0);
    check_config_of("overlays/node", &node);

    // Sharded tenants: each shard's monitors select its own pods only.
    let shards: Vec<(Vec<serde_json::Value>, Vec<serde_json::Value>)> = ["a", "b"]
        .iter()
        .map(|shard| {
            let dir = format!("overlays/tenants/shard-{shard}");
            let rendered = kustomize(&dir);
            let labels = check_rendering(&dir, &rendered);
            check_config_of(&dir, &rendered);
            (rendered, labels)
        })
        .collect();
    for (i, (rendered, _)) in shards.iter().enumerate() {
        let (_, other_labels) = &shards[1 - i];
        for monitor in of_kind(rendered, "ServiceMonitor").chain(of_kind(rendered, "PodMonitor")) {
            let selector = &monitor["spec"]["selector"]["matchLabels"];
            assert!(
                !other_labels.iter().any(|l| selects(selector, l)),
                "{} selects the other shard's pods",
                name(monitor)
            );
        }
        let names: BTreeSet<&str> = rendered.iter().map(name).collect();
        let other: BTreeSet<&str> = shards[1 - i].0.iter().map(name).collect();
        assert!(names.is_disjoint(&other), "shards share names: {names:?}");
    }
}

/// The container engine that works here, if any: `docker` or `podman`
/// whose daemon (or service) answers.
fn container_engine() -> Result<&'static str, String> {
    let mut why = Vec::new();
    for engine in ["docker", "podman"] {
        match Command::new(engine).arg("info").output() {
            Ok(o) if o.status.success() => return Ok(engine),
            Ok(o) => why.push(format!(
                "`{engine} info` failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => why.push(format!("no {engine}: {e}")),
        }
    }
    Err(why.join("; "))
}

#[test]
fn the_container_image_builds_and_serves_from_volumes_as_non_root() {
    let dockerfile = std::fs::read_to_string(deploy("docker/Dockerfile")).unwrap();
    // What holds whether or not an engine runs here.
    assert!(dockerfile.contains("\nUSER 65532:65532\n"), "non-root");
    assert!(dockerfile.contains("FROM rust:") && dockerfile.contains("AS build"));
    let help = text(&run(Command::new(binary()).arg("--help")));
    for flag in [
        "--config.file",
        "--cache.dir",
        "--web.listen-address",
        "--log.format",
    ] {
        assert!(dockerfile.contains(flag), "{flag}");
        assert!(help.contains(&format!("{flag} ")), "{flag} is not a flag");
    }
    let engine = match container_engine() {
        Ok(engine) => engine,
        Err(why) => {
            // Neither docker nor podman can build here: say so, and check
            // only the file.
            eprintln!("SKIPPED building the image: {why}");
            return;
        }
    };
    let tag = format!("wasm_exporter_test:{}", std::process::id());
    let output = run(Command::new(engine)
        .args([
            "build",
            "-f",
            "host/deploy/docker/Dockerfile",
            "-t",
            &tag,
            ".",
        ])
        .current_dir(repo_root()));
    assert!(output.status.success(), "{engine} build: {}", text(&output));
    let plugins = TempDir::new("deploy_docker_plugins");
    plugins.add("demo_queue", &example_plugin("demo_queue"));
    std::fs::write(
        plugins.path().join("config.yml"),
        "plugins_dir: /var/lib/wasm_exporter/plugins\n",
    )
    .unwrap();
    let name = format!("wasm_exporter_test_{}", std::process::id());
    let mount = format!("{}:/etc/wasm_exporter:ro", plugins.path().display());
    let plugins_mount = format!(
        "{}:/var/lib/wasm_exporter/plugins:ro",
        plugins.path().display()
    );
    let output = run(Command::new(engine).args([
        "run",
        "-d",
        "--rm",
        "--read-only",
        "--name",
        &name,
        "-p",
        "127.0.0.1::9917",
        "-v",
        &mount,
        "-v",
        &plugins_mount,
        &tag,
    ]));
    assert!(output.status.success(), "{engine} run: {}", text(&output));
    let port = text(&run(Command::new(engine).args(["port", &name, "9917"])));
    let address = port.lines().next().unwrap_or_default().trim().to_owned();
    let mut page = String::new();
    for _ in 0..100 {
        if let Ok(r) = crate::common::client()
            .get(format!("http://{address}/metrics"))
            .send()
            && r.status() == 200
        {
            page = r.text().unwrap_or_default();
            if page.contains("wasm_exporter_plugin_up{plugin=\"demo_queue\"} 1") {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let user = text(&run(Command::new(engine).args(["exec", &name, "id", "-u"])));
    let _ = Command::new(engine).args(["rm", "-f", &name]).output();
    let _ = Command::new(engine).args(["rmi", &tag]).output();
    assert!(
        page.contains("wasm_exporter_plugin_up{plugin=\"demo_queue\"} 1"),
        "{page}"
    );
    assert_eq!(user.trim(), "65532");
}
