//! Every resource limit a plugin runs under, with its default.
//!
//! A plugin is untrusted code run on every scrape. Each limit below answers
//! one way such code could hurt the host or the other plugins; a plugin that
//! reaches one is reported down for that scrape with the matching reason, and
//! nothing else is affected.

use std::time::Duration;

pub use wasm_exporter_exposition::validate::{
    DEFAULT_MAX_BUCKETS, DEFAULT_MAX_BYTES, DEFAULT_MAX_LABELS_PER_SERIES, DEFAULT_MAX_QUANTILES,
    DEFAULT_MAX_SERIES, DEFAULT_MAX_STATES, OutputLimits,
};

/// Fuel (roughly, wasm instructions) one `collect` may burn. Stops a plugin
/// that computes forever from holding a core; at ~10 M units per ms this is
/// about 100 ms of guest work, ~300x what returning 1000 series costs.
pub const DEFAULT_FUEL: u64 = 1_000_000_000;

/// Wall-clock time one `collect` may take, before the scrape's own timeout
/// shortens it. Stops a plugin that blocks (sleeps, waits on I/O) from
/// holding the scrape past what Prometheus will wait for.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;

/// Linear memory (all memories of the instance together) one `collect` may
/// grow to. Stops a memory bomb from taking the host's RAM.
pub const DEFAULT_MEMORY_BYTES: u64 = 64 << 20;

/// The largest memory cap a plugin may be configured with. Each slot of
/// the instance pool reserves address space (not RAM) for this much, so
/// it bounds the host's address-space reservation, not its RAM.
pub const MAX_PLUGIN_MEMORY_BYTES: u64 = 1 << 30;

/// Elements one table of an instance may hold (the instance pool's table
/// slots are this size, so the limit below and the pool's agree). Stops
/// table growth from being a second memory bomb; large language runtimes
/// (CPython, SpiderMonkey) need a few tens of thousands.
pub const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Host bytes a `collect` result may take once copied out of the guest,
/// per byte of its `max_bytes` (estimated exposition). The copy is refused
/// (`too_large`) as soon as it would pass `max_bytes` times this, so a
/// result whose strings are aliased or repeated in the guest's memory (one
/// megabyte referenced a thousand times) cannot make the host allocate a
/// gigabyte. A series costs the host 2 to 4 times its exposition bytes.
pub const RESULT_BYTES_PER_EXPOSITION_BYTE: u64 = 4;

/// The least a call may copy into the host in one go, whatever its
/// `max_bytes`: room for the usual data of one host call (a log line, a
/// WASI write) in a plugin whose results are tiny.
pub const MIN_RESULT_BYTES: u64 = 1 << 20;

/// Host bytes a `describe` result may take once copied out of the guest.
/// The result is kept for the plugin's lifetime; a megabyte describes
/// thousands of families.
pub const MAX_DESCRIBE_BYTES: u64 = 1 << 20;

/// Wall-clock time `describe` may take when a plugin is loaded (or its
/// own timeout, if shorter). `describe` is static; this stops a plugin that
/// blocks in it from holding a reload.
pub const DESCRIBE_TIMEOUT_MS: u64 = 1_000;

/// Fuel charged for each call a plugin makes into the host (`log`,
/// `config`, `config-get`, the WASI calls the host implements), on top of
/// what the guest's own instructions burn: about a microsecond of host
/// work, at ~10 units per nanosecond of guest work. Stops a plugin from
/// spending host CPU that its fuel does not see.
pub const HOST_CALL_FUEL: u64 = 10_000;

/// Fuel charged per byte a host call reads from or hands to the guest.
pub const HOST_CALL_FUEL_PER_BYTE: u64 = 10;

/// Longest log message kept; the rest is cut. Stops one `log` call from
/// writing megabytes to the host's log.
pub const MAX_LOG_MESSAGE_BYTES: usize = 4 << 10;

/// Longest configuration key a plugin may ask for; a longer `config-get`
/// key is refused (no configuration key is that long). Stops a plugin from
/// making the host copy megabytes per call.
pub const MAX_CONFIG_KEY_BYTES: usize = 1 << 10;

/// Plugin instances alive at once across all concurrent scrapes (the
/// instance pool), unless told otherwise. A call past it waits for a free
/// instance, within its deadline, rather than failing.
pub const DEFAULT_MAX_INSTANCES: u32 = 256;

/// Unused slots of the instance pool kept "warm" for the plugin that used
/// them last, unless told otherwise. A plugin instantiated in its own warm
/// slot reuses its memory image as is; in a slot another plugin used, its
/// memory is set up again, which made a call cost 2–3x as much once there
/// were more plugins than warm slots (500 plugins: 157 µs per plugin with
/// wasmtime's default of 100 warm slots). Each warm slot holds up to
/// [`DEFAULT_KEEP_RESIDENT_BYTES`] of RAM, so this also bounds the memory
/// idle slots keep: 512 slots × 1 MiB at most.
pub const DEFAULT_WARM_SLOTS: u32 = 512;

/// Linear memory of a pool slot kept resident and reset in place when the
/// store is dropped, instead of given back with `madvise`, unless told
/// otherwise. `madvise` on every drop stopped concurrent scrapes from
/// scaling (each call takes the process's memory-map lock). With the
/// `PAGEMAP_SCAN` ioctl (Linux 6.7+, used when available) only the pages
/// the plugin dirtied are reset; without it the whole amount is `memset`,
/// which made an empty plugin's scrape 3x slower (20 µs against 7 µs).
pub const DEFAULT_KEEP_RESIDENT_BYTES: usize = 1 << 20;

