//! Hot swap: plugins added, replaced and removed while scrapes run; broken
//! files never replace a working version.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::{Exposition, Host, TempDir, example_plugin, test_plugin};

/// Replaces `name.wasm` in `dir` atomically (write elsewhere, rename in).
fn install(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, dir.join(format!("{name}.wasm"))).unwrap();
}

/// The version `swap` serves, checking the page holds exactly one
/// version's output: `swap_version` once and 50 `swap_series` of it.
fn served_version(page: &Exposition) -> Option<String> {
    let versions: Vec<&str> = page.lines_of("swap_version{");
    if versions.is_empty() {
        return None;
    }
    assert_eq!(versions.len(), 1, "one version at a time: {versions:?}");
    let v = versions[0]
        .split('"')
        .nth(1)
        .expect("version label")
        .to_owned();
    let series = page.lines_of("swap_series{");
    assert_eq!(series.len(), 50, "all of one version's series");
    assert!(
        series
            .iter()
            .all(|l| l.contains(&format!("version=\"{v}\""))),
        "never a mix of versions in one scrape"
    );
    Some(v)
}

fn wait_for_version(host: &Host, want: &str) -> Duration {
    let start = Instant::now();
    loop {
        if served_version(&host.scrape()).as_deref() == Some(want) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "version {want} never served"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn swapping_200_times_under_load_loses_no_scrape() {
    let a = std::fs::read(test_plugin("swap_a")).unwrap();
    let b = std::fs::read(test_plugin("swap_b")).unwrap();
    let dir = TempDir::new("swap");
    install(dir.path(), "swap", &a);
    dir.add("demo_queue", &example_plugin("demo_queue"));
    let host = Arc::new(Host::start(dir, &["--watch.debounce", "20ms"]));
    wait_for_version(&host, "a");

    let stop = Arc::new(AtomicBool::new(false));
    let scrapes = Arc::new(AtomicUsize::new(0));
    let scrapers: Vec<_> = (0..4)
        .map(|_| {
            let (host, stop, scrapes) = (host.clone(), stop.clone(), scrapes.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let r = host.get_with("/metrics?format=text", &[]);
                    assert_eq!(r.status, 200, "no failed scrape");
                    let page = Exposition::parse(&r.body);
                    assert_eq!(page.up("swap"), Some(1.0), "swap is up in every scrape");
                    assert_eq!(page.up("demo_queue"), Some(1.0));
                    assert!(
                        served_version(&page).is_some(),
                        "swap's series in every scrape"
                    );
                    scrapes.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    for i in 0..200 {
        let (bytes, version) = if i % 2 == 0 { (&b, "b") } else { (&a, "a") };
        install(host.dir(), "swap", bytes);
        wait_for_version(&host, version);
    }
    stop.store(true, Ordering::Relaxed);
    for s in scrapers {
        s.join().expect("a scraper saw a failed or mixed scrape");
    }
    assert!(scrapes.load(Ordering::Relaxed) > 200);
    let page = host.scrape();
    assert_eq!(
        page.value("wasm_exporter_plugin_reloads_total{plugin=\"swap\",result=\"success\"}"),
        Some(201.0),
        "initial load plus 200 swaps"
    );
    assert_eq!(
        page.value("wasm_exporter_plugin_reloads_total{plugin=\"swap\",result=\"failure\"}"),
        Some(0.0)
    );
}

#[test]
fn broken_replacements_never_replace_a_working_version() {
    let a = std::fs::read(test_plugin("swap_a")).unwrap();
    let dir = TempDir::new("broken_swap");
    install(dir.path(), "swap", &a);
    let host = Host::start(dir, &["--watch.debounce", "20ms"]);
    wait_for_version(&host, "a");

    let broken: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", a[..a.len() / 2].to_vec(), "invalid component"),
        (
            "not wasm",
            b"GIF89a not a plugin".to_vec(),
            "not a WebAssembly file",
        ),
        (
            "wrong WIT version",
            std::fs::read(test_plugin("wrong_version")).unwrap(),
            "WIT version 0.2.0",
        ),
        (
            "traps in the smoke test",
            std::fs::read(test_plugin("panic")).unwrap(),
            "smoke test",
        ),
        (
            "other world",
            std::fs::read(test_plugin("other_world")).unwrap(),
            "not a collector plugin",
        ),
    ];
    for (i, (case, bytes, reason)) in broken.iter().enumerate() {
        install(host.dir(), "swap", bytes);
        // The failure is counted once the file has settled.
        let start = Instant::now();
        loop {
            let page = host.scrape();
            assert_eq!(
                served_version(&page).as_deref(),
                Some("a"),
                "{case}: a keeps serving"
            );
            assert_eq!(page.up("swap"), Some(1.0), "{case}");
            let failures = page
                .value("wasm_exporter_plugin_reloads_total{plugin=\"swap\",result=\"failure\"}")
                .unwrap();
            if failures == (i + 1) as f64 {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{case}: failure never counted"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        host.wait_for_log(&["previous version keeps serving", reason]);
        assert!(host.get_ok("/").contains("newer file not loaded"), "{case}");
    }
    // A good file after all that is taken.
    install(
        host.dir(),
        "swap",
        &std::fs::read(test_plugin("swap_b")).unwrap(),
    );
    wait_for_version(&host, "b");
    assert!(!host.get_ok("/").contains("newer file not loaded"));
}

#[test]
fn added_and_removed_files_come_and_go() {
    let dir = TempDir::new("add_remove");
    dir.add("demo_queue", &example_plugin("demo_queue"));
    let host = Host::start(dir, &["--watch.debounce", "20ms"]);
    assert_eq!(host.scrape().up("swap"), None);
    install(
        host.dir(),
        "swap",
        &std::fs::read(test_plugin("swap_a")).unwrap(),
    );
    wait_for_version(&host, "a");
    assert_eq!(host.scrape().up("swap"), Some(1.0));

    std::fs::remove_file(host.dir().join("swap.wasm")).unwrap();
    let start = Instant::now();
    loop {
        let page = host.scrape();
        if page.up("swap").is_none() {
            assert!(page.lines_of("swap_").is_empty(), "its series are gone");
            assert!(
                !page.text.contains("plugin=\"swap\""),
                "its health series are gone too"
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "removal never seen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    host.wait_for_log(&["plugin removed", "plugin=swap"]);
    assert_eq!(host.scrape().up("demo_queue"), Some(1.0));
}

#[test]
fn a_slowly_written_file_is_never_loaded_half_written() {
    let a = std::fs::read(test_plugin("swap_a")).unwrap();
    let b = std::fs::read(test_plugin("swap_b")).unwrap();
    let dir = TempDir::new("slow_write");
    install(dir.path(), "swap", &a);
    // A settle time far beyond the pause below, so that the half-written
    // file is never counted as a failure however slow the machine.
    let host = Host::start(dir, &["--watch.debounce", "20ms", "--watch.settle", "60s"]);
    wait_for_version(&host, "a");

    // Written in place, in two halves with a pause between them.
    use std::io::Write as _;
    let mut file = std::fs::File::create(host.dir().join("swap.wasm")).unwrap();
    file.write_all(&b[..b.len() / 2]).unwrap();
    file.flush().unwrap();
    let pause = Instant::now();
    while pause.elapsed() < Duration::from_millis(500) {
        let page = host.scrape();
        assert_eq!(
            served_version(&page).as_deref(),
            Some("a"),
            "a serves while b is written"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    file.write_all(&b[b.len() / 2..]).unwrap();
    drop(file);
    wait_for_version(&host, "b");
    let page = host.scrape();
    assert_eq!(
        page.value("wasm_exporter_plugin_reloads_total{plugin=\"swap\",result=\"failure\"}"),
        Some(0.0),
        "the half-written file was not counted as a failure"
    );
}
