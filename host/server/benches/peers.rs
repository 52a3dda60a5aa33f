//! The peer benchmark: the same synthetic load served by three exporters,
//! scraped by the same client, interleaved, in one run.
//!
//! - `wasm_exporter`: the release binary serving only the `peer_load` test
//!   plugin;
//! - `client_golang`: `tests/peers/go/main.go`, const metrics built on every
//!   scrape by a custom collector;
//! - `prometheus_client`: `tests/peers/python/exporter.py`, a custom
//!   collector yielding fresh `GaugeMetricFamily` objects.
//!
//! Each serves 10 gauge families × 1,000 series × 2 labels. Run it with
//! `cargo xtask bench-peers`, which installs and builds what it needs; it is
//! not part of `cargo xtask bench` or of the tests. The driver starts the
//! three processes on loopback ports (wasm_exporter after a first start
//! that fills its compile cache, so it runs as after any restart), waits
//! until each answers, warms up, then measures, in order:
//!
//! 1. latency: [`ROUNDS`] rounds of [`PER_ROUND`] sequential scrapes of each
//!    exporter, interleaved (a, b, c, a, b, c, ...; each round starts with
//!    the next exporter), with one keep-alive client asking for the text
//!    format 0.0.4 without compression; the time is from sending the
//!    request to the last byte of the body (prometheus_client answers in
//!    HTTP/1.0 and closes the connection, so its times include a loopback
//!    connect);
//! 2. throughput: [`THREADS`] client threads scraping one exporter as fast
//!    as they can for [`THROUGHPUT_TIME`], counting completed scrapes;
//! 3. memory: `VmRSS` (and the peak, `VmHWM`) of each process after all
//!    the scrapes.
//!
//! Every response must be a 200 holding exactly the load's 10,000 sample
//! lines (fully parsed and compared in the latency phase, counted in the
//! throughput phase), so a broken exporter cannot look fast. The results
//! are printed and written as markdown to `target/peers/report.md`.

mod common;

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::blocking::Client;

use common::{HostProcess, die_with_parent, memory, percentile};

/// Families of the load (`peer_load_<f>`).
const FAMILIES: usize = 10;
/// Series per family.
const SERIES: usize = 1000;
/// The exposition format every exporter is asked for.
const ACCEPT: &str = "text/plain;version=0.0.4";

/// Scrapes of each exporter before measuring.
const WARMUP: usize = 10;
/// Latency rounds; in each, every exporter is scraped [`PER_ROUND`] times.
const ROUNDS: usize = 50;
/// Scrapes of each exporter per round.
const PER_ROUND: usize = 10;
/// Concurrent clients of the throughput phase.
const THREADS: usize = 4;
/// Length of the throughput phase, per exporter.
const THROUGHPUT_TIME: Duration = Duration::from_secs(3);
/// How long an exporter may take to answer its first scrape.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Client timeout of one scrape.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

/// The targets: wasm_exporter's p50 at most this fraction of Go's ...
const TARGET_P50_VS_GO: f64 = 0.5;
/// ... and of Python's; its RSS at most Go's.
const TARGET_P50_VS_PYTHON: f64 = 0.15;

