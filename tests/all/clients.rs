//! Clients that hold connections without scraping: a slow-header client,
//! idle keep-alive connections, a flood of connections at the file
//! descriptor limit, a client that stops reading its response. None of
//! them locks a scraper out for long, and the host's log stays readable.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::{Host, TempDir, example_plugin, test_plugin};

/// Reads until the server closes the connection; how long that took.
fn closed_after(mut stream: TcpStream) -> Duration {
    let start = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return start.elapsed(),
            Ok(_) => {}
        }
    }
}

#[test]
fn slow_headers_and_idle_connections_are_closed_on_their_limits() {
    let dir = TempDir::new("timeouts");
    dir.add("demo_queue", &example_plugin("demo_queue"));
    let host = Host::start(
        dir,
        &[
            "--web.read-header-timeout",
            "1s",
            "--web.idle-timeout",
            "3s",
        ],
    );
    let mut slow = TcpStream::connect(&host.address).unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let head = closed_after(slow);
    assert!(
        head >= Duration::from_millis(900) && head < Duration::from_secs(30),
        "a slow header was cut after {head:?} (limit 1 s)"
    );
    let mut idle = TcpStream::connect(&host.address).unwrap();
    idle.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let idle_for = closed_after(idle);
    assert!(
        idle_for >= Duration::from_millis(2900) && idle_for < Duration::from_secs(30),
        "an idle keep-alive connection was closed after {idle_for:?} (limit 3 s)"
    );
}

/// A host serving `demo_queue` with 64 file descriptors at most, and
/// `--web.max-connections max_connections`.
fn host_with_64_descriptors(max_connections: &str) -> Host {
    let dir = TempDir::new("fd_limit");
    dir.add("demo_queue", &example_plugin("demo_queue"));
    Host::start_under(
        &["prlimit", "--nofile=64:64", "--"],
        dir,
        &["--web.max-connections", max_connections],
        true,
    )
}

/// At a descriptor limit of 64, 200 idle connections used to take every
/// descriptor, and a scraper could not get in. With a connection cap under
/// the limit, the oldest idle connections make room.
#[test]
fn idle_connections_cannot_lock_a_scraper_out() {
    let host = host_with_64_descriptors("20");
    let mut idle = Vec::new();
    for i in 0..200 {
        if let Ok(mut s) = TcpStream::connect(&host.address) {
            if i % 2 == 0 {
                let _ = s.write_all(b"GET /metrics HTTP/1.1\r\n");
            }
            idle.push(s);
        }
    }
    let page = host.scrape();
    assert_eq!(page.up("demo_queue"), Some(1.0));
    drop(idle);
}

/// Past the descriptor limit, `accept` fails on every try; the host says
/// so every few seconds, not twenty times a second, and serves again once
/// descriptors are free.
#[test]
fn accept_errors_at_the_descriptor_limit_are_logged_sparingly() {
    let host = host_with_64_descriptors("0");
    let mut held = Vec::new();
    for _ in 0..200 {
        match TcpStream::connect(&host.address) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    std::thread::sleep(Duration::from_secs(3));
    let errors = host
        .log()
        .iter()
        .filter(|l| l.contains("accept failed"))
        .count();
    assert!(
        (1..=2).contains(&errors),
        "{errors} accept errors logged in 3 s"
    );
    drop(held);
    let mut served = false;
    for _ in 0..100 {
        if host.get_with("/-/healthy", &[]).status == 200 {
            served = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(served, "serves again once descriptors are free");
}

#[test]
fn the_open_files_limit_is_raised_to_the_hard_limit() {
    let dir = TempDir::new("rlimit");
    dir.add("demo_queue", &example_plugin("demo_queue"));
    let host = Host::start_under(&["prlimit", "--nofile=256:4096", "--"], dir, &[], true);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", host.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers, ["4096", "4096"], "{line}");
}

/// A client that asks for large pages and never reads them held the only
/// scrape slot (and a page's memory) forever; now its connection is closed
/// at the write timeout and the slot is free again.
#[test]
fn a_client_that_stops_reading_loses_its_connection_not_the_slot() {
    let dir = TempDir::new("stalled");
    dir.add("bench_series", &test_plugin("bench_series"));
    let config = "plugins:\n  - path: bench_series.wasm\n    config: { families: 10, series: 4000, labels: 6 }\n";
    let host = Host::start_config(
        dir,
        config,
        &["--web.max-requests", "1", "--web.write-timeout", "2s"],
    );
    let mut stalled = TcpStream::connect(&host.address).unwrap();
    // Twenty pipelined requests for a 3 MB page each, never read: the
    // socket buffers fill, and a response stalls half sent.
    let request = b"GET /metrics?format=text HTTP/1.1\r\nHost: x\r\n\r\n".repeat(20);
    stalled.write_all(&request).unwrap();
    // However fast the host writes (the socket buffers may take a few of
    // the pages first), a response stalls half sent and the host closes
    // the connection after the write timeout, and says so.
    host.wait_for_log_within(
        &["response not taken within --web.write-timeout"],
        Duration::from_secs(60),
    );
    let start = Instant::now();
    let mut status = 0;
    while start.elapsed() < Duration::from_secs(60) {
        status = host.get_with("/metrics?format=text", &[]).status;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "the slot is taken, or free");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status, 200, "the slot came back");
    drop(stalled);
}
