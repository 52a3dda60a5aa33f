//! Zig plugins, and the Zig toolchain that the C plugins build with too
//! (`zig cc` bundles clang, lld and wasi-libc: one project-local toolchain
//! from PyPI for both languages).
//!
//! A Zig plugin is a directory with a `main.zig` that declares `collect`
//! (and optionally `describe`). It is the root module of a `wasm32-wasi`
//! reactor; the SDK (`sdk/zig/wasm_exporter.zig`) is its `wasm_exporter`
//! module and exports the plugin world's functions through wit-bindgen's C
//! bindings, which the SDK imports as the `bindings` module that
//! `zig translate-c` makes of the generated header.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::Workspace;

/// The pinned ziglang (PyPI).
const ZIG_VERSION: &str = "0.17.1";
/// The venv that holds it, shared with the Python tools.
const VENV_DIR: &str = ".venv";
/// The SDK's root source file.
const SDK_ROOT: &str = "sdk/zig/wasm_exporter.zig";
/// The root source file of a plugin directory.
const ROOT_FILE: &str = "main.zig";
/// Linear-memory stack of a plugin: what Rust's wasm targets give, where
/// Zig's default (16 MiB) would count against every plugin's memory cap.
pub(super) const STACK_BYTES: u32 = 1 << 20;
/// The WASI preview1 import module: a core module importing it needs the
/// preview1 adapter in its component.
const PREVIEW1_MODULE: &str = "wasi_snapshot_preview1";

pub struct Zig;

/// The `zig` executable the ziglang package puts in the venv, if present.
fn zig_binary(workspace: &Workspace) -> Option<PathBuf> {
    let lib = workspace.root.join(VENV_DIR).join("lib");
    fs::read_dir(lib).ok()?.flatten().find_map(|python| {
        let zig = python.path().join("site-packages/ziglang/zig");
        zig.is_file().then_some(zig)
    })
}

