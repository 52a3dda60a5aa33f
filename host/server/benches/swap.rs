//! Hot-swap benchmarks, against the real binary and built plugins
//! (`cargo xtask bench` builds them first):
//!
//! - swap latency: from the rename of a new version into the plugins
//!   directory until a scrape serves it (~90 KB Rust plugins), with a cold
//!   and a warm compile cache;
//! - restart to ready: from process start until `/-/ready` answers, with
//!   20 plugins all in the compile cache;
//! - scrape latency p99 while a plugin is swapped every 200 ms, against
//!   the same load without swaps, in one run;
//! - memory after a start: RSS once the plugins are loaded and scraped,
//!   for a start that compiles them and one from the compile cache,
//!   alternated (the three demo plugins, then all eight example plugins).
//!
//! Targets: swap ≤ 500 ms; restart ≤ 300 ms; p99 with swaps ≤ 1.5× without;
//! a start that compiles within 10% of the RSS of a start from the cache.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{client, install, memory, percentile, plugin, start_host, temp_dir};

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Swaps `swap` between demo_latency and demo_queue `n` times and returns
/// the rename-to-served latencies.
fn swap_latencies(cache: bool, n: usize) -> Vec<Duration> {
    let dir = temp_dir(if cache { "swap_warm" } else { "swap_cold" });
    let cache_dir = temp_dir("swap_cache");
    let versions = [
        plugin("plugins", "demo_latency"),
        plugin("plugins", "demo_queue"),
    ];
    let markers = ["demo_latency_", "demo_queue_"];
    install(&dir, "swap", &versions[0]);
    let mut args = vec!["--plugins.dir", dir.to_str().unwrap()];
    if cache {
        args.extend(["--cache.dir", cache_dir.to_str().unwrap()]);
    } else {
        args.push("--cache.disable");
    }
    let host = start_host(&args);
    let client = client();
    let url = host.url("/metrics?collect[]=swap");
    let mut latencies = Vec::with_capacity(n);
    for i in 1..=n {
        let v = i % 2;
        let started = Instant::now();
        install(&dir, "swap", &versions[v]);
        loop {
            let body = client.get(&url).send().unwrap().text().unwrap();
            if body.contains(markers[v]) && !body.contains(markers[1 - v]) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "swap never served"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        latencies.push(started.elapsed());
    }
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&cache_dir);
    latencies.sort();
    latencies
}

