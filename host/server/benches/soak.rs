//! Soak and load: scrapers at a fixed rate for a set time against many
//! plugins, with one plugin hot-swapped every few seconds and hostile
//! plugins in the mix. Reports failed scrapes, latency p50/p99 and RSS at
//! the start and the end. Loopback only; bounded by `--duration`.
//!
//! ```sh
//! cargo xtask soak                       # 60 s, 50 plugins, 20 scrapes/s
//! cargo xtask soak -- --duration 1800    # the 30-minute run
//! ```
//!
//! Options (after `--`): `--duration SECS` (60), `--plugins N` (50),
//! `--rate SCRAPES_PER_SEC` (20), `--swap-every SECS` (3), and
//! `--warm-slots N` and `--keep-resident-bytes N` (the host's
//! `--plugins.warm-slots` and `--plugins.keep-resident-bytes`, its
//! defaults unless given), `--attacks 1` to add the adversarial plugins of the integration tests
//! (`wide_output`, `alias_output`, `host_flood`), the long form of those
//! tests: every well-behaved plugin must stay up throughout.
//! Target for 30 minutes, 50 plugins, 20 scrapes/s: zero failed scrapes,
//! RSS drift under 5% after the warm-up (the first minute, or the first
//! tenth of a longer run).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{client, install, memory, percentile, plugin, start_host};

/// The least time before the first RSS sample of the drift.
const WARM_UP: Duration = Duration::from_secs(60);

struct Options {
    duration: Duration,
    plugins: usize,
    rate: f64,
    swap_every: Duration,
    attacks: bool,
    warm_slots: Option<String>,
    keep_resident_bytes: Option<String>,
}

