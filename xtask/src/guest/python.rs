//! Python plugins, built with componentize-py (a CPython interpreter
//! compiled to WebAssembly, the plugin's modules and a snapshot of the
//! interpreter after importing them, in one component).
//!
//! A plugin is a directory with an `app.py` that registers its collectors
//! on the SDK's `REGISTRY`. componentize-py is not given `app` but the
//! SDK's `wasm_exporter._guest`, which holds the `collector` export and
//! imports `app`. The SDK package and the plugin's directory, copied into
//! a scratch directory, are the whole module path: a plugin gets no
//! package it does not ship, and the bytecode componentize-py's
//! interpreter writes next to the modules it imports stays out of the
//! sources.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::Workspace;

/// The pinned componentize-py (PyPI).
const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// The venv that holds it, shared with the reference parser.
const VENV_DIR: &str = ".venv";
/// The SDK's package.
const SDK_PACKAGE: &str = "sdk/python/wasm_exporter";
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
        let modules = scratch.join("modules");
        if modules.exists() {
            fs::remove_dir_all(&modules)
                .with_context(|| format!("failed to remove {}", modules.display()))?;
        }
        let sdk = modules.join("sdk");
        let plugin = modules.join("plugin");
        copy_tree(
            &workspace.root.join(SDK_PACKAGE),
            &sdk.join("wasm_exporter"),
        )?;
        copy_tree(src, &plugin)?;
        // componentize-py adds `$VIRTUAL_ENV`'s site-packages to the module
        // path, or else the site-packages of whatever Python it finds: an
        // empty one here keeps a build from depending on what happens to be
        // installed.
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
                    .arg(&sdk)
                    .arg("--python-path")
                    .arg(&plugin)
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

/// Copies the files below `from` to `to`, leaving out what is no source
/// (`__pycache__`, hidden directories).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("failed to create {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("failed to list {}", from.display()))? {
        let entry = entry?;
        if super::skipped(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            fs::copy(&source, &target).with_context(|| {
                format!(
                    "failed to copy {} to {}",
                    source.display(),
                    target.display()
                )
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_tree_leaves_out_bytecode_and_hidden_directories() {
        let dir = std::env::temp_dir().join(format!("xtask_py_copy_{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let from = dir.join("from");
        fs::create_dir_all(from.join("__pycache__")).unwrap();
        fs::create_dir_all(from.join(".venv")).unwrap();
        fs::create_dir_all(from.join("lib")).unwrap();
        fs::write(from.join("app.py"), "import lib.util").unwrap();
        fs::write(from.join("lib/util.py"), "").unwrap();
        fs::write(from.join("__pycache__/app.cpython-314.pyc"), "").unwrap();
        fs::write(from.join(".venv/x.py"), "").unwrap();
        let to = dir.join("to");
        copy_tree(&from, &to).unwrap();
        assert_eq!(
            fs::read_to_string(to.join("app.py")).unwrap(),
            "import lib.util"
        );
        assert!(to.join("lib/util.py").is_file());
        assert!(!to.join("__pycache__").exists());
        assert!(!to.join(".venv").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