fn restart_to_ready(runs: usize) -> (usize, Vec<Duration>) {
    let dir = temp_dir("restart");
    let cache_dir = temp_dir("restart_cache");
    let mut names: Vec<(String, PathBuf)> = ["demo_queue", "demo_latency", "demo_config"]
        .iter()
        .map(|n| (n.to_string(), plugin("plugins", n)))
        .collect();
    for n in [
        "all_types",
        "bench_series",
        "echo_request",
        "empty",
        "swap_a",
        "swap_b",
        "error",
        "bad_name",
        "dup_series",
        "huge",
        "loop",
        "membomb",
        "panic",
        "recursion",
        "stdout_flood",
        "peer_load",
        "sleeper",
    ] {
        if names.len() == 20 {
            break;
        }
        names.push((n.to_string(), plugin("test-plugins", n)));
    }
    for (name, path) in &names {
        install(&dir, name, path);
    }
    let args = [
        "--plugins.dir",
        dir.to_str().unwrap(),
        "--cache.dir",
        cache_dir.to_str().unwrap(),
    ];
    // Warm the cache.
    drop(start_host(&args));
    let client = client();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let host = start_host(&args);
        let ready = client.get(host.url("/-/ready")).send().unwrap();
        assert_eq!(ready.status().as_u16(), 200);
        times.push(started.elapsed());
        let page = client
            .get(host.url("/metrics"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(
            page.contains("wasm_exporter_plugin_compilations_total 0"),
            "restart compiled nothing"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&cache_dir);
    times.sort();
    (names.len(), times)
}

/// Scrape latencies (4 scrapers) over `duration`, with a swap every 200 ms
/// if `swapping`.
fn scrape_latencies(swapping: bool, duration: Duration) -> Vec<Duration> {
    let dir = temp_dir(if swapping { "load_swap" } else { "load_still" });
    let cache_dir = temp_dir("load_cache");
    for n in ["demo_queue", "demo_latency", "demo_config"] {
        install(&dir, n, &plugin("plugins", n));
    }
    let versions = [
        plugin("test-plugins", "swap_a"),
        plugin("test-plugins", "swap_b"),
    ];
    install(&dir, "swap", &versions[0]);
    let host = start_host(&[
        "--plugins.dir",
        dir.to_str().unwrap(),
        "--cache.dir",
        cache_dir.to_str().unwrap(),
    ]);
    let url = host.url("/metrics");
    let stop = Arc::new(AtomicBool::new(false));
    let scrapers: Vec<_> = (0..4)
        .map(|_| {
            let (url, stop) = (url.clone(), stop.clone());
            std::thread::spawn(move || {
                let client = client();
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let r = client.get(&url).send().unwrap();
                    assert_eq!(r.status().as_u16(), 200);
                    let body = r.text().unwrap();
                    assert!(body.contains("swap_version{"));
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < duration {
        std::thread::sleep(Duration::from_millis(200));
        if swapping {
            i += 1;
            install(&dir, "swap", &versions[i % 2]);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<Duration> = scrapers
        .into_iter()
        .flat_map(|s| s.join().unwrap())
        .collect();
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&cache_dir);
    all.sort();
    all
}

/// RSS (bytes) of a host serving `plugins` after 20 scrapes, started with
/// an empty compile cache and then from the filled one, `runs` times each,
/// alternated: (compiling, from the cache), each sorted.
fn start_memory(plugins: &[&str], runs: usize) -> (Vec<u64>, Vec<u64>) {
    let dir = temp_dir("start_memory");
    for name in plugins {
        install(&dir, name, &plugin("plugins", name));
    }
    let client = client();
    let rss_after_scrapes = |cache_dir: &std::path::Path, compiled: usize| -> u64 {
        let host = start_host(&[
            "--plugins.dir",
            dir.to_str().unwrap(),
            "--cache.dir",
            cache_dir.to_str().unwrap(),
        ]);
        let mut page = String::new();
        for _ in 0..20 {
            page = client
                .get(host.url("/metrics"))
                .send()
                .unwrap()
                .text()
                .unwrap();
        }
        assert!(
            page.contains(&format!(
                "wasm_exporter_plugin_compilations_total {compiled}"
            )),
            "expected {compiled} compilations"
        );
        memory(host.pid()).0
    };
    let (mut compiling, mut cached) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let cache_dir = temp_dir("start_memory_cache");
        compiling.push(rss_after_scrapes(&cache_dir, plugins.len()));
        cached.push(rss_after_scrapes(&cache_dir, 0));
        let _ = std::fs::remove_dir_all(&cache_dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    compiling.sort();
    cached.sort();
    (compiling, cached)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter is not supported here.
    println!("hot-swap benchmarks (medians and percentiles over one run)\n");

    let cold = swap_latencies(false, 20);
    let warm = swap_latencies(true, 20);
    println!("swap latency, rename to served (~90 KB plugins, 20 swaps, debounce 100 ms):");
    for (label, l) in [("compiled", &cold), ("from cache", &warm)] {
        println!(
            "  {label:>10}: p50 {}  p99 {}  max {}   (target <= 500 ms)",
            ms(percentile(l, 0.5)),
            ms(percentile(l, 0.99)),
            ms(*l.last().unwrap())
        );
    }

    let (n, restarts) = restart_to_ready(10);
    println!(
        "\nrestart to ready, {n} cached plugins, 10 runs: p50 {}  max {}   (target <= 300 ms)",
        ms(percentile(&restarts, 0.5)),
        ms(*restarts.last().unwrap())
    );

    let still = scrape_latencies(false, Duration::from_secs(8));
    let swapping = scrape_latencies(true, Duration::from_secs(8));
    let (p99_still, p99_swap) = (percentile(&still, 0.99), percentile(&swapping, 0.99));
    println!(
        "\nscrape latency, 4 scrapers, 4 plugins, 8 s each:\n  without swaps: {} scrapes, p50 {}  p99 {}\n  swap every 200 ms: {} scrapes, p50 {}  p99 {}\n  p99 ratio {:.2}   (target <= 1.5)",
        still.len(),
        ms(percentile(&still, 0.5)),
        ms(p99_still),
        swapping.len(),
        ms(percentile(&swapping, 0.5)),
        ms(p99_swap),
        p99_swap.as_secs_f64() / p99_still.as_secs_f64()
    );

    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!("\nRSS after a start and 20 scrapes, 5 starts each, alternated (medians):");
    for (label, plugins) in [
        (
            "3 demo plugins",
            &["demo_queue", "demo_latency", "demo_config"][..],
        ),
        (
            "8 example plugins",
            &[
                "demo_queue",
                "demo_latency",
                "demo_config",
                "redis",
                "nginx",
                "node",
                "http_json",
                "http_probe",
            ][..],
        ),
    ] {
        let (compiling, cached) = start_memory(plugins, 5);
        let (c, k) = (mib(compiling[2]), mib(cached[2]));
        println!(
            "  {label}: compiling {c:.1} MiB, from the cache {k:.1} MiB, ratio {:.2}   (target <= 1.10)",
            c / k
        );
    }
}
