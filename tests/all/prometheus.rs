//! Against the real thing: a Prometheus server (Debian's `prometheus`
//! package, which `cargo xtask test` installs) scrapes the host in both
//! exposition formats, through hostile plugins and a hot swap, and
//! `promtool check metrics` lints the host's output.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Host, TempDir, client, example_plugin, test_plugin};

/// The example plugins, whose output must lint clean.
const EXAMPLES: [&str; 3] = ["demo_queue", "demo_latency", "demo_config"];
/// Scrape job getting the negotiated format (OpenMetrics, with 2.42).
const NEGOTIATED: &str = "negotiated";
/// Scrape job asking for the text format with `?format=text`.
const TEXT: &str = "text";
/// Labels Prometheus adds to every scraped series.
const TARGET_LABELS: [&str; 2] = ["job", "instance"];

/// A series as Prometheus stores it: `__name__` and the other labels.
type Series = BTreeMap<String, String>;

/// `name` from Debian's package (`/usr/bin`), else from `PATH`.
pub(crate) fn prometheus_binary(name: &str) -> PathBuf {
    let usr_bin = Path::new("/usr/bin").join(name);
    if usr_bin.is_file() {
        return usr_bin;
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is neither at {} nor on PATH: run `cargo xtask test`, which installs \
                 Debian's prometheus package, or `apt-get install prometheus`",
                usr_bin.display()
            )
        })
}

/// A Prometheus server on a free loopback port, with its own configuration
/// and TSDB in a temporary directory; killed on drop.
pub(crate) struct Prometheus {
    child: Child,
    url: String,
    log: PathBuf,
    /// Removed after the server is killed (fields drop after `drop`).
    _dir: TempDir,
}

impl Prometheus {
    /// Starts Prometheus with a 1 s scrape interval and timeout and these
    /// `scrape_configs` entries (YAML, indented as list items), and waits
    /// until it is ready.
    pub(crate) fn start(scrape_configs: &str) -> Prometheus {
        let dir = TempDir::new("prometheus");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n{scrape_configs}"
            ),
        )
        .unwrap();
        let log = dir.path().join("prometheus.log");
        // The port is free when chosen, but another process may take it
        // before Prometheus binds it: such a start is tried again.
        for attempt in 1..=3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .unwrap()
                .port();
            let address = format!("127.0.0.1:{port}");
            let mut child = Command::new(prometheus_binary("prometheus"))
                .arg("--config.file")
                .arg(&config)
                .arg("--storage.tsdb.path")
                .arg(dir.path().join(format!("data{attempt}")))
                .args(["--web.listen-address", &address])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("starting prometheus");
            let url = format!("http://{address}");
            match wait_ready(&mut child, &url) {
                Ok(()) => {
                    return Prometheus {
                        child,
                        url,
                        log,
                        _dir: dir,
                    };
                }
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    if attempt < 3 && text.contains("address already in use") {
                        continue;
                    }
                    panic!("prometheus {why}; its log:\n{text}");
                }
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// Its log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET an API path with query parameters; the `data` of a successful
    /// answer.
    pub(crate) fn api(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        let response = client()
            .get(format!("{}{path}", self.url))
            .query(params)
            .timeout(Duration::from_secs(5))
            .send()
            .map_err(|e| format!("GET {path}: {e}"))?;
        let text = response
            .text()
            .map_err(|e| format!("GET {path}: reading the body: {e}"))?;
        let body: Value = serde_json::from_str(&text)
            .map_err(|e| format!("GET {path}: not JSON: {e}: {text}"))?;
        if body["status"] != "success" {
            return Err(format!("GET {path} {params:?}: {body}"));
        }
        Ok(body["data"].clone())
    }

    /// An instant query's vector: each series' labels (with `__name__`)
    /// and value.
    pub(crate) fn query(&self, promql: &str) -> Result<Vec<(Series, f64)>, String> {
        let data = self.api("/api/v1/query", &[("query", promql)])?;
        if data["resultType"] != "vector" {
            return Err(format!("{promql}: not a vector: {data}"));
        }
        let mut samples = Vec::new();
        for item in data["result"].as_array().into_iter().flatten() {
            let labels = item["metric"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect();
            let value = item["value"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{promql}: bad value in {item}"))?;
            samples.push((labels, value));
        }
        Ok(samples)
    }

    /// An instant query's value per job.
    pub(crate) fn by_job(&self, promql: &str) -> Result<BTreeMap<String, f64>, String> {
        Ok(self
            .query(promql)?
            .into_iter()
            .map(|(labels, value)| (labels.get("job").cloned().unwrap_or_default(), value))
            .collect())
    }

    /// Polls `check` every 100 ms until it returns `Ok` or `timeout`
    /// passes; then panics with its last error and the server's log.
    pub(crate) fn eventually<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut() -> Result<T, String>,
    ) -> T {
        let start = Instant::now();
        loop {
            match check() {
                Ok(value) => return value,
                Err(error) if start.elapsed() > timeout => panic!(
                    "{what}: not within {timeout:?}: {error}\n--- prometheus log:\n{}",
                    self.log()
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

/// Polls `/-/ready` until it answers 200, for up to 30 s.
fn wait_ready(child: &mut Child, url: &str) -> Result<(), String> {
    let start = Instant::now();
    let client = client();
    while start.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited ({status})"));
        }
        if client
            .get(format!("{url}/-/ready"))
            .timeout(Duration::from_secs(2))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("was not ready within 30 s".to_owned())
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The scrape configuration of the two jobs against one host.
fn scrape_configs(target: &str) -> String {
    [
        format!("  - job_name: {NEGOTIATED}"),
        format!("    static_configs: [{{targets: ['{target}']}}]"),
        format!("  - job_name: {TEXT}"),
        "    params: {format: [text]}".to_owned(),
        format!("    static_configs: [{{targets: ['{target}']}}]"),
    ]
    .join("\n")
        + "\n"
}

/// The series of one of the host's text-format sample lines (`name{l="v"}`).
fn parse_series(series: &str) -> Series {
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, rest.strip_suffix('}').expect("closing brace")),
        None => (series, ""),
    };
    let mut parsed = Series::from([("__name__".to_owned(), name.to_owned())]);
    let mut chars = labels.chars();
    loop {
        let label: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let label = label.trim_start_matches(',');
        if label.is_empty() {
            return parsed;
        }
        assert_eq!(chars.next(), Some('"'), "quoted value in {series}");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(escaped) => value.push(escaped),
                    None => panic!("dangling escape in {series}"),
                },
                c => value.push(c),
            }
        }
        parsed.insert(label.to_owned(), value);
    }
}

