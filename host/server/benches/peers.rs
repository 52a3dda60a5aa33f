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
//! Each serves gauge families × series × 2 labels, at three sizes
//! ([`LOADS`]: 10 × 1,000, 10 × 100, 1 × 10), each size by fresh processes.
//! Run it with
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
//!    connect). At the largest size, wasm_exporter and client_golang are
//!    also scraped with `Accept-Encoding: gzip`, as Prometheus asks (the
//!    time ends at the last compressed byte; the body is decompressed and
//!    checked after);
//! 2. throughput: [`THREADS`] client threads scraping one exporter as fast
//!    as they can for [`THROUGHPUT_TIME`], counting completed scrapes;
//! 3. memory: `VmRSS` (and the peak, `VmHWM`) of each process after all
//!    the scrapes.
//!
//! Every response must be a 200 holding exactly the load's sample lines
//! (fully parsed and compared in the latency phase, counted in the
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

/// The sizes of the load: families (`peer_load_<f>`) × series per family.
const LOADS: [Load; 3] = [
    Load {
        families: 10,
        series: 1000,
    },
    Load {
        families: 10,
        series: 100,
    },
    Load {
        families: 1,
        series: 10,
    },
];

/// One size of the load.
#[derive(Clone, Copy, Debug)]
struct Load {
    families: usize,
    series: usize,
}

impl Load {
    fn samples(self) -> usize {
        self.families * self.series
    }

    fn is_largest(self) -> bool {
        self.samples() == LOADS[0].samples()
    }
}

impl std::fmt::Display for Load {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}×{}×2", self.families, self.series)
    }
}
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

/// The targets: wasm_exporter's p50 at most this fraction of Go's at the
/// largest size, and [`TARGET_P50_VS_GO_SMALL`] at the others ...
const TARGET_P50_VS_GO: f64 = 0.25;
const TARGET_P50_VS_GO_SMALL: f64 = 0.5;
/// ... at most this fraction of Python's at the largest size ...
const TARGET_P50_VS_PYTHON: f64 = 0.08;
/// ... and its RSS at most this fraction of Go's.
const TARGET_RSS_VS_GO: f64 = 0.8;

fn main() {
    let paths = Paths::locate();
    fs::create_dir_all(&paths.out).expect("create target/peers");

    let client = Client::builder()
        .no_gzip()
        .timeout(SCRAPE_TIMEOUT)
        .build()
        .expect("HTTP client");

    // A first start of wasm_exporter compiles the plugin and fills the
    // compile cache; the measured instances load it from there, as after
    // any restart.
    Exporter::start_wasm(&paths, LOADS[0]).wait_ready(&client);
    let started = Instant::now();
    let mut results = Vec::new();
    for load in LOADS {
        results.extend(measure(&paths, &client, load));
    }
    let elapsed = started.elapsed();

    let report = report(&results, elapsed);
    println!("\n{report}");
    let path = paths.out.join("report.md");
    fs::write(&path, &report).expect("write the report");
    eprintln!("written to {}", path.display());
}

/// One measured row: an exporter, plain or with gzip.
struct Subject {
    exporter: usize,
    gzip: bool,
}

