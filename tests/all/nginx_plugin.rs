//! The `nginx` plugin against a real nginx: its values agree with the
//! stub_status page fetched directly and with Debian's
//! nginx-prometheus-exporter scraping the same server; a stopped server or
//! a URL outside the grant fail the plugin alone, with a reason.

use crate::common::{Host, TempDir, client, example_plugin, get};
use crate::systems::{Daemon, Families, compare, exporter, nginx};

/// Every family of the exporter but its own build information.
const FAMILIES: [&str; 8] = [
    "nginx_connections_accepted",
    "nginx_connections_active",
    "nginx_connections_handled",
    "nginx_connections_reading",
    "nginx_connections_waiting",
    "nginx_connections_writing",
    "nginx_http_requests_total",
    "nginx_up",
];

/// The connection gauges: how many connections are open in each state at
/// the instant of a scrape, each scraper's own among them.
const CONNECTION_GAUGES: [&str; 4] = [
    "nginx_connections_active",
    "nginx_connections_reading",
    "nginx_connections_waiting",
    "nginx_connections_writing",
];

/// The numbers of one stub_status page, in the order nginx writes them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Status {
    active: f64,
    accepted: f64,
    handled: f64,
    requests: f64,
    reading: f64,
    writing: f64,
    waiting: f64,
}