/// The series Prometheus holds for `job` now, without the target labels
/// and without the ones Prometheus makes itself (`up`, `scrape_*`).
fn job_series(prometheus: &Prometheus, job: &str) -> Result<BTreeSet<Series>, String> {
    Ok(prometheus
        .query(&format!("{{job=\"{job}\"}}"))?
        .into_iter()
        .map(|(mut labels, _)| {
            for label in TARGET_LABELS {
                labels.remove(label);
            }
            labels
        })
        .filter(|labels| {
            let name = &labels["__name__"];
            name != "up" && !name.starts_with("scrape_")
        })
        .collect())
}

/// Fails unless `values` has exactly `want` for both jobs.
fn both_jobs(what: &str, values: &BTreeMap<String, f64>, want: f64) -> Result<(), String> {
    for job in [NEGOTIATED, TEXT] {
        if values.get(job) != Some(&want) {
            return Err(format!(
                "{what}: want {want} for job {job}, have {values:?}"
            ));
        }
    }
    Ok(())
}

/// Replaces `name.wasm` in `dir` atomically (write elsewhere, rename in).
fn install(dir: &Path, name: &str, plugin: &Path) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::copy(plugin, &tmp).unwrap();
    std::fs::rename(&tmp, dir.join(format!("{name}.wasm"))).unwrap();
}

