//! The python SDK: its native unit tests, its build checks and its port test.
//!
//! The SDK's model (prometheus_client's family classes and their mapping
//! onto the host's data model) runs natively under the project's
//! `.venv/bin/python -m unittest`. A custom collector written for
//! prometheus_client (`tests/ports/prometheus_client/native.py`) is ported
//! by changing its imports only (`wasm/app.py`) and must serve the same
//! families and samples as prometheus_client itself. The `python_reach`
//! plugin records what Python's own APIs (`open`, `os.environ`, `socket`,
//! `urllib`) reach under grants, and the example `python_meminfo` reads
//! granted `/proc` files.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::daemons::{Daemon, Scratch, free_port};
use crate::common::{
    Exposition, Host, TempDir, collect_command, example_plugin, repo_root, run, test_plugin, text,
};

/// The project-local Python with prometheus_client (`cargo xtask test`
/// creates it).
fn python() -> PathBuf {
    let venv = repo_root().join(".venv/bin/python");
    assert!(
        venv.is_file(),
        "{} is missing: run `cargo xtask test` (it creates the venv with prometheus_client)",
        venv.display()
    );
    venv
}

fn port_dir() -> PathBuf {
    repo_root().join("tests/ports/prometheus_client")
}

#[test]
fn the_sdk_unit_tests_pass_natively() {
    let output = run(Command::new(python())
        .args(["-m", "unittest", "discover", "-v", "-s", "tests"])
        .current_dir(repo_root().join("sdk/python"))
        // No __pycache__ left in the SDK's sources.
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    let report = text(&output);
    assert!(output.status.success(), "{report}");
    // Every family type's mapping ran (a discovery that finds nothing
    // also "passes").
    for class in [
        "Counter",
        "Gauge",
        "Unknown",
        "Histogram",
        "Summary",
        "Info",
        "StateSet",
        "Refused",
        "SameSamplesAsPrometheusClient",
        "Registry",
        "Log",
    ] {
        assert!(
            report.contains(&format!(".{class}.test_")),
            "no test of {class} ran:\n{report}"
        );
    }
    assert!(!report.contains("skipped"), "{report}");
}

/// The lines only in `a` and the lines only in `b`, by a longest common
/// subsequence of their lines.
fn line_diff<'a>(a: &'a str, b: &'a str) -> (Vec<&'a str>, Vec<&'a str>) {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j == b.len() || (i < a.len() && lcs[i + 1][j] >= lcs[i][j + 1]) {
            only_a.push(a[i]);
            i += 1;
        } else {
            only_b.push(b[j]);
            j += 1;
        }
    }
    (only_a, only_b)
}

#[test]
fn line_diff_finds_changed_lines() {
    let (a, b) = line_diff("x\nimport a\ny\nz", "x\nimport b\ny\nw\nz");
    assert_eq!(a, ["import a"]);
    assert_eq!(b, ["import b", "w"]);
}

#[test]
fn the_port_changes_only_import_lines() {
    let native = std::fs::read_to_string(port_dir().join("native.py")).unwrap();
    let wasm = std::fs::read_to_string(port_dir().join("wasm/app.py")).unwrap();
    let (removed, added) = line_diff(&native, &wasm);
    let import = |line: &&str| line.starts_with("from ") || line.starts_with("import ");
    assert!(
        !removed.is_empty() && removed.iter().all(import) && added.iter().all(import),
        "native.py and wasm/app.py differ in more than imports:\n- {}\n+ {}",
        removed.join("\n- "),
        added.join("\n+ ")
    );
    assert!(removed.iter().all(|l| l.contains("prometheus_client")));
    assert!(added.iter().all(|l| l.contains("wasm_exporter")));
}

