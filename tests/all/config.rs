//! The configuration file, reloads, secrets, the compile cache and
//! `check-config`.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{Host, TempDir, binary, example_plugin, test_plugin};

const SECRET: &str = "s3cr3t-hunter2";
const TOKEN: &str = "tok-from-env-991";

fn config_args(dir: &Path) -> Vec<OsString> {
    vec!["--config.file".into(), dir.join("config.yml").into()]
}

fn write_config(dir: &Path, text: &str) {
    let tmp = dir.join(".config.yml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join("config.yml")).unwrap();
}

fn base_config(region: &str) -> String {
    format!(
        "global:\n  timeout: 2s\nplugins:\n  - name: echo\n    path: plugins/echo_request.wasm\n    config:\n      region: {region}\n      password: {{ file: secrets/password }}\n      token: {{ env: WX_TEST_TOKEN }}\n  - path: plugins/demo_queue.wasm\n    limits:\n      max_series: 100\n"
    )
}

fn config_dir() -> TempDir {
    let dir = TempDir::new("config");
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
    std::fs::copy(
        test_plugin("echo_request"),
        dir.path().join("plugins/echo_request.wasm"),
    )
    .unwrap();
    std::fs::copy(
        example_plugin("demo_queue"),
        dir.path().join("plugins/demo_queue.wasm"),
    )
    .unwrap();
    std::fs::write(dir.path().join("secrets/password"), format!("{SECRET}\n")).unwrap();
    write_config(dir.path(), &base_config("eu"));
    dir
}

fn start(dir: TempDir, extra: &[&str]) -> Host {
    let args = config_args(dir.path());
    Host::start_env(
        dir,
        TempDir::new("cache"),
        args,
        extra,
        &[("WX_TEST_TOKEN", TOKEN)],
    )
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn config_file_serves_plugins_with_their_config_limits_and_secrets() {
    let host = start(config_dir(), &[]);
    let page = host.scrape();
    assert_eq!(page.up("echo"), Some(1.0));
    assert_eq!(page.up("demo_queue"), Some(1.0));
    assert_eq!(
        page.value("echo_config{key=\"region\",value=\"eu\"}"),
        Some(1.0)
    );
    // The plugin gets its secrets (this one echoes them back as series)...
    assert_eq!(
        page.value(&format!(
            "echo_config{{key=\"password\",value=\"{SECRET}\"}}"
        )),
        Some(1.0)
    );
    assert_eq!(
        page.value(&format!("echo_config{{key=\"token\",value=\"{TOKEN}\"}}")),
        Some(1.0)
    );
    // ...with the global timeout (2 s) as its deadline.
    let left = page.value("echo_timeout_ms").unwrap();
    assert!((1900.0..=2000.0).contains(&left), "{left}");
    // ...but the host never shows them.
    let pages = ["/", "/status/config", "/status/plugins/echo"].map(|p| host.get_ok(p));
    assert!(pages[1].contains("secrets/password"), "{}", pages[1]);
    for secret in [SECRET, TOKEN] {
        for page in &pages {
            assert!(!page.contains(secret), "a status page leaks a secret");
        }
        assert!(
            !host.log().join("\n").contains(secret),
            "log leaks a secret"
        );
    }
    assert_eq!(
        page.value("wasm_exporter_config_last_reload_successful"),
        Some(1.0)
    );
}

#[test]
fn an_invalid_config_reload_keeps_the_running_one() {
    let host = start(config_dir(), &["--watch.disable"]);
    write_config(
        host.dir(),
        "plugins:\n  - path: plugins/echo_request.wasm\n    limits:\n      fule: 3\n",
    );
    let r = crate::common::client()
        .post(host.url("/-/reload"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 500);
    let body = r.text().unwrap();
    assert!(
        body.contains("config.yml:4: plugins[0].limits: unknown field `fule`"),
        "{body}"
    );
    let page = host.scrape();
    assert_eq!(
        page.value("wasm_exporter_config_last_reload_successful"),
        Some(0.0)
    );
    assert_eq!(
        page.up("echo"),
        Some(1.0),
        "the running configuration stays"
    );
    assert_eq!(page.up("demo_queue"), Some(1.0));
    host.wait_for_log(&["reload failed; keeping the running configuration", "fule"]);

    // A good configuration is taken, with its changes.
    std::fs::copy(
        test_plugin("all_types"),
        host.dir().join("plugins/all_types.wasm"),
    )
    .unwrap();
    write_config(
        host.dir(),
        &(base_config("us") + "  - path: plugins/all_types.wasm\n"),
    );
    let r = crate::common::client()
        .post(host.url("/-/reload"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let page = host.scrape();
    assert_eq!(
        page.value("wasm_exporter_config_last_reload_successful"),
        Some(1.0)
    );
    assert_eq!(page.up("all_types"), Some(1.0));
    assert_eq!(
        page.value("echo_config{key=\"region\",value=\"us\"}"),
        Some(1.0)
    );
    assert!(
        page.value("wasm_exporter_config_last_reload_success_timestamp_seconds")
            .unwrap()
            > 1.7e9
    );
    assert_eq!(
        host.get_with("/-/reload", &[]).status,
        405,
        "GET does not reload"
    );
}

#[test]
fn sighup_and_config_file_changes_reload() {
    let host = start(config_dir(), &["--watch.disable"]);
    write_config(host.dir(), &base_config("ap"));
    let status = Command::new("kill")
        .args(["-HUP", &host.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_until("the new region after SIGHUP", || {
        host.scrape()
            .value("echo_config{key=\"region\",value=\"ap\"}")
            == Some(1.0)
    });
    drop(host);

    // With watching on, writing the file is enough.
    let host = start(config_dir(), &["--watch.debounce", "20ms"]);
    write_config(host.dir(), &base_config("sa"));
    wait_until("the new region after a file change", || {
        host.scrape()
            .value("echo_config{key=\"region\",value=\"sa\"}")
            == Some(1.0)
    });
}

#[test]
fn a_restart_with_a_warm_cache_compiles_nothing() {
    let dir = TempDir::new("cache_restart");
    for name in ["demo_queue", "demo_latency", "demo_config"] {
        dir.add(name, &example_plugin(name));
    }
    let args = |dir: &TempDir| vec![OsString::from("--plugins.dir"), dir.path().into()];
    let a = args(&dir);
    let host = Host::start_with(dir, TempDir::new("cache"), a, &[]);
    let page = host.scrape();
    assert_eq!(
        page.value("wasm_exporter_plugin_compilations_total"),
        Some(3.0)
    );
    assert_eq!(
        page.value("wasm_exporter_plugin_compile_cache_hits_total"),
        Some(0.0)
    );
    let (dir, cache) = host.stop();

    let a = args(&dir);
    let host = Host::start_with(dir, cache, a, &[]);
    let page = host.scrape();
    assert_eq!(
        page.value("wasm_exporter_plugin_compilations_total"),
        Some(0.0),
        "warm cache: nothing compiled"
    );
    assert_eq!(
        page.value("wasm_exporter_plugin_compile_cache_hits_total"),
        Some(3.0)
    );
    assert_eq!(page.up("demo_latency"), Some(1.0));
    let (dir, cache) = host.stop();

    // A corrupted entry is detected and rebuilt.
    let entries: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(entries.len(), 3);
    let mut bytes = std::fs::read(&entries[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&entries[0], &bytes).unwrap();
    let a = args(&dir);
    let host = Host::start_with(dir, cache, a, &[]);
    let page = host.scrape();
    assert_eq!(
        page.value("wasm_exporter_plugin_compilations_total"),
        Some(1.0)
    );
    assert_eq!(
        page.value("wasm_exporter_plugin_compile_cache_hits_total"),
        Some(2.0)
    );
    host.wait_for_log(&["corrupt or foreign cache entry"]);
    for name in ["demo_queue", "demo_latency", "demo_config"] {
        assert_eq!(page.up(name), Some(1.0));
    }
    let (dir, cache) = host.stop();

    // Entries written under another key (another host's cache) are foreign.
    std::fs::write(cache.path().join("key"), [7u8; 32]).unwrap();
    let a = args(&dir);
    let host = Host::start_with(dir, cache, a, &[]);
    let page = host.scrape();
    assert_eq!(
        page.value("wasm_exporter_plugin_compilations_total"),
        Some(3.0)
    );
    assert_eq!(
        page.value("wasm_exporter_plugin_compile_cache_hits_total"),
        Some(0.0)
    );
}

fn check_config(dir: &Path) -> (bool, String) {
    let out = Command::new(binary())
        .arg("check-config")
        .arg(dir.join("config.yml"))
        .env("WX_TEST_TOKEN", TOKEN)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn check_config_reports_like_promtool() {
    let dir = config_dir();
    let (ok, out) = check_config(dir.path());
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS: 2 plugins found"), "{out}");
    assert!(!out.contains(SECRET));

    write_config(
        dir.path(),
        "plugins:\n  - path: plugins/echo_request.wasm\n    limits:\n      timeout: soon\n",
    );
    let (ok, out) = check_config(dir.path());
    assert!(!ok);
    assert!(
        out.contains("config.yml:4: plugins[0].limits.timeout:"),
        "{out}"
    );

    std::fs::copy(test_plugin("panic"), dir.path().join("plugins/panic.wasm")).unwrap();
    write_config(
        dir.path(),
        "plugins:\n  - path: plugins/panic.wasm\n  - path: plugins/missing.wasm\n",
    );
    let (ok, out) = check_config(dir.path());
    assert!(!ok);
    assert!(
        out.contains("plugin panic: FAILED") && out.contains("smoke test"),
        "{out}"
    );
    assert!(
        out.contains("plugin missing: FAILED") && out.contains("cannot read"),
        "{out}"
    );
}

#[test]
fn a_missing_or_broken_config_at_start_is_fatal_and_named() {
    let out = Command::new(binary())
        .args([
            "--config.file",
            "/nonexistent/config.yml",
            "--web.listen-address",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/config.yml: cannot read"),
        "{stderr}"
    );
}
