//! The `wasm_exporter` binary as a child process on a loopback port, with
//! its log read as it runs: the one way the integration tests and the
//! benchmarks (swap, soak, peers) start a host.
//!
//! Included by path (`#[path = ...] mod host_process;`) from
//! `tests/all/common.rs` and `host/server/benches/common/mod.rs`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// How long a host may take to print its `listening` line.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Log lines kept (the oldest are dropped past it), so a long soak at a
/// chatty log level does not grow without bound.
const LOG_LINES_KEPT: usize = 100_000;

/// The host binary of this package's tests and benchmarks.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wasm_exporter"))
}

/// Cargo's target directory (the binary lives in `<target>/<profile>`),
/// where `cargo xtask plugins` puts the built plugins.
pub fn target_dir() -> PathBuf {
    binary()
        .parent()
        .and_then(Path::parent)
        .expect("the binary is in <target>/<profile>")
        .to_owned()
}

/// A running host, killed (and reaped) on drop.
pub struct HostProcess {
    child: Child,
    /// `host:port` it listens on.
    pub address: String,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl HostProcess {
    /// Starts `command` (the binary and its arguments) listening on a free
    /// loopback port, and waits until it is ready (its plugins loaded);
    /// panics with the log if it is not within a minute.
    pub fn start(command: Command) -> HostProcess {
        let host = HostProcess::spawn(command);
        // The ready line, in logfmt or JSON.
        host.wait_for_log_where("the ready line", |l| {
            l.contains("msg=ready") || l.contains("\"message\":\"ready\"")
        });
        host
    }

    /// Starts `command` like [`HostProcess::start`], but returns as soon as
    /// the port is open, before the plugins are loaded.
    pub fn spawn(mut command: Command) -> HostProcess {
        command
            .args(["--web.listen-address", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        die_with_parent(&mut command);
        let mut child = command.spawn().expect("starting wasm_exporter");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // The first line of either log format: logfmt or JSON.
                let address = if line.contains("msg=listening") {
                    field(&line, "address")
                } else if line.contains("\"message\":\"listening\"") {
                    json_field(&line, "address")
                } else {
                    None
                };
                if let Some(address) = address {
                    let _ = tx.send(address);
                }
                let mut log = sink.lock().unwrap();
                if log.len() == LOG_LINES_KEPT {
                    log.pop_front();
                }
                log.push_back(line);
            }
        });
        let mut host = HostProcess {
            child,
            address: String::new(),
            log,
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(address) => host.address = address,
            Err(_) => panic!(
                "wasm_exporter did not start listening; log:\n{}",
                host.log().join("\n")
            ),
        }
        host
    }

    /// Waits until a log line contains `fragment`; panics with the log if
    /// none does within a minute.
    pub fn wait_for_log_line(&self, fragment: &str) -> String {
        self.wait_for_log_where(&format!("{fragment:?}"), |l| l.contains(fragment))
    }

    /// Waits until a log line is one `matches` accepts (`what`, in the
    /// panic message); panics with the log if none is within a minute.
    pub fn wait_for_log_where(&self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        let start = std::time::Instant::now();
        loop {
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| matches(l)) {
                return line.clone();
            }
            assert!(
                start.elapsed() < START_TIMEOUT,
                "no log line with {what} within {START_TIMEOUT:?}; log:\n{}",
                self.log().join("\n")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `http://<address><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The log so far (the last [`LOG_LINES_KEPT`] lines).
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().iter().cloned().collect()
    }

    /// Kills the process and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `VmRSS` and `VmHWM` (the peak) of process `pid`, in bytes.
pub fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("pid {pid}: read /proc status: {e}"));
    let field = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .and_then(|kb| kb.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("pid {pid}: no {key} in /proc status"))
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The value of `key=` in a logfmt line.
/// The string field `key` of a JSON log line.
fn json_field(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let rest = &line[start..];
    Some(rest[..rest.find('"')?].to_owned())
}

pub fn field(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &line[start..];
    if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find('"')?;
        Some(quoted[..end].to_owned())
    } else {
        Some(rest.split(' ').next()?.to_owned())
    }
}

/// Has the kernel kill the child if this process dies without unwinding
/// (SIGKILL, abort, a test harness killed), so no host outlives its run.
#[cfg(target_os = "linux")]
pub fn die_with_parent(command: &mut Command) {
    use std::ffi::{c_int, c_ulong};
    use std::os::unix::process::CommandExt;

    unsafe extern "C" {
        fn prctl(option: c_int, ...) -> c_int;
    }
    const PR_SET_PDEATHSIG: c_int = 1;
    const SIGKILL: c_ulong = 9;
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and only sets an
    // attribute of the child between fork and exec. The signal is sent
    // when the thread that forked the child exits; the callers' threads
    // live as long as the children they start.
    unsafe {
        command.pre_exec(|| {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            Ok(())
        });
    }
}

/// Elsewhere, children are only killed on drop.
#[cfg(not(target_os = "linux"))]
pub fn die_with_parent(_: &mut Command) {}
