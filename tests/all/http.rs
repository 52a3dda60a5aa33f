//! The HTTP surface: landing page, health endpoints, plugin selection,
//! `/probe`, and the concurrency limit.

use crate::common::{Exposition, Host, TempDir, example_plugin, test_plugin};

fn host(extra: &[&str]) -> Host {
    let dir = TempDir::new("http");
    dir.add("demo_queue", &example_plugin("demo_queue"));
    dir.add("echo_request", &test_plugin("echo_request"));
    dir.add("error", &test_plugin("error"));
    Host::start(dir, extra)
}

#[test]
fn landing_page_names_the_exporter_and_lists_plugins() {
    let host = host(&[]);
    host.scrape();
    let page = host.get_with("/", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    assert!(page.body.contains("<h1>wasm_exporter</h1>"));
    assert!(page.body.contains(env!("CARGO_PKG_VERSION")));
    assert!(page.body.contains("href=\"/metrics\""));
    for plugin in ["demo_queue", "echo_request", "error"] {
        assert!(
            page.body.contains(&format!(">{plugin}</a></td>")),
            "{plugin} listed"
        );
    }
    assert!(
        page.body
            .contains("upstream unreachable: connection refused")
    );
}

#[test]
fn health_endpoints_and_unknown_paths() {
    let host = host(&[]);
    assert_eq!(host.get_with("/-/healthy", &[]).status, 200);
    assert_eq!(host.get_with("/-/ready", &[]).status, 200);
    assert_eq!(host.get_with("/nope", &[]).status, 404);
    let post = crate::common::client()
        .post(host.url("/metrics"))
        .send()
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);
}

#[test]
fn telemetry_path_flag_moves_the_metrics() {
    let host = host(&["--web.telemetry-path", "/custom"]);
    assert!(host.get_ok("/custom").contains("demo_queue_depth"));
    assert_eq!(host.get_with("/metrics", &[]).status, 404);
}

#[test]
fn collect_and_exclude_select_plugins() {
    let host = host(&[]);
    let only = Exposition::parse(&host.get_ok("/metrics?format=text&collect[]=echo_request"));
    assert_eq!(only.up("echo_request"), Some(1.0));
    assert_eq!(
        only.up("demo_queue"),
        None,
        "health only for selected plugins"
    );
    assert!(only.lines_of("demo_queue_").is_empty());
    let except = Exposition::parse(&host.get_ok("/metrics?format=text&exclude%5B%5D=demo_queue"));
    assert_eq!(except.up("demo_queue"), None);
    assert_eq!(except.up("error"), Some(0.0));
    let unknown = host.get_with("/metrics?collect[]=nope", &[]);
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains("nope"));
    let both = host.get_with("/metrics?collect[]=error&exclude[]=demo_queue", &[]);
    assert_eq!(both.status, 400);
}

#[test]
fn probe_hands_target_and_params_to_plugins() {
    let host = host(&[]);
    let missing = host.get_with("/probe", &[]);
    assert_eq!(missing.status, 400);
    assert!(missing.body.contains("target"));
    let page = Exposition::parse(
        &host.get_ok("/probe?format=text&collect[]=echo_request&target=db%3A5432&module=tcp"),
    );
    let info: Vec<&str> = page.lines_of("echo_request_info");
    assert_eq!(info.len(), 1, "{}", page.text);
    assert!(info[0].contains("target=\"db:5432\""), "{}", info[0]);
    assert_eq!(
        page.value("echo_request_param{position=\"0\",name=\"module\",value=\"tcp\"}"),
        Some(1.0),
        "only the plugin's own parameters are handed on: {}",
        page.text
    );
    assert!(
        page.lines_of("process_").is_empty(),
        "a probe carries no process series"
    );
}

#[test]
fn max_requests_answers_503_beyond_the_limit() {
    let dir = TempDir::new("maxreq");
    dir.add("sleeper", &test_plugin("sleeper"));
    dir.add("echo_request", &test_plugin("echo_request"));
    let host = Host::start(dir, &["--web.max-requests", "1", "--plugin.timeout", "3s"]);
    // One slow scrape holds the only slot for its whole 3 s deadline
    // (retried if a quick scrape below held the slot when it arrived).
    let url = host.url("/metrics");
    let slow = std::thread::spawn(move || {
        loop {
            let status = crate::common::get(&url, &[]).status;
            if status != 503 {
                return status;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    });
    // Quick scrapes meanwhile: whichever reach the host while the slow one
    // runs are refused at once. Nothing here depends on timing: they keep
    // coming until the slow scrape is done.
    let mut refused = 0;
    while !slow.is_finished() {
        let quick = host.get_with("/metrics?collect[]=echo_request", &[]);
        match quick.status {
            503 => refused += 1,
            200 => {}
            other => panic!("quick scrape: {other} {}", quick.body),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(slow.join().unwrap(), 200);
    assert!(
        refused > 0,
        "no scrape was refused while the slot was taken"
    );
    assert_eq!(
        host.get_with("/metrics?collect[]=echo_request", &[]).status,
        200,
        "served again once free"
    );
}
