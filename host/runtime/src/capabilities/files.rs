//! Read-only files and directories.
//!
//! A granted directory is preopened read-only at its guest path. A granted
//! file is reached through its parent directory, preopened read-only, but
//! only that file: the functions that name a path inside a directory
//! (`open-at`, `stat-at`, `readlink-at`, `metadata-hash-at`) are replaced by
//! ones that resolve the real host path of what is asked for and refuse it
//! unless it is a granted file or lies under a granted directory; listing a
//! directory is refused unless the directory itself lies under a granted
//! one. So granting `/proc/loadavg` does not open `/proc/self/environ`
//! beside it. Writes are refused by the read-only preopens themselves.

use std::collections::BTreeSet;
use std::os::fd::AsRawFd;
use std::path::{Component, Path, PathBuf};

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemView};
use wasmtime_wasi::p2::FsResult;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    DescriptorFlags, DescriptorStat, DirectoryEntryStream, ErrorCode, HostDescriptor,
    MetadataHashValue, OpenFlags, PathFlags,
};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::grants::{Capability, FILES_ONLY, FileGrant};
use crate::sandbox::{Reach, Sandbox};

/// The `wasi:filesystem/types` instance as the WASI implementation defines
/// it (plugins importing any `0.2.x` are linked to it).
const TYPES: &str = "wasi:filesystem/types@0.2.12";

/// Preopens, read-only, the granted directories and the parents of the
/// granted files.
pub fn open(builder: &mut WasiCtxBuilder, reach: &Reach) {
    let mut preopens = BTreeSet::new();
    for grant in &reach.grants().files {
        if grant.dir {
            preopens.insert((grant.host.clone(), grant.guest.clone()));
        } else if let (Some(host), Some(guest)) =
            (grant.host.parent(), Path::new(&grant.guest).parent())
        {
            preopens.insert((host.to_owned(), guest.to_string_lossy().into_owned()));
        }
    }
    // Kernel files answer at once: a plugin that reads only those does its
    // file I/O on its own thread, saving a hop to the blocking pool per
    // call. Any other file (a network mount) may hang, and there the hop
    // lets the plugin's deadline end the wait.
    let kernel_only = !reach.grants().files.is_empty()
        && reach
            .grants()
            .files
            .iter()
            .all(|g| FILES_ONLY.iter().any(|tree| g.real.starts_with(tree)));
    builder.allow_blocking_current_thread(kernel_only);
    for (host, guest) in preopens {
        if let Err(e) = builder.preopened_dir(&host, &guest, FsPerms::ReadOnly) {
            tracing::debug!(plugin = %reach.plugin.name, path = %host.display(), error = %e, "granted directory cannot be opened");
        }
    }
}

/// The host path `descriptor` (a directory) is open at.
fn real_path(sandbox: &mut Sandbox, descriptor: &Resource<Descriptor>) -> Option<PathBuf> {
    match sandbox.table().get(descriptor).ok()? {
        Descriptor::Dir(dir) => {
            std::fs::read_link(format!("/proc/self/fd/{}", dir.dir.as_raw_fd())).ok()
        }
        Descriptor::File(_) => None,
    }
}

/// Whether the host path `target` may be read under `grants`.
fn granted(grants: &[FileGrant], target: &Path) -> bool {
    grants.iter().any(|g| {
        if g.dir {
            target.starts_with(&g.real)
        } else {
            // A granted link (`/proc/mounts` is `self/mounts`) is asked
            // for by the path the operator wrote.
            target == g.real || target == g.host
        }
    })
}

/// Checks `path`, asked for inside directory `descriptor`: `Err` with what
/// was refused, or `Ok` (also when `descriptor` is not a directory: the
/// WASI implementation then answers as it always does).
fn check(
    sandbox: &mut Sandbox,
    descriptor: &Resource<Descriptor>,
    path: &str,
) -> Result<(), String> {
    let Some(base) = real_path(sandbox, descriptor) else {
        return Ok(());
    };
    let relative = Path::new(path);
    if relative.is_absolute()
        || relative
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::RootDir))
    {
        return Err(format!("{} / {path}", base.display()));
    }
    let target: PathBuf = base.join(relative).components().collect();
    if granted(&sandbox.reach.grants().files, &target) {
        Ok(())
    } else {
        Err(target.display().to_string())
    }
}

