//! Expensive and flaky collectors: `cache_ttl`, single flight, stale
//! results on error, and back-off, through the real binary. The waits are
//! an hour long where a test must not see them end, so no outcome depends
//! on the machine's speed.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::common::{Exposition, Host, TempDir, example_plugin, test_plugin};

fn collects(page: &Exposition, plugin: &str) -> f64 {
    page.value(&format!(
        "wasm_exporter_plugin_collects_total{{plugin=\"{plugin}\"}}"
    ))
    .unwrap_or_else(|| panic!("no collects series for {plugin}"))
}

/// An HTTP server on loopback that counts the requests it gets, answers
/// 200 while `up`, closes the connection otherwise, and holds each answer
/// while `held`.
struct Target {
    port: u16,
    requests: Arc<AtomicU64>,
    up: Arc<AtomicBool>,
    held: Arc<(Mutex<bool>, Condvar)>,
}

impl Target {
    fn start() -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicU64::new(0));
        let up = Arc::new(AtomicBool::new(true));
        let held = Arc::new((Mutex::new(false), Condvar::new()));
        let (r, u, h) = (requests.clone(), up.clone(), held.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, u, h) = (r.clone(), u.clone(), h.clone());
                std::thread::spawn(move || answer(stream, &r, &u, &h));
            }
        });
        Target {
            port,
            requests,
            up,
            held,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn hold(&self, hold: bool) {
        let (lock, cvar) = &*self.held;
        *lock.lock().unwrap() = hold;
        cvar.notify_all();
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

fn answer(stream: TcpStream, requests: &AtomicU64, up: &AtomicBool, held: &(Mutex<bool>, Condvar)) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
        if line == "\r\n" {
            break;
        }
        line.clear();
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let (lock, cvar) = held;
    let _released = cvar.wait_while(lock.lock().unwrap(), |held| *held).unwrap();
    if up.load(Ordering::SeqCst) {
        let _ = reader
            .get_mut()
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n");
    }
}

/// Polls `check` every 20 ms for up to a minute.
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_cached_result_is_reused_for_its_ttl_and_says_so_in_help() {
    let dir = TempDir::new("cache_ttl");
    dir.add("demo_queue", &example_plugin("demo_queue"));
    dir.add("all_types", &test_plugin("all_types"));
    let host = Host::start_config(
        dir,
        "plugins:\n  - path: demo_queue.wasm\n    cache_ttl: 1h\n  - path: all_types.wasm\n",
        &[],
    );
    let first = host.scrape();
    let second = host.scrape();
    let third = host.scrape();
    assert_eq!(
        collects(&third, "demo_queue"),
        1.0,
        "one collect for three scrapes"
    );
    assert_eq!(
        collects(&third, "all_types"),
        3.0,
        "no cache: a collect per scrape"
    );
    // The same values (demo_queue's counters grow with the wall clock).
    assert_eq!(
        first.lines_of("demo_queue_jobs_processed_total"),
        third.lines_of("demo_queue_jobs_processed_total")
    );
    assert_eq!(second.up("demo_queue"), Some(1.0));
    // Every family of the cached plugin says so; the others do not.
    let helps: Vec<&str> = third
        .text
        .lines()
        .filter(|l| l.starts_with("# HELP demo_queue_"))
        .collect();
    assert!(!helps.is_empty());
    for help in helps {
        assert!(help.ends_with("(Cached for up to 1h.)"), "{help}");
    }
    assert!(
        !third
            .text
            .contains("# HELP all_types_requests_total Requests served. (Cached"),
        "{}",
        third.text
    );
}

#[test]
fn concurrent_scrapes_of_one_request_share_one_collect() {
    const SCRAPES: usize = 5;
    let target = Target::start();
    target.hold(true);
    let dir = TempDir::new("single_flight");
    dir.add("reach_out", &test_plugin("reach_out"));
    let url = target.url();
    let config = format!(
        "plugins:\n  - path: reach_out.wasm\n    limits: {{ timeout: 60s }}\n    \
         grants: {{ http: [\"{url}\"] }}\n    config: {{ http: \"{url}\", as: one }}\n"
    );
    let host = Arc::new(Host::start_config(dir, &config, &["--log.level=debug"]));
    let scrapes: Vec<_> = (0..SCRAPES)
        .map(|_| {
            let host = host.clone();
            std::thread::spawn(move || host.get_ok("/metrics"))
        })
        .collect();
    // One collect reached the target and waits there; every other scrape
    // joined it before it is let go.
    wait_until("the first collect", || target.requests() == 1);
    wait_until("the other scrapes to join", || {
        host.log()
            .iter()
            .filter(|l| l.contains("sharing the collect of a concurrent scrape"))
            .count()
            == SCRAPES - 1
    });
    target.hold(false);
    let pages: Vec<String> = scrapes.into_iter().map(|s| s.join().unwrap()).collect();
    assert_eq!(
        target.requests(),
        1,
        "one request to the target for {SCRAPES} scrapes"
    );
    let ok = format!("reach_ok{{as=\"one\",kind=\"http\",what=\"{url}\"}} 1");
    for page in &pages {
        assert!(page.contains(&ok), "{page}");
    }
    let page = host.scrape();
    assert_eq!(
        collects(&page, "reach_out"),
        2.0,
        "one shared collect, and this scrape's"
    );
}

#[test]
fn the_last_good_result_is_served_on_error_marked_stale() {
    let target = Target::start();
    let dir = TempDir::new("stale");
    dir.add("reach_out", &test_plugin("reach_out"));
    let url = target.url();
    let entry = |name: &str, stale: bool| {
        format!(
            "  - name: {name}\n    path: reach_out.wasm\n    serve_stale_on_error: {stale}\n    \
             grants: {{ http: [\"{url}\"] }}\n    config: {{ http: \"{url}\", strict: true, as: {name} }}\n"
        )
    };
    let config = format!(
        "plugins:\n{}{}",
        entry("stale", true),
        entry("fresh", false)
    );
    let host = Host::start_config(dir, &config, &[]);
    let series = |name: &str| format!("reach_ok{{as=\"{name}\",kind=\"http\",what=\"{url}\"}}");
    let good = host.scrape();
    for name in ["stale", "fresh"] {
        assert_eq!(good.up(name), Some(1.0));
        assert_eq!(good.value(&series(name)), Some(1.0));
        assert_eq!(
            good.value(&format!("wasm_exporter_plugin_stale{{plugin=\"{name}\"}}")),
            Some(0.0)
        );
    }
    target.up.store(false, Ordering::SeqCst);
    let down = host.scrape();
    for name in ["stale", "fresh"] {
        assert_eq!(down.up(name), Some(0.0), "{name}");
        assert_eq!(down.failures(name, "error"), 1.0, "{name}");
    }
    // The last good result, marked stale...
    assert_eq!(down.value(&series("stale")), Some(1.0));
    assert_eq!(
        down.value("wasm_exporter_plugin_stale{plugin=\"stale\"}"),
        Some(1.0)
    );
    // ...and nothing for the plugin without the option.
    assert_eq!(down.value(&series("fresh")), None);
    assert_eq!(
        down.value("wasm_exporter_plugin_stale{plugin=\"fresh\"}"),
        Some(0.0)
    );
    target.up.store(true, Ordering::SeqCst);
    let back = host.scrape();
    assert_eq!(back.up("stale"), Some(1.0));
    assert_eq!(
        back.value("wasm_exporter_plugin_stale{plugin=\"stale\"}"),
        Some(0.0)
    );
}

#[test]
fn a_plugin_failing_in_a_row_backs_off_until_a_reload() {
    let dir = TempDir::new("backoff");
    dir.add("error", &test_plugin("error"));
    dir.add("demo_queue", &example_plugin("demo_queue"));
    let config = "plugins:\n  - path: error.wasm\n    backoff: { after: 2, initial: 1h, max: 2h }\n  \
                  - path: demo_queue.wasm\n";
    let host = Host::start_config(dir, config, &[]);
    for _ in 0..5 {
        host.scrape();
    }
    let page = host.scrape();
    // Two failures started the back-off; the four scrapes since skipped it.
    assert_eq!(page.failures("error", "error"), 2.0);
    assert_eq!(page.failures("error", "backoff"), 4.0);
    assert_eq!(collects(&page, "error"), 2.0);
    assert_eq!(page.up("error"), Some(0.0));
    assert_eq!(page.up("demo_queue"), Some(1.0));
    // New settings are a new start: the plugin runs again.
    let config = "plugins:\n  - path: error.wasm\n    backoff: { after: 2, initial: 1h, max: 3h }\n  \
                  - path: demo_queue.wasm\n";
    std::fs::write(host.dir().join("config.yml"), config).unwrap();
    let reload = crate::common::client()
        .post(host.url("/-/reload"))
        .send()
        .unwrap();
    assert!(reload.status().is_success());
    let page = host.scrape();
    assert_eq!(collects(&page, "error"), 3.0);
    assert_eq!(page.failures("error", "error"), 3.0);
    // Once it fails twice more, the status page says why it is not run.
    host.scrape();
    host.scrape();
    let landing = host.get_ok("/");
    assert!(landing.contains("backoff: not run"), "{landing}");
}
