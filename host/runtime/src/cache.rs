//! The on-disk cache of compiled plugins, so a restart with unchanged
//! plugins compiles nothing.
//!
//! An entry is keyed by the plugin file's sha256 and a hash of the engine's
//! compilation settings (a different wasmtime, CPU feature set or config
//! gets different entries). It is two files: the compiled artifact
//! (`.cwasm`) and beside it (`.mac`) a magic header and an HMAC-SHA256 of
//! the artifact under a key created in the cache directory (0600) on first
//! use. The host deserializes only an artifact whose HMAC it verifies, i.e.
//! one it wrote itself: a truncated, corrupted or foreign entry (copied from
//! another machine or cache) is removed and the plugin compiled again.
//!
//! A verified artifact is mapped, not copied: the HMAC is computed over the
//! open file, which is then mapped through `/proc/self/fd`, so the bytes
//! checked are the bytes run (entries are only ever replaced by rename,
//! never written in place). A large component (CPython, SpiderMonkey: 40
//! MB of machine code) then loads without reading it into memory twice.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 8] = b"WXCACHE1";
const MAC_BYTES: usize = 32;

/// A directory of compiled plugins.
#[derive(Debug)]
pub struct CompileCache {
    dir: PathBuf,
    key: [u8; 32],
    engine_hash: String,
}

impl CompileCache {
    /// Opens (creating if needed) the cache in `dir` for `engine`.
    pub fn open(dir: &Path, engine: &Engine) -> anyhow::Result<Self> {
        create_private_dir(dir)
            .map_err(|e| anyhow::anyhow!("--cache.dir {}: {e}", dir.display()))?;
        let key_path = dir.join("key");
        let key = match fs::read(&key_path) {
            Ok(bytes) if bytes.len() == 32 => bytes.try_into().expect("32 bytes"),
            _ => {
                let mut key = [0u8; 32];
                fs::File::open("/dev/urandom")
                    .and_then(|mut f| f.read_exact(&mut key))
                    .map_err(|e| anyhow::anyhow!("cannot create a cache key: {e}"))?;
                write_private(&key_path, &key)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", key_path.display()))?;
                key
            }
        };
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(CompileCache {
            dir: dir.to_owned(),
            key,
            engine_hash: format!("{:016x}", hasher.finish()),
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The artifact's path and its MAC's.
    fn entry(&self, sha256: &str) -> (PathBuf, PathBuf) {
        let stem = format!("{sha256}-{}", self.engine_hash);
        (
            self.dir.join(format!("{stem}.cwasm")),
            self.dir.join(format!("{stem}.mac")),
        )
    }

    /// The cached compilation of the file with `sha256`, if there is a
    /// valid one.
    pub fn get(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let (path, mac_path) = self.entry(sha256);
        let mut file = fs::File::open(&path).ok()?;
        let verified = fs::read(&mac_path)
            .ok()
            .and_then(|mac| self.verify(&mut file, &mac));
        if verified != Some(true) {
            tracing::warn!(entry = %path.display(), "corrupt or foreign cache entry; compiling again");
            let _ = fs::remove_file(&path);
            let _ = fs::remove_file(&mac_path);
            return None;
        }
        match deserialize_verified(engine, &file) {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(entry = %path.display(), error = %e, "unusable cache entry; compiling again");
                let _ = fs::remove_file(&path);
                let _ = fs::remove_file(&mac_path);
                None
            }
        }
    }

    /// Stores a compiled artifact for the file with `sha256`. Failures are
    /// logged, not fatal: the cache only saves time.
    pub fn put(&self, sha256: &str, artifact: &[u8]) {
        let mut mac = Vec::with_capacity(MAGIC.len() + MAC_BYTES);
        mac.extend_from_slice(MAGIC);
        mac.extend_from_slice(&hmac(&self.key, &mut &artifact[..]).expect("reading a slice"));
        let (path, mac_path) = self.entry(sha256);
        // The artifact first: a MAC never names an artifact not yet there.
        if let Err(e) = write_private(&path, artifact).and_then(|()| write_private(&mac_path, &mac))
        {
            tracing::warn!(entry = %path.display(), error = %e, "cannot write cache entry");
        }
    }

    /// Whether `mac` (a `.mac` file's contents) is the HMAC of `file`'s
    /// contents under this cache's key; `None` if it cannot be read.
    fn verify(&self, file: &mut fs::File, mac: &[u8]) -> Option<bool> {
        let mac = mac.strip_prefix(MAGIC.as_slice())?;
        if mac.len() != MAC_BYTES {
            return Some(false);
        }
        let expected = hmac(&self.key, file).ok()?;
        Some(constant_time_eq(mac, &expected))
    }
}

/// Whether `a` and `b` are equal, in time that depends on their lengths
/// only (not on where they first differ): for comparing MACs and digests.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Maps the artifact in `file`, whose contents were just verified: through
/// `/proc/self/fd`, so the mapping is of the inode verified even if the
/// path was replaced since; where that is not available, by reading it.
#[allow(unsafe_code)]
fn deserialize_verified(engine: &Engine, file: &fs::File) -> wasmtime::Result<Component> {
    use std::os::fd::AsRawFd as _;
    let by_fd = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    if by_fd.exists() {
        // SAFETY: as `deserialize_own`; the file's contents carry a valid
        // HMAC under the cache's private key, and entries are only replaced
        // by rename, never modified in place, so the mapped bytes stay the
        // verified ones.
        return unsafe { Component::deserialize_file(engine, &by_fd) };
    }
    let mut bytes = Vec::new();
    let mut reader = file;
    std::io::Seek::rewind(&mut reader)?;
    reader.read_to_end(&mut bytes)?;
    deserialize_own(engine, &bytes)
}

/// Loads an artifact this host produced: just now with
/// `precompile_component`, in this process or in its compiler process
/// (its own binary, over a pipe only the two hold), or from a cache entry
/// whose HMAC under this cache's private key was verified.
#[allow(unsafe_code)]
pub(crate) fn deserialize_own(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `Component::deserialize` trusts its input to be a valid
    // artifact produced by a compatible wasmtime. Every caller passes bytes
    // this process or its compiler child (the same binary) compiled, or
    // bytes carrying a valid HMAC under the cache's private key, which only
    // this host writes; wasmtime also checks
    // the artifact's engine compatibility header and fails cleanly on a
    // mismatch.
    unsafe { Component::deserialize(engine, artifact) }
}

/// HMAC-SHA256 (RFC 2104) of everything `data` yields, read in chunks.
fn hmac(key: &[u8; 32], data: &mut impl std::io::Read) -> std::io::Result<[u8; 32]> {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let mut inner = Sha256::new().chain_update(ipad);
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        match data.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => inner.update(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Sha256::new()
        .chain_update(opad)
        .chain_update(inner.finalize())
        .finalize()
        .into())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Writes a file readable by its owner only, atomically (temp + rename).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

/// The default cache directory: `$XDG_CACHE_HOME/wasm_exporter`, else
/// `$HOME/.cache/wasm_exporter`, else one under the temp directory.
pub fn default_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("wasm_exporter");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".cache/wasm_exporter");
    }
    std::env::temp_dir().join("wasm_exporter-cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"xbc", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_1() {
        // A 20-byte key zero-padded is the same key to HMAC.
        let mut key = [0u8; 32];
        key[..20].fill(0x0b);
        assert_eq!(
            hex::encode(hmac(&key, &mut &b"Hi There"[..]).unwrap()),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }
}
