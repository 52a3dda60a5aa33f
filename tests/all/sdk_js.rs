//! The js SDK: its native unit tests, its build checks and its port test.
//!
//! The SDK's TypeScript declarations are checked with the project-local
//! `tsc` against every JavaScript plugin, and against a wrong use that must
//! fail; its model runs under `node --test`; and the example plugin
//! `js_php_fpm` fetches a PHP-FPM status page from a real loopback HTTP
//! server (`python3 -m http.server`) through the host's `wasi:http` grants.

use std::path::PathBuf;
use std::process::Command;

use crate::common::daemons::{Daemon, Scratch, free_port};
use crate::common::{Host, TempDir, example_plugin, repo_root, run, text};

/// A PHP-FPM 8 status page (`/status?json&full`) of a pool with three
/// children: one idle after a fast request, one running, one idle after a
/// slow request.
const STATUS: &str = r#"{"pool":"www","process manager":"dynamic","start time":1717000000,"start since":3600,"accepted conn":12873,"listen queue":0,"max listen queue":2,"listen queue len":511,"idle processes":2,"active processes":1,"total processes":3,"max active processes":3,"max children reached":1,"slow requests":4,"processes":[
{"pid":101,"state":"Idle","start time":1717000000,"start since":3600,"requests":4300,"request duration":1520,"request method":"GET","request uri":"/index.php","content length":0,"user":"-","script":"/var/www/index.php","last request cpu":65.79,"last request memory":2097152},
{"pid":102,"state":"Running","start time":1717000100,"start since":3500,"requests":4290,"request duration":250000,"request method":"POST","request uri":"/upload.php","content length":5120,"user":"-","script":"/var/www/upload.php","last request cpu":0.00,"last request memory":0},
{"pid":103,"state":"Idle","start time":1717000200,"start since":3400,"requests":4283,"request duration":3000000,"request method":"GET","request uri":"/report.php","content length":0,"user":"-","script":"/var/www/report.php","last request cpu":12.50,"last request memory":4194304}]}"#;

fn sdk_dir() -> PathBuf {
    repo_root().join("sdk/js")
}

/// A tool of the project-local npm install.
fn node_tool(name: &str) -> PathBuf {
    let tool = sdk_dir().join("node_modules/.bin").join(name);
    assert!(
        tool.is_file(),
        "{} is missing: run `cargo xtask toolchains` (npm ci in sdk/js)",
        tool.display()
    );
    tool
}

#[test]
fn the_types_accept_the_plugins_and_reject_a_wrong_use() {
    let tsc = node_tool("tsc");
    let checked = run(Command::new(&tsc)
        .args(["--noEmit", "-p"])
        .arg(sdk_dir())
        .arg("--listFilesOnly"));
    let files = text(&checked);
    assert!(checked.status.success(), "{files}");
    for plugin in [
        "sdk/js/template/index.js",
        "plugins/js/js_php_fpm/index.js",
        "tests/conformance/js/index.js",
    ] {
        assert!(
            files.contains(&repo_root().join(plugin).display().to_string()),
            "tsconfig.json does not check {plugin}:\n{files}"
        );
    }
    let clean = run(Command::new(&tsc).args(["--noEmit", "-p"]).arg(sdk_dir()));
    assert!(clean.status.success(), "tsc reports:\n{}", text(&clean));

    // The same settings on a plugin with a misspelt label, a string value
    // and an unknown state: each must be an error.
    let dir = TempDir::new("ts_bad");
    std::fs::write(
        dir.path().join("index.js"),
        "import { Counter, StateSet, register } from 'wasm-exporter';\n\
         const c = new Counter({ name: 'x_total', help: 'X.', labelNames: ['method'] });\n\
         const s = new StateSet({ name: 'm', help: 'M.', states: ['on', 'off'] });\n\
         register(() => {\n\
           c.inc({ methd: 'get' }, 1);\n\
           c.inc({ method: 'get' }, '1');\n\
           s.set('standby');\n\
         });\n",
    )
    .unwrap();
    let base = sdk_dir().join("tsconfig.json");
    let declarations = sdk_dir().join("index.d.ts");
    std::fs::write(
        dir.path().join("tsconfig.json"),
        format!(
            "{{ \"extends\": {:?}, \"files\": [{:?}], \"include\": [\"index.js\"] }}",
            base.display().to_string(),
            declarations.display().to_string()
        ),
    )
    .unwrap();
    let bad = run(Command::new(&tsc).args(["--noEmit", "-p"]).arg(dir.path()));
    let report = text(&bad);
    assert!(
        !bad.status.success(),
        "tsc accepted the wrong use:\n{report}"
    );
    for (line, what) in [
        (5, "'methd' does not exist"),
        (6, "not assignable to parameter of type 'number'"),
        (7, "\"standby\""),
    ] {
        assert!(
            report.contains(&format!("index.js({line},")) && report.contains(what),
            "no error on line {line} ({what}):\n{report}"
        );
    }
}