/// An `FsResult` as the guest sees it: an error code, or a trap.
fn answer<T>(result: FsResult<T>) -> wasmtime::Result<Result<T, ErrorCode>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) => e.downcast().map(Err),
    }
}

/// Refuses, or lets through, a path-taking call.
fn refused(
    store: &mut StoreContextMut<'_, Sandbox>,
    fd: &Resource<Descriptor>,
    path: &str,
) -> bool {
    let sandbox = store.data_mut();
    sandbox.host_work.call(path.len());
    match check(sandbox, fd, path) {
        Ok(()) => false,
        Err(what) => {
            sandbox.reach.deny(Capability::Files, &what);
            true
        }
    }
}

/// Replaces the path-taking functions of `wasi:filesystem/types` with
/// checking ones. The linker must allow shadowing.
pub fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    let mut types = linker.instance(TYPES)?;
    types.func_wrap_async(
        "[method]descriptor.open-at",
        |mut store: StoreContextMut<'_, Sandbox>,
         (fd, path_flags, path, open_flags, flags): (
            Resource<Descriptor>,
            PathFlags,
            String,
            OpenFlags,
            DescriptorFlags,
        )| {
            Box::new(async move {
                if refused(&mut store, &fd, &path) {
                    return Ok((Err(ErrorCode::Access),));
                }
                let mut view = store.data_mut().filesystem();
                let result =
                    HostDescriptor::open_at(&mut view, fd, path_flags, path, open_flags, flags)
                        .await;
                Ok((answer(result)?,))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.stat-at",
        |mut store: StoreContextMut<'_, Sandbox>,
         (fd, path_flags, path): (Resource<Descriptor>, PathFlags, String)| {
            Box::new(async move {
                if refused(&mut store, &fd, &path) {
                    return Ok((Err::<DescriptorStat, _>(ErrorCode::Access),));
                }
                let mut view = store.data_mut().filesystem();
                let result = HostDescriptor::stat_at(&mut view, fd, path_flags, path).await;
                Ok((answer(result)?,))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.readlink-at",
        |mut store: StoreContextMut<'_, Sandbox>, (fd, path): (Resource<Descriptor>, String)| {
            Box::new(async move {
                if refused(&mut store, &fd, &path) {
                    return Ok((Err::<String, _>(ErrorCode::Access),));
                }
                let mut view = store.data_mut().filesystem();
                let result = HostDescriptor::readlink_at(&mut view, fd, path).await;
                Ok((answer(result)?,))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.metadata-hash-at",
        |mut store: StoreContextMut<'_, Sandbox>,
         (fd, path_flags, path): (Resource<Descriptor>, PathFlags, String)| {
            Box::new(async move {
                if refused(&mut store, &fd, &path) {
                    return Ok((Err::<MetadataHashValue, _>(ErrorCode::Access),));
                }
                let mut view = store.data_mut().filesystem();
                let result =
                    HostDescriptor::metadata_hash_at(&mut view, fd, path_flags, path).await;
                Ok((answer(result)?,))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.read-directory",
        |mut store: StoreContextMut<'_, Sandbox>, (fd,): (Resource<Descriptor>,)| {
            Box::new(async move {
                // Listing is granted only inside a granted directory, not in
                // the parent of a granted file.
                let sandbox = store.data_mut();
                if let Some(base) = real_path(sandbox, &fd) {
                    let grants = &sandbox.reach.grants().files;
                    let listable = grants.iter().any(|g| g.dir && base.starts_with(&g.real));
                    if !listable {
                        sandbox
                            .reach
                            .deny(Capability::Files, &format!("list {}", base.display()));
                        return Ok((Err::<Resource<DirectoryEntryStream>, _>(ErrorCode::Access),));
                    }
                }
                let mut view = store.data_mut().filesystem();
                let result = HostDescriptor::read_directory(&mut view, fd).await;
                Ok((answer(result)?,))
            })
        },
    )?;
    Ok(())
}
