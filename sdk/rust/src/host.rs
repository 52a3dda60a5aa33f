//! What the host offers a plugin: its structured log, the plugin's own
//! configuration, and file-system statistics of granted mount points.
//!
//! Outside WebAssembly (unit tests of a plugin on the build machine) there
//! is no host: records go to stderr and the configuration is empty.

/// Severity of a log record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Detail useful when debugging the plugin.
    Debug,
    /// Normal operation worth noting.
    Info,
    /// Something unexpected that the plugin worked around.
    Warn,
    /// Something failed.
    Error,
}

impl Level {
    /// The lowercase name of the level.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Writes a record to the host's structured log, attributed to this plugin.
/// The host rate limits each plugin's records, so log what an operator
/// needs, not every series.
pub fn log(level: Level, message: &str) {
    imp::log(level, message)
}

/// This plugin's configuration: the key/value pairs the operator set for it
/// in the host configuration, sorted by key.
pub fn config() -> Vec<(String, String)> {
    imp::config()
}

/// One value of this plugin's configuration, if set.
pub fn config_get(key: &str) -> Option<String> {
    imp::config_get(key)
}

/// Sizes of one file system, as `statfs` reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FsStats {
    /// Bytes per block.
    pub block_size: u64,
    /// Blocks in all.
    pub blocks: u64,
    /// Free blocks.
    pub blocks_free: u64,
    /// Free blocks an unprivileged user may use.
    pub blocks_available: u64,
    /// File nodes in all.
    pub files: u64,
    /// Free file nodes.
    pub files_free: u64,
    /// Whether it is mounted read-only.
    pub read_only: bool,
}

/// The statistics of the file system mounted at `path`, which the operator
/// must have granted (`grants.statfs`); an error otherwise. No WASI
/// interface offers this, so the host does.
pub fn statfs(path: &str) -> Result<FsStats, String> {
    imp::statfs(path)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{FsStats, Level};
    use crate::bindings::wasm_exporter::collector::fs_stats;
    use crate::bindings::wasm_exporter::collector::host as wit;

    pub fn statfs(path: &str) -> Result<FsStats, String> {
        fs_stats::stat(path).map(|s| FsStats {
            block_size: s.block_size,
            blocks: s.blocks,
            blocks_free: s.blocks_free,
            blocks_available: s.blocks_available,
            files: s.files,
            files_free: s.files_free,
            read_only: s.read_only,
        })
    }

    pub fn log(level: Level, message: &str) {
        let level = match level {
            Level::Trace => wit::Level::Trace,
            Level::Debug => wit::Level::Debug,
            Level::Info => wit::Level::Info,
            Level::Warn => wit::Level::Warn,
            Level::Error => wit::Level::Error,
        };
        wit::log(level, message)
    }

    pub fn config() -> Vec<(String, String)> {
        wit::config()
    }

    pub fn config_get(key: &str) -> Option<String> {
        wit::config_get(key)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{FsStats, Level};

    pub fn statfs(path: &str) -> Result<FsStats, String> {
        Err(format!("{path}: no host outside WebAssembly"))
    }

    pub fn log(level: Level, message: &str) {
        eprintln!("{}: {message}", level.as_str());
    }

    pub fn config() -> Vec<(String, String)> {
        Vec::new()
    }

    pub fn config_get(_key: &str) -> Option<String> {
        None
    }
}

/// Logs a `format!`-style message at trace level through the host.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => {
        $crate::log($crate::Level::Trace, &::std::format!($($arg)+))
    };
}

/// Logs a `format!`-style message at debug level through the host.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => {
        $crate::log($crate::Level::Debug, &::std::format!($($arg)+))
    };
}

/// Logs a `format!`-style message at info level through the host.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => {
        $crate::log($crate::Level::Info, &::std::format!($($arg)+))
    };
}

/// Logs a `format!`-style message at warn level through the host.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => {
        $crate::log($crate::Level::Warn, &::std::format!($($arg)+))
    };
}

/// Logs a `format!`-style message at error level through the host.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => {
        $crate::log($crate::Level::Error, &::std::format!($($arg)+))
    };
}
