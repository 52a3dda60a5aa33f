//! From a `.wasm` file to a [`PluginVersion`] ready to instantiate.
//!
//! Loading reads and hashes the file, checks it is a component for this
//! host's world and WIT version, compiles it (off the async runtime's worker
//! threads) and links it once into an `InstancePre`. Every error names the
//! file and says what is wrong with it. Nothing here runs on the scrape path.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use crate::bindings::model::Descriptor;
use crate::bindings::{COLLECTOR_EXPORT, PluginPre, WIT_VERSION};
use crate::engine::Runtime;
use crate::instance::{self, Allowance, Describe};
use crate::limits::{DESCRIBE_TIMEOUT_MS, MAX_DESCRIBE_BYTES, PluginLimits};
use crate::outcome::root_message;
use crate::pool::Needs;
use crate::sandbox::{PluginContext, Sandbox};

/// One compiled, linked version of a plugin.
pub struct PluginVersion {
    /// The file it was loaded from.
    pub path: PathBuf,
    /// Hex sha256 of the file's bytes.
    pub sha256: String,
    /// The WIT package version it was built against.
    pub wit_version: String,
    /// Size of the file in bytes.
    pub size_bytes: u64,
    /// The families it says it returns.
    pub descriptors: Vec<Descriptor>,
    /// How long compiling took.
    pub compile_time: Duration,
    pre: PluginPre<Sandbox>,
    needs: Needs,
    runtime: Arc<Runtime>,
}

impl std::fmt::Debug for PluginVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginVersion")
            .field("path", &self.path)
            .field("sha256", &self.sha256)
            .field("wit_version", &self.wit_version)
            .finish_non_exhaustive()
    }
}

impl PluginVersion {
    /// The linked component, for instantiation.
    pub fn pre(&self) -> &PluginPre<Sandbox> {
        &self.pre
    }

    /// What one instance takes from the instance pool.
    pub fn needs(&self) -> Needs {
        self.needs
    }

    /// The runtime it was compiled for, and runs on.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }
}

/// Why a file could not become a plugin. Its `Display` names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for LoadError {}

fn fail(path: &Path, reason: impl Into<String>) -> LoadError {
    LoadError {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// The plugin name for a file: its stem (`foo.wasm` is `foo`).
pub fn plugin_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Loads the plugin at `path`: read, check, compile, link, then call
/// `describe` once under `limits`.
pub async fn load(
    runtime: &Arc<Runtime>,
    path: &Path,
    context: &Arc<PluginContext>,
    limits: &PluginLimits,
) -> Result<PluginVersion, LoadError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| fail(path, format!("cannot read: {e}")))?;
    let sha256 = sha256_hex(&bytes);
    load_bytes(runtime, path, bytes, sha256, context, limits).await
}

/// Hex sha256 of a plugin file's bytes: its identity in the compile cache
/// and in `wasm_exporter_plugin_info`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// [`load`] for a file already read and hashed ([`sha256_hex`]). Runs on
/// the plugin threads.
pub async fn load_bytes(
    runtime: &Arc<Runtime>,
    path: &Path,
    bytes: Vec<u8>,
    sha256: String,
    context: &Arc<PluginContext>,
    limits: &PluginLimits,
) -> Result<PluginVersion, LoadError> {
    let work = {
        let (runtime, path, context, limits) = (
            runtime.clone(),
            path.to_owned(),
            context.clone(),
            limits.clone(),
        );
        async move { load_here(&runtime, &path, bytes, sha256, &context, &limits).await }
    };
    runtime
        .run(work)
        .await
        .unwrap_or_else(|| Err(fail(path, "loading was interrupted (the host is stopping)")))
}

