//! The project-local Python environment the tests use for the reference
//! exposition parser (`prometheus_client`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::Workspace;

/// The venv, relative to the workspace root (ignored by git).
const VENV_DIR: &str = ".venv";
/// The pinned reference parser.
const PROMETHEUS_CLIENT_VERSION: &str = "0.26.0";

/// Creates `.venv` if needed and installs the pinned `prometheus_client`
/// unless it is already there. Returns the venv's directory.
pub fn ensure_venv(workspace: &Workspace) -> Result<PathBuf> {
    let venv = workspace.root.join(VENV_DIR);
    let python = venv.join("bin/python");
    if !python.is_file() {
        workspace
            .run(
                Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .current_dir(&workspace.root),
            )
            .context("failed to create the Python venv (is python3 with venv installed?)")?;
    }
    if !has_prometheus_client(&python) {
        let requirement = format!("prometheus_client=={PROMETHEUS_CLIENT_VERSION}");
        workspace.run(
            Command::new(venv.join("bin/pip"))
                .args([
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    &requirement,
                ])
                .current_dir(&workspace.root),
        )?;
    }
    Ok(venv)
}

/// Whether the venv already has the pinned version: one Python start-up,
/// much cheaper than asking pip.
fn has_prometheus_client(python: &Path) -> bool {
    let check = format!(
        "import importlib.metadata as m, sys; \
         sys.exit(m.version('prometheus_client') != '{PROMETHEUS_CLIENT_VERSION}')"
    );
    Command::new(python)
        .args(["-c", &check])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Runs `command` as if the venv were activated: its `python3` comes first
/// on `PATH` and `VIRTUAL_ENV` names it.
pub fn activate(command: &mut Command, venv: &Path) -> Result<()> {
    let mut path = vec![venv.join("bin")];
    if let Some(current) = std::env::var_os("PATH") {
        path.extend(std::env::split_paths(&current));
    }
    let path: OsString = std::env::join_paths(path).context("PATH contains an invalid entry")?;
    command.env("PATH", path).env("VIRTUAL_ENV", venv);
    Ok(())
}
