//! The real systems the real plugins observe, and the Debian exporters
//! they are checked against: each started on a free loopback port with its
//! own files in a temporary directory, killed on drop. `cargo xtask test`
//! installs the packages (`xtask/src/apt.rs`).

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::TempDir;

/// How long a system may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A loopback port free when asked for.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// `path` if the package put it there, else a panic naming the package.
pub fn installed(path: &str, package: &str) -> String {
    assert!(
        Path::new(path).is_file(),
        "{path} is missing: run `cargo xtask test`, which installs Debian's {package} package, \
         or `apt-get install {package}`"
    );
    path.to_owned()
}

/// A process listening on a loopback port, killed on drop.
pub struct Daemon {
    pub name: &'static str,
    pub port: u16,
    child: Child,
    log: std::path::PathBuf,
    /// Removed after the process is killed (fields drop after `drop`).
    pub dir: TempDir,
}

impl Daemon {
    /// Starts `command` (which must listen on `port`, with its output in
    /// `dir/<name>.log`) and waits until the port accepts connections.
    pub fn start(name: &'static str, mut command: Command, port: u16, dir: TempDir) -> Daemon {
        let log = dir.path().join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        crate::common::die_with_parent(&mut command);
        // Its own process group, so that stopping it also stops its
        // children (nginx's workers).
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let mut daemon = Daemon {
            name,
            port,
            child,
            log,
            dir,
        };
        daemon.wait_listening();
        daemon
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "{} exited ({status}) before listening:\n{}",
                    self.name,
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} is not listening on 127.0.0.1:{} after {START_TIMEOUT:?}:\n{}",
                self.name,
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `host:port` of the listening socket.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The process's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the process and its children (SIGTERM, then SIGKILL after
    /// 5 s) and waits for it: the port is closed after.
    pub fn stop(&mut self) {
        use rustix::process::{Pid, Signal, kill_process_group};
        let Some(group) = Pid::from_raw(self.child.id() as i32) else {
            return;
        };
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = kill_process_group(group, Signal::TERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        // Whatever is left of the group (a worker that outlived its master).
        let _ = kill_process_group(group, Signal::KILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Debian's `redis-server` on a free loopback port, without persistence.
pub fn redis() -> Daemon {
    let server = installed("/usr/bin/redis-server", "redis-server");
    let dir = TempDir::new("redis");
    let port = free_port();
    let mut command = Command::new(server);
    command.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--dir",
    ]);
    command.arg(dir.path());
    Daemon::start("redis-server", command, port, dir)
}

/// Runs `redis-cli` against `redis` and returns its output.
pub fn redis_cli(redis: &Daemon, args: &[&str]) -> String {
    let cli = installed("/usr/bin/redis-cli", "redis-server");
    let out = Command::new(cli)
        .args(["-h", "127.0.0.1", "-p", &redis.port.to_string()])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// `field: value` lines of `redis-cli INFO` (sections and blanks dropped).
pub fn redis_info(redis: &Daemon) -> BTreeMap<String, String> {
    redis_cli(redis, &["INFO"])
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Debian's nginx on a free loopback port, serving `stub_status` at
/// `/stub_status`, `ok` at `/`, and files from `dir/html` at `/files/`.
pub fn nginx() -> Daemon {
    let nginx = installed("/usr/sbin/nginx", "nginx");
    let dir = TempDir::new("nginx");
    let port = free_port();
    let prefix = dir.path();
    std::fs::create_dir_all(prefix.join("html")).unwrap();
    std::fs::create_dir_all(prefix.join("tmp")).unwrap();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    // As root, nginx's workers would otherwise run as `nobody`, who cannot
    // read the temporary directory.
    let user = if root { "user root;" } else { "" };
    let tmp = prefix.join("tmp");
    let tmp = tmp.display();
    let config = format!(
        "{user}
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /stub_status {{ stub_status; }}
        location /files/ {{ alias {prefix}/html/; }}
        location = / {{ return 200 \"ok\\n\"; }}
    }}
}}
",
        prefix = prefix.display()
    );
    let file = prefix.join("nginx.conf");
    std::fs::write(&file, config).unwrap();
    let mut command = Command::new(nginx);
    command
        .arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(&file)
        .arg("-e")
        .arg(prefix.join("error.log"));
    Daemon::start("nginx", command, port, dir)
}

/// One of Debian's Prometheus exporters (`/usr/bin/prometheus-<name>`),
/// listening on a free loopback port, with `args` after the address.
pub fn exporter(name: &'static str, args: &[&str]) -> Daemon {
    let binary = installed(
        &format!("/usr/bin/prometheus-{name}"),
        &format!("prometheus-{name}"),
    );
    let dir = TempDir::new(name);
    let port = free_port();
    let mut command = Command::new(binary);
    command
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(args)
        .current_dir(dir.path());
    Daemon::start(name, command, port, dir)
}

/// One family of a text-format exposition: its type and its samples,
/// keyed by sample name and label set (labels sorted).
#[derive(Debug, Default, Clone)]
pub struct Family {
    pub type_: String,
    pub help: String,
    pub samples: BTreeMap<(String, Vec<(String, String)>), f64>,
}

/// A text-format (0.0.4) exposition, by family name.
#[derive(Debug, Default, Clone)]
pub struct Families(pub BTreeMap<String, Family>);

impl Families {
    /// Parses the text format as Prometheus's exporters write it (no
    /// timestamps, no escaped quotes in the label values compared).
    pub fn parse(text: &str) -> Families {
        let mut families: BTreeMap<String, Family> = BTreeMap::new();
        let mut current = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, type_) = rest.split_once(' ').unwrap();
                families.entry(name.to_owned()).or_default().type_ = type_.to_owned();
                current = name.to_owned();
            } else if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
                families.entry(name.to_owned()).or_default().help = help.to_owned();
                current = name.to_owned();
            } else if !line.starts_with('#') && !line.is_empty() {
                let (name, labels, value) = parse_sample(line);
                // A histogram's or summary's samples belong to the family
                // named in the TYPE line before them.
                let family = if name == current
                    || name
                        .strip_prefix(current.as_str())
                        .is_some_and(|suffix| ["_bucket", "_sum", "_count"].contains(&suffix))
                {
                    current.clone()
                } else {
                    name.clone()
                };
                families
                    .entry(family)
                    .or_default()
                    .samples
                    .insert((name, labels), value);
            }
        }
        Families(families)
    }

    /// Scrapes `url` and parses it.
    pub fn scrape(url: &str) -> Families {
        let response = crate::common::get(url, &[]);
        assert_eq!(response.status, 200, "GET {url}: {}", response.body);
        Families::parse(&response.body)
    }

    /// The value of the sample `name` with exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        labels.sort();
        self.0
            .values()
            .find_map(|f| f.samples.get(&(name.to_owned(), labels.clone())))
            .copied()
    }

    /// The families whose name starts with `prefix`.
    pub fn with_prefix(&self, prefix: &str) -> Families {
        Families(
            self.0
                .iter()
                .filter(|(name, _)| name.starts_with(prefix))
                .map(|(n, f)| (n.clone(), f.clone()))
                .collect(),
        )
    }
}

