//! Shared helpers: plugin paths, a host process on a loopback port, an HTTP
//! client, and a small exposition reader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[allow(dead_code)]
#[path = "../support/host_process.rs"]
mod host_process;

#[allow(dead_code)]
#[path = "../support/daemons.rs"]
pub mod daemons;

use host_process::HostProcess;
pub use host_process::{binary, target_dir};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("host/server/ is two levels below the repository root")
        .to_owned()
}

/// A built example plugin (`target/plugins/<name>.wasm`).
pub fn example_plugin(name: &str) -> PathBuf {
    built(&target_dir().join("plugins").join(format!("{name}.wasm")))
}

/// A built test plugin (`target/test-plugins/<name>.wasm`).
pub fn test_plugin(name: &str) -> PathBuf {
    built(
        &target_dir()
            .join("test-plugins")
            .join(format!("{name}.wasm")),
    )
}

fn built(path: &Path) -> PathBuf {
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask plugins` (or `cargo xtask test`) first",
        path.display()
    );
    path.to_owned()
}

/// A fresh, empty directory removed on drop (or a shared one, kept).
pub struct TempDir(PathBuf, bool);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "wasm_exporter_test_{}_{}_{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir, true)
    }

    /// The tests' shared compile cache (`target/test-cache`), kept on drop:
    /// a large plugin (Python, JavaScript) compiles once for every test.
    pub fn shared_cache() -> Self {
        let dir = target_dir().join("test-cache");
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir, false)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Copies `plugin` into the directory as `<name>.wasm`.
    pub fn add(&self, name: &str, plugin: &Path) -> PathBuf {
        let to = self.0.join(format!("{name}.wasm"));
        std::fs::copy(plugin, &to).unwrap();
        to
    }

    /// Writes raw bytes as `<name>.wasm`.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let to = self.0.join(format!("{name}.wasm"));
        std::fs::write(&to, bytes).unwrap();
        to
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.1 {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running host on a loopback port, killed on drop.
pub struct Host {
    process: HostProcess,
    cache: TempDir,
    pub address: String,
    /// Removed when the host is dropped.
    _dir: TempDir,
}

impl Host {
    /// Starts the host serving the plugins of `dir`, with extra flags.
    pub fn start(dir: TempDir, extra: &[&str]) -> Host {
        let args = vec!["--plugins.dir".into(), dir.path().as_os_str().to_owned()];
        Host::start_with(dir, TempDir::new("cache"), args, extra)
    }

    /// Starts the host with `args` (naming the plugins), a compile cache in
    /// `cache`, and extra flags; `dir` is kept alive as long as the host.
    pub fn start_with(
        dir: TempDir,
        cache: TempDir,
        args: Vec<std::ffi::OsString>,
        extra: &[&str],
    ) -> Host {
        Host::start_env(dir, cache, args, extra, &[])
    }

    /// [`Host::start_with`] with extra environment variables.
    pub fn start_env(
        dir: TempDir,
        cache: TempDir,
        args: Vec<std::ffi::OsString>,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Host {
        let mut command = Command::new(binary());
        command.envs(env.iter().copied());
        Host::launch(command, dir, cache, args, extra, HostProcess::start)
    }

    /// Starts the host with the configuration `config` (YAML, written to
    /// `dir/config.yml`, paths relative to `dir`) and extra flags.
    pub fn start_config(dir: TempDir, config: &str, extra: &[&str]) -> Host {
        Host::start_config_in(dir, TempDir::new("cache"), config, extra)
    }

    fn start_config_in(dir: TempDir, cache: TempDir, config: &str, extra: &[&str]) -> Host {
        let file = dir.path().join("config.yml");
        std::fs::write(&file, config).unwrap();
        let args = vec!["--config.file".into(), file.into()];
        Host::start_with(dir, cache, args, extra)
    }

    /// [`Host::start_config`] with the compile cache the tests share
    /// ([`TempDir::shared_cache`]): for the large Python, JavaScript and Go
    /// components, which would otherwise compile again in every host.
    pub fn start_config_shared(dir: TempDir, config: &str, extra: &[&str]) -> Host {
        Host::start_config_in(dir, TempDir::shared_cache(), config, extra)
    }

    /// Starts the host through `wrapper` (a command and its arguments that
    /// runs what follows it, e.g. `prlimit --nofile=64:64 --`), serving the
    /// plugins of `dir`; returns once the port is open, or once the host is
    /// ready if `wait_ready`.
    pub fn start_under(wrapper: &[&str], dir: TempDir, extra: &[&str], wait_ready: bool) -> Host {
        let mut command = Command::new(wrapper[0]);
        command.args(&wrapper[1..]).arg(binary());
        let args = vec!["--plugins.dir".into(), dir.path().as_os_str().to_owned()];
        let start = if wait_ready {
            HostProcess::start
        } else {
            HostProcess::spawn
        };
        Host::launch(command, dir, TempDir::new("cache"), args, extra, start)
    }

    /// Starts the host with `config` and extra flags, returning as soon as
    /// its port is open (before its plugins are loaded).
    pub fn spawn_config(dir: TempDir, config: &str, extra: &[&str]) -> Host {
        let file = dir.path().join("config.yml");
        std::fs::write(&file, config).unwrap();
        let args = vec!["--config.file".into(), file.into()];
        let command = Command::new(binary());
        Host::launch(
            command,
            dir,
            TempDir::new("cache"),
            args,
            extra,
            HostProcess::spawn,
        )
    }

    fn launch(
        mut command: Command,
        dir: TempDir,
        cache: TempDir,
        args: Vec<std::ffi::OsString>,
        extra: &[&str],
        start: fn(Command) -> HostProcess,
    ) -> Host {
        command
            .args(args)
            .arg("--cache.dir")
            .arg(cache.path())
            .args(extra);
        let process = start(command);
        Host {
            address: process.address.clone(),
            process,
            cache,
            _dir: dir,
        }
    }

    /// `VmRSS` and `VmHWM` (peak) of the host process, in bytes.
    pub fn memory(&self) -> (u64, u64) {
        host_process::memory(self.pid())
    }

    /// How long `/-/healthy` takes to answer 200.
    pub fn healthy_latency(&self) -> Duration {
        let start = std::time::Instant::now();
        let r = self.get_with("/-/healthy", &[]);
        assert_eq!(r.status, 200, "/-/healthy: {}", r.body);
        start.elapsed()
    }

    /// The plugins directory (or configuration directory) it serves.
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }

    /// The host's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Stops the host, handing back its directories (for a restart).
    pub fn stop(mut self) -> (TempDir, TempDir) {
        self.process.kill();
        let dir = std::mem::replace(&mut self._dir, TempDir::new("stopped"));
        let cache = std::mem::replace(&mut self.cache, TempDir::new("stopped"));
        (dir, cache)
    }

    pub fn url(&self, path: &str) -> String {
        self.process.url(path)
    }

    /// GET `path` with extra headers; returns status, headers and body.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        get(&self.url(path), headers)
    }

    /// GET `path` and return the body; panics unless the status is 200.
    pub fn get_ok(&self, path: &str) -> String {
        let r = self.get_with(path, &[]);
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.body
    }

    /// Scrapes `/metrics` in the text format.
    pub fn scrape(&self) -> Exposition {
        Exposition::parse(&self.get_ok("/metrics?format=text"))
    }

    /// The host's log so far.
    pub fn log(&self) -> Vec<String> {
        self.process.log()
    }

    /// Waits until a log line contains every fragment.
    pub fn wait_for_log(&self, fragments: &[&str]) -> String {
        self.wait_for_log_within(fragments, Duration::from_secs(10))
    }

    /// [`Host::wait_for_log`], for up to `limit`.
    pub fn wait_for_log_within(&self, fragments: &[&str], limit: Duration) -> String {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(line) = self
                .log()
                .into_iter()
                .find(|l| fragments.iter().all(|f| l.contains(f)))
            {
                return line;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "no log line with {fragments:?}; log:\n{}",
            self.log().join("\n")
        );
    }
}

pub struct Response {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()
        .unwrap()
}

pub fn get(url: &str, headers: &[(&str, &str)]) -> Response {
    let mut req = client().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().unwrap();
    Response {
        status,
        headers,
        body,
    }
}

/// Sample lines of an exposition, keyed by series (`name{labels}`).
pub struct Exposition {
    pub text: String,
    pub samples: BTreeMap<String, String>,
}

impl Exposition {
    pub fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').expect("sample line has a value");
                (series.to_owned(), value.to_owned())
            })
            .collect();
        Exposition {
            text: text.to_owned(),
            samples,
        }
    }

    /// The value of one series, if present.
    pub fn value(&self, series: &str) -> Option<f64> {
        self.samples.get(series).map(|v| match v.as_str() {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap(),
        })
    }

    pub fn up(&self, plugin: &str) -> Option<f64> {
        self.value(&format!("wasm_exporter_plugin_up{{plugin=\"{plugin}\"}}"))
    }

    pub fn failures(&self, plugin: &str, reason: &str) -> f64 {
        self.value(&format!(
            "wasm_exporter_plugin_failures_total{{plugin=\"{plugin}\",reason=\"{reason}\"}}"
        ))
        .unwrap_or_else(|| panic!("no failures series for {plugin}/{reason}"))
    }

    /// The sample lines whose name starts with `prefix`, in order.
    pub fn lines_of(&self, prefix: &str) -> Vec<&str> {
        self.text
            .lines()
            .filter(|l| !l.starts_with('#') && l.starts_with(prefix))
            .collect()
    }
}

/// `wasm_exporter collect PLUGIN` with the tests' compile cache (shared by
/// every test and run: a large plugin compiles once).
pub fn collect_command(plugin: &Path) -> Command {
    let mut command = Command::new(binary());
    command
        .arg("collect")
        .arg(plugin)
        .arg("--cache.dir")
        .arg(target_dir().join("test-cache"));
    command
}

/// The text exposition `wasm_exporter collect` prints for a plugin alone.
pub fn collect_alone(plugin: &Path) -> String {
    let out = collect_command(plugin).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `command` to its end, failing the test if it cannot start.
pub fn run(command: &mut Command) -> std::process::Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

/// A finished command's stdout and stderr, for assertion messages.
pub fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