fn main() {
    let paths = Paths::locate();
    fs::create_dir_all(&paths.out).expect("create target/peers");

    let client = Client::builder()
        .no_gzip()
        .timeout(SCRAPE_TIMEOUT)
        .build()
        .expect("HTTP client");

    // A first start of wasm_exporter compiles the plugin and fills the
    // compile cache; measure the instance of any later start, which loads
    // it from there (and does not hold the compiler's memory).
    Exporter::start_wasm(&paths).wait_ready(&client);
    let mut exporters = vec![
        Exporter::start_wasm(&paths),
        Exporter::start_go(&paths),
        Exporter::start_python(&paths),
    ];
    for exporter in &mut exporters {
        exporter.wait_ready(&client);
    }
    let started = Instant::now();

    eprintln!("warm-up: {WARMUP} scrapes each");
    for _ in 0..WARMUP {
        for exporter in &exporters {
            let body = scrape(&client, &exporter.url);
            check_load(&body).unwrap_or_else(|e| panic!("{}: {e}", exporter.name));
        }
    }

    eprintln!(
        "latency: {ROUNDS} rounds x {PER_ROUND} scrapes each, interleaved, {} scrapes in all",
        ROUNDS * PER_ROUND * exporters.len()
    );
    let mut latencies = vec![Vec::with_capacity(ROUNDS * PER_ROUND); exporters.len()];
    let mut body_bytes = vec![0; exporters.len()];
    for round in 0..ROUNDS {
        for _ in 0..PER_ROUND {
            for j in 0..exporters.len() {
                let which = (round + j) % exporters.len();
                let exporter = &exporters[which];
                let start = Instant::now();
                let body = scrape(&client, &exporter.url);
                latencies[which].push(start.elapsed());
                check_load(&body).unwrap_or_else(|e| panic!("{}: {e}", exporter.name));
                body_bytes[which] = body.len();
            }
        }
    }

    let mut throughputs = Vec::new();
    for exporter in &exporters {
        eprintln!(
            "throughput: {}, {THREADS} clients for {:?}",
            exporter.name, THROUGHPUT_TIME
        );
        throughputs.push(throughput(&client, exporter));
    }

    let results: Vec<Measured> = exporters
        .iter()
        .zip(&mut latencies)
        .zip(throughputs)
        .zip(body_bytes)
        .map(
            |(((exporter, latencies), scrapes_per_second), body_bytes)| {
                latencies.sort();
                let (rss, peak) = exporter.memory();
                Measured {
                    name: exporter.name,
                    p50: percentile(latencies, 0.50),
                    p99: percentile(latencies, 0.99),
                    scrapes_per_second,
                    rss,
                    peak,
                    body_bytes,
                }
            },
        )
        .collect();
    let elapsed = started.elapsed();
    drop(exporters);

    let report = report(&results, elapsed);
    println!("\n{report}");
    let path = paths.out.join("report.md");
    fs::write(&path, &report).expect("write the report");
    eprintln!("written to {}", path.display());
}

/// Where the binaries, scripts and output are.
struct Paths {
    root: PathBuf,
    target: PathBuf,
    out: PathBuf,
}

impl Paths {
    fn locate() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .nth(2)
            .expect("host/server/ is two levels below the workspace root")
            .to_path_buf();
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => root.join(dir),
            _ => root.join("target"),
        };
        let out = target.join("peers");
        Paths { root, target, out }
    }
}

/// One exporter process under test; killed when dropped, also on a panic.
struct Exporter {
    name: &'static str,
    url: String,
    process: Process,
}

/// How an exporter runs: wasm_exporter as every test and benchmark starts
/// it, the peers as plain children logging to a file.
enum Process {
    Host(HostProcess),
    Peer { child: Child, log: PathBuf },
}

impl Exporter {
    fn start_wasm(paths: &Paths) -> Self {
        let binary = paths.target.join("release/wasm_exporter");
        let plugin = paths.target.join("test-plugins/peer_load.wasm");
        require(&binary, "cargo build --release -p wasm_exporter");
        require(&plugin, "cargo xtask plugins");
        // A directory holding only the load plugin.
        let plugins = paths.out.join("plugins");
        let _ = fs::remove_dir_all(&plugins);
        fs::create_dir_all(&plugins).expect("create the plugins dir");
        fs::copy(&plugin, plugins.join("peer_load.wasm")).expect("copy peer_load.wasm");

        let mut command = Command::new(binary);
        command
            .arg("--plugins.dir")
            .arg(&plugins)
            .current_dir(&paths.root);
        eprintln!("starting wasm_exporter");
        let host = HostProcess::start(command);
        Exporter {
            name: "wasm_exporter",
            url: host.url("/metrics"),
            process: Process::Host(host),
        }
    }

    fn start_go(paths: &Paths) -> Self {
        let binary = paths.out.join("go_exporter");
        require(&binary, "cargo xtask bench-peers");
        Self::start_peer(
            "client_golang",
            Command::new(binary),
            "-web.listen-address",
            paths,
        )
    }

    fn start_python(paths: &Paths) -> Self {
        let python = paths.root.join(".venv/bin/python");
        require(&python, "cargo xtask test");
        let mut command = Command::new(python);
        command
            .arg("-u")
            .arg(paths.root.join("tests/peers/python/exporter.py"));
        Self::start_peer("prometheus_client", command, "--web.listen-address", paths)
    }