/// GETs the page directly, on a connection of its own.
fn status(nginx: &Daemon) -> Status {
    let page = get(&nginx.url("/stub_status"), &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    let n: Vec<f64> = page
        .body
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(n.len(), 7, "{}", page.body);
    Status {
        active: n[0],
        accepted: n[1],
        handled: n[2],
        requests: n[3],
        reading: n[4],
        writing: n[5],
        waiting: n[6],
    }
}

/// The plugin's numbers in a scrape.
fn plugin_status(page: &Families) -> Status {
    let v = |name: &str| {
        page.value(name, &[])
            .unwrap_or_else(|| panic!("no {name} in the plugin's output"))
    };
    Status {
        active: v("nginx_connections_active"),
        accepted: v("nginx_connections_accepted"),
        handled: v("nginx_connections_handled"),
        requests: v("nginx_http_requests_total"),
        reading: v("nginx_connections_reading"),
        writing: v("nginx_connections_writing"),
        waiting: v("nginx_connections_waiting"),
    }
}

/// A host serving the plugin for `nginx` with `grants`, and `extra`
/// plugin entries after it.
fn host(nginx: &Daemon, grants: &str, extra: &str) -> Host {
    let dir = TempDir::new("nginx_plugin");
    dir.add("nginx", &example_plugin("nginx"));
    dir.add("demo_queue", &example_plugin("demo_queue"));
    let config = format!(
        "plugins:\n  - path: nginx.wasm\n    grants: {grants}\n    config: {{ url: \"{}\" }}\n{extra}",
        nginx.url("/stub_status")
    );
    Host::start_config(dir, &config, &[])
}

fn http_grant(nginx: &Daemon) -> String {
    format!("{{ http: [\"{}\"] }}", nginx.url("/stub_status"))
}

fn scrape(host: &Host) -> Families {
    Families::scrape(&host.url("/metrics?format=text"))
}

/// Requests on one kept-alive connection, so that requests outnumber
/// connections and a field read in the wrong place shows.
fn keep_alive_traffic(nginx: &Daemon, requests: usize) {
    let client = client();
    for _ in 0..requests {
        let r = client.get(nginx.url("/")).send().unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[test]
fn values_agree_with_the_status_page() {
    let nginx = nginx();
    keep_alive_traffic(&nginx, 5);
    let host = host(&nginx, &http_grant(&nginx), "");

    // Each of the three reads opens one connection and makes one request,
    // and nothing else reaches nginx meanwhile: the plugin's page is the
    // one between, counting its own connection and request.
    let before = status(&nginx);
    let page = scrape(&host);
    let after = status(&nginx);
    assert_eq!(
        page.value("wasm_exporter_plugin_up", &[("plugin", "nginx")]),
        Some(1.0)
    );
    assert_eq!(page.value("nginx_up", &[]), Some(1.0));
    let ours = plugin_status(&page);
    assert_eq!(
        after.requests,
        before.requests + 2.0,
        "nothing else reached nginx"
    );
    assert_eq!(
        after.accepted,
        before.accepted + 2.0,
        "nothing else connected"
    );
    assert_eq!(
        ours.requests,
        before.requests + 1.0,
        "{ours:?} after {before:?}"
    );
    assert_eq!(
        ours.accepted,
        before.accepted + 1.0,
        "{ours:?} after {before:?}"
    );
    assert_eq!(
        ours.handled,
        before.handled + 1.0,
        "{ours:?} after {before:?}"
    );
    assert!(
        ours.requests > ours.accepted,
        "kept-alive requests outnumber connections: {ours:?}"
    );
    // The plugin's own request is being answered as nginx writes the page.
    assert!(ours.writing >= 1.0 && ours.active >= 1.0, "{ours:?}");
    assert!(
        ours.reading + ours.writing + ours.waiting <= ours.active,
        "no connection is in two states: {ours:?}"
    );
}

#[test]
fn series_match_nginx_prometheus_exporter() {
    let nginx = nginx();
    keep_alive_traffic(&nginx, 3);
    let host = host(&nginx, &http_grant(&nginx), "");
    let uri = format!("--nginx.scrape-uri={}", nginx.url("/stub_status"));
    let theirs_exporter = exporter("nginx-exporter", &[&uri]);

    let ours = scrape(&host).with_prefix("nginx_");
    let theirs = Families::scrape(&theirs_exporter.url("/metrics")).with_prefix("nginx_");
    let ours_after = scrape(&host).with_prefix("nginx_");

    // Counters are checked exactly against the bracket below; connection
    // gauges differ by the scrapers' own connections (the exporter keeps
    // one open between scrapes), checked in absolute terms below.
    let tolerance = |name: &str| -> f64 {
        let counter = theirs.0.get(name).is_some_and(|f| f.type_ == "counter");
        if counter || CONNECTION_GAUGES.contains(&name) {
            1.0
        } else {
            0.0
        }
    };
    let compared = compare(&ours, &theirs, &[], tolerance).unwrap_or_else(|mismatches| {
        panic!(
            "the plugin and nginx-prometheus-exporter differ:\n{}",
            mismatches.join("\n")
        )
    });
    assert_eq!(compared, FAMILIES, "every family is compared");
    let theirs_names: Vec<&str> = theirs.0.keys().map(String::as_str).collect();
    assert_eq!(theirs_names, FAMILIES, "and the exporter has no other");
    for name in ["nginx_connections_accepted", "nginx_connections_handled"] {
        assert_eq!(
            theirs.0[name].type_, "counter",
            "{name}: a counter without _total"
        );
    }

    let (low, their, high) = (
        plugin_status(&ours),
        plugin_status(&theirs),
        plugin_status(&ours_after),
    );
    // One request per scrape, each scrape counting its own.
    assert_eq!(their.requests, low.requests + 1.0, "{low:?} {their:?}");
    assert_eq!(high.requests, their.requests + 1.0, "{their:?} {high:?}");
    for (name, l, t, h) in [
        ("accepted", low.accepted, their.accepted, high.accepted),
        ("handled", low.handled, their.handled, high.handled),
    ] {
        assert!(l <= t && t <= h, "{name}: {t} is not between {l} and {h}");
    }
    for (name, o, t) in [
        ("active", low.active, their.active),
        ("reading", low.reading, their.reading),
        ("writing", low.writing, their.writing),
        ("waiting", low.waiting, their.waiting),
    ] {
        assert!(
            (o - t).abs() <= 2.0,
            "{name}: {o} vs the exporter's {t}, more than the scrapers' own connections apart"
        );
    }
}

#[test]
fn a_stopped_server_fails_the_plugin_alone() {
    let mut nginx = nginx();
    let host = host(&nginx, &http_grant(&nginx), "  - path: demo_queue.wasm\n");
    let page = host.scrape();
    assert_eq!(page.up("nginx"), Some(1.0));
    let failures = page.failures("nginx", "error");

    nginx.stop();
    let page = host.scrape();
    assert_eq!(page.up("nginx"), Some(0.0), "the plugin is down");
    assert_eq!(
        page.failures("nginx", "error"),
        failures + 1.0,
        "with reason error"
    );
    assert!(
        page.lines_of("nginx_").is_empty(),
        "nothing of nginx is served"
    );
    assert_eq!(page.up("demo_queue"), Some(1.0), "the other plugin is up");
    host.healthy_latency();
    let landing = host.get_ok("/");
    let reason = format!("GET {}", nginx.url("/stub_status"));
    assert!(
        landing.contains(&reason),
        "the landing page says why:\n{landing}"
    );
}

#[test]
fn a_url_outside_the_grant_is_denied() {
    let nginx = nginx();
    // A prefix of the same server, but not of the status page.
    let grant = format!("{{ http: [\"{}\"] }}", nginx.url("/files/"));
    let host = host(&nginx, &grant, "  - path: demo_queue.wasm\n");
    let before = status(&nginx);
    let page = host.scrape();
    let after = status(&nginx);

    assert_eq!(page.up("nginx"), Some(0.0));
    assert!(page.failures("nginx", "error") >= 1.0);
    let denied = page
        .value("wasm_exporter_plugin_denied_total{plugin=\"nginx\",capability=\"http\"}")
        .expect("a denied_total series for nginx/http");
    assert!(denied > 0.0, "the refused request is counted");
    assert_eq!(page.up("demo_queue"), Some(1.0));
    assert_eq!(
        after.requests,
        before.requests + 1.0,
        "refused before it left: nginx saw only the direct reads"
    );
}

#[test]
fn probes_ask_the_target_given() {
    let nginx = nginx();
    let dir = TempDir::new("nginx_probe");
    dir.add("nginx", &example_plugin("nginx"));
    let config = format!(
        "plugins:\n  - path: nginx.wasm\n    targets: [\"127.0.0.1\"]\n    grants: {}\n",
        http_grant(&nginx)
    );
    let host = Host::start_config(dir, &config, &[]);
    let page = Families::parse(&host.get_ok(&format!(
        "/probe?format=text&plugin=nginx&target={}",
        nginx.address()
    )));
    assert_eq!(page.value("nginx_up", &[]), Some(1.0));
    assert_eq!(page.value("probe_success", &[]), Some(1.0));
    assert!(page.value("nginx_http_requests_total", &[]).unwrap() >= 1.0);
}
