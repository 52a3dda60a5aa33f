//! C plugins, compiled by `zig cc` (the Zig toolchain of [`super::zig`]:
//! clang with wasi-libc for `wasm32-wasi`, nothing from the system).
//!
//! A C plugin is a directory of `.c` files (and headers) that define
//! `we_collect`. They are linked with the SDK (`sdk/c/wasm_exporter.c`)
//! and wit-bindgen's C bindings of the plugin world into a `wasm32-wasi`
//! reactor, whose component gets the WASI preview1 adapter when the code
//! uses wasi-libc's I/O (stdio, open, getenv).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::Workspace;

/// The SDK's directory: its header and its one source file.
const SDK_DIR: &str = "sdk/c";

pub struct C;

/// The `.c` files directly in `src`, sorted (a stable link order).
fn sources(src: &Path) -> Result<Vec<PathBuf>> {
    let mut sources = Vec::new();
    for entry in fs::read_dir(src).with_context(|| format!("failed to list {}", src.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "c") && path.is_file() {
            sources.push(path);
        }
    }
    sources.sort();
    Ok(sources)
}

impl super::Guest for C {
    fn name(&self) -> &'static str {
        "c"
    }

    fn toolchain(&self, workspace: &Workspace) -> Result<String, String> {
        // The C compiler and libc are zig's own: its version is theirs.
        super::zig::toolchain(workspace).map(|zig| format!("{zig} cc"))
    }

    fn install(&self, workspace: &Workspace) -> Result<()> {
        super::zig::install(workspace)
    }

    fn build(&self, workspace: &Workspace, src: &Path, out: &Path) -> Result<()> {
        let sources = sources(src)?;
        if sources.is_empty() {
            bail!(
                "{} has no .c file: a C plugin's directory needs one that defines \
                 `int we_collect(const we_request *request, we_families *out)`",
                src.display()
            );
        }
        let scratch = super::zig::scratch_dir(workspace, out)?;
        let bindings = super::zig::c_bindings(workspace)?;
        let sdk = workspace.root.join(SDK_DIR);
        let core = scratch.join("core.wasm");
        let mut command: Command = super::zig::zig(workspace)?;
        command
            .args([
                "cc",
                "--target=wasm32-wasi",
                "-mexec-model=reactor",
                "-O2",
                "-s",
            ])
            .args(["-Wall", "-Wextra"])
            .arg(format!("-Wl,-z,stack-size={}", super::zig::STACK_BYTES))
            .arg(format!("-I{}", sdk.display()))
            .arg(format!("-I{}", bindings.display()))
            .args(&sources)
            .arg(sdk.join("wasm_exporter.c"))
            .arg(bindings.join("plugin.c"))
            .arg(bindings.join("plugin_component_type.o"))
            .arg("-o")
            .arg(&core);
        workspace
            .run(&mut command)
            .with_context(|| format!("zig cc could not build {}", src.display()))?;
        super::zig::componentize(workspace, &core, out)
    }
}