/// What prometheus_client serves for native.py, in `format`.
fn native_exposition(format: &str, status: &Path) -> String {
    let output = run(Command::new(python())
        .arg(port_dir().join("expose.py"))
        .arg(format)
        .env("QUEUE_STATUS_FILE", status)
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    assert!(
        output.status.success(),
        "expose.py {format}: {}",
        text(&output)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_ported_collector_serves_what_prometheus_client_serves() {
    let status = port_dir().join("status.json");
    let dir = TempDir::new("py_port");
    let plugin = dir.add("port", &test_plugin("port_prometheus_client"));
    // The collector finds its status file as it would natively: through
    // QUEUE_STATUS_FILE, which the host passes on (grants.env), naming a
    // file the host lets it read (grants.files).
    let config = format!(
        "plugins:\n  - name: port\n    path: {}\n    grants:\n      files: [{}]\n      env: [QUEUE_STATUS_FILE]\n",
        plugin.display(),
        status.display()
    );
    std::fs::write(dir.path().join("config.yml"), config).unwrap();
    let args = vec![
        "--config.file".into(),
        dir.path().join("config.yml").into_os_string(),
    ];
    let status_env = status.to_str().unwrap();
    let host = Host::start_env(
        dir,
        TempDir::shared_cache(),
        args,
        &[],
        &[("QUEUE_STATUS_FILE", status_env)],
    );
    let scratch = TempDir::new("py_port_out");
    for format in ["text", "openmetrics"] {
        let served = host.get_ok(&format!("/metrics?format={format}"));
        assert_eq!(
            Exposition::parse(&served).up("port"),
            Some(1.0),
            "{format}:\n{served}"
        );
        let expected = scratch.path().join(format!("native.{format}"));
        let actual = scratch.path().join(format!("host.{format}"));
        std::fs::write(&expected, native_exposition(format, &status)).unwrap();
        std::fs::write(&actual, &served).unwrap();
        // Parsed, not byte for byte: prometheus_client writes `1.0` where
        // the host writes `1`, sorts labels, and orders families and a
        // summary's samples differently (compare.py says how it compares).
        let compared = run(Command::new(python())
            .arg(port_dir().join("compare.py"))
            .arg(format)
            .arg(&expected)
            .arg(&actual));
        assert!(
            compared.status.success(),
            "{format}: the host serves something else than prometheus_client:\n{}",
            text(&compared)
        );
        let summary: serde_json::Value = serde_json::from_slice(&compared.stdout).unwrap();
        let info = if format == "text" {
            "queue_build_info"
        } else {
            "queue_build"
        };
        assert_eq!(
            summary["families"],
            serde_json::json!([
                info,
                "queue_depth",
                "queue_jobs",
                "queue_payload_bytes",
                "queue_service_state",
                "queue_wait_seconds"
            ]),
            "{format}"
        );
        assert_eq!(summary["samples"], 36, "{format}");
    }
}

/// A TCP server answering each connection's first line with `pong`.
fn pong_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut line = String::new();
                let mut reader = BufReader::new(&stream);
                if reader.read_line(&mut line).is_ok() {
                    let _ = (&stream).write_all(b"pong\n");
                }
            });
        }
    });
    port
}

/// `python3 -m http.server` serving one file, `/index.txt` (`ok`).
fn http_server() -> Daemon {
    let dir = Scratch::new("py_reach_http");
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.txt"), "ok\n").unwrap();
    let port = free_port();
    let mut command = Command::new("python3");
    command
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .arg("--directory")
        .arg(&www);
    Daemon::start("http.server", command, port, dir)
}

/// The `python_reach_ok` series of one plugin: `what` → (ok, detail).
fn reach_of(host: &Host, plugin: &str) -> Vec<(String, f64, String)> {
    let scrape =
        Exposition::parse(&host.get_ok(&format!("/metrics?format=text&collect[]={plugin}")));
    assert_eq!(scrape.up(plugin), Some(1.0), "{plugin}:\n{}", scrape.text);
    scrape
        .lines_of("python_reach_ok{")
        .into_iter()
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let what = series
                .split("what=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let detail = series.split("detail=\"").nth(1).unwrap();
            let detail = detail.strip_suffix("\"}").unwrap();
            (what.to_owned(), value.parse().unwrap(), detail.to_owned())
        })
        .collect()
}

fn reach(results: &[(String, f64, String)], what: &str) -> (f64, String) {
    results
        .iter()
        .find(|(w, _, _)| w == what)
        .map(|(_, ok, detail)| (*ok, detail.clone()))
        .unwrap_or_else(|| panic!("no attempt {what} in {results:?}"))
}