/// Host memory all running plugins may hold at once, unless told otherwise:
/// their linear memories and the results they return until the response
/// that carries them is sent. A plugin past it waits, within its deadline.
pub const DEFAULT_MEMORY_BUDGET_BYTES: u64 = 1 << 30;

/// Bytes of stdout and of stderr kept per plugin per scrape for the log; the
/// rest is discarded (the plugin sees its writes succeed). Stops a chatty
/// plugin from filling the host's memory or log.
pub const STDIO_CAPTURE_BYTES: usize = 16 << 10;

/// Log records a plugin may emit in a burst, and per second after that
/// (through `log` and stdout/stderr together). Stops one plugin from
/// flooding the host's log.
pub const LOG_BURST: u32 = 50;
/// See [`LOG_BURST`].
pub const LOG_RECORDS_PER_SECOND: u32 = 5;

/// The shortest deadline a plugin is given, however little time the scrape
/// has left, so a tiny or odd timeout header still lets fast plugins answer.
pub const MIN_DEADLINE_MS: u64 = 10;

/// The limits one plugin runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginLimits {
    /// See [`DEFAULT_FUEL`].
    pub fuel: u64,
    /// See [`DEFAULT_TIMEOUT_MS`].
    pub timeout_ms: u64,
    /// See [`DEFAULT_MEMORY_BYTES`].
    pub memory_bytes: u64,
    /// See [`DEFAULT_MAX_SERIES`].
    pub max_series: u64,
    /// See [`DEFAULT_MAX_BYTES`].
    pub max_bytes: u64,
    /// See [`DEFAULT_MAX_LABELS_PER_SERIES`].
    pub max_labels_per_series: u64,
    /// See [`DEFAULT_MAX_BUCKETS`].
    pub max_buckets: u64,
    /// See [`DEFAULT_MAX_QUANTILES`].
    pub max_quantiles: u64,
    /// See [`DEFAULT_MAX_STATES`].
    pub max_states: u64,
    /// A label name its series may not carry, because the host keeps it
    /// (`tenant`, for a tenant's plugins).
    pub reserved_label: Option<&'static str>,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            fuel: DEFAULT_FUEL,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            max_series: DEFAULT_MAX_SERIES,
            max_bytes: DEFAULT_MAX_BYTES,
            max_labels_per_series: DEFAULT_MAX_LABELS_PER_SERIES,
            max_buckets: DEFAULT_MAX_BUCKETS,
            max_quantiles: DEFAULT_MAX_QUANTILES,
            max_states: DEFAULT_MAX_STATES,
            reserved_label: None,
        }
    }
}

impl PluginLimits {
    /// The plugin's own timeout as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Host bytes its `collect` result may take once copied out of the
    /// guest ([`RESULT_BYTES_PER_EXPOSITION_BYTE`] × `max_bytes`, at least
    /// [`MIN_RESULT_BYTES`]). Also what one of its calls holds of the
    /// host's memory budget while it runs.
    pub fn result_bytes(&self) -> u64 {
        self.max_bytes
            .saturating_mul(RESULT_BYTES_PER_EXPOSITION_BYTE)
            .max(MIN_RESULT_BYTES)
    }

    /// The caps its output is validated against.
    pub fn output(&self) -> OutputLimits {
        OutputLimits {
            max_series: self.max_series,
            max_bytes: self.max_bytes,
            max_labels_per_series: self.max_labels_per_series,
            max_buckets: self.max_buckets,
            max_quantiles: self.max_quantiles,
            max_states: self.max_states,
            reserved_label: self.reserved_label,
        }
    }
}

/// The time one plugin gets in a scrape: its own timeout, shortened to what
/// the scraper allows (its timeout minus `offset`), never below
/// [`MIN_DEADLINE_MS`].
pub fn plugin_deadline(
    limits: &PluginLimits,
    scrape_timeout: Option<Duration>,
    offset: Duration,
) -> Duration {
    let own = limits.timeout();
    let allowed = match scrape_timeout {
        Some(t) => own.min(t.saturating_sub(offset)),
        None => own,
    };
    allowed.max(Duration::from_millis(MIN_DEADLINE_MS))
}

/// Checks a configured memory cap against the ceiling the instance pool
/// was built for ([`MAX_PLUGIN_MEMORY_BYTES`]).
pub fn check_memory_bytes(bytes: u64) -> Result<u64, String> {
    let ceiling = MAX_PLUGIN_MEMORY_BYTES;
    if bytes > ceiling {
        return Err(format!("{bytes} is over the host's ceiling of {ceiling}"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_the_shorter_of_plugin_and_scrape_timeouts() {
        let limits = PluginLimits {
            timeout_ms: 5_000,
            ..PluginLimits::default()
        };
        let offset = Duration::from_millis(500);
        assert_eq!(
            plugin_deadline(&limits, None, offset),
            Duration::from_secs(5)
        );
        assert_eq!(
            plugin_deadline(&limits, Some(Duration::from_secs(2)), offset),
            Duration::from_millis(1_500)
        );
        assert_eq!(
            plugin_deadline(&limits, Some(Duration::from_secs(30)), offset),
            Duration::from_secs(5)
        );
        assert_eq!(
            plugin_deadline(&limits, Some(Duration::from_millis(100)), offset),
            Duration::from_millis(MIN_DEADLINE_MS)
        );
    }
}
