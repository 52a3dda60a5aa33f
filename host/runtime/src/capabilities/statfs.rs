//! File-system statistics of granted mount points (`fs-stats`): what
//! node_exporter's filesystem collector reads with `statfs`, which no WASI
//! interface offers. A path not granted is refused with an error.

use wasmtime::StoreContextMut;
use wasmtime::component::Linker;

use crate::bindings::FS_STATS_INTERFACE;
use crate::bindings::wasm_exporter::collector::fs_stats::Stats;
use crate::grants::Capability;
use crate::sandbox::Sandbox;

/// Defines the `fs-stats` interface.
pub fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    let mut fs_stats = linker.instance(FS_STATS_INTERFACE)?;
    fs_stats.func_wrap(
        "stat",
        |mut store: StoreContextMut<'_, Sandbox>, (path,): (String,)| {
            let sandbox = store.data_mut();
            sandbox.host_work.call(path.len());
            let granted = sandbox
                .reach
                .grants()
                .statfs
                .iter()
                .any(|p| p.as_os_str() == path.as_str());
            if !granted {
                sandbox.reach.deny(Capability::Statfs, &path);
                return Ok((Err(format!("{path}: not granted")),));
            }
            Ok((stat(&path),))
        },
    )?;
    Ok(())
}

fn stat(path: &str) -> Result<Stats, String> {
    let s = rustix::fs::statvfs(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(Stats {
        block_size: s.f_frsize,
        blocks: s.f_blocks,
        blocks_free: s.f_bfree,
        blocks_available: s.f_bavail,
        files: s.f_files,
        files_free: s.f_ffree,
        read_only: s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
    })
}
