//! Python plugins, built with componentize-py (a CPython interpreter
//! compiled to WebAssembly, the plugin's modules and a snapshot of the
//! interpreter after importing them, in one component).
//!
//! A plugin is a directory with an `app.py` that registers its collectors
//! on the SDK's `REGISTRY`. componentize-py is not given `app` but the
//! SDK's `wasm_exporter._guest`, which holds the `collector` export and
//! imports `app`; `sdk/python/` and the plugin's directory are the whole
//! module path, so a plugin gets no package it does not ship.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::Workspace;

/// The pinned componentize-py (PyPI).
const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// The venv that holds it, shared with the reference parser.
const VENV_DIR: &str = ".venv";
/// The SDK's directory: the `wasm_exporter` package is in it.
const SDK_DIR: &str = "sdk/python";
/// The module componentize-py wraps: the SDK's export glue.
const GLUE_MODULE: &str = "wasm_exporter._guest";
/// The module of a plugin directory that the glue imports.
const APP_FILE: &str = "app.py";

pub struct Python;

impl Python {
    fn componentize_py(workspace: &Workspace) -> PathBuf {
        workspace.root.join(VENV_DIR).join("bin/componentize-py")
    }

    /// The version the installed componentize-py reports, if it runs.
    fn installed_version(workspace: &Workspace) -> Option<String> {
        let output = Command::new(Self::componentize_py(workspace))
            .arg("--version")
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        // `componentize-py 0.25.1`
        String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .nth(1)
            .map(str::to_owned)
    }
}

impl super::Guest for Python {
    fn name(&self) -> &'static str {
        "python"
    }

    fn toolchain(&self, workspace: &Workspace) -> Result<String, String> {
        match Self::installed_version(workspace) {
            Some(version) if version == COMPONENTIZE_PY_VERSION => {
                Ok(format!("componentize-py {version}"))
            }
            Some(version) => Err(format!(
                "{VENV_DIR} has componentize-py {version}, the build needs \
                 {COMPONENTIZE_PY_VERSION}: run `cargo xtask toolchains`"
            )),
            None => Err(format!(
                "no componentize-py in {VENV_DIR}: run `cargo xtask toolchains`"
            )),
        }
    }

    fn install(&self, workspace: &Workspace) -> Result<()> {
        let venv = crate::python::ensure_venv(workspace)?;
        if Self::installed_version(workspace).as_deref() == Some(COMPONENTIZE_PY_VERSION) {
            return Ok(());
        }
        let requirement = format!("componentize-py=={COMPONENTIZE_PY_VERSION}");
        workspace.run(
            Command::new(venv.join("bin/pip"))
                .args([
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    &requirement,
                ])
                .current_dir(&workspace.root),
        )
    }

    fn build(&self, workspace: &Workspace, src: &Path, out: &Path) -> Result<()> {
        let app = src.join(APP_FILE);
        if !app.is_file() {
            bail!(
                "{} is missing: a Python plugin's directory needs an `{APP_FILE}` \
                 that registers its collectors on wasm_exporter.REGISTRY",
                app.display()
            );
        }
        let stem = out
            .file_stem()
            .with_context(|| format!("{} has no file name", out.display()))?;
        let scratch = workspace.target_dir.join("guest-build").join(stem);
        // componentize-py adds `$VIRTUAL_ENV`'s site-packages to the module
        // path, or else the site-packages of whatever Python it finds: an
        // empty one here keeps the plugin to its own directory and the SDK,
        // so a build does not depend on what happens to be installed.
        let site_packages = scratch.join("lib/python3/site-packages");
        fs::create_dir_all(&site_packages)
            .with_context(|| format!("failed to create {}", site_packages.display()))?;
        workspace
            .run(
                Command::new(Self::componentize_py(workspace))
                    .arg("--quiet")
                    .arg("--wit-path")
                    .arg(workspace.root.join(super::component::WIT_DIR))
                    .arg("--world")
                    .arg(super::component::WORLD)
                    .arg("componentize")
                    .arg(GLUE_MODULE)
                    .arg("--python-path")
                    .arg(workspace.root.join(SDK_DIR))
                    .arg("--python-path")
                    .arg(src)
                    .arg("--output")
                    .arg(out)
                    .env("VIRTUAL_ENV", &scratch)
                    .env_remove("PYTHONPATH")
                    .env_remove("PYTHONHOME")
                    .current_dir(&scratch),
            )
            .with_context(|| format!("componentize-py could not build {}", src.display()))
    }

    fn extra_plugins(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "tests/ports/prometheus_client/wasm",
                "port_prometheus_client",
            ),
            ("sdk/python/tests/reach", "python_reach"),
        ]
    }
}