/// The version the installed zig reports, if it runs.
fn installed_version(workspace: &Workspace) -> Option<String> {
    let output = Command::new(zig_binary(workspace)?)
        .arg("version")
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `Ok("zig <version>")` when the pinned zig is installed.
pub(super) fn toolchain(workspace: &Workspace) -> Result<String, String> {
    match installed_version(workspace) {
        Some(version) if version == ZIG_VERSION => Ok(format!("zig {version}")),
        Some(version) => Err(format!(
            "{VENV_DIR} has zig {version}, the build needs {ZIG_VERSION}: run `cargo xtask toolchains`"
        )),
        None => Err(format!(
            "no zig in {VENV_DIR}: run `cargo xtask toolchains`"
        )),
    }
}

/// Installs the pinned ziglang into the venv unless it is there.
pub(super) fn install(workspace: &Workspace) -> Result<()> {
    let venv = crate::python::ensure_venv(workspace)?;
    if installed_version(workspace).as_deref() == Some(ZIG_VERSION) {
        return Ok(());
    }
    let requirement = format!("ziglang=={ZIG_VERSION}");
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

/// A `zig` command whose caches live in the target dir: zig's default
/// global cache is in the home directory, outside the project.
pub(super) fn zig(workspace: &Workspace) -> Result<Command> {
    let binary = zig_binary(workspace)
        .with_context(|| format!("no zig in {VENV_DIR}: run `cargo xtask toolchains`"))?;
    let cache = workspace.target_dir.join("tools/zig-cache");
    let mut command = Command::new(binary);
    command
        .env("ZIG_GLOBAL_CACHE_DIR", &cache)
        .env("ZIG_LOCAL_CACHE_DIR", &cache)
        .current_dir(&workspace.root);
    Ok(command)
}

/// Writes wit-bindgen's C bindings of the plugin world into one directory
/// shared by every C and Zig build (and the C SDK's native tests), and
/// returns it.
pub(super) fn c_bindings(workspace: &Workspace) -> Result<PathBuf> {
    let dir = workspace.target_dir.join("guest-build/c-bindings");
    super::component::c_bindings(workspace, &dir)?;
    for file in ["plugin.h", "plugin.c", "plugin_component_type.o"] {
        if !dir.join(file).is_file() {
            bail!(
                "the C bindings generator wrote no {} in {}",
                file,
                dir.display()
            );
        }
    }
    Ok(dir)
}

/// The scratch directory of one plugin's build.
pub(super) fn scratch_dir(workspace: &Workspace, out: &Path) -> Result<PathBuf> {
    let stem = out
        .file_stem()
        .with_context(|| format!("{} has no file name", out.display()))?;
    let scratch = workspace.target_dir.join("guest-build").join(stem);
    fs::create_dir_all(&scratch)
        .with_context(|| format!("failed to create {}", scratch.display()))?;
    Ok(scratch)
}

/// Makes the component `out` of the core module `core`, with the WASI
/// preview1 adapter only when the module imports preview1 (a plugin that
/// opens files through wasi-libc does; one that only computes does not,
/// and its component stays a few KiB).
pub(super) fn componentize(workspace: &Workspace, core: &Path, out: &Path) -> Result<()> {
    let module = fs::read(core).with_context(|| format!("failed to read {}", core.display()))?;
    let adapter = imports_module(&module, PREVIEW1_MODULE)
        .with_context(|| format!("{} is not valid WebAssembly", core.display()))?;
    let component = super::component::componentize(workspace, &module, adapter)
        .with_context(|| format!("failed to make a component of {}", core.display()))?;
    fs::write(out, component).with_context(|| format!("failed to write {}", out.display()))
}

/// Whether a core module imports anything from `module`.
fn imports_module(core: &[u8], module: &str) -> Result<bool> {
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        if let wasmparser::Payload::ImportSection(section) = payload? {
            for import in section.into_imports() {
                if import?.module == module {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// `zig translate-c` of the generated header, for the SDK to import as
/// `bindings` (Zig 0.16 removed `@cImport`).
fn zig_bindings(workspace: &Workspace, c_bindings: &Path) -> Result<PathBuf> {
    let header = c_bindings.join("plugin.h");
    let out = workspace
        .target_dir
        .join("guest-build/zig-bindings/plugin.zig");
    let mut command = zig(workspace)?;
    command
        .args(["translate-c", "-target", "wasm32-wasi", "-lc"])
        .arg(&header);
    eprintln!("  zig translate-c {}", header.display());
    let output = command
        .output()
        .with_context(|| format!("failed to run zig translate-c on {}", header.display()))?;
    if !output.status.success() {
        bail!(
            "zig translate-c failed on {}: {}",
            header.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let dir = out.parent().context("bindings path has no directory")?;
    fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    if !fs::read(&out).is_ok_and(|old| old == output.stdout) {
        fs::write(&out, &output.stdout)
            .with_context(|| format!("failed to write {}", out.display()))?;
    }
    Ok(out)
}

impl super::Guest for Zig {
    fn name(&self) -> &'static str {
        "zig"
    }

    fn toolchain(&self, workspace: &Workspace) -> Result<String, String> {
        toolchain(workspace)
    }

    fn install(&self, workspace: &Workspace) -> Result<()> {
        install(workspace)
    }

    fn build(&self, workspace: &Workspace, src: &Path, out: &Path) -> Result<()> {
        let main = src.join(ROOT_FILE);
        if !main.is_file() {
            bail!(
                "{} is missing: a Zig plugin's directory needs a `{ROOT_FILE}` that declares \
                 `pub fn collect(gpa: std.mem.Allocator, io: std.Io, request: wasm_exporter.Request) \
                 ![]const wasm_exporter.Family`",
                main.display()
            );
        }
        let scratch = scratch_dir(workspace, out)?;
        let c_bindings = c_bindings(workspace)?;
        let zig_bindings = zig_bindings(workspace, &c_bindings)?;
        let core = scratch.join("core.wasm");
        let mut command = zig(workspace)?;
        command
            .args(["build-exe", "-target", "wasm32-wasi", "-O", "ReleaseSmall"])
            .args(["-fno-entry", "-mexec-model=reactor", "-fstrip", "-lc"])
            .arg("--stack")
            .arg(STACK_BYTES.to_string())
            // C inputs belong to the module whose -M follows them: the root.
            .arg(format!("-I{}", c_bindings.display()))
            .arg(c_bindings.join("plugin.c"))
            .arg(c_bindings.join("plugin_component_type.o"))
            .args(["--dep", "wasm_exporter"])
            .arg(format!("-Mplugin={}", main.display()))
            .args(["--dep", "bindings"])
            .arg(format!(
                "-Mwasm_exporter={}",
                workspace.root.join(SDK_ROOT).display()
            ))
            .arg(format!("-Mbindings={}", zig_bindings.display()))
            .arg(format!("-femit-bin={}", core.display()));
        workspace
            .run(&mut command)
            .with_context(|| format!("zig could not build {}", src.display()))?;
        componentize(workspace, &core, out)
    }
}
