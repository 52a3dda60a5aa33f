//! Builds the guest plugin crates into `.wasm` components.
//!
//! Every crate under [`EXAMPLES_SRC_DIR`] and [`TESTS_SRC_DIR`] is built in
//! one cargo invocation (one dependency graph, one lock on the target dir),
//! then copied to a flat directory per kind, named after its crate: that
//! file stem is the plugin's name in the host.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::Workspace;

/// The Rust target every guest is built for.
const TARGET: &str = "wasm32-wasip2";
/// The cargo profile for guests (small, stripped; see the root Cargo.toml).
const PROFILE: &str = "plugin";

/// Example plugins, one crate per directory.
const EXAMPLES_SRC_DIR: &str = "plugins/rust";
/// Plugins for the host's tests and benchmarks, one crate per directory.
const TESTS_SRC_DIR: &str = "tests/plugins";
/// Where example plugins land, below the target dir.
pub const EXAMPLES_OUT_DIR: &str = "plugins";
/// Where test plugins land, below the target dir.
pub const TESTS_OUT_DIR: &str = "test-plugins";

/// One guest crate.
struct Plugin {
    package: String,
    /// Stem of the built `.wasm`, which is the crate's library name.
    artifact: String,
    out_dir: &'static str,
}

/// Builds every plugin, Rust and the other languages ([`crate::guest`]),
/// and copies the components to their output dirs.
pub fn build(workspace: &Workspace) -> Result<()> {
    build_rust(workspace)?;
    let report = crate::guest::build_all(workspace)?;
    for (language, how) in &report.missing {
        eprintln!("note: the {language} plugins were not built: {how}");
    }
    Ok(())
}

/// Builds the Rust plugins in one cargo invocation.
fn build_rust(workspace: &Workspace) -> Result<()> {
    ensure_target_installed(workspace)?;
    let mut plugins = discover(&workspace.root.join(EXAMPLES_SRC_DIR), EXAMPLES_OUT_DIR)?;
    plugins.extend(discover(
        &workspace.root.join(TESTS_SRC_DIR),
        TESTS_OUT_DIR,
    )?);
    if plugins.is_empty() {
        bail!("no plugin crates under {EXAMPLES_SRC_DIR}/ or {TESTS_SRC_DIR}/");
    }

    let mut cargo = workspace.cargo();
    cargo.args(["build", "--profile", PROFILE, "--target", TARGET]);
    for plugin in &plugins {
        cargo.args(["-p", &plugin.package]);
    }
    workspace.run(&mut cargo)?;

    let built_dir = workspace.target_dir.join(TARGET).join(PROFILE);
    for plugin in &plugins {
        let built = built_dir.join(format!("{}.wasm", plugin.artifact));
        let out_dir = workspace.target_dir.join(plugin.out_dir);
        let installed = out_dir.join(format!("{}.wasm", plugin.artifact));
        let size = install(&built, &out_dir, &installed)?;
        eprintln!(
            "  {} ({:.1} KiB)",
            installed
                .strip_prefix(&workspace.root)
                .unwrap_or(&installed)
                .display(),
            size as f64 / 1024.0
        );
    }
    Ok(())
}

/// Builds the Rust plugin package in `dir` (a workspace of its own, as
/// `wasm_exporter new --lang rust` makes it) into the component `out` (an
/// absolute path),
/// with a target directory of its own below the workspace's.
pub fn build_package(workspace: &Workspace, dir: &Path, out: &Path) -> Result<()> {
    ensure_target_installed(workspace)?;
    let manifest = dir.join("Cargo.toml");
    let text = fs::read_to_string(&manifest)
        .with_context(|| format!("failed to read {}", manifest.display()))?;
    let package = manifest_name(&text, "package")
        .with_context(|| format!("no [package] name in {}", manifest.display()))?;
    let artifact = manifest_name(&text, "lib").unwrap_or_else(|| package.replace('-', "_"));
    let target_dir = workspace.target_dir.join("package-build");
    let mut cargo = workspace.cargo();
    cargo
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir);
    workspace.run(&mut cargo)?;
    let built = target_dir
        .join(TARGET)
        .join("release")
        .join(format!("{artifact}.wasm"));
    install(
        &built,
        out.parent().context("output has no directory")?,
        out,
    )?;
    Ok(())
}

