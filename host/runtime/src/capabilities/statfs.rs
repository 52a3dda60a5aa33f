//! File-system statistics of granted mount points (`fs-stats`): what
//! node_exporter's filesystem collector reads with `statfs`, which no WASI
//! interface offers. A path not granted is refused with an error.

use wasmtime::StoreContextMut;
use wasmtime::component::Linker;

use crate::bindings::FS_STATS_INTERFACE;
use crate::bindings::wasm_exporter::collector::fs_stats::Stats;
use crate::grants::Capability;
use crate::sandbox::Sandbox;

/// Defines the `fs-stats` interface. The call runs on the blocking pool and
/// ends at the plugin's deadline: a hung mount (NFS) cannot hold the plugin
/// past it.
pub fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    let mut fs_stats = linker.instance(FS_STATS_INTERFACE)?;
    fs_stats.func_wrap_async(
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
                return Box::new(async move {
                    Ok((Err::<Stats, String>(format!("{path}: not granted")),))
                });
            }
            let deadline = sandbox.reach.deadline;
            Box::new(async move {
                let query = path.clone();
                let stats = tokio::task::spawn_blocking(move || stat(&query));
                let result = match tokio::time::timeout_at(deadline.into(), stats).await {
                    Ok(Ok(result)) => result,
                    Ok(Err(e)) => Err(format!("{path}: {e}")),
                    Err(_) => Err(format!("{path}: no answer before the plugin's deadline")),
                };
                Ok((result,))
            })
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
