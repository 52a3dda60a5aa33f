//! What the benchmarks that run the real binary share: starting a host
//! and reading its log (the integration tests' `HostProcess`), the built
//! plugins, atomic installs, percentiles and memory readings.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "../../../../tests/support/host_process.rs"]
mod host_process;

#[path = "../../../../tests/support/daemons.rs"]
pub mod daemons;

#[allow(unused_imports)]
pub use host_process::{HostProcess, binary, die_with_parent, memory, target_dir};

/// A built plugin: `target/<kind>/<name>.wasm`, `kind` being `plugins`
/// (examples) or `test-plugins`.
pub fn plugin(kind: &str, name: &str) -> PathBuf {
    let p = target_dir().join(kind).join(format!("{name}.wasm"));
    assert!(
        p.is_file(),
        "{} missing: run `cargo xtask plugins`",
        p.display()
    );
    p
}

/// Starts the host with `args` on a loopback port, logging at `info`.
pub fn start_host(args: &[&str]) -> HostProcess {
    let mut command = Command::new(binary());
    command
        .args(args)
        .args(["--log.level", "warn,wasm_exporter=info"]);
    HostProcess::start(command)
}

/// A fresh, empty directory under the system's temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wasm_exporter_bench_{}_{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Installs `from` as `dir/<name>.wasm` atomically (copy aside, rename in),
/// as an operator should.
pub fn install(dir: &Path, name: &str, from: &Path) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::copy(from, &tmp).unwrap();
    std::fs::rename(&tmp, dir.join(format!("{name}.wasm"))).unwrap();
}

/// The nearest-rank `p` quantile (0 to 1) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A blocking HTTP client that ignores proxies, with a 10 s timeout.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}