/// Installs the standard library for [`TARGET`] with rustup when it is
/// missing (a fresh machine), or fails with the fix when rustup is not
/// there, rather than letting cargo fail with "can't find crate for `core`".
fn ensure_target_installed(workspace: &Workspace) -> Result<()> {
    if target_installed(workspace)? {
        return Ok(());
    }
    let added = workspace.run(
        Command::new("rustup")
            .args(["target", "add", TARGET])
            .current_dir(&workspace.root),
    );
    if added.is_err() || !target_installed(workspace)? {
        bail!(
            "the {TARGET} target is not installed and `rustup target add {TARGET}` did not install it"
        );
    }
    Ok(())
}

fn target_installed(workspace: &Workspace) -> Result<bool> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .current_dir(&workspace.root)
        .output()
        .context("failed to run `rustc --print sysroot`")?;
    if !output.status.success() {
        bail!(
            "`rustc --print sysroot` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    Ok(sysroot.join("lib/rustlib").join(TARGET).is_dir())
}

/// The packages of the example plugins, whose parsers have unit tests that
/// run natively (`cargo xtask test` runs them).
pub fn example_packages(workspace: &Workspace) -> Result<Vec<String>> {
    Ok(
        discover(&workspace.root.join(EXAMPLES_SRC_DIR), EXAMPLES_OUT_DIR)?
            .into_iter()
            .map(|p| p.package)
            .collect(),
    )
}

/// The crates directly below `dir`, sorted by name.
fn discover(dir: &Path, out_dir: &'static str) -> Result<Vec<Plugin>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error).context(format!("failed to list {}", dir.display())),
    };
    let mut plugins = Vec::new();
    for entry in entries {
        let manifest = entry?.path().join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = fs::read_to_string(&manifest)
            .with_context(|| format!("failed to read {}", manifest.display()))?;
        let package = manifest_name(&text, "package")
            .with_context(|| format!("no [package] name in {}", manifest.display()))?;
        let artifact = manifest_name(&text, "lib").unwrap_or_else(|| package.replace('-', "_"));
        plugins.push(Plugin {
            package,
            artifact,
            out_dir,
        });
    }
    plugins.sort_by(|a, b| a.package.cmp(&b.package));
    Ok(plugins)
}

/// The `name = "..."` of one table of a manifest. Plugin manifests are
/// small and regular; this is not a TOML parser.
fn manifest_name(manifest: &str, table: &str) -> Option<String> {
    let header = format!("[{table}]");
    let mut in_table = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line == header;
        } else if in_table {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            if key.trim() == "name" {
                return Some(value.trim().trim_matches('"').to_owned());
            }
        }
    }
    None
}

/// Copies `built` to `installed` and returns its size. An unchanged file is
/// left alone, and a changed one is replaced by a rename, so a host watching
/// the directory never reloads for nothing nor reads a half-written file.
pub fn install(built: &Path, out_dir: &Path, installed: &Path) -> Result<u64> {
    let bytes = fs::read(built).with_context(|| format!("failed to read {}", built.display()))?;
    if fs::read(installed).is_ok_and(|old| old == bytes) {
        return Ok(bytes.len() as u64);
    }
    fs::create_dir_all(out_dir)
        .with_context(|| format!("failed to create {}", out_dir.display()))?;
    let file_name = installed
        .file_name()
        .context("output path has no file name")?
        .to_string_lossy();
    let staging = out_dir.join(format!(".{file_name}.tmp"));
    fs::write(&staging, &bytes)
        .with_context(|| format!("failed to write {}", staging.display()))?;
    fs::rename(&staging, installed)
        .with_context(|| format!("failed to move {} into place", installed.display()))?;
    Ok(bytes.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::manifest_name;

    #[test]
    fn reads_package_and_lib_names() {
        let manifest = "[package]\nname = \"demo-queue\"\nversion.workspace = true\n\n\
                        [lib]\ncrate-type = [\"cdylib\"]\nname = \"demo\"\n";
        assert_eq!(
            manifest_name(manifest, "package").as_deref(),
            Some("demo-queue")
        );
        assert_eq!(manifest_name(manifest, "lib").as_deref(), Some("demo"));
        assert_eq!(manifest_name("[lib]\ncrate-type = []\n", "lib"), None);
    }
}
