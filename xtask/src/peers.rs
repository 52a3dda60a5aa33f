//! `cargo xtask bench-peers`: the peer benchmark (`host/server/benches/peers.rs`),
//! which serves the same load from wasm_exporter, a client_golang exporter
//! and a Python prometheus_client exporter and scrapes them side by side.
//!
//! Installs what is missing (Go and client_golang from Debian packages, the
//! project's `.venv`), builds the plugins, the Go exporter and the release
//! host, then runs the benchmark.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::{Workspace, apt, plugins, python};

/// The Debian packages of the Go toolchain and of client_golang (with the
/// libraries it imports), installed in GOPATH layout under [`GOPATH_DEB`].
const DEB_PACKAGES: [&str; 2] = ["golang-go", "golang-github-prometheus-client-golang-dev"];
/// Where Debian's Go library packages put their sources.
const GOPATH_DEB: &str = "/usr/share/gocode";
/// A package the Go exporter imports, to tell whether client_golang is there.
const PROMHTTP_DIR: &str = "src/github.com/prometheus/client_golang/prometheus/promhttp";
/// The Go exporter's source, relative to the workspace root.
const GO_SOURCE: &str = "tests/peers/go/main.go";
/// Output directory of the benchmark, below the target dir.
const OUT_DIR: &str = "peers";

/// Prepares everything, then runs `cargo bench -p wasm_exporter --bench peers`.
pub fn bench_peers() -> Result<()> {
    let workspace = Workspace::locate()?;
    ensure_go(&workspace)?;
    python::ensure_venv(&workspace)?;
    plugins::build(&workspace)?;
    build_go_exporter(&workspace)?;
    workspace.bench_release_host("peers")
}

/// Installs Go and client_golang with apt-get unless both are there (the
/// peer benchmark and the client_golang port test run them).
pub fn ensure_go(workspace: &Workspace) -> Result<()> {
    if go_works() && Path::new(GOPATH_DEB).join(PROMHTTP_DIR).is_dir() {
        return Ok(());
    }
    apt::install(workspace, &DEB_PACKAGES, apt::Recommends::Install)?;
    if !go_works() {
        bail!("`go` still does not run after installing {DEB_PACKAGES:?}");
    }
    Ok(())
}

fn go_works() -> bool {
    Command::new("go")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Builds `target/peers/go_exporter` in GOPATH mode against Debian's
/// client_golang, with its own writable GOPATH entry and build cache.
fn build_go_exporter(workspace: &Workspace) -> Result<PathBuf> {
    let out = workspace.target_dir.join(OUT_DIR);
    let gopath = std::env::join_paths([Path::new(GOPATH_DEB), &out.join("gopath")])
        .context("GOPATH contains an invalid entry")?;
    let binary = out.join("go_exporter");
    workspace.run(
        Command::new("go")
            .args(["build", "-o"])
            .arg(&binary)
            .arg(GO_SOURCE)
            .current_dir(&workspace.root)
            .env("GO111MODULE", "off")
            .env("GOPATH", gopath)
            .env("GOCACHE", out.join("go-cache")),
    )?;
    Ok(binary)
}