/// Starts the three exporters serving `load` and measures them.
fn measure(paths: &Paths, client: &Client, load: Load) -> Vec<Measured> {
    eprintln!("\n## load {load}");
    let mut exporters = vec![
        Exporter::start_wasm(paths, load),
        Exporter::start_go(paths, load),
        Exporter::start_python(paths, load),
    ];
    for exporter in &mut exporters {
        exporter.wait_ready(client);
    }
    let mut subjects: Vec<Subject> = (0..exporters.len())
        .map(|exporter| Subject {
            exporter,
            gzip: false,
        })
        .collect();
    if load.is_largest() {
        subjects.extend([0, 1].map(|exporter| Subject {
            exporter,
            gzip: true,
        }));
    }

    eprintln!("warm-up: {WARMUP} scrapes each");
    for _ in 0..WARMUP {
        for subject in &subjects {
            let exporter = &exporters[subject.exporter];
            let body = scrape(client, &exporter.url, subject.gzip);
            check_load(&body, load).unwrap_or_else(|e| panic!("{}: {e}", exporter.name));
        }
    }

    eprintln!(
        "latency: {ROUNDS} rounds x {PER_ROUND} scrapes each, interleaved, {} scrapes in all",
        ROUNDS * PER_ROUND * subjects.len()
    );
    let mut latencies = vec![Vec::with_capacity(ROUNDS * PER_ROUND); subjects.len()];
    let mut body_bytes = vec![0; subjects.len()];
    for round in 0..ROUNDS {
        for _ in 0..PER_ROUND {
            for j in 0..subjects.len() {
                let which = (round + j) % subjects.len();
                let subject = &subjects[which];
                let exporter = &exporters[subject.exporter];
                let start = Instant::now();
                let body = scrape_raw(client, &exporter.url, subject.gzip);
                latencies[which].push(start.elapsed());
                body_bytes[which] = body.len();
                let body = if subject.gzip { gunzip(&body) } else { body };
                check_load(&body, load).unwrap_or_else(|e| panic!("{}: {e}", exporter.name));
            }
        }
    }

    let mut throughputs = Vec::new();
    for subject in &subjects {
        let exporter = &exporters[subject.exporter];
        eprintln!(
            "throughput: {}{}, {THREADS} clients for {:?}",
            exporter.name,
            if subject.gzip { " (gzip)" } else { "" },
            THROUGHPUT_TIME
        );
        throughputs.push(throughput(client, exporter, subject.gzip, load));
    }

    let memory: Vec<(u64, u64)> = exporters.iter().map(Exporter::memory).collect();
    drop(exporters);
    subjects
        .iter()
        .zip(&mut latencies)
        .zip(throughputs)
        .zip(body_bytes)
        .map(|(((subject, latencies), scrapes_per_second), body_bytes)| {
            latencies.sort();
            let (rss, peak) = memory[subject.exporter];
            Measured {
                load,
                name: ["wasm_exporter", "client_golang", "prometheus_client"][subject.exporter],
                gzip: subject.gzip,
                p50: percentile(latencies, 0.50),
                p99: percentile(latencies, 0.99),
                scrapes_per_second,
                rss,
                peak,
                body_bytes,
            }
        })
        .collect()
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
    fn start_wasm(paths: &Paths, load: Load) -> Self {
        let binary = paths.target.join("release/wasm_exporter");
        let plugin = paths.target.join("test-plugins/peer_load.wasm");
        require(&binary, "cargo build --release -p wasm_exporter");
        require(&plugin, "cargo xtask plugins");
        // A configuration holding only the load plugin, sized by its config.
        let copy = paths.out.join("peer_load.wasm");
        fs::copy(&plugin, &copy).expect("copy peer_load.wasm");
        let config = paths.out.join("peer_load.yml");
        fs::write(
            &config,
            format!(
                "plugins:\n  - path: peer_load.wasm\n    config: {{ families: \"{}\", series: \"{}\" }}\n",
                load.families, load.series
            ),
        )
        .expect("write peer_load.yml");

        let mut command = Command::new(binary);
        command
            .arg("--config.file")
            .arg(&config)
            .current_dir(&paths.root);
        eprintln!("starting wasm_exporter");
        let host = HostProcess::start(command);
        Exporter {
            name: "wasm_exporter",
            url: host.url("/metrics"),
            process: Process::Host(host),
        }
    }

    fn start_go(paths: &Paths, load: Load) -> Self {
        let binary = paths.out.join("go_exporter");
        require(&binary, "cargo xtask bench-peers");
        let mut command = Command::new(binary);
        command
            .arg(format!("-families={}", load.families))
            .arg(format!("-series={}", load.series));
        Self::start_peer("client_golang", command, "-web.listen-address", paths)
    }

    fn start_python(paths: &Paths, load: Load) -> Self {
        let python = paths.root.join(".venv/bin/python");
        require(&python, "cargo xtask test");
        let mut command = Command::new(python);
        command
            .arg("-u")
            .arg(paths.root.join("tests/peers/python/exporter.py"))
            .arg(format!("--families={}", load.families))
            .arg(format!("--series={}", load.series));
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

    /// Polls until the exporter serves its load (any size: the load is
    /// checked in the warm-up).
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
                && count_load_lines(&body) > 0
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
/// decompressed if `gzip`; panics otherwise.
fn scrape(client: &Client, url: &str, gzip: bool) -> Vec<u8> {
    let body = scrape_raw(client, url, gzip);
    if gzip { gunzip(&body) } else { body }
}

/// One scrape as received: with `gzip`, the compressed body (which must
/// be compressed), otherwise the plain one (which must not be).
fn scrape_raw(client: &Client, url: &str, gzip: bool) -> Vec<u8> {
    let mut request = client.get(url).header("Accept", ACCEPT);
    if gzip {
        request = request.header("Accept-Encoding", "gzip");
    }
    let response = request.send().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(response.status(), 200, "GET {url}");
    let encoding = response.headers().get("content-encoding").cloned();
    if gzip {
        assert_eq!(
            encoding.as_ref().and_then(|v| v.to_str().ok()),
            Some("gzip"),
            "GET {url}: a gzip body"
        );
    } else {
        assert!(encoding.is_none(), "GET {url}: compressed body");
    }
    response
        .bytes()
        .unwrap_or_else(|e| panic!("GET {url}: body: {e}"))
        .to_vec()
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .expect("a valid gzip body");
    out
}

/// Checks that `body` holds exactly the load: one sample line
/// `peer_load_<f>{l0="s<i>",l1="v1"} <i>` for every family `f` and series
/// `i`, in any order; other families are ignored.
fn check_load(body: &[u8], load: Load) -> Result<(), String> {
    let Load { families, series } = load;
    let text = std::str::from_utf8(body).map_err(|e| format!("body is not UTF-8: {e}"))?;
    let mut seen = vec![false; families * series];
    let mut count = 0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("peer_load_") else {
            continue;
        };
        let bad = || format!("unexpected sample line {line:?}");
        let (family, rest) = rest.split_once("{l0=\"s").ok_or_else(bad)?;
        let (index, rest) = rest.split_once("\",l1=\"v1\"} ").ok_or_else(bad)?;
        let family: usize = family.parse().map_err(|_| bad())?;
        let index: usize = index.parse().map_err(|_| bad())?;
        let value: f64 = rest.parse().map_err(|_| bad())?;
        if family >= families || index >= series || value != index as f64 {
            return Err(bad());
        }
        let slot = &mut seen[family * series + index];
        if std::mem::replace(slot, true) {
            return Err(format!("duplicate sample line {line:?}"));
        }
        count += 1;
    }
    if count != load.samples() {
        return Err(format!(
            "{count} sample lines of the load, expected {}",
            load.samples()
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
fn throughput(client: &Client, exporter: &Exporter, gzip: bool, load: Load) -> f64 {
    let completed = AtomicUsize::new(0);
    let start = Instant::now();
    let deadline = start + THROUGHPUT_TIME;
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                while Instant::now() < deadline {
                    let body = scrape(client, &exporter.url, gzip);
                    assert_eq!(
                        count_load_lines(&body),
                        load.samples(),
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
    load: Load,
    name: &'static str,
    gzip: bool,
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

impl Measured {
    fn label(&self) -> String {
        if self.gzip {
            format!("{} (gzip)", self.name)
        } else {
            self.name.to_owned()
        }
    }
}

/// The results as markdown: the table, the ratios and the targets.
fn report(results: &[Measured], elapsed: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Peer benchmark\n");
    let _ = writeln!(
        out,
        "{} UTC, {} CPUs, Linux {}; loads of families × series × 2 labels; \
         {} sequential scrapes per exporter (interleaved), {THREADS} clients for {}s for \
         throughput, RSS after all the scrapes of a load; measured in {:.0}s.\n",
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
        "| load | exporter | p50 | p99 | scrapes/s | RSS MiB | peak RSS MiB | body KiB |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {} | {:.3} ms | {:.3} ms | {:.1} | {:.1} | {:.1} | {:.1} |",
            r.load,
            r.label(),
            ms(r.p50),
            ms(r.p99),
            r.scrapes_per_second,
            mib(r.rss),
            mib(r.peak),
            r.body_bytes as f64 / 1024.0
        );
    }

    let find = |load: Load, name: &str, gzip: bool| {
        results
            .iter()
            .find(|r| r.load.samples() == load.samples() && r.name == name && r.gzip == gzip)
    };
    let _ = writeln!(out, "\n| load | ratio | p50 | p99 | scrapes/s | RSS |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
    for load in LOADS {
        for (peer, gzip) in [
            ("client_golang", false),
            ("prometheus_client", false),
            ("client_golang", true),
        ] {
            let (Some(wasm), Some(peer)) =
                (find(load, "wasm_exporter", gzip), find(load, peer, gzip))
            else {
                continue;
            };
            let _ = writeln!(
                out,
                "| {load} | {} / {} | {:.2} | {:.2} | {:.2} | {:.2} |",
                wasm.label(),
                peer.label(),
                ms(wasm.p50) / ms(peer.p50),
                ms(wasm.p99) / ms(peer.p99),
                wasm.scrapes_per_second / peer.scrapes_per_second,
                wasm.rss as f64 / peer.rss as f64
            );
        }
    }

    let verdict = |met: bool| if met { "met" } else { "missed" };
    let _ = writeln!(out, "\n| load | target | measured | |");
    let _ = writeln!(out, "|---|---|---:|---|");
    for load in LOADS {
        let (Some(wasm), Some(go), Some(python)) = (
            find(load, "wasm_exporter", false),
            find(load, "client_golang", false),
            find(load, "prometheus_client", false),
        ) else {
            continue;
        };
        let go_target = if load.is_largest() {
            TARGET_P50_VS_GO
        } else {
            TARGET_P50_VS_GO_SMALL
        };
        let p50_go = ms(wasm.p50) / ms(go.p50);
        let _ = writeln!(
            out,
            "| {load} | p50 ≤ {go_target}× client_golang | {p50_go:.2}× | {} |",
            verdict(p50_go <= go_target)
        );
        if load.is_largest() {
            let p50_python = ms(wasm.p50) / ms(python.p50);
            let _ = writeln!(
                out,
                "| {load} | p50 ≤ {TARGET_P50_VS_PYTHON}× prometheus_client | {p50_python:.3}× | {} |",
                verdict(p50_python <= TARGET_P50_VS_PYTHON)
            );
            let rss = wasm.rss as f64 / go.rss as f64;
            let _ = writeln!(
                out,
                "| {load} | RSS ≤ {TARGET_RSS_VS_GO}× client_golang's | {:.1} vs {:.1} MiB ({rss:.2}×) | {} |",
                mib(wasm.rss),
                mib(go.rss),
                verdict(rss <= TARGET_RSS_VS_GO)
            );
        }
    }
    out
}

/// The current UTC time as `YYYY-MM-DD HH:MM`.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    wasm_exporter::status::iso8601(secs)[..16].replace('T', " ")
}
