//! Turning core WebAssembly modules into plugin components, and the C
//! bindings of the plugin world, with the component-model libraries linked
//! into this tool (no `wasm-tools` or `wit-bindgen` binary to install).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::{Resolve, WorldId};

use crate::Workspace;

/// The WIT package's directory, relative to the workspace root.
pub const WIT_DIR: &str = "wit";
/// The world every plugin targets.
pub const WORLD: &str = "plugin";
/// The custom section name prefix wit-component reads a module's world from.
const COMPONENT_TYPE_SECTION: &str = "component-type";

/// The plugin world, parsed from `wit/`.
fn plugin_world(workspace: &Workspace) -> Result<(Resolve, WorldId)> {
    let dir = workspace.root.join(WIT_DIR);
    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_dir(&dir)
        .with_context(|| format!("failed to parse the WIT package in {}", dir.display()))?;
    let world = resolve
        .select_world(&[package], Some(WORLD))
        .with_context(|| format!("no world `{WORLD}` in {}", dir.display()))?;
    Ok((resolve, world))
}

/// Makes a plugin component of a core module that exports the plugin
/// world's functions in the canonical ABI. The world is embedded unless the
/// module already carries it (bindings generators such as wit-bindgen's C
/// one link it in). With `adapter`, the module's WASI preview1 imports
/// (what wasi-libc, Go's `wasip1` port and Zig's `wasi` target use) are
/// served by the preview1 reactor adapter of the host's wasmtime version.
pub fn componentize(workspace: &Workspace, core: &[u8], adapter: bool) -> Result<Vec<u8>> {
    let mut module = core.to_vec();
    if !has_component_type(core)? {
        let (resolve, world) = plugin_world(workspace)?;
        wit_component::embed_component_metadata(
            &mut module,
            &resolve,
            world,
            StringEncoding::UTF8,
            true,
        )
        .context("failed to embed the plugin world in the core module")?;
    }
    let mut encoder = ComponentEncoder::default();
    encoder
        .module(&module)
        .context("the core module is not a plugin module")?
        .validate(true);
    if adapter {
        encoder.adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?;
    }
    encoder
        .encode()
        .context("failed to make a component of the core module")
}

/// Whether a core module already carries a world in a custom section.
fn has_component_type(core: &[u8]) -> Result<bool> {
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        if let wasmparser::Payload::CustomSection(section) =
            payload.context("the core module is not valid WebAssembly")?
            && section.name().starts_with(COMPONENT_TYPE_SECTION)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Writes wit-bindgen's C bindings of the plugin world into `out_dir`:
/// `plugin.h`, `plugin.c` and `plugin_component_type.o` (the world, which
/// the generated C links in). Files that did not change are left alone, so
/// a build tool sees them as up to date.
pub fn c_bindings(workspace: &Workspace, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let (mut resolve, world) = plugin_world(workspace)?;
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)
        .context("failed to generate the C bindings of the plugin world")?;
    fs::create_dir_all(out_dir)
        .with_context(|| format!("failed to create {}", out_dir.display()))?;
    let mut written = Vec::new();
    for (name, contents) in files.iter() {
        let path = out_dir.join(name);
        if fs::read(&path).is_ok_and(|old| old == contents) {
            written.push(path);
            continue;
        }
        fs::write(&path, contents)
            .with_context(|| format!("failed to write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_bindings_declare_the_plugin_world() {
        let workspace = Workspace::locate().unwrap();
        let out = std::env::temp_dir().join(format!("xtask_c_bindings_{}", std::process::id()));
        let files = c_bindings(&workspace, &out).unwrap();
        let header = fs::read_to_string(out.join("plugin.h")).unwrap();
        assert!(header.contains("exports_wasm_exporter_collector_collector_collect"));
        assert!(files.iter().any(|f| f.ends_with("plugin_component_type.o")));
        // Unchanged files keep their modification time.
        let modified = |p: &Path| fs::metadata(p).unwrap().modified().unwrap();
        let before = modified(&out.join("plugin.h"));
        c_bindings(&workspace, &out).unwrap();
        assert_eq!(before, modified(&out.join("plugin.h")));
        fs::remove_dir_all(&out).unwrap();
    }
}
