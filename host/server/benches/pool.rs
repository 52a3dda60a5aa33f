//! The instance pool under load, against the real binary: 100 plugins
//! (`bench_series`, 10 series each) scraped by as many clients at once as
//! `--web.max-requests` admits (40), for a fixed number of scrapes each.
//!
//! Reports the CPU time one scrape costs the host, S (its user + system
//! time over sequential scrapes, from `/proc`), the p50 and p99 latency
//! under load, and the target: p99 within 2 × S × queue depth / cores
//! (every scraper waits behind the others for the same cores), with no
//! plugin ever down. `cargo xtask bench` runs it.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{client, install, percentile, plugin, start_host, temp_dir};

const PLUGINS: usize = 100;
const SCRAPERS: usize = 40;
const SCRAPES_EACH: usize = 25;

fn main() {
    let dir = temp_dir("pool");
    install(
        &dir,
        "bench_series",
        &plugin("test-plugins", "bench_series"),
    );
    let mut config = String::from("plugins:\n");
    for i in 0..PLUGINS {
        config.push_str(&format!(
            "  - name: p{i:03}\n    path: bench_series.wasm\n    limits: {{ timeout: 60s }}\n    config: {{ series: 10, prefix: p{i:03} }}\n"
        ));
    }
    let config_file = dir.join("config.yml");
    std::fs::write(&config_file, config).unwrap();
    let cache = dir.join("cache");
    let host = Arc::new(start_host(&[
        "--config.file",
        config_file.to_str().unwrap(),
        "--cache.dir",
        cache.to_str().unwrap(),
        "--web.max-requests",
        &SCRAPERS.to_string(),
    ]));
    let url = host.url("/metrics");
    let check = |body: &str| {
        let up: Vec<&str> = body
            .lines()
            .filter(|l| l.starts_with("wasm_exporter_plugin_up{"))
            .collect();
        assert_eq!(up.len(), PLUGINS);
        up.iter().filter(|l| !l.ends_with(" 1")).count()
    };

    let c = client();
    for _ in 0..10 {
        check(&c.get(&url).send().unwrap().text().unwrap());
    }
    const ALONE: usize = 200;
    let cpu_before = cpu_time(host.pid());
    let mut alone: Vec<Duration> = (0..ALONE)
        .map(|_| {
            let start = Instant::now();
            let body = c.get(&url).send().unwrap().text().unwrap();
            let took = start.elapsed();
            assert_eq!(check(&body), 0);
            took
        })
        .collect();
    let s = (cpu_time(host.pid()) - cpu_before) / ALONE as u32;
    alone.sort();

    let started = Instant::now();
    let scrapers: Vec<_> = (0..SCRAPERS)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let c = client();
                let mut times = Vec::with_capacity(SCRAPES_EACH);
                let mut down = 0;
                for _ in 0..SCRAPES_EACH {
                    let start = Instant::now();
                    let r = c.get(&url).send().unwrap();
                    assert_eq!(r.status().as_u16(), 200);
                    let body = r.text().unwrap();
                    times.push(start.elapsed());
                    down += check(&body);
                }
                (times, down)
            })
        })
        .collect();
    let mut loaded = Vec::new();
    let mut down = 0;
    for s in scrapers {
        let (times, d) = s.join().unwrap();
        loaded.extend(times);
        down += d;
    }
    let elapsed = started.elapsed();
    loaded.sort();
    let final_page = c.get(&url).send().unwrap().text().unwrap();
    let host_failures: f64 = final_page
        .lines()
        .filter(|l| {
            l.starts_with("wasm_exporter_plugin_failures_total{") && l.contains("reason=\"host\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let bound = s.mul_f64(SCRAPERS as f64 / cores as f64);
    let p99 = percentile(&loaded, 0.99);
    println!(
        "pool: {PLUGINS} plugins x 10 series, {SCRAPERS} scrapers x {SCRAPES_EACH} scrapes, {cores} cores, {:.1} s",
        elapsed.as_secs_f64()
    );
    println!(
        "scrape alone: p50 {:.1} ms, CPU time S {:.1} ms;  under load: p50 {:.1} ms  p99 {:.1} ms",
        ms(percentile(&alone, 0.5)),
        ms(s),
        ms(percentile(&loaded, 0.5)),
        ms(p99)
    );
    println!(
        "p99 / (S x {SCRAPERS} / {cores}) = {:.2}   (target <= 2);  plugins down: {down};  host failures: {host_failures}   (target 0)",
        p99.as_secs_f64() / bound.as_secs_f64()
    );
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
}

/// User + system CPU time of process `pid` so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces): utime is the
    // 12th and stime the 13th, in clock ticks (100 a second on Linux).
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