#[test]
fn the_sdk_unit_tests_pass_under_node() {
    // node itself, not a project tool, but the tests use the project-local
    // TypeScript: the toolchain must be installed.
    node_tool("tsc");
    let out = run(Command::new("node")
        .args(["--test", "--test-reporter=tap"])
        .arg(sdk_dir().join("test"))
        .current_dir(sdk_dir()));
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    let count = |key: &str| -> usize {
        report
            .lines()
            .find_map(|l| l.strip_prefix(&format!("# {key} ")))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `# {key}` line:\n{report}"))
    };
    assert!(count("pass") >= 9, "{report}");
    assert_eq!(count("fail"), 0, "{report}");
}

/// `python3 -m http.server` on a loopback port, serving `status` (what
/// `GET /status?json&full` returns: the query is ignored).
fn status_server() -> Daemon {
    let dir = Scratch::new("php_fpm");
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("status"), STATUS).unwrap();
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

fn start(server: &Daemon, entries: &[(&str, &str)]) -> Host {
    let dir = TempDir::new("js_php_fpm");
    let plugin = dir.add("js_php_fpm", &example_plugin("js_php_fpm"));
    let grant = server.url("/status");
    let mut config = String::from("plugins:\n");
    for (name, url) in entries {
        config.push_str(&format!(
            "  - name: {name}\n    path: {}\n    grants: {{ http: [\"{grant}\"] }}\n    config: {{ url: \"{url}\" }}\n",
            plugin.display()
        ));
    }
    Host::start_config_shared(dir, &config, &[])
}

#[test]
fn php_fpm_status_page_becomes_php_fpm_exporter_series() {
    let server = status_server();
    let url = server.url("/status");
    let host = start(&server, &[("js_php_fpm", &url)]);
    let page = host.scrape();
    assert_eq!(page.up("js_php_fpm"), Some(1.0), "{}", page.text);
    let pool = format!("pool=\"www\",scrape_uri=\"{url}\"");
    let child = |i: usize| format!("pool=\"www\",child=\"{i}\",scrape_uri=\"{url}\"");
    let mut expected: Vec<(String, f64)> = [
        ("phpfpm_up", 1.0),
        ("phpfpm_start_since", 3600.0),
        ("phpfpm_accepted_connections", 12873.0),
        ("phpfpm_listen_queue", 0.0),
        ("phpfpm_max_listen_queue", 2.0),
        ("phpfpm_listen_queue_length", 511.0),
        ("phpfpm_idle_processes", 2.0),
        ("phpfpm_active_processes", 1.0),
        ("phpfpm_total_processes", 3.0),
        ("phpfpm_max_active_processes", 3.0),
        ("phpfpm_max_children_reached", 1.0),
        ("phpfpm_slow_requests", 4.0),
        ("phpfpm_last_request_duration_seconds_count", 3.0),
    ]
    .iter()
    .map(|(name, value)| (format!("{name}{{{pool}}}"), *value))
    .collect();
    for (i, requests, memory, cpu, micros) in [
        (0, 4300.0, 2097152.0, 65.79, 1520.0),
        (1, 4290.0, 0.0, 0.0, 250000.0),
        (2, 4283.0, 4194304.0, 12.5, 3000000.0),
    ] {
        expected.push((format!("phpfpm_process_requests{{{}}}", child(i)), requests));
        expected.push((
            format!("phpfpm_process_last_request_memory{{{}}}", child(i)),
            memory,
        ));
        expected.push((
            format!("phpfpm_process_last_request_cpu{{{}}}", child(i)),
            cpu,
        ));
        expected.push((
            format!("phpfpm_process_request_duration{{{}}}", child(i)),
            micros,
        ));
    }
    for (name, value) in &expected {
        assert_eq!(page.value(name), Some(*value), "{name}:\n{}", page.text);
    }
    // One state series per state and child, 1 for the child's own.
    let running = page.lines_of("phpfpm_process_state{pool=\"www\",child=\"1\",");
    assert_eq!(running.len(), 6, "{running:?}");
    assert_eq!(
        running.iter().filter(|l| l.ends_with(" 1")).collect::<Vec<_>>(),
        [&format!("phpfpm_process_state{{pool=\"www\",child=\"1\",state=\"Running\",scrape_uri=\"{url}\"}} 1").as_str()]
    );
    // 1.52 ms, 250 ms and 3 s in cumulative buckets.
    for (le, count) in [
        ("0.005", 1.0),
        ("0.25", 2.0),
        ("2.5", 2.0),
        ("5", 3.0),
        ("+Inf", 3.0),
    ] {
        let series = format!("phpfpm_last_request_duration_seconds_bucket{{{pool},le=\"{le}\"}}");
        assert_eq!(page.value(&series), Some(count), "{series}:\n{}", page.text);
    }
    let sum = page
        .value(&format!(
            "phpfpm_last_request_duration_seconds_sum{{{pool}}}"
        ))
        .unwrap();
    assert!((sum - 3.25152).abs() < 1e-9, "sum {sum}");
    // php-fpm_exporter's types: its counters keep their names.
    for line in [
        "# TYPE phpfpm_accepted_connections counter",
        "# TYPE phpfpm_listen_queue gauge",
        "# TYPE phpfpm_last_request_duration_seconds histogram",
    ] {
        assert!(page.text.contains(line), "no {line:?}:\n{}", page.text);
    }
}

