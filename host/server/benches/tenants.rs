//! Twenty tenants of five plugins each, all scraped at once: the latency
//! each tenant sees, and how far apart the tenants are.
//!
//! `cargo xtask bench -- --bench tenants` (or `cargo bench -p
//! wasm_exporter --bench tenants` after `cargo xtask plugins`).
//!
//! One host serves [`TENANTS`] tenants, each behind its own bearer token,
//! each with [`PLUGINS`] copies of `bench_series` returning [`SERIES`]
//! series. First one tenant is scraped alone, one scrape after another;
//! then every tenant is scraped by a client of its own, all at once, as
//! many Prometheus servers would. The figures are the p50 and p99 of each
//! tenant's scrapes (the best, median and worst tenant), the spread
//! between tenants (worst p99 over best p99), and the ratio of the median
//! tenant's p50 under load to the p50 alone, all from one run.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

mod common;

const TENANTS: usize = 20;
const PLUGINS: usize = 5;
const SERIES: usize = 100;
const ALONE_SCRAPES: usize = 300;
const LOADED_SCRAPES: usize = 100;

fn token(tenant: usize) -> String {
    format!("token-{tenant}")
}

fn config() -> String {
    let mut config = String::from("tenants:\n");
    for t in 0..TENANTS {
        let digest = hex::encode(Sha256::digest(token(t).as_bytes()));
        let _ = writeln!(
            config,
            "  t{t}:\n    auth: {{ bearer_token_sha256: [{digest}] }}\n    plugins:"
        );
        for p in 0..PLUGINS {
            let _ = writeln!(
                config,
                "      - {{ name: p{p}, path: bench_series.wasm, config: {{ prefix: p{p}, series: {SERIES} }} }}"
            );
        }
    }
    config
}

/// Each scrape's time, sorted, of `n` scrapes of tenant `t`, one after
/// another.
fn scrapes(client: &reqwest::blocking::Client, url: &str, t: usize, n: usize) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let started = Instant::now();
            let response = client
                .get(url)
                .bearer_auth(token(t))
                .send()
                .expect("scrape");
            assert_eq!(response.status(), 200, "tenant t{t}");
            let body = response.text().unwrap();
            let took = started.elapsed();
            assert!(
                !body.contains("wasm_exporter_plugin_up{plugin=\"p0\"} 0"),
                "a plugin of t{t} down:\n{body}"
            );
            took
        })
        .collect();
    times.sort();
    times
}

fn main() {
    let dir = common::temp_dir("tenants");
    common::install(
        &dir,
        "bench_series",
        &common::plugin("test-plugins", "bench_series"),
    );
    let file = dir.join("config.yml");
    std::fs::write(&file, config()).unwrap();
    let host = common::start_host(&["--config.file", file.to_str().unwrap()]);
    let url = |t: usize| host.url(&format!("/tenants/t{t}/metrics"));

    let client = common::client();
    // Warm-up: every tenant's first scrape.
    for t in 0..TENANTS {
        scrapes(&client, &url(t), t, 3);
    }
    let alone = scrapes(&client, &url(0), 0, ALONE_SCRAPES);

    let started = Instant::now();
    let loaded: Vec<Vec<Duration>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..TENANTS)
            .map(|t| {
                let url = url(t);
                scope.spawn(move || scrapes(&common::client(), &url, t, LOADED_SCRAPES))
            })
            .collect();
        threads.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wall = started.elapsed();
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);

    let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1e3);
    let mut p50: Vec<Duration> = loaded.iter().map(|t| common::percentile(t, 0.5)).collect();
    let mut p99: Vec<Duration> = loaded.iter().map(|t| common::percentile(t, 0.99)).collect();
    p50.sort();
    p99.sort();
    let median = |v: &[Duration]| v[v.len() / 2];
    let alone_p50 = common::percentile(&alone, 0.5);
    println!(
        "{TENANTS} tenants × {PLUGINS} plugins × {SERIES} series; {} scrapes in {:.1} s",
        TENANTS * LOADED_SCRAPES,
        wall.as_secs_f64()
    );
    println!("| | p50 (ms) | p99 (ms) |");
    println!("|---|---|---|");
    println!(
        "| one tenant alone | {} | {} |",
        ms(alone_p50),
        ms(common::percentile(&alone, 0.99))
    );
    println!(
        "| all at once: best tenant | {} | {} |",
        ms(p50[0]),
        ms(p99[0])
    );
    println!(
        "| all at once: median tenant | {} | {} |",
        ms(median(&p50)),
        ms(median(&p99))
    );
    println!(
        "| all at once: worst tenant | {} | {} |",
        ms(p50[TENANTS - 1]),
        ms(p99[TENANTS - 1])
    );
    println!(
        "spread between tenants: worst p99 / best p99 = {:.2}, worst p50 / best p50 = {:.2}",
        p99[TENANTS - 1].as_secs_f64() / p99[0].as_secs_f64(),
        p50[TENANTS - 1].as_secs_f64() / p50[0].as_secs_f64()
    );
    println!(
        "median tenant's p50 at once / alone = {:.1} ({TENANTS} clients on {} cores)",
        median(&p50).as_secs_f64() / alone_p50.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
}
