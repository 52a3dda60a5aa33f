//! The `http_json` plugin: a JSON API, served by nginx, to metrics through
//! json_exporter-style paths, on `/metrics` and as a probe.

use crate::common::{Host, TempDir, example_plugin, get};
use crate::systems;

const DOC: &str = r#"{
  "counter": 1234,
  "location": "mars",
  "values": [
    {"id": "id-A", "count": 1, "some_boolean": true, "state": "ACTIVE"},
    {"id": "id-B", "count": 2.5, "some_boolean": false, "state": "INACTIVE"}
  ],
  "nested": {"ratio": "0.25", "name": 7}
}"#;

/// json_exporter's own example configuration, and one path of each style.
const METRICS: &str = r#"      metrics:
        - name: example_global_value
          path: "{ .counter }"
          help: Example of a top-level global value scrape in the json
          labels:
            environment: beta
            location: "{ .location }"
        - name: example_value
          type: object
          valuetype: gauge
          help: Example of sub-level value scrapes from a json
          path: "{.values[*]}"
          labels:
            environment: beta
            id: "{.id}"
          values:
            active: 1
            count: "{.count}"
            boolean: "{.some_boolean}"
        - name: example_ratio
          valuetype: counter
          path: $.nested.ratio
"#;

fn start(nginx: &systems::Daemon, url_path: &str, extra: &str) -> Host {
    let dir = TempDir::new("http_json");
    dir.add("http_json", &example_plugin("http_json"));
    let files = nginx.url("/files/");
    let url = nginx.url(url_path);
    let config = format!(
        "plugins:\n  - path: http_json.wasm\n    grants: {{ http: [\"{files}\"] }}\n{extra}    config:\n      url: {url}\n{METRICS}"
    );
    Host::start_config(dir, &config, &[])
}

#[test]
fn json_values_become_the_configured_series() {
    let nginx = systems::nginx();
    std::fs::write(nginx.dir.path().join("html/stats.json"), DOC).unwrap();
    let host = start(&nginx, "/files/stats.json", "");
    let page = host.scrape();
    assert_eq!(page.up("http_json"), Some(1.0), "{}", page.text);
    for (series, value) in [
        (
            "example_global_value{environment=\"beta\",location=\"mars\"}",
            1234.0,
        ),
        (
            "example_value_active{environment=\"beta\",id=\"id-A\"}",
            1.0,
        ),
        (
            "example_value_active{environment=\"beta\",id=\"id-B\"}",
            1.0,
        ),
        ("example_value_count{environment=\"beta\",id=\"id-A\"}", 1.0),
        ("example_value_count{environment=\"beta\",id=\"id-B\"}", 2.5),
        (
            "example_value_boolean{environment=\"beta\",id=\"id-A\"}",
            1.0,
        ),
        (
            "example_value_boolean{environment=\"beta\",id=\"id-B\"}",
            0.0,
        ),
        ("example_ratio", 0.25),
    ] {
        assert_eq!(
            page.value(series),
            Some(value),
            "{series} in\n{}",
            page.text
        );
    }
    for (family, type_) in [
        ("example_global_value", "untyped"),
        ("example_value_count", "gauge"),
        ("example_ratio", "counter"),
    ] {
        assert!(
            page.text.contains(&format!("# TYPE {family} {type_}\n")),
            "{family} {type_} in\n{}",
            page.text
        );
    }
    assert!(page.text.contains(
        "# HELP example_global_value Example of a top-level global value scrape in the json\n"
    ));
}

#[test]
fn a_probe_reads_its_target_within_the_grant() {
    let nginx = systems::nginx();
    std::fs::write(nginx.dir.path().join("html/other.json"), DOC).unwrap();
    std::fs::write(nginx.dir.path().join("html/stats.json"), DOC).unwrap();
    let host = start(&nginx, "/files/stats.json", "");
    let probe = |target: &str| {
        get(
            &host.url(&format!("/probe?plugin=http_json&target={target}")),
            &[],
        )
        .body
    };
    let body = probe(&nginx.url("/files/other.json"));
    assert!(body.contains("probe_success 1"), "{body}");
    assert!(body.contains("example_ratio 0.25"), "{body}");
    // A URL outside the HTTP grant: refused inside the plugin, the probe
    // fails, and the refusal is counted.
    let body = probe(&nginx.url("/stub_status"));
    assert!(body.contains("probe_success 0"), "{body}");
    let page = host.scrape();
    assert!(
        page.value("wasm_exporter_plugin_denied_total{plugin=\"http_json\",capability=\"http\"}")
            >= Some(1.0)
    );
}

#[test]
fn a_missing_document_or_a_bad_setting_fails_the_plugin_with_the_reason() {
    let nginx = systems::nginx();
    let host = start(&nginx, "/files/missing.json", "");
    let page = host.scrape();
    assert_eq!(page.up("http_json"), Some(0.0));
    assert_eq!(page.failures("http_json", "error"), 1.0);
    let landing = host.get_ok("/");
    assert!(landing.contains("status 404"), "{landing}");

    std::fs::write(nginx.dir.path().join("html/list.json"), DOC).unwrap();
    let dir = TempDir::new("http_json_bad");
    dir.add("http_json", &example_plugin("http_json"));
    let url = nginx.url("/files/list.json");
    let files = nginx.url("/files/");
    let config = format!(
        "plugins:\n  - path: http_json.wasm\n    grants: {{ http: [\"{files}\"] }}\n    config:\n      url: {url}\n      metrics:\n        - name: all_counts\n          path: $.values[*].count\n"
    );
    let host = Host::start_config(dir, &config, &[]);
    host.scrape();
    let landing = host.get_ok("/");
    assert!(landing.contains("use type: object"), "{landing}");
}