#[test]
fn a_url_outside_the_grant_fails_the_scrape_with_the_plugins_error() {
    let server = status_server();
    let denied = server.url("/secret");
    let host = start(&server, &[("js_php_fpm", &denied)]);
    let page = host.scrape();
    assert_eq!(page.up("js_php_fpm"), Some(0.0), "{}", page.text);
    // The fetch rejected inside the plugin, which turned it into its error:
    // no trap.
    assert_eq!(page.failures("js_php_fpm", "error"), 1.0, "{}", page.text);
    assert_eq!(page.failures("js_php_fpm", "trap"), 0.0, "{}", page.text);
    assert!(page.lines_of("phpfpm_").is_empty(), "{}", page.text);
    host.wait_for_log(&[
        "not granted",
        "plugin=js_php_fpm",
        "capability=http",
        &format!("denied={denied}?json&full"),
    ]);
    let landing = host.get_ok("/");
    let reason = format!("GET {denied}?json&amp;full: NetworkError");
    assert!(landing.contains(&reason), "no {reason:?} in:\n{landing}");
    // The server was never asked.
    assert!(!server.log().contains("/secret"), "{}", server.log());
}

#[test]
fn a_page_that_never_answers_fails_with_the_plugins_message_before_the_deadline() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/status", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let dir = TempDir::new("js_php_fpm_hang");
    dir.add("js_php_fpm", &example_plugin("js_php_fpm"));
    let config = format!(
        "plugins:\n  - path: js_php_fpm.wasm\n    limits: {{ timeout: 2s }}\n    \
         grants: {{ http: [\"{url}\"] }}\n    config: {{ url: \"{url}\" }}\n"
    );
    let host = Host::start_config_shared(dir, &config, &[]);
    let page = host.scrape();
    assert_eq!(page.up("js_php_fpm"), Some(0.0), "{}", page.text);
    // The plugin's own AbortSignal fired first: an error, not the host's
    // timeout.
    assert_eq!(page.failures("js_php_fpm", "error"), 1.0, "{}", page.text);
    assert_eq!(page.failures("js_php_fpm", "timeout"), 0.0, "{}", page.text);
    let landing = host.get_ok("/");
    let reason = format!("GET {url}?json&amp;full: no answer within ");
    assert!(landing.contains(&reason), "no {reason:?} in:\n{landing}");
}
