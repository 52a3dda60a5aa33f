//! Capability grants: a plugin reaches exactly what the operator granted.
//! The `reach_out` test plugin tries files, directories, environment
//! variables, TCP, name lookups, UDP, listening sockets, HTTP and
//! file-system statistics with the ordinary APIs, and reports each attempt;
//! every refusal is an ordinary error inside the plugin, logged and counted,
//! and the plugins beside it are unaffected.

use crate::common::{Host, TempDir, example_plugin, test_plugin};
use crate::systems;

/// `reach_ok{as,kind,what}` of one attempt.
fn reached(page: &crate::common::Exposition, copy: &str, kind: &str, what: &str) -> f64 {
    let series = format!("reach_ok{{as=\"{copy}\",kind=\"{kind}\",what=\"{what}\"}}");
    page.value(&series)
        .unwrap_or_else(|| panic!("no {series} in\n{}", page.text))
}

fn denied(page: &crate::common::Exposition, plugin: &str, capability: &str) -> f64 {
    page.value(&format!(
        "wasm_exporter_plugin_denied_total{{plugin=\"{plugin}\",capability=\"{capability}\"}}"
    ))
    .unwrap_or_else(|| panic!("no denied series for {plugin}/{capability}"))
}

#[test]
fn a_plugin_reaches_what_it_was_granted_and_nothing_else() {
    let nginx = systems::nginx();
    std::fs::write(nginx.dir.path().join("html/a.txt"), "served\n").unwrap();
    let web = nginx.address();
    let port = nginx.port;
    // A closed port: refused by the grant before any connection is tried.
    let other = systems::free_port();

    let dir = TempDir::new("grants");
    dir.add("reach_out", &test_plugin("reach_out"));
    dir.add("demo_queue", &example_plugin("demo_queue"));
    let data = dir.path().join("data.txt");
    std::fs::write(&data, "granted data\n").unwrap();
    let data = data.display();
    let everything = format!(
        "      files: /etc/hostname,/proc/loadavg,{data}\n      list_dirs: /proc\n      \
         env: WASM_EXPORTER_TEST_GRANTED\n      tcp: {web}\n      lookup: localhost\n      \
         udp: 127.0.0.1:9\n      listen: 127.0.0.1:0\n      \
         http: http://{web}/files/a.txt\n      statfs: /\n"
    );
    let config = format!(
        "plugins:
  - path: demo_queue.wasm
  - name: nothing
    path: reach_out.wasm
    config:
      as: nothing
{everything}
  - name: granted
    path: reach_out.wasm
    grants:
      files: [/proc/loadavg, {{ host: {data}, guest: /data/data.txt }}]
      env: [WASM_EXPORTER_TEST_GRANTED]
      tcp: [\"{web}\", \"localhost:{port}\"]
      http: [\"http://{web}/files/\"]
      statfs: [/]
    config:
      as: granted
      files: /proc/loadavg,/data/data.txt,{data},/proc/self/environ,/proc/meminfo,/etc/hostname
      list_dirs: /proc,/data
      env: WASM_EXPORTER_TEST_GRANTED,WASM_EXPORTER_TEST_OTHER,HOME
      tcp: {web},localhost:{port},127.0.0.1:{other}
      lookup: localhost,example.invalid
      udp: 127.0.0.1:9
      listen: 127.0.0.1:0
      http: http://{web}/files/a.txt,http://{web}/stub_status,http://{web}/files/../stub_status,http://{web}/files%2f..%2fstub_status
      statfs: /,/tmp
"
    );
    let file = dir.path().join("config.yml");
    std::fs::write(&file, config).unwrap();
    let host = Host::start_env(
        dir,
        TempDir::new("cache"),
        vec!["--config.file".into(), file.into()],
        &[],
        &[
            ("WASM_EXPORTER_TEST_GRANTED", "yes"),
            ("WASM_EXPORTER_TEST_OTHER", "no"),
        ],
    );
    let page = host.scrape();

    // Nothing granted: every attempt fails, and nothing else does.
    for (kind, what) in [
        ("file", "/etc/hostname"),
        ("file", "/proc/loadavg"),
        ("list", "/proc"),
        ("env", "WASM_EXPORTER_TEST_GRANTED"),
        ("tcp", web.as_str()),
        ("lookup", "localhost"),
        ("udp", "127.0.0.1:9"),
        ("listen", "127.0.0.1:0"),
        ("http", &format!("http://{web}/files/a.txt")),
        ("statfs", "/"),
    ] {
        assert_eq!(reached(&page, "nothing", kind, what), 0.0, "{kind} {what}");
    }
    for capability in ["tcp", "dns", "udp", "http", "statfs"] {
        assert!(
            denied(&page, "nothing", capability) >= 1.0,
            "{capability} refusals are counted"
        );
    }

    // Granted: exactly the grants.
    let granted = [
        ("file", "/proc/loadavg"),
        ("file", "/data/data.txt"),
        ("env", "WASM_EXPORTER_TEST_GRANTED"),
        ("tcp", web.as_str()),
        ("tcp", &format!("localhost:{port}")),
        ("lookup", "localhost"),
        ("http", &format!("http://{web}/files/a.txt")),
        ("statfs", "/"),
    ];
    for (kind, what) in granted {
        assert_eq!(reached(&page, "granted", kind, what), 1.0, "{kind} {what}");
    }
    let refused = [
        // The host path of a file mapped elsewhere; /proc/self (the host's
        // environment and memory); a /proc file not listed; a file outside
        // every grant; a whole /proc directory; a file grant as a directory.
        ("file", data.to_string()),
        ("file", "/proc/self/environ".into()),
        ("file", "/proc/meminfo".into()),
        ("file", "/etc/hostname".into()),
        ("list", "/proc".into()),
        ("list", "/data".into()),
        // Variables not listed, even when the host has them.
        ("env", "WASM_EXPORTER_TEST_OTHER".into()),
        ("env", "HOME".into()),
        ("tcp", format!("127.0.0.1:{other}")),
        ("lookup", "example.invalid".into()),
        // No UDP unless listed, and never a listening socket.
        ("udp", "127.0.0.1:9".into()),
        ("listen", "127.0.0.1:0".into()),
        // Outside the granted path prefix, also by way of `..`.
        ("http", format!("http://{web}/stub_status")),
        ("http", format!("http://{web}/files/../stub_status")),
        ("http", format!("http://{web}/files%2f..%2fstub_status")),
        ("statfs", "/tmp".into()),
    ];
    for (kind, what) in &refused {
        assert_eq!(reached(&page, "granted", kind, what), 0.0, "{kind} {what}");
    }
    for capability in ["files", "tcp", "dns", "udp", "http", "statfs"] {
        assert!(
            denied(&page, "granted", capability) >= 1.0,
            "{capability} refusals of the granted plugin are counted"
        );
    }
    // Every refusal was an ordinary error inside the plugin: both copies
    // and the plugin beside them are up.
    for plugin in ["nothing", "granted", "demo_queue"] {
        assert_eq!(page.up(plugin), Some(1.0), "{plugin}");
    }
    // Logged with the plugin and the capability.
    let line = host.wait_for_log(&["not granted", "plugin=granted", "capability=http"]);
    assert!(line.contains("stub_status"), "{line}");
    // The refused requests never reached nginx: only the granted file was
    // asked for (once per copy that had the grant).
    let status = crate::common::get(&nginx.url("/stub_status"), &[]).body;
    let requests: u64 = status
        .lines()
        .nth(2)
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("stub_status: {status}"));
    // The granted GET, and this one.
    assert_eq!(requests, 2, "{status}");
}

/// A probe plugin is only asked about the targets its rule allows: others
/// get 400 and the plugin is not called.
#[test]
fn probes_outside_the_target_rule_are_refused() {
    let dir = TempDir::new("probe_rule");
    dir.add("echo_request", &test_plugin("echo_request"));
    let host = Host::start_config(
        dir,
        "plugins:\n  - path: echo_request.wasm\n    targets: [127.0.0.0/8, \"*.example.com\", db.internal]\n",
        &[],
    );
    for target in [
        "127.0.0.1:80",
        "http://127.0.0.5/x",
        "a.example.com",
        "db.internal:5432",
    ] {
        let r = crate::common::get(
            &host.url(&format!("/probe?plugin=echo_request&target={target}")),
            &[],
        );
        assert_eq!(r.status, 200, "{target}: {}", r.body);
        assert!(r.body.contains("probe_success 1"), "{target}: {}", r.body);
        assert!(r.body.contains("probe_duration_seconds"), "{}", r.body);
    }
    for target in [
        "10.0.0.1",
        "example.com",
        "evil.com",
        "db.internal.evil.com",
        "http://[::1]/",
    ] {
        let r = crate::common::get(
            &host.url(&format!("/probe?plugin=echo_request&target={target}")),
            &[],
        );
        assert_eq!(r.status, 400, "{target}: {}", r.body);
        assert!(r.body.contains("not allowed"), "{target}: {}", r.body);
    }
    let page = host.scrape();
    // Four probes and this scrape called it; the refused ones did not.
    assert_eq!(
        page.value("wasm_exporter_plugin_collects_total{plugin=\"echo_request\"}"),
        Some(5.0)
    );
}

/// `check-config` names each plugin whose imports need a grant the
/// configuration does not give, with the interface and the grant.
#[test]
fn check_config_reports_imports_that_are_not_granted() {
    let dir = TempDir::new("check_grants");
    dir.add("reach_out", &test_plugin("reach_out"));
    dir.add("demo_queue", &example_plugin("demo_queue"));
    let write = |grants: &str| {
        let file = dir.path().join("config.yml");
        std::fs::write(
            &file,
            format!("plugins:\n  - path: demo_queue.wasm\n  - path: reach_out.wasm\n{grants}"),
        )
        .unwrap();
        let out = std::process::Command::new(crate::common::binary())
            .arg("check-config")
            .arg(&file)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, out) =
        write("    grants: { http: [\"http://127.0.0.1:1/\"], tcp: [\"localhost:1\"] }\n");
    assert!(!ok, "{out}");
    assert!(out.contains("plugin demo_queue: OK"), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("plugin reach_out"))
        .unwrap_or_else(|| panic!("{out}"));
    for missing in [
        "wasm-exporter:collector/fs-stats@0.1.1 (needs grants.statfs)",
        "wasi:filesystem/preopens@",
        "(needs grants.files)",
    ] {
        assert!(line.contains(missing), "{missing} in {line}");
    }
    // Granted: not reported.
    // TCP granted: `std::net`'s UDP imports come with it.
    for granted in [
        "outgoing-handler",
        "wasi:sockets/tcp@",
        "ip-name-lookup",
        "wasi:sockets/udp@",
    ] {
        assert!(!line.contains(granted), "{granted} in {line}");
    }
    let (ok, out) = write(
        "    grants:\n      http: [\"http://127.0.0.1:1/\"]\n      tcp: [\"localhost:1\"]\n      \
         udp: [\"127.0.0.1:9\"]\n      files: [/proc/loadavg]\n      statfs: [/]\n",
    );
    assert!(ok, "{out}");
    assert!(out.contains("plugin reach_out: OK"), "{out}");
}