fn options() -> Options {
    let mut o = Options {
        duration: Duration::from_secs(60),
        plugins: 50,
        rate: 20.0,
        swap_every: Duration::from_secs(3),
        attacks: false,
        warm_slots: None,
        keep_resident_bytes: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).expect("option needs a value").clone();
        match args[i].as_str() {
            "--duration" => o.duration = Duration::from_secs(value().parse().expect("seconds")),
            "--plugins" => o.plugins = value().parse().expect("a count"),
            "--rate" => o.rate = value().parse().expect("scrapes per second"),
            "--swap-every" => o.swap_every = Duration::from_secs(value().parse().expect("seconds")),
            "--attacks" => o.attacks = value() != "0",
            "--warm-slots" => o.warm_slots = Some(value()),
            "--keep-resident-bytes" => o.keep_resident_bytes = Some(value()),
            "--bench" => {
                i += 1;
                continue;
            }
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    o
}

fn test_plugin(name: &str) -> std::path::PathBuf {
    plugin("test-plugins", name)
}

fn rss_kib(pid: u32) -> u64 {
    memory(pid).0 / 1024
}

fn main() {
    let o = options();
    let dir = std::env::temp_dir().join(format!("wasm_exporter_soak_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::copy(
        test_plugin("bench_series"),
        dir.join("plugins/bench_series.wasm"),
    )
    .unwrap();
    let mut config = String::from("plugins:\n");
    for i in 0..o.plugins {
        config.push_str(&format!(
            "  - name: load_{i:03}\n    path: plugins/bench_series.wasm\n    config: {{ series: 100, prefix: load_{i:03} }}\n"
        ));
    }
    for hostile in ["loop", "membomb", "panic"] {
        std::fs::copy(
            test_plugin(hostile),
            dir.join(format!("plugins/{hostile}.wasm")),
        )
        .unwrap();
        // Tight budgets, as an operator would give a plugin known to misbehave:
        // each fails fast instead of burning 100 ms of CPU per scrape.
        config.push_str(&format!(
            "  - path: plugins/{hostile}.wasm\n    limits: {{ fuel: 10000000, memory_bytes: 8388608 }}\n"
        ));
    }
    if o.attacks {
        for (name, limits, plugin_config) in [
            ("wide_output", "{}", "{ shape: labels, n: 100000 }"),
            ("alias_output", "{}", "{ n: 100, size: 4194304 }"),
            ("host_flood", "{ fuel: 10000000 }", "{ mode: big_key }"),
        ] {
            std::fs::copy(test_plugin(name), dir.join(format!("plugins/{name}.wasm"))).unwrap();
            config.push_str(&format!(
                "  - path: plugins/{name}.wasm\n    limits: {limits}\n    config: {plugin_config}\n"
            ));
        }
    }
    config.push_str("  - path: plugins/swap.wasm\n");
    let versions = [test_plugin("swap_a"), test_plugin("swap_b")];
    install(&dir.join("plugins"), "swap", &versions[0]);
    std::fs::write(dir.join("config.yml"), config).unwrap();

    let config = dir.join("config.yml");
    let cache = dir.join("cache");
    let mut host_args = vec![
        "--config.file",
        config.to_str().unwrap(),
        "--cache.dir",
        cache.to_str().unwrap(),
    ];
    if let Some(slots) = &o.warm_slots {
        host_args.extend(["--plugins.warm-slots", slots.as_str()]);
    }
    if let Some(bytes) = &o.keep_resident_bytes {
        host_args.extend(["--plugins.keep-resident-bytes", bytes.as_str()]);
    }
    let host = start_host(&host_args);
    let pid = host.pid();
    let url = host.url("/metrics");
    let expected_up = o.plugins + 1;

    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let first_failure = Arc::new(Mutex::new(None::<String>));
    // Scrapers share one schedule: scrape k starts at k / rate.
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let scrapers: Vec<_> = (0..8)
        .map(|_| {
            let (url, stop, failed, latencies, next, first_failure) = (
                url.clone(),
                stop.clone(),
                failed.clone(),
                latencies.clone(),
                next.clone(),
                first_failure.clone(),
            );
            let rate = o.rate;
            std::thread::spawn(move || {
                let client = client();
                while !stop.load(Ordering::Relaxed) {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let due = started + Duration::from_secs_f64(k as f64 / rate);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let t = Instant::now();
                    let problem = match client.get(&url).send() {
                        Err(e) => Some(format!("request failed: {e}")),
                        Ok(r) if r.status() != 200 => Some(format!("status {}", r.status())),
                        Ok(r) => {
                            let body = r.text().unwrap_or_default();
                            let up = body
                                .lines()
                                .filter(|l| {
                                    l.starts_with("wasm_exporter_plugin_up{") && l.ends_with(" 1")
                                })
                                .count();
                            (up != expected_up)
                                .then(|| format!("{up} plugins up, expected {expected_up}"))
                        }
                    };
                    latencies.lock().unwrap().push(t.elapsed());
                    if let Some(p) = problem {
                        failed.fetch_add(1, Ordering::Relaxed);
                        first_failure.lock().unwrap().get_or_insert(p);
                    }
                }
            })
        })
        .collect();

    // Warm up before the first RSS sample: the instance pool keeps the
    // memory of recently used slots resident, and that set grows while
    // each plugin, version and concurrent scrape takes its own slot; with
    // 50 plugins at 20 scrapes/s most of it came in the first minute, the
    // rest over the next few (the README's soak runs). Drift is measured
    // after that minute (or the first tenth of a longer run); the RSS
    // trace printed at the end shows the whole.
    let warmup = WARM_UP.max(o.duration / 10);
    std::thread::sleep(warmup);
    let rss_start = rss_kib(pid);
    let mut swaps = 0;
    let mut last_swap = Instant::now();
    // RSS at every tenth of the run, to tell a plateau from a leak.
    let mut samples = vec![(started.elapsed(), rss_start)];
    let sample_every = o.duration / 10;
    while started.elapsed() < o.duration {
        std::thread::sleep(Duration::from_millis(100));
        if started.elapsed() >= samples.last().unwrap().0 + sample_every {
            samples.push((started.elapsed(), rss_kib(pid)));
        }
        if last_swap.elapsed() >= o.swap_every {
            swaps += 1;
            install(&dir.join("plugins"), "swap", &versions[swaps % 2]);
            last_swap = Instant::now();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for s in scrapers {
        s.join().unwrap();
    }
    let rss_end = rss_kib(pid);
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);

    let mut l = latencies.lock().unwrap().clone();
    l.sort();
    let pct = |p: f64| percentile(&l, p).as_secs_f64() * 1e3;
    let drift = (rss_end as f64 - rss_start as f64) / rss_start as f64 * 100.0;
    let failed = failed.load(Ordering::Relaxed);
    println!(
        "soak: {} s, {} load plugins x 100 series + {} hostile + 1 swapped every {} s ({swaps} swaps), {} scrapes/s",
        o.duration.as_secs(),
        o.plugins,
        if o.attacks { 6 } else { 3 },
        o.swap_every.as_secs(),
        o.rate
    );
    println!(
        "scrapes {}  failed {failed}  p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        l.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "RSS after {} s warm-up {:.1} MiB, at the end {:.1} MiB, drift {drift:+.1}%   (targets: 0 failed, drift < 5%)",
        warmup.as_secs(),
        rss_start as f64 / 1024.0,
        rss_end as f64 / 1024.0
    );
    let trace: Vec<String> = samples
        .iter()
        .map(|(t, kib)| format!("{}s:{:.1}", t.as_secs(), *kib as f64 / 1024.0))
        .collect();
    println!("RSS over the run (MiB): {}", trace.join(" "));
    if let Some(p) = first_failure.lock().unwrap().as_ref() {
        println!("first failure: {p}");
    }
    if failed > 0 {
        std::process::exit(1);
    }
}
