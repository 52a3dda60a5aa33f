//! Replacing exporters: one wasm_exporter host serving the `redis`,
//! `nginx`, `node` and `http_probe` plugins, against the four Debian
//! exporters they replace (`prometheus-redis-exporter`,
//! `prometheus-nginx-exporter`, `prometheus-node-exporter` and
//! `prometheus-blackbox-exporter`), side by side on the same Redis and
//! nginx, in one run.
//!
//! node_exporter runs the collectors the `node` plugin covers (loadavg,
//! meminfo, cpu, filesystem for `/`, netdev), so both do the same work.
//! Each pair is scraped [`ROUNDS`] times, interleaved (the host first in
//! odd rounds, the exporter first in even ones), with one keep-alive
//! client per endpoint asking for the text format; the time is from
//! sending the request to the last byte of the body. The host's scrapes
//! select one plugin (`collect[]`), as a Prometheus job per system would;
//! the probe is `/probe?plugin=http_probe&target=...` against blackbox's
//! `/probe?module=http_2xx&target=...`. After the scrapes, the resident
//! memory (`VmRSS`, and the peak `VmHWM`) of the host is set against the
//! four exporters together.
//!
//! Targets: the host uses less memory than the four exporters together,
//! and no scrape of the host is slower (p50 and p99) than 2× the exporter
//! it replaces. Run with `cargo xtask bench-exporters`; the report is
//! printed and written to `target/exporters/report.md`.

mod common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;

use common::daemons::{self, Daemon};
use common::{HostProcess, binary, memory, percentile, plugin};

/// Scrapes of each endpoint before measuring.
const WARMUP: usize = 20;
/// Measured scrapes of each endpoint.
const ROUNDS: usize = 300;
/// The exposition format every endpoint is asked for.
const ACCEPT: &str = "text/plain;version=0.0.4";

/// One system, scraped through the host and through its exporter.
struct Pair {
    name: &'static str,
    ours: String,
    theirs: String,
    /// A sample line both answers must hold, so a broken answer cannot look
    /// fast.
    expect: &'static str,
}

struct Latency {
    ours: Vec<Duration>,
    theirs: Vec<Duration>,
}

fn scrape(client: &Client, url: &str, expect: &str) -> Duration {
    let start = Instant::now();
    let response = client
        .get(url)
        .header("Accept", ACCEPT)
        .send()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status();
    let body = response.text().unwrap();
    let took = start.elapsed();
    assert!(status.is_success(), "GET {url}: {status}\n{body}");
    assert!(body.contains(expect), "GET {url}: no {expect:?} in\n{body}");
    took
}

fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn main() {
    // `cargo bench` passes `--bench`; nothing here takes options.
    let redis = daemons::redis();
    let nginx = daemons::nginx();
    std::fs::write(
        nginx.dir.path().join("html/index.html"),
        "<html>ok</html>\n",
    )
    .unwrap();
    let probe_target = nginx.url("/files/index.html");

    let blackbox_config = daemons::Scratch::new("blackbox_config");
    let blackbox_file = blackbox_config.path().join("blackbox.yml");
    std::fs::write(
        &blackbox_file,
        "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n",
    )
    .unwrap();
    let exporters: Vec<Daemon> = vec![
        daemons::exporter(
            "redis-exporter",
            &[&format!("--redis.addr=redis://{}", redis.address())],
        ),
        daemons::exporter(
            "nginx-exporter",
            &[&format!("--nginx.scrape-uri={}", nginx.url("/stub_status"))],
        ),
        daemons::exporter(
            "node-exporter",
            &[
                "--collector.disable-defaults",
                "--collector.loadavg",
                "--collector.meminfo",
                "--collector.cpu",
                "--collector.filesystem",
                "--collector.netdev",
                "--collector.filesystem.mount-points-exclude=^/.+",
            ],
        ),
        daemons::exporter(
            "blackbox-exporter",
            &[&format!("--config.file={}", blackbox_file.display())],
        ),
    ];

    let dir = daemons::Scratch::new("exporters_host");
    for name in ["redis", "nginx", "node", "http_probe"] {
        std::fs::copy(
            plugin("plugins", name),
            dir.path().join(format!("{name}.wasm")),
        )
        .unwrap();
    }
    let redis_address = redis.address();
    let status_url = nginx.url("/stub_status");
    let config = format!(
        "plugins:
  - path: redis.wasm
    grants: {{ tcp: [\"{redis_address}\"] }}
    config: {{ address: \"{redis_address}\" }}
  - path: nginx.wasm
    grants: {{ http: [\"{status_url}\"] }}
    config: {{ url: \"{status_url}\" }}
  - path: node.wasm
    grants:
      files: [/proc/loadavg, /proc/meminfo, /proc/stat, /proc/net/dev, /proc/mounts]
      statfs: [/]
    config: {{ mountpoints: / }}
  - path: http_probe.wasm
    targets: [127.0.0.0/8]
    grants: {{ probe_target: true }}
"
    );
    let config_file = dir.path().join("config.yml");
    std::fs::write(&config_file, config).unwrap();
    let cache = daemons::Scratch::new("exporters_cache");
    let start_host = || {
        let mut command = std::process::Command::new(binary());
        command
            .arg("--config.file")
            .arg(&config_file)
            .arg("--cache.dir")
            .arg(cache.path())
            .args(["--log.level", "warn,wasm_exporter=info"]);
        HostProcess::start(command)
    };
    // A first start fills the compile cache; the host measured starts as
    // after any restart.
    drop(start_host());
    let host = start_host();

    let exporter_url = |i: usize, path: &str| exporters[i].url(path);
    let pairs = [
        Pair {
            name: "redis",
            ours: host.url("/metrics?collect[]=redis"),
            theirs: exporter_url(0, "/metrics"),
            expect: "redis_connected_clients ",
        },
        Pair {
            name: "nginx",
            ours: host.url("/metrics?collect[]=nginx"),
            theirs: exporter_url(1, "/metrics"),
            expect: "nginx_connections_accepted ",
        },
        Pair {
            name: "node",
            ours: host.url("/metrics?collect[]=node"),
            theirs: exporter_url(2, "/metrics"),
            expect: "node_memory_MemTotal_bytes ",
        },
        Pair {
            name: "http_probe",
            ours: host.url(&format!("/probe?plugin=http_probe&target={probe_target}")),
            theirs: exporter_url(3, &format!("/probe?module=http_2xx&target={probe_target}")),
            expect: "probe_success 1",
        },
    ];
    let clients: Vec<(Client, Client)> = pairs.iter().map(|_| (client(), client())).collect();
    for (pair, (ours, theirs)) in pairs.iter().zip(&clients) {
        for _ in 0..WARMUP {
            scrape(ours, &pair.ours, pair.expect);
            scrape(theirs, &pair.theirs, pair.expect);
        }
    }
    let started = Instant::now();
    let mut latency: Vec<Latency> = pairs
        .iter()
        .map(|_| Latency {
            ours: Vec::with_capacity(ROUNDS),
            theirs: Vec::with_capacity(ROUNDS),
        })
        .collect();
    for round in 0..ROUNDS {
        for ((pair, (ours, theirs)), l) in pairs.iter().zip(&clients).zip(&mut latency) {
            if round % 2 == 0 {
                l.ours.push(scrape(ours, &pair.ours, pair.expect));
                l.theirs.push(scrape(theirs, &pair.theirs, pair.expect));
            } else {
                l.theirs.push(scrape(theirs, &pair.theirs, pair.expect));
                l.ours.push(scrape(ours, &pair.ours, pair.expect));
            }
        }
    }
    let elapsed = started.elapsed();

    let (host_rss, host_peak) = memory(host.pid());
    let exporter_memory: Vec<(u64, u64)> = exporters.iter().map(|e| memory(e.pid())).collect();
    let exporters_rss: u64 = exporter_memory.iter().map(|m| m.0).sum();
    let exporters_peak: u64 = exporter_memory.iter().map(|m| m.1).sum();

    let mut report = String::new();
    let mut met = true;
    writeln!(
        report,
        "{ROUNDS} scrapes of each endpoint, interleaved, in {:.1} s.\n",
        elapsed.as_secs_f64()
    )
    .unwrap();
    writeln!(
        report,
        "| system | wasm_exporter p50 | exporter p50 | ratio | wasm_exporter p99 | exporter p99 | ratio |"
    )
    .unwrap();
    writeln!(report, "|---|---|---|---|---|---|---|").unwrap();
    for (pair, l) in pairs.iter().zip(&mut latency) {
        l.ours.sort();
        l.theirs.sort();
        let (o50, t50) = (percentile(&l.ours, 0.5), percentile(&l.theirs, 0.5));
        let (o99, t99) = (percentile(&l.ours, 0.99), percentile(&l.theirs, 0.99));
        let (r50, r99) = (ms(o50) / ms(t50), ms(o99) / ms(t99));
        met &= r50 <= 2.0 && r99 <= 2.0;
        writeln!(
            report,
            "| {} | {:.2} ms | {:.2} ms | {r50:.2} | {:.2} ms | {:.2} ms | {r99:.2} |",
            pair.name,
            ms(o50),
            ms(t50),
            ms(o99),
            ms(t99)
        )
        .unwrap();
    }
    writeln!(report).unwrap();
    writeln!(report, "| process | RSS | peak RSS |").unwrap();
    writeln!(report, "|---|---|---|").unwrap();
    writeln!(
        report,
        "| wasm_exporter (4 plugins) | {:.1} MiB | {:.1} MiB |",
        mib(host_rss),
        mib(host_peak)
    )
    .unwrap();
    for (exporter, (rss, peak)) in exporters.iter().zip(&exporter_memory) {
        writeln!(
            report,
            "| {} | {:.1} MiB | {:.1} MiB |",
            exporter.name,
            mib(*rss),
            mib(*peak)
        )
        .unwrap();
    }
    writeln!(
        report,
        "| the four exporters together | {:.1} MiB | {:.1} MiB |",
        mib(exporters_rss),
        mib(exporters_peak)
    )
    .unwrap();
    met &= host_rss < exporters_rss;
    writeln!(
        report,
        "\nTargets (host RSS below the four together; every ratio ≤ 2): {}",
        if met { "met" } else { "MISSED" }
    )
    .unwrap();
    print!("{report}");
    let out = common::target_dir().join("exporters");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("report.md"), &report).unwrap();
}
