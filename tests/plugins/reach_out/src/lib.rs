//! Tries to reach what its configuration lists, with the ordinary APIs a
//! plugin would use (`std::fs`, `std::env`, `std::net`, the SDK's HTTP
//! client and `statfs`), and reports each attempt: `reach_ok{kind,what}` is
//! 1 if it worked, 0 if it was refused or failed. It never fails itself, so
//! the host's answer to each attempt is in its output.
//!
//! Config keys, each a comma-separated list: `files`, `list_dirs`, `env`,
//! `tcp` (`host:port`), `lookup` (names), `udp` (`host:port`), `listen`
//! (`host:port` to listen on), `http` (URLs), `statfs` (paths); and `as`, a
//! label value telling several copies apart.

use std::io::Read;
use std::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use wasm_exporter_sdk::{Collector, Family, Request, config_get, export_collector, http, statfs};

struct ReachOut;

fn list(key: &str) -> Vec<String> {
    config_get(key)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn read_file(path: &str) -> Result<usize, String> {
    let mut text = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(1 << 20).read_to_end(&mut text))
        .map_err(|e| e.to_string())
}

impl Collector for ReachOut {
    fn collect(_: &Request) -> Result<Vec<Family>, String> {
        let copy = config_get("as").unwrap_or_default();
        let mut ok = Family::gauge("reach_ok", "1 if the attempt worked, 0 if not.");
        let mut failed = Vec::new();
        let mut tried = |kind: &str, what: &str, worked: bool| {
            if !worked {
                failed.push(format!("{kind} {what}"));
            }
            ok = std::mem::replace(&mut ok, Family::gauge("x", "x")).with(
                &[("as", copy.as_str()), ("kind", kind), ("what", what)],
                if worked { 1.0 } else { 0.0 },
            );
        };
        for path in list("files") {
            tried("file", &path, read_file(&path).is_ok_and(|n| n > 0));
        }
        for path in list("list_dirs") {
            tried("list", &path, std::fs::read_dir(&path).is_ok());
        }
        for name in list("env") {
            tried("env", &name, std::env::var(&name).is_ok());
        }
        for addr in list("tcp") {
            let worked = addr
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .is_some_and(|a| {
                    // A refused connection can come back `Ok` on WASI, with
                    // the refusal as the socket's pending error.
                    TcpStream::connect_timeout(&a, Duration::from_secs(5))
                        .is_ok_and(|s| s.take_error().is_ok_and(|e| e.is_none()))
                });
            tried("tcp", &addr, worked);
        }
        for name in list("lookup") {
            tried(
                "lookup",
                &name,
                (name.as_str(), 80).to_socket_addrs().is_ok(),
            );
        }
        for addr in list("udp") {
            let worked = UdpSocket::bind("0.0.0.0:0")
                .and_then(|s| s.send_to(b"ping", addr.as_str()))
                .is_ok();
            tried("udp", &addr, worked);
        }
        for addr in list("listen") {
            tried("listen", &addr, TcpListener::bind(addr.as_str()).is_ok());
        }
        for url in list("http") {
            let worked = http::get(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .is_ok_and(|r| r.status == 200);
            tried("http", &url, worked);
        }
        for path in list("statfs") {
            tried("statfs", &path, statfs(&path).is_ok_and(|s| s.blocks > 0));
        }
        if config_get("strict").as_deref() == Some("true") && !failed.is_empty() {
            return Err(format!("failed: {}", failed.join(", ")));
        }
        Ok(vec![ok])
    }
}

export_collector!(ReachOut);