#[test]
fn a_real_prometheus_scrapes_both_formats_through_failures_and_hot_swaps() {
    let started = Instant::now();
    let dir = TempDir::new("prometheus_e2e");
    for name in EXAMPLES {
        dir.add(name, &example_plugin(name));
    }
    // Hostile plugins: one returns an error, one spins until stopped.
    dir.add("error", &test_plugin("error"));
    dir.add("loop", &test_plugin("loop"));
    // Fuel for about a millisecond of guest work (the example plugins use
    // under 50,000): the spin always runs out of fuel, never into the
    // 0.5 s deadline a 1 s scrape timeout leaves, however slow the machine.
    let host = Host::start(
        dir,
        &["--watch.debounce", "20ms", "--plugin.fuel", "10000000"],
    );
    let prometheus = Prometheus::start(&scrape_configs(&host.address));
    let soon = Duration::from_secs(10);

    // Prometheus hands discovered targets to its scrapers every 5 s, so
    // the first scrape comes a few seconds after the start.
    prometheus.eventually(
        "both targets scraped and up",
        Duration::from_secs(30),
        || {
            let data = prometheus.api("/api/v1/targets", &[("state", "active")])?;
            let targets = data["activeTargets"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for (job, path) in [(NEGOTIATED, "/metrics"), (TEXT, "/metrics?format=text")] {
                let target = targets
                    .iter()
                    .find(|t| t["labels"]["job"] == job)
                    .ok_or_else(|| format!("no target for job {job}: {data}"))?;
                let url = format!("http://{}{path}", host.address);
                if target["health"] != "up"
                    || target["lastError"] != ""
                    || target["scrapeUrl"] != url
                {
                    return Err(format!("job {job}, want up at {url}: {target}"));
                }
            }
            Ok(())
        },
    );

    // `up` is 1 for both jobs, and each plugin's health is ingested: the
    // failing plugins are down, the others up.
    let want_up = BTreeMap::from([
        ("demo_config", 1.0),
        ("demo_latency", 1.0),
        ("demo_queue", 1.0),
        ("error", 0.0),
        ("loop", 0.0),
    ]);
    prometheus.eventually("every plugin's health in both jobs", soon, || {
        both_jobs("up", &prometheus.by_job("up")?, 1.0)?;
        for job in [NEGOTIATED, TEXT] {
            let have: BTreeMap<String, f64> = prometheus
                .query(&format!("wasm_exporter_plugin_up{{job=\"{job}\"}}"))?
                .into_iter()
                .map(|(labels, value)| (labels["plugin"].clone(), value))
                .collect();
            let want: BTreeMap<String, f64> =
                want_up.iter().map(|(k, v)| (k.to_string(), *v)).collect();
            if have != want {
                return Err(format!("job {job}: plugin up {have:?}, want {want:?}"));
            }
        }
        Ok(())
    });
    for (what, promql) in [
        (
            "the error plugin's failures",
            "wasm_exporter_plugin_failures_total{plugin=\"error\",reason=\"error\"} > 0",
        ),
        (
            "the loop plugin's failures",
            "wasm_exporter_plugin_failures_total{plugin=\"loop\",reason=\"fuel\"} > 0",
        ),
        (
            "the example plugins' series",
            "count by (job) ({__name__=~\"demo_(queue|latency|config)_.+\"}) > 0",
        ),
    ] {
        prometheus.eventually(what, soon, || {
            let counts = prometheus.by_job(promql)?;
            if counts.len() == 2 {
                Ok(())
            } else {
                Err(format!("{promql}: {counts:?}"))
            }
        });
    }
    // The families of the health series and of each example plugin, by
    // name, in both jobs.
    for name in [
        "wasm_exporter_plugin_up",
        "wasm_exporter_plugin_failures_total",
        "wasm_exporter_plugin_scrape_duration_seconds",
        "wasm_exporter_plugin_series",
        "wasm_exporter_plugin_info",
        "wasm_exporter_build_info",
        "demo_queue_depth",
        "demo_queue_jobs_processed_total",
        "demo_queue_build_info",
        "demo_latency_http_request_duration_seconds_bucket",
        "demo_latency_db_query_duration_seconds_count",
        "demo_config_mode",
    ] {
        let counts = prometheus
            .by_job(&format!("count by (job) ({name})"))
            .unwrap();
        assert_eq!(counts.len(), 2, "{name} in both jobs: {counts:?}");
    }

    // Every series the host serves is in Prometheus, in both jobs, and the
    // two formats give the very same series.
    let served: BTreeSet<Series> = host
        .scrape()
        .samples
        .keys()
        .map(|s| parse_series(s))
        .collect();
    prometheus.eventually("every served series in both jobs", soon, || {
        let negotiated = job_series(&prometheus, NEGOTIATED)?;
        let text = job_series(&prometheus, TEXT)?;
        for (job, stored) in [(NEGOTIATED, &negotiated), (TEXT, &text)] {
            let missing: Vec<_> = served.difference(stored).collect();
            if !missing.is_empty() {
                return Err(format!("job {job} lacks {missing:?}"));
            }
        }
        if negotiated != text {
            let only: Vec<_> = negotiated.symmetric_difference(&text).collect();
            return Err(format!("the formats differ in {only:?}"));
        }
        Ok(())
    });

    // The plain job was served OpenMetrics (its families have OpenMetrics
    // types and names, `info` and `stateset`), the other the text format.
    let metadata_type = |job: &str, metric: &str| -> Result<String, String> {
        let data = prometheus.api(
            "/api/v1/targets/metadata",
            &[
                ("match_target", &format!("{{job=\"{job}\"}}")),
                ("metric", metric),
            ],
        )?;
        data[0]["type"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no metadata for {metric} in job {job}: {data}"))
    };
    for (job, metric, want) in [
        (NEGOTIATED, "wasm_exporter_build", "info"),
        (NEGOTIATED, "demo_config_mode", "stateset"),
        (NEGOTIATED, "wasm_exporter_plugin_failures", "counter"),
        (TEXT, "wasm_exporter_build_info", "gauge"),
        (TEXT, "demo_config_mode", "gauge"),
        (TEXT, "wasm_exporter_plugin_failures_total", "counter"),
    ] {
        prometheus.eventually(&format!("{metric}'s type in job {job}"), soon, || {
            match metadata_type(job, metric)? {
                have if have == want => Ok(()),
                have => Err(format!("type {have}, want {want}")),
            }
        });
    }

    // Hot swap: a new plugin appears, a new version replaces it (the old
    // version's series go stale at once), a removed one goes stale.
    let swap_versions = || -> Result<BTreeSet<(String, String)>, String> {
        Ok(prometheus
            .query("swap_version")?
            .into_iter()
            .map(|(labels, _)| (labels["job"].clone(), labels["version"].clone()))
            .collect())
    };
    for (plugin, version) in [("swap_a", "a"), ("swap_b", "b")] {
        install(host.dir(), "swap", &test_plugin(plugin));
        prometheus.eventually(&format!("version {version} alone"), soon, || {
            let have = swap_versions()?;
            let want = BTreeSet::from([
                (NEGOTIATED.to_owned(), version.to_owned()),
                (TEXT.to_owned(), version.to_owned()),
            ]);
            if have != want {
                return Err(format!("swap_version: {have:?}, want {want:?}"));
            }
            both_jobs(
                "swap_series",
                &prometheus.by_job(&format!(
                    "count by (job) (swap_series{{version=\"{version}\"}})"
                ))?,
                50.0,
            )?;
            both_jobs(
                "swap is up",
                &prometheus.by_job("wasm_exporter_plugin_up{plugin=\"swap\"}")?,
                1.0,
            )
        });
    }
    let removed = Instant::now();
    std::fs::remove_file(host.dir().join("swap.wasm")).unwrap();
    prometheus.eventually("swap's series stale", soon, || {
        for promql in [
            "swap_version",
            "{__name__=~\"swap_.+\"}",
            "{plugin=\"swap\"}",
        ] {
            let left = prometheus.query(promql)?;
            if !left.is_empty() {
                return Err(format!("{promql}: still {left:?}"));
            }
        }
        Ok(())
    });
    let stale_after = removed.elapsed();

    // Through all of it, no scrape failed or ran out of time, and the
    // hostile plugins never took an example plugin down.
    let window = format!("{}s", started.elapsed().as_secs() + 5);
    for (what, promql, want) in [
        ("up never 0", format!("min_over_time(up[{window}])"), 1.0),
        (
            "scrapes within the timeout",
            format!("max_over_time(scrape_duration_seconds[{window}]) < bool 1"),
            1.0,
        ),
        (
            "example plugins never down",
            format!(
                "min by (job) (min_over_time(wasm_exporter_plugin_up{{plugin=~\"demo_.+\"}}[{window}]))"
            ),
            1.0,
        ),
    ] {
        both_jobs(what, &prometheus.by_job(&promql).unwrap(), want).unwrap();
    }
    eprintln!(
        "prometheus end to end: {:.1} s in all, swap's series stale {:.1} s after removal",
        started.elapsed().as_secs_f64(),
        stale_after.as_secs_f64()
    );
}

#[test]
fn promtool_check_metrics_finds_nothing_in_the_text_output() {
    let dir = TempDir::new("promtool");
    for name in EXAMPLES {
        dir.add(name, &example_plugin(name));
    }
    let host = Host::start(dir, &[]);
    let page = host.get_ok("/metrics?format=text");
    for name in EXAMPLES {
        assert!(
            page.contains(&format!("wasm_exporter_plugin_up{{plugin=\"{name}\"}} 1")),
            "{name} is up:\n{page}"
        );
    }

    let mut promtool = Command::new(prometheus_binary("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting promtool");
    let mut stdin = promtool.stdin.take().unwrap();
    let input = page.clone();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = promtool.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.is_empty(),
        "`promtool check metrics` ({}) reports:\n{report}\n--- on the exposition:\n{page}",
        out.status
    );
}