async fn load_here(
    runtime: &Arc<Runtime>,
    path: &Path,
    bytes: Vec<u8>,
    sha256: String,
    context: &Arc<PluginContext>,
    limits: &PluginLimits,
) -> Result<PluginVersion, LoadError> {
    let size_bytes = bytes.len() as u64;
    let rt = runtime.clone();
    let owned_path = path.to_owned();
    let (component, sha256, compile_time) =
        tokio::task::spawn_blocking(move || compile(&rt, &owned_path, &bytes, sha256))
            .await
            .map_err(|e| fail(path, format!("compilation panicked: {e}")))??;
    let wit_version = check_exports(runtime, path, &component)?;
    let instance_pre = runtime
        .linker()
        .instantiate_pre(&component)
        .map_err(|e| fail(path, link_error(&e)))?;
    let pre = PluginPre::new(instance_pre)
        .map_err(|e| fail(path, format!("cannot link: {}", root_message(&e))))?;
    let needs = needs_of(&component);
    let allowance = Allowance {
        limits,
        time_allowed: limits
            .timeout()
            .min(Duration::from_millis(DESCRIBE_TIMEOUT_MS)),
        result_bytes: MAX_DESCRIBE_BYTES,
    };
    let descriptors = instance::call(runtime, &pre, needs, context, allowance, Describe)
        .await
        .result
        .map_err(|f| {
            fail(
                path,
                format!("smoke test: describe failed ({}): {}", f.reason, f.message),
            )
        })?;
    Ok(PluginVersion {
        path: path.to_owned(),
        sha256,
        wit_version,
        size_bytes,
        descriptors,
        compile_time,
        pre,
        needs,
        runtime: runtime.clone(),
    })
}

/// What one instance of `component` takes from the instance pool (the
/// most any component may, when it cannot be told).
fn needs_of(component: &Component) -> Needs {
    match component.resources_required() {
        Some(r) => Needs {
            memories: r.num_memories.min(Needs::MOST.memories),
            tables: r.num_tables.min(Needs::MOST.tables),
        },
        None => Needs::MOST,
    }
}

/// Why a component does not link: every cause of `e`, outermost first (the
/// linker names the import it could not satisfy in one of them).
fn link_error(e: &wasmtime::Error) -> String {
    let causes: Vec<String> = e
        .chain()
        .map(|c| c.to_string().lines().next().unwrap_or_default().to_owned())
        .collect();
    format!("cannot link: {}", causes.join(": "))
}

fn compile(
    runtime: &Runtime,
    path: &Path,
    bytes: &[u8],
    sha256: String,
) -> Result<(Component, String, Duration), LoadError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(fail(path, "not a WebAssembly file (no \\0asm header)"));
    }
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(fail(
            path,
            "a core WebAssembly module, not a component: build it for wasm32-wasip2 \
             or wrap it with `wasm-tools component new`",
        ));
    }
    let start = Instant::now();
    let component = runtime
        .compile(&sha256, bytes)
        .map_err(|e| fail(path, format!("invalid component: {}", root_message(&e))))?;
    Ok((component, sha256, start.elapsed()))
}

/// Checks the component exports this host's `collector` interface and
/// returns the WIT version it was built against.
fn check_exports(
    runtime: &Runtime,
    path: &Path,
    component: &Component,
) -> Result<String, LoadError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty
        .exports(runtime.engine())
        .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
        .map(|(name, _)| name.to_owned())
        .collect();
    if exports.iter().any(|e| e == COLLECTOR_EXPORT) {
        return Ok(WIT_VERSION.to_owned());
    }
    let unversioned = COLLECTOR_EXPORT
        .split('@')
        .next()
        .unwrap_or(COLLECTOR_EXPORT);
    if let Some(other) = exports
        .iter()
        .find(|e| e.split('@').next() == Some(unversioned))
    {
        let version = other.split('@').nth(1).unwrap_or("(none)");
        return Err(fail(
            path,
            format!(
                "built against WIT version {version} of {unversioned}; this host accepts {WIT_VERSION}"
            ),
        ));
    }
    let found = if exports.is_empty() {
        "no interfaces".to_owned()
    } else {
        exports.join(", ")
    };
    Err(fail(
        path,
        format!(
            "not a collector plugin: it must export {COLLECTOR_EXPORT} (world `plugin`), \
             but it exports {found}"
        ),
    ))
}