/// `name{labels} value` → name, sorted labels, value.
fn parse_sample(line: &str) -> (String, Vec<(String, String)>, f64) {
    let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
    let value = match value {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}")),
    };
    let Some((name, rest)) = series.split_once('{') else {
        return (series.to_owned(), Vec::new(), value);
    };
    let body = rest.strip_suffix('}').expect("labels end with }");
    let mut labels = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").expect("label=\"value\"");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => break,
                },
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.push((key.trim_start_matches(',').to_owned(), value));
        rest = after[end..].trim_start_matches(',');
    }
    labels.sort();
    (name.to_owned(), labels, value)
}

/// One difference between a plugin's families and an exporter's.
pub type Mismatch = String;

/// Compares every family both expositions have: the same type, and for
/// every sample both have (same name and labels), values equal within
/// `tolerance(name)` (relative, for values that move between the two
/// scrapes). Also fails when a family `ours` has is missing from `theirs`
/// altogether, unless listed in `only_ours`. Returns the families compared.
pub fn compare(
    ours: &Families,
    theirs: &Families,
    only_ours: &[&str],
    tolerance: impl Fn(&str) -> f64,
) -> Result<Vec<String>, Vec<Mismatch>> {
    let mut mismatches = Vec::new();
    let mut compared = Vec::new();
    for (name, family) in &ours.0 {
        let Some(other) = theirs.0.get(name) else {
            if !only_ours.contains(&name.as_str()) {
                mismatches.push(format!("{name}: not exposed by the exporter"));
            }
            continue;
        };
        if family.type_ != other.type_ {
            mismatches.push(format!("{name}: type {} vs {}", family.type_, other.type_));
        }
        let mut shared = 0;
        for (key, value) in &family.samples {
            let Some(their) = other.samples.get(key) else {
                continue;
            };
            shared += 1;
            let tol = tolerance(&key.0);
            let close = if value.is_nan() || their.is_nan() {
                value.is_nan() && their.is_nan()
            } else {
                (value - their).abs() <= tol * value.abs().max(their.abs()) || value == their
            };
            if !close {
                mismatches.push(format!(
                    "{}{:?}: {value} vs the exporter's {their}",
                    key.0, key.1
                ));
            }
        }
        if shared == 0 {
            mismatches.push(format!(
                "{name}: no series in common; ours {:?}, theirs {:?}",
                family.samples.keys().collect::<Vec<_>>(),
                other.samples.keys().collect::<Vec<_>>()
            ));
        }
        compared.push(name.clone());
    }
    if mismatches.is_empty() {
        Ok(compared)
    } else {
        Err(mismatches)
    }
}

#[test]
fn samples_and_families_parse() {
    let f = Families::parse(
        "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\",b=\"q\\\"\"} 3\n\
         # TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1.5\nh_count 2\nloose 1\n",
    );
    assert_eq!(f.0["a_total"].type_, "counter");
    assert_eq!(f.value("a_total", &[("x", "1"), ("b", "q\"")]), Some(3.0));
    assert_eq!(f.0["h"].samples.len(), 3);
    assert_eq!(f.value("loose", &[]), Some(1.0));
}

/// The helpers start what they say: Redis answers INFO, nginx serves its
/// stub_status, and both are gone once dropped.
#[test]
fn redis_and_nginx_start_on_loopback_and_stop() {
    let redis = redis();
    assert_eq!(redis_info(&redis)["tcp_port"], redis.port.to_string());
    let nginx = nginx();
    let status = crate::common::get(&nginx.url("/stub_status"), &[]);
    assert!(
        status.body.starts_with("Active connections:"),
        "{}",
        status.body
    );
    let (redis_port, nginx_port) = (redis.port, nginx.port);
    drop((redis, nginx));
    assert!(TcpStream::connect(("127.0.0.1", redis_port)).is_err());
    assert!(TcpStream::connect(("127.0.0.1", nginx_port)).is_err());
}
