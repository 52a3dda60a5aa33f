//! Bad plugin files get a clear error naming the file and the reason, and
//! the rest keeps serving.

use std::process::Command;

use crate::common::{Host, TempDir, binary, example_plugin, test_plugin};

#[test]
fn broken_files_are_reported_and_the_rest_serves() {
    let dir = TempDir::new("broken");
    dir.add("demo_queue", &example_plugin("demo_queue"));
    dir.write("not_wasm", b"#!/bin/sh\necho hello\n");
    dir.write("core_module", b"\0asm\x01\0\0\0");
    let good = std::fs::read(test_plugin("all_types")).unwrap();
    dir.write("truncated", &good[..good.len() / 2]);
    dir.add("wrong_version", &test_plugin("wrong_version"));
    dir.add("other_world", &test_plugin("other_world"));
    dir.add("extra_import", &test_plugin("extra_import"));
    std::fs::write(dir.path().join("README.txt"), "not a plugin").unwrap();
    let host = Host::start(dir, &[]);
    // The startup summary counts them.
    host.wait_for_log(&["msg=ready", "plugins=7", "failed=6", "tenants=0"]);

    let expectations = [
        ("not_wasm", "not a WebAssembly file"),
        ("core_module", "a core WebAssembly module, not a component"),
        ("truncated", "invalid component"),
        ("wrong_version", "built against WIT version 0.2.0"),
        (
            "other_world",
            "must export wasm-exporter:collector/collector@0.1.1",
        ),
        // An import the host does not provide is named.
        (
            "extra_import",
            "imports instance `acme:vault/secrets@1.0.0`",
        ),
    ];
    for (name, reason) in expectations {
        let line = host.wait_for_log(&["plugin failed to load", &format!("plugin={name}")]);
        assert!(
            line.contains(&format!("{name}.wasm")),
            "log names the file: {line}"
        );
        assert!(line.contains(reason), "log says why ({reason}): {line}");
    }
    let page = host.scrape();
    assert_eq!(page.up("demo_queue"), Some(1.0));
    assert!(page.value("demo_queue_depth{queue=\"mail\"}").is_some());
    for (name, _) in expectations {
        assert_eq!(page.up(name), Some(0.0), "{name} is reported down");
        assert_eq!(page.failures(name, "load"), 1.0);
    }
    assert_eq!(page.up("README"), None, "only *.wasm files are plugins");
    let landing = host.get_ok("/");
    assert!(landing.contains("broken"));
    assert!(landing.contains("built against WIT version 0.2.0"));
    // Their files never loaded: there is no "newer" file that did not.
    assert!(!landing.contains("newer file not loaded"), "{landing}");
}

#[test]
fn missing_plugins_dir_is_a_clear_startup_error() {
    let out = Command::new(binary())
        .args([
            "--plugins.dir",
            "/nonexistent/plugins",
            "--web.listen-address",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/plugins"), "{stderr}");
    assert!(stderr.contains("not a directory"), "{stderr}");
}

#[test]
fn an_empty_plugins_dir_serves_the_host_series() {
    let host = Host::start(TempDir::new("empty"), &[]);
    let page = host.scrape();
    assert_eq!(page.value("wasm_exporter_build_info{version=\"0.1.0\",wasmtime_version=\"48.0.8\",wit_version=\"0.1.1\"}"), Some(1.0));
    assert!(page.value("process_resident_memory_bytes").unwrap() > 0.0);
}
