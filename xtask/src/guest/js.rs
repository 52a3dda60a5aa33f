//! JavaScript plugins, built with componentize-js (SpiderMonkey inside the
//! component) from the npm packages `sdk/js/package.json` pins, installed
//! into `sdk/js/node_modules` with `npm ci`.
//!
//! The build itself is `sdk/js/build.mjs` (a plugin author runs the same
//! script): it lays the plugin and the SDK out in a scratch directory and
//! componentizes them against `wit/`. This module only finds Node.js,
//! installs the packages and runs that script.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::Workspace;
use crate::apt::{self, Recommends};

/// The SDK's directory, relative to the workspace root.
const SDK_DIR: &str = "sdk/js";
/// The build script, relative to the SDK's directory.
const BUILD_SCRIPT: &str = "build.mjs";
/// The oldest Node.js major version componentize-js 0.23 runs on here.
const MIN_NODE_MAJOR: u32 = 18;

pub struct Js;

impl Js {
    fn sdk(&self, workspace: &Workspace) -> PathBuf {
        workspace.root.join(SDK_DIR)
    }
}

impl super::Guest for Js {
    fn name(&self) -> &'static str {
        "js"
    }

    fn toolchain(&self, workspace: &Workspace) -> Result<String, String> {
        node_major().map_err(|e| format!("{e:#}"))?;
        let sdk = self.sdk(workspace);
        // The script compares every pinned package with the installed one.
        let output = Command::new("node")
            .arg(sdk.join(BUILD_SCRIPT))
            .arg("--toolchain")
            .current_dir(&sdk)
            .output()
            .map_err(|e| format!("cannot run node: {e}"))?;
        if !output.status.success() {
            let why = String::from_utf8_lossy(&output.stderr);
            return Err(format!(
                "{}; run `cargo xtask toolchains` (npm ci in {SDK_DIR})",
                why.trim().trim_start_matches("error: ")
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    fn install(&self, workspace: &Workspace) -> Result<()> {
        if node_major().is_err() || !has_program("npm") {
            apt::install(workspace, &["nodejs", "npm"], Recommends::Skip)
                .context("Node.js and npm are needed for JavaScript plugins")?;
        }
        let major = node_major()?;
        if major < MIN_NODE_MAJOR {
            bail!(
                "Node.js {major} is too old for componentize-js: {MIN_NODE_MAJOR} or later is needed"
            );
        }
        if self.toolchain(workspace).is_ok() {
            return Ok(());
        }
        let sdk = self.sdk(workspace);
        workspace.run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&sdk),
        )?;
        Ok(())
    }

    fn build(&self, workspace: &Workspace, src: &Path, out: &Path) -> Result<()> {
        let sdk = self.sdk(workspace);
        let stem = out
            .file_stem()
            .with_context(|| format!("{} has no file name", out.display()))?;
        let scratch = workspace.target_dir.join("guest-build").join(stem);
        workspace.run(
            Command::new("node")
                .arg(sdk.join(BUILD_SCRIPT))
                .arg(src)
                .arg(out)
                .arg("--scratch")
                .arg(&scratch)
                .current_dir(&workspace.root),
        )
    }
}

/// The major version of the `node` on `PATH`.
fn node_major() -> Result<u32> {
    let output = Command::new("node")
        .arg("--version")
        .output()
        .context("Node.js is not installed (no `node` on PATH)")?;
    let version = String::from_utf8_lossy(&output.stdout);
    version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|major| major.parse().ok())
        .with_context(|| format!("`node --version` printed {version:?}, not a version"))
}

fn has_program(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}
