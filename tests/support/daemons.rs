//! The real systems the real plugins observe, and the Debian exporters
//! they are checked against: each started on a free loopback port with its
//! own files in a temporary directory, killed on drop. `cargo xtask test`
//! installs the packages (`xtask/src/apt.rs`).
//!
//! Included by path beside `host_process.rs` (whose `die_with_parent` it
//! uses) from `tests/all/common.rs` and `host/server/benches/common/mod.rs`.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::host_process::die_with_parent;

/// A fresh, empty directory under the system's temporary directory,
/// removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    /// A new directory whose name includes `tag`.
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "wasm_exporter_{}_{}_{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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
    pub dir: Scratch,
}

impl Daemon {
    /// Starts `command` (which must listen on `port`, with its output in
    /// `dir/<name>.log`) and waits until the port accepts connections.
    pub fn start(name: &'static str, mut command: Command, port: u16, dir: Scratch) -> Daemon {
        let log = dir.path().join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        die_with_parent(&mut command);
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

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
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
    let dir = Scratch::new("redis");
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
    let dir = Scratch::new("nginx");
    let port = free_port();
    let prefix = dir.path().display().to_string();
    std::fs::create_dir_all(dir.path().join("html")).unwrap();
    let server = format!(
        "    server {{
        listen 127.0.0.1:{port};
        location = /stub_status {{ stub_status; }}
        location /files/ {{ alias {prefix}/html/; }}
        location = / {{ return 200 \"ok\\n\"; }}
    }}
"
    );
    nginx_with("nginx", dir, port, &server)
}

/// Debian's nginx running from `dir` with the `server` blocks given (in
/// nginx syntax), `port` being the one to wait for.
pub fn nginx_with(name: &'static str, dir: Scratch, port: u16, servers: &str) -> Daemon {
    let nginx = installed("/usr/sbin/nginx", "nginx");
    let prefix = dir.path();
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
{servers}}}
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
    Daemon::start(name, command, port, dir)
}

/// One of Debian's Prometheus exporters (`/usr/bin/prometheus-<name>`),
/// listening on a free loopback port, with `args` after the address.
pub fn exporter(name: &'static str, args: &[&str]) -> Daemon {
    let binary = installed(
        &format!("/usr/bin/prometheus-{name}"),
        &format!("prometheus-{name}"),
    );
    let dir = Scratch::new(name);
    let port = free_port();
    let mut command = Command::new(binary);
    command
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(args)
        .current_dir(dir.path());
    Daemon::start(name, command, port, dir)
}
