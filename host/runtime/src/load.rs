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
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex};

use crate::bindings::model::Descriptor;
use crate::bindings::{COLLECTOR_EXPORT, PluginPre, WIT_VERSION, WIT_VERSION_ACCEPTED};
use crate::engine::Runtime;
use crate::grants::Grants;
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
    /// The interfaces it imports (`wasi:http/outgoing-handler@0.2.6`, ...).
    pub imports: Vec<String>,
    pre: PluginPre<Sandbox>,
    collect: ComponentExportIndex,
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

    /// Its `collect` export.
    pub fn collect_export(&self) -> ComponentExportIndex {
        self.collect
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
    let collect = instance::collect_export(&component).ok_or_else(|| {
        fail(
            path,
            format!("cannot link: no export {COLLECTOR_EXPORT}#collect"),
        )
    })?;
    let needs = needs_of(&component);
    let imports = component
        .component_type()
        .imports(runtime.engine())
        .map(|(name, _)| name.to_owned())
        .collect();
    let allowance = Allowance {
        limits,
        time_allowed: limits
            .timeout()
            .min(Duration::from_millis(DESCRIBE_TIMEOUT_MS)),
        result_bytes: MAX_DESCRIBE_BYTES,
        probe_host: None,
        share: None,
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
        imports,
        pre,
        collect,
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
    let unversioned = COLLECTOR_EXPORT
        .split('@')
        .next()
        .unwrap_or(COLLECTOR_EXPORT);
    if let Some(other) = exports
        .iter()
        .find(|e| e.split('@').next() == Some(unversioned))
    {
        let version = other.split('@').nth(1).unwrap_or("(none)");
        // Semver: every 0.1.x is this host's contract.
        let accepted = version
            .strip_prefix(WIT_VERSION_ACCEPTED)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|patch| patch.parse::<u32>().is_ok());
        if accepted {
            return Ok(version.to_owned());
        }
        return Err(fail(
            path,
            format!(
                "built against WIT version {version} of {unversioned}; this host accepts \
                 {WIT_VERSION_ACCEPTED}.x (it implements {WIT_VERSION})"
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

/// The grant a plugin importing `interface` needs to use it, if any: the
/// interfaces that reach outside the sandbox.
pub fn grant_needed(interface: &str) -> Option<&'static str> {
    let name = interface.split('@').next().unwrap_or(interface);
    match name {
        "wasi:http/outgoing-handler" => Some("grants.http"),
        "wasi:sockets/tcp" | "wasi:sockets/tcp-create-socket" => {
            Some("grants.tcp or grants.probe_target")
        }
        "wasi:sockets/udp" | "wasi:sockets/udp-create-socket" => {
            Some("grants.udp (or grants.tcp, for std::net)")
        }
        "wasi:sockets/ip-name-lookup" => {
            Some("a host name in grants.tcp or grants.udp, or grants.probe_target")
        }
        "wasi:filesystem/preopens" => Some("grants.files"),
        "wasm-exporter:collector/fs-stats" => Some("grants.statfs"),
        _ => None,
    }
}

/// Whether `grants` grant what `interface` needs ([`grant_needed`]).
pub fn granted_for(grants: &Grants, interface: &str) -> bool {
    let name = interface.split('@').next().unwrap_or(interface);
    let names = |e: &crate::grants::Endpoint| matches!(e.host, crate::grants::Host::Name(_));
    match name {
        "wasi:http/outgoing-handler" => !grants.http.is_empty(),
        "wasi:sockets/tcp" | "wasi:sockets/tcp-create-socket" => {
            !grants.tcp.is_empty() || grants.probe_target
        }
        // Rust's `std::net` imports the UDP interfaces with the TCP ones:
        // a plugin granted TCP is not asked for a UDP grant it does not
        // use (an unlisted address is still refused when used).
        "wasi:sockets/udp" | "wasi:sockets/udp-create-socket" => {
            !grants.udp.is_empty() || !grants.tcp.is_empty() || grants.probe_target
        }
        "wasi:sockets/ip-name-lookup" => {
            grants.tcp.iter().chain(&grants.udp).any(names) || grants.probe_target
        }
        "wasi:filesystem/preopens" => !grants.files.is_empty(),
        "wasm-exporter:collector/fs-stats" => !grants.statfs.is_empty(),
        _ => true,
    }
}