#[test]
fn pythons_own_apis_reach_what_is_granted() {
    let http = http_server();
    let pong = pong_server();
    let dir = TempDir::new("py_reach");
    let data = dir.path().join("data.txt");
    std::fs::write(&data, "hello from a granted file\n").unwrap();
    let plugin = dir.add("python_reach", &test_plugin("python_reach"));
    let url = http.url("/index.txt");
    let attempts = format!(
        "{{ file: \"{}\", env: REACH_VAR, http: \"{url}\", tcp: \"localhost:{pong}\", \
         strptime: \"01/05/2024\", import: colorsys, statfs: /, thread: \"yes\" }}",
        data.display()
    );
    let config = format!(
        "plugins:
  - name: granted
    path: {plugin}
    grants:
      files: [{data}]
      env: [REACH_VAR]
      tcp: [\"{http}\", \"localhost:{pong}\"]
      statfs: [/]
    config: {attempts}
  - name: http_grant_only
    path: {plugin}
    grants: {{ http: [\"{url}\"] }}
    config: {{ http: \"{url}\" }}
  - name: nothing
    path: {plugin}
    config: {attempts}
",
        plugin = plugin.display(),
        data = data.display(),
        http = http.address(),
    );
    std::fs::write(dir.path().join("config.yml"), config).unwrap();
    let args = vec![
        "--config.file".into(),
        dir.path().join("config.yml").into_os_string(),
    ];
    let host = Host::start_env(
        dir,
        TempDir::shared_cache(),
        args,
        &[],
        &[("REACH_VAR", "from the host's environment")],
    );

    // open(), os.environ, socket (a host name looked up), and urllib over
    // plain HTTP, which is a TCP connection to its host and port.
    let granted = reach_of(&host, "granted");
    assert_eq!(
        reach(&granted, "file"),
        (1.0, "hello from a granted file".into())
    );
    assert_eq!(
        reach(&granted, "env"),
        (1.0, "from the host's environment".into())
    );
    assert_eq!(reach(&granted, "tcp"), (1.0, "pong".into()));
    // The SDK's statfs, over the fs-stats host interface.
    assert_eq!(reach(&granted, "statfs"), (1.0, "True".into()));
    assert_eq!(reach(&granted, "http"), (1.0, "200 ok".into()));

    // Only what was imported while the component was built is in it: the
    // SDK imports what the standard library itself imports lazily
    // (`_strptime` here, the codecs), a plugin imports what it uses at its
    // top level, and an import inside a scrape finds nothing.
    assert_eq!(reach(&granted, "strptime"), (1.0, "2024-05-01".into()));
    assert_eq!(
        reach(&granted, "import"),
        (
            0.0,
            "ModuleNotFoundError: No module named 'colorsys'".into()
        )
    );

    // No threads in a WebAssembly instance.
    assert_eq!(
        reach(&granted, "thread"),
        (0.0, "RuntimeError: can't start new thread".into())
    );

    // urllib speaks HTTP over sockets, not through wasi:http: an `http`
    // grant does not let it through, and the host counts the attempt.
    let http_only = reach_of(&host, "http_grant_only");
    let (ok, detail) = reach(&http_only, "http");
    assert_eq!(ok, 0.0, "{detail}");
    assert!(detail.contains("URLError"), "{detail}");
    let scrape = host.scrape();
    assert!(
        scrape
            .value(
                "wasm_exporter_plugin_denied_total{plugin=\"http_grant_only\",capability=\"tcp\"}"
            )
            .unwrap()
            >= 1.0,
        "{}",
        scrape.text
    );

    // Nothing granted: ordinary Python errors, no trap.
    let nothing = reach_of(&host, "nothing");
    for what in ["file", "env", "http", "tcp", "import", "statfs"] {
        let (ok, detail) = reach(&nothing, what);
        assert_eq!(ok, 0.0, "{what}: {detail}");
    }
    assert!(reach(&nothing, "file").1.starts_with("FileNotFoundError"));
    assert!(reach(&nothing, "env").1.starts_with("KeyError"));
    assert!(
        reach(&nothing, "statfs")
            .1
            .starts_with("OSError: statfs /: ")
    );
}

#[test]
fn collect_errors_carry_the_exceptions_message() {
    let plugin = test_plugin("conformance_python");
    for (mode, message) in [
        ("error", "failed (error): requested error"),
        ("panic", "failed (error): RuntimeError: requested panic"),
    ] {
        let output = run(collect_command(&plugin).args(["--config", &format!("mode={mode}")]));
        assert!(!output.status.success(), "mode {mode}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "mode {mode}: {stderr}");
    }
}

#[test]
fn the_template_collects_and_logs_through_logging() {
    let output =
        run(collect_command(&test_plugin("template_python"))
            .args(["--config", "greeting=hi there"]));
    let report = text(&output);
    assert!(output.status.success(), "{report}");
    let scrape = Exposition::parse(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(
        scrape.value("template_greeting_length{greeting=\"hi there\"}"),
        Some(8.0),
        "{report}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let collected = scrape
        .value("template_collected_timestamp_seconds")
        .unwrap();
    assert!((now - collected).abs() < 120.0, "{collected} vs {now}");
    // A module logger's info record, through the root logger's handler.
    let line = String::from_utf8_lossy(&output.stderr)
        .lines()
        .find(|l| l.contains("collecting for /metrics"))
        .unwrap_or_else(|| panic!("no log record:\n{report}"))
        .to_owned();
    assert!(line.contains("level=info"), "{line}");

    // The probe target, through wasm_exporter.request().
    let output =
        run(collect_command(&test_plugin("template_python")).args(["--target", "db1:5432"]));
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("collecting for db1:5432"),
        "{}",
        text(&output)
    );
}

/// `MemTotal` of /proc/meminfo, in bytes.
fn mem_total() -> f64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let line = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .unwrap();
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024.0
}

#[test]
fn the_meminfo_example_names_granted_proc_files_as_node_exporter_does() {
    let dir = TempDir::new("py_meminfo");
    let plugin = dir.add("python_meminfo", &example_plugin("python_meminfo"));
    let config = format!(
        "plugins:
  - name: granted
    path: {plugin}
    grants: {{ files: [/proc/meminfo, /proc/loadavg] }}
  - name: load_only
    path: {plugin}
    grants: {{ files: [/proc/loadavg] }}
    config: {{ collectors: loadavg }}
",
        plugin = plugin.display()
    );
    let host = Host::start_config_shared(dir, &config, &[]);

    let granted = host.get_ok("/metrics?format=text&collect[]=granted");
    let scrape = Exposition::parse(&granted);
    assert_eq!(scrape.up("granted"), Some(1.0), "{granted}");
    assert_eq!(
        scrape.value("node_memory_MemTotal_bytes"),
        Some(mem_total())
    );
    assert!(granted.contains("# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.\n# TYPE node_memory_MemTotal_bytes gauge\n"));
    assert!(
        scrape.value("node_memory_Active_anon_bytes").is_some(),
        "{granted}"
    );
    for load in ["node_load1", "node_load5", "node_load15"] {
        assert!(scrape.value(load).unwrap() >= 0.0, "{granted}");
    }

    let load_only = Exposition::parse(&host.get_ok("/metrics?format=text&collect[]=load_only"));
    assert_eq!(load_only.up("load_only"), Some(1.0), "{}", load_only.text);
    assert!(load_only.value("node_load1").is_some());
    assert!(
        load_only.lines_of("node_memory_").is_empty(),
        "{}",
        load_only.text
    );

    // Neither file granted: each collector is skipped with a warning, and
    // the scrape fails with a message naming the files to grant.
    let output = run(&mut collect_command(&example_plugin("python_meminfo")));
    let report = text(&output);
    assert!(!output.status.success(), "{report}");
    assert!(
        report.contains("failed (error): no collector could read its source; grant files /proc/loadavg, /proc/meminfo"),
        "{report}"
    );
    assert!(
        report.contains("level=warn msg=\"skipped meminfo: "),
        "{report}"
    );
}