    /// Starts a peer listening on a free loopback port given with
    /// `listen_flag`, its output going to `target/peers/<name>.log`.
    fn start_peer(
        name: &'static str,
        mut command: Command,
        listen_flag: &str,
        paths: &Paths,
    ) -> Self {
        let address = format!("127.0.0.1:{}", free_port());
        let log = paths.out.join(format!("{name}.log"));
        let out = File::create(&log).expect("create the log file");
        let err = out.try_clone().expect("clone the log file");
        command
            .arg(listen_flag)
            .arg(&address)
            .current_dir(&paths.root)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        die_with_parent(&mut command);
        eprintln!("starting {name} on {address}");
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Exporter {
            name,
            url: format!("http://{address}/metrics"),
            process: Process::Peer { child, log },
        }
    }

    fn pid(&self) -> u32 {
        match &self.process {
            Process::Host(host) => host.pid(),
            Process::Peer { child, .. } => child.id(),
        }
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        match &mut self.process {
            Process::Host(host) => host.exited(),
            Process::Peer { child, .. } => child.try_wait().ok().flatten(),
        }
    }

    /// Polls until the exporter serves the whole load.
    fn wait_ready(&mut self, client: &Client) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.exited() {
                panic!("{} exited at start ({status}):\n{}", self.name, self.log());
            }
            let answer = client
                .get(&self.url)
                .header("Accept", ACCEPT)
                .send()
                .ok()
                .filter(|response| response.status().is_success())
                .and_then(|response| response.bytes().ok());
            if let Some(body) = answer
                && check_load(&body).is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} does not serve the load after {STARTUP_TIMEOUT:?}:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `VmRSS` and `VmHWM` of the process, in bytes.
    fn memory(&self) -> (u64, u64) {
        memory(self.pid())
    }

    fn log(&self) -> String {
        match &self.process {
            Process::Host(host) => host.log().join("\n"),
            Process::Peer { log, .. } => {
                let mut text = String::new();
                let _ = File::open(log).and_then(|mut file| file.read_to_string(&mut text));
                text
            }
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Process::Peer { child, .. } = &mut self.process {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn require(path: &Path, how: &str) {
    assert!(
        path.exists(),
        "{} missing: run `{how}` (or `cargo xtask bench-peers`)",
        path.display()
    );
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// One scrape: the whole body of a 200 response in the text format,
/// uncompressed; panics otherwise.
fn scrape(client: &Client, url: &str) -> bytes::Bytes {
    let response = client
        .get(url)
        .header("Accept", ACCEPT)
        .send()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(response.status(), 200, "GET {url}");
    assert!(
        response.headers().get("content-encoding").is_none(),
        "GET {url}: compressed body"
    );
    response
        .bytes()
        .unwrap_or_else(|e| panic!("GET {url}: body: {e}"))
}

/// Checks that `body` holds exactly the load: one sample line
/// `peer_load_<f>{l0="s<i>",l1="v1"} <i>` for every family `f` and series
/// `i`, in any order; other families are ignored.
fn check_load(body: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("body is not UTF-8: {e}"))?;
    let mut seen = vec![false; FAMILIES * SERIES];
    let mut count = 0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("peer_load_") else {
            continue;
        };
        let bad = || format!("unexpected sample line {line:?}");
        let (family, rest) = rest.split_once("{l0=\"s").ok_or_else(bad)?;
        let (series, rest) = rest.split_once("\",l1=\"v1\"} ").ok_or_else(bad)?;
        let family: usize = family.parse().map_err(|_| bad())?;
        let series: usize = series.parse().map_err(|_| bad())?;
        let value: f64 = rest.parse().map_err(|_| bad())?;
        if family >= FAMILIES || series >= SERIES || value != series as f64 {
            return Err(bad());
        }
        let slot = &mut seen[family * SERIES + series];
        if std::mem::replace(slot, true) {
            return Err(format!("duplicate sample line {line:?}"));
        }
        count += 1;
    }
    if count != FAMILIES * SERIES {
        return Err(format!(
            "{count} sample lines of the load, expected {}",
            FAMILIES * SERIES
        ));
    }
    Ok(())
}

/// The cheap check of the throughput phase: the number of sample lines of
/// the load (the latency phase has checked their contents).
fn count_load_lines(body: &[u8]) -> usize {
    body.split(|&b| b == b'\n')
        .filter(|line| line.starts_with(b"peer_load_"))
        .count()
}

/// Completed scrapes per second with [`THREADS`] concurrent clients.
fn throughput(client: &Client, exporter: &Exporter) -> f64 {
    let completed = AtomicUsize::new(0);
    let start = Instant::now();
    let deadline = start + THROUGHPUT_TIME;
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                while Instant::now() < deadline {
                    let body = scrape(client, &exporter.url);
                    assert_eq!(
                        count_load_lines(&body),
                        FAMILIES * SERIES,
                        "{}: incomplete load",
                        exporter.name
                    );
                    completed.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    // Scrapes started before the deadline finish after it: divide by the
    // time they took.
    completed.into_inner() as f64 / start.elapsed().as_secs_f64()
}

/// The measurements of one exporter.
struct Measured {
    name: &'static str,
    p50: Duration,
    p99: Duration,
    scrapes_per_second: f64,
    rss: u64,
    peak: u64,
    body_bytes: usize,
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The results as markdown: the table, the ratios and the targets.
fn report(results: &[Measured], elapsed: Duration) -> String {
    let [wasm, go, python] = results else {
        unreachable!("three exporters")
    };
    let mut out = String::new();
    let _ = writeln!(out, "# Peer benchmark\n");
    let _ = writeln!(
        out,
        "{} UTC, {} CPUs, Linux {}; {FAMILIES} families x {SERIES} series x 2 labels; \
         {} sequential scrapes per exporter (interleaved), {THREADS} clients for {}s for \
         throughput; measured in {:.0}s.\n",
        utc_now(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim(),
        ROUNDS * PER_ROUND,
        THROUGHPUT_TIME.as_secs(),
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "| exporter | p50 | p99 | scrapes/s | RSS MiB | peak RSS MiB | body KiB |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {:.2} ms | {:.2} ms | {:.1} | {:.1} | {:.1} | {:.0} |",
            r.name,
            ms(r.p50),
            ms(r.p99),
            r.scrapes_per_second,
            mib(r.rss),
            mib(r.peak),
            r.body_bytes as f64 / 1024.0
        );
    }

    let ratio = |a: f64, b: f64| a / b;
    let _ = writeln!(out, "\n| ratio | p50 | p99 | scrapes/s | RSS |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for peer in [go, python] {
        let _ = writeln!(
            out,
            "| {} / {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            wasm.name,
            peer.name,
            ratio(ms(wasm.p50), ms(peer.p50)),
            ratio(ms(wasm.p99), ms(peer.p99)),
            ratio(wasm.scrapes_per_second, peer.scrapes_per_second),
            ratio(wasm.rss as f64, peer.rss as f64)
        );
    }

    let verdict = |met: bool| if met { "met" } else { "missed" };
    let p50_go = ratio(ms(wasm.p50), ms(go.p50));
    let p50_python = ratio(ms(wasm.p50), ms(python.p50));
    let _ = writeln!(out, "\n| target | measured | |");
    let _ = writeln!(out, "|---|---:|---|");
    let _ = writeln!(
        out,
        "| p50 ≤ {TARGET_P50_VS_GO}× {} | {p50_go:.2}× | {} |",
        go.name,
        verdict(p50_go <= TARGET_P50_VS_GO)
    );
    let _ = writeln!(
        out,
        "| p50 ≤ {TARGET_P50_VS_PYTHON}× {} | {p50_python:.2}× | {} |",
        python.name,
        verdict(p50_python <= TARGET_P50_VS_PYTHON)
    );
    let _ = writeln!(
        out,
        "| RSS ≤ {}'s | {:.1} vs {:.1} MiB | {} |",
        go.name,
        mib(wasm.rss),
        mib(go.rss),
        verdict(wasm.rss <= go.rss)
    );
    out
}

/// The current UTC time as `YYYY-MM-DD HH:MM`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60
    )
}
