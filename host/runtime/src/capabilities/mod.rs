//! The capability grants, enforced: one module per capability, each
//! opening its kind of access through the standard WASI interfaces for a
//! call whose grants allow it, and refusing everything else.
//!
//! A refusal is an ordinary error inside the plugin (a failed open, a
//! refused connection, a denied request: never a trap), counted in the
//! plugin's denials and logged once per call ([`Reach::deny`]). No I/O
//! done for a plugin outlives its call: the call's timeout drops the store,
//! and with it every socket, request and file; what the host reads for a
//! plugin is bounded by the plugin's memory.

pub mod env;
pub mod files;
pub mod http;
pub mod sockets;
pub mod statfs;

use anyhow::{Result, anyhow};
use wasmtime::component::Linker;
use wasmtime_wasi::WasiCtxBuilder;

use crate::sandbox::{Reach, Sandbox};

/// Opens, in a call's WASI context, what its grants allow.
pub fn open(builder: &mut WasiCtxBuilder, reach: &std::sync::Arc<Reach>) {
    env::open(builder, reach);
    files::open(builder, reach);
    sockets::open(builder, reach);
}

/// Wires every capability's enforcement into `linker` (which already has
/// WASI): some replace WASI functions with filtering ones.
pub fn add_to_linker(linker: &mut Linker<Sandbox>) -> Result<()> {
    linker.allow_shadowing(true);
    files::add_to_linker(linker).map_err(|e| anyhow!("files: {e}"))?;
    sockets::add_to_linker(linker).map_err(|e| anyhow!("name lookup: {e}"))?;
    linker.allow_shadowing(false);
    http::add_to_linker(linker).map_err(|e| anyhow!("wasi:http: {e}"))?;
    statfs::add_to_linker(linker).map_err(|e| anyhow!("fs-stats: {e}"))?;
    Ok(())
}
