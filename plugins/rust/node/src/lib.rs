//! Host metrics with node_exporter's names, types, labels and units (as
//! Debian's `prometheus-node-exporter` 1.5 exposes them), read from the
//! `/proc` files and mount points the operator granted:
//!
//! | collector | source | families |
//! |---|---|---|
//! | `loadavg` | `/proc/loadavg` | `node_load1`, `node_load5`, `node_load15` |
//! | `meminfo` | `/proc/meminfo` | `node_memory_<Field>[_bytes]` |
//! | `cpu` | `/proc/stat` | `node_cpu_seconds_total`, `node_cpu_guest_seconds_total` |
//! | `filesystem` | `/proc/mounts` + statfs | `node_filesystem_*` |
//! | `netdev` | `/proc/net/dev` | `node_network_*_total` |
//!
//! Each collector is optional: one whose source is not granted or cannot
//! be read is skipped with a warning in the host's log, and the others are
//! served. Only when none works does the scrape fail, with a message
//! naming what to grant.
//!
//! Config keys (all optional):
//!
//! - `collectors`: comma-separated collector names (default: all five).
//! - `mountpoints`: comma-separated mount points for `filesystem`, each as
//!   `/proc/mounts` lists it and granted in `grants.statfs` (default `/`).
//! - `netdev_exclude`: comma-separated interface names `netdev` leaves out
//!   (default `lo`, as Debian's node_exporter; empty for none).

use std::time::{Duration, Instant};

use wasm_exporter_sdk::{
    Collector, Descriptor, Family, Request, config_get, export_collector, fs, statfs, warn,
};

mod cpu;
mod filesystem;
mod load;
mod memory;
mod network;

const LOADAVG: &str = "/proc/loadavg";
const MEMINFO: &str = "/proc/meminfo";
const STAT: &str = "/proc/stat";
const NET_DEV: &str = "/proc/net/dev";
const MOUNTS: &str = "/proc/mounts";

/// `/proc/loadavg` is one line of about 30 bytes.
const LOADAVG_MAX_BYTES: u64 = 4 << 10;
/// `/proc/meminfo` is about 60 lines of 30 bytes.
const MEMINFO_MAX_BYTES: u64 = 64 << 10;
/// `/proc/stat` has a line per CPU and an `intr` line with a count per
/// interrupt: a few hundred KiB on the largest machines.
const STAT_MAX_BYTES: u64 = 4 << 20;
/// `/proc/net/dev` has 130 bytes per interface; a host running thousands
/// of containers has a veth each.
const NET_DEV_MAX_BYTES: u64 = 4 << 20;
/// `/proc/mounts` lists thousands of mounts on a busy Kubernetes node.
const MOUNTS_MAX_BYTES: u64 = 4 << 20;

/// Default of `mountpoints`.
const DEFAULT_MOUNTPOINTS: &str = "/";
/// Default of `netdev_exclude`: Debian's node_exporter leaves out the
/// loopback interface (`--collector.netdev.device-exclude=^lo$`).
const DEFAULT_NETDEV_EXCLUDE: &str = "lo";

/// The collectors, named as node_exporter's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Loadavg,
    Meminfo,
    Cpu,
    Filesystem,
    Netdev,
}

impl Source {
    const ALL: [Source; 5] = [
        Source::Loadavg,
        Source::Meminfo,
        Source::Cpu,
        Source::Filesystem,
        Source::Netdev,
    ];

    fn name(self) -> &'static str {
        match self {
            Source::Loadavg => "loadavg",
            Source::Meminfo => "meminfo",
            Source::Cpu => "cpu",
            Source::Filesystem => "filesystem",
            Source::Netdev => "netdev",
        }
    }

    /// The file it reads.
    fn file(self) -> &'static str {
        match self {
            Source::Loadavg => LOADAVG,
            Source::Meminfo => MEMINFO,
            Source::Cpu => STAT,
            Source::Filesystem => MOUNTS,
            Source::Netdev => NET_DEV,
        }
    }
}

/// The plugin's configuration, checked.
#[derive(Debug, PartialEq)]
struct Settings {
    sources: Vec<Source>,
    mountpoints: Vec<String>,
    netdev_exclude: Vec<String>,
}

/// Splits a comma-separated value, dropping blanks and repeats.
fn list(value: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !items.iter().any(|i| i == item) {
            items.push(item.to_owned());
        }
    }
    items
}

impl Settings {
    /// Reads the settings with `get` (the plugin's `config_get`).
    fn read(get: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let sources = match get("collectors") {
            None => Source::ALL.to_vec(),
            Some(value) => {
                let names = list(&value);
                if names.is_empty() {
                    return Err("config collectors: empty; leave it out for all".into());
                }
                names
                    .iter()
                    .map(|name| {
                        Source::ALL
                            .into_iter()
                            .find(|s| s.name() == name)
                            .ok_or_else(|| {
                                let known: Vec<_> = Source::ALL.iter().map(|s| s.name()).collect();
                                format!(
                                    "config collectors: unknown collector {name:?}; known: {}",
                                    known.join(", ")
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        let mountpoints =
            list(&get("mountpoints").unwrap_or_else(|| DEFAULT_MOUNTPOINTS.to_owned()));
        if let Some(bad) = mountpoints.iter().find(|m| !m.starts_with('/')) {
            return Err(format!(
                "config mountpoints: {bad:?} is not an absolute path"
            ));
        }
        if sources.contains(&Source::Filesystem) && mountpoints.is_empty() {
            return Err("config mountpoints: empty, but the filesystem collector is on".into());
        }
        let netdev_exclude =
            list(&get("netdev_exclude").unwrap_or_else(|| DEFAULT_NETDEV_EXCLUDE.to_owned()));
        Ok(Settings {
            sources,
            mountpoints,
            netdev_exclude,
        })
    }

    /// What the operator must grant for every enabled collector to work.
    fn grants_needed(&self) -> String {
        let files: Vec<_> = self.sources.iter().map(|s| s.file()).collect();
        let mut needed = format!("grant files {}", files.join(", "));
        if self.sources.contains(&Source::Filesystem) {
            needed.push_str(&format!(" and statfs {}", self.mountpoints.join(", ")));
        }
        needed
    }
}

/// At most 80 characters of `text`, for error messages about a file's
/// content.
pub(crate) fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// When the host gives up on this call; `None` when it did not say.
fn deadline(request: &Request) -> Option<Instant> {
    (request.timeout > Duration::ZERO).then(|| Instant::now() + request.timeout)
}

/// What one collector came to: its families, and why it did not work
/// when it did not. A collector that failed may still have families (the
/// `device_error` series of mount points it could not stat).
struct Outcome {
    families: Vec<Family>,
    failure: Option<String>,
}

impl From<Result<Vec<Family>, String>> for Outcome {
    fn from(result: Result<Vec<Family>, String>) -> Self {
        match result {
            Ok(families) => Outcome {
                families,
                failure: None,
            },
            Err(e) => Outcome {
                families: Vec::new(),
                failure: Some(e),
            },
        }
    }
}

/// The filesystem families of every configured mount point. It works when
/// `/proc/mounts` is read and at least one mount point's statistics are;
/// the others get `device_error` 1 and a warning.
fn filesystem(settings: &Settings, deadline: Option<Instant>) -> Outcome {
    let mounts = match fs::read_to_string(MOUNTS, MOUNTS_MAX_BYTES)
        .and_then(|text| filesystem::parse_mounts(&text).map_err(|e| format!("{MOUNTS}: {e}")))
    {
        Ok(mounts) => mounts,
        Err(e) => return Outcome::from(Err(e)),
    };
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for mount_point in &settings.mountpoints {
        let entries = filesystem::entries(&mounts, mount_point);
        if entries.is_empty() {
            failures.push(format!("{mount_point}: not a mount point in {MOUNTS}"));
            continue;
        }
        // statfs is the one call here that can block (on a hung network
        // file system); once one has eaten the time left, skip the rest
        // rather than have the host abandon the whole scrape.
        let stats = if deadline.is_some_and(|d| Instant::now() >= d) {
            Err(format!("{mount_point}: no time left for statfs"))
        } else {
            statfs(mount_point)
        };
        let stats = stats
            .inspect_err(|e| failures.push(format!("statfs {e}")))
            .ok();
        reports.extend(entries.into_iter().map(|mount| (mount, stats)));
    }
    let families = filesystem::families(&reports);
    if failures.is_empty() {
        return Outcome::from(Ok(families));
    }
    let failures = failures.join("; ");
    if reports.iter().any(|(_, stats)| stats.is_some()) {
        warn!("filesystem: {failures}");
        Outcome::from(Ok(families))
    } else {
        Outcome {
            families,
            failure: Some(failures),
        }
    }
}

/// The families of one collector, or why it could not read its source.
fn collect_source(source: Source, settings: &Settings, deadline: Option<Instant>) -> Outcome {
    let read = |max_bytes| fs::read_to_string(source.file(), max_bytes);
    let in_file = |e: String| format!("{}: {e}", source.file());
    let result = match source {
        Source::Loadavg => read(LOADAVG_MAX_BYTES)
            .and_then(|text| load::parse(&text).map_err(in_file))
            .map(load::families),
        Source::Meminfo => read(MEMINFO_MAX_BYTES)
            .and_then(|text| memory::parse(&text).map_err(in_file))
            .map(|info| {
                if !info.invalid.is_empty() {
                    warn!(
                        "meminfo: left out fields that make no valid metric name: {}",
                        info.invalid.join(", ")
                    );
                }
                memory::families(&info)
            }),
        Source::Cpu => read(STAT_MAX_BYTES)
            .and_then(|text| cpu::parse(&text).map_err(in_file))
            .map(|cpus| cpu::families(&cpus)),
        Source::Netdev => read(NET_DEV_MAX_BYTES)
            .and_then(|text| network::parse(&text).map_err(in_file))
            .map(|devices| network::families(&devices, &settings.netdev_exclude)),
        Source::Filesystem => return filesystem(settings, deadline),
    };
    result.into()
}

struct Node;

impl Collector for Node {
    fn describe() -> Vec<Descriptor> {
        let mut descriptors = load::descriptors();
        descriptors.extend(cpu::descriptors());
        descriptors.extend(filesystem::descriptors());
        descriptors.extend(network::descriptors());
        descriptors
    }

    fn collect(request: &Request) -> Result<Vec<Family>, String> {
        let settings = Settings::read(config_get)?;
        let deadline = deadline(request);
        let mut families = Vec::new();
        let mut failures = Vec::new();
        for &source in &settings.sources {
            let outcome = collect_source(source, &settings, deadline);
            families.extend(outcome.families);
            if let Some(e) = outcome.failure {
                failures.push(format!("{}: {e}", source.name()));
            }
        }
        if failures.len() == settings.sources.len() {
            return Err(format!(
                "no collector could read its source; {} ({})",
                settings.grants_needed(),
                failures.join("; ")
            ));
        }
        // One record per scrape, within the host's log budget per plugin.
        if !failures.is_empty() {
            warn!("skipped {}", failures.join("; "));
        }
        // E.g. the network families when every interface is excluded:
        // node_exporter writes nothing for a family without series.
        families.retain(|f| !f.series().is_empty());
        Ok(families)
    }
}

export_collector!(Node);

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        Settings::read(|key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_read_everything_of_the_root_file_system() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.sources, Source::ALL);
        assert_eq!(s.mountpoints, ["/"]);
        assert_eq!(s.netdev_exclude, ["lo"]);
        assert_eq!(
            s.grants_needed(),
            "grant files /proc/loadavg, /proc/meminfo, /proc/stat, /proc/mounts, /proc/net/dev \
             and statfs /"
        );
    }

    #[test]
    fn lists_are_trimmed_and_deduplicated() {
        let s = settings(&[
            ("collectors", " cpu, loadavg ,cpu"),
            ("mountpoints", "/, /srv,/"),
            ("netdev_exclude", ""),
        ])
        .unwrap();
        assert_eq!(s.sources, [Source::Cpu, Source::Loadavg]);
        assert_eq!(s.mountpoints, ["/", "/srv"]);
        assert!(s.netdev_exclude.is_empty());
        assert_eq!(s.grants_needed(), "grant files /proc/stat, /proc/loadavg");
    }

    #[test]
    fn bad_settings_are_named() {
        let e = settings(&[("collectors", "cpu,disk")]).unwrap_err();
        assert!(e.contains("unknown collector \"disk\""), "{e}");
        let e = settings(&[("collectors", " , ")]).unwrap_err();
        assert!(e.contains("collectors: empty"), "{e}");
        let e = settings(&[("mountpoints", "srv")]).unwrap_err();
        assert!(e.contains("\"srv\" is not an absolute path"), "{e}");
        let e = settings(&[("mountpoints", "")]).unwrap_err();
        assert!(e.contains("mountpoints: empty"), "{e}");
        assert!(settings(&[("mountpoints", ""), ("collectors", "cpu")]).is_ok());
    }

    #[test]
    fn excerpts_are_short() {
        assert_eq!(excerpt("  a b \n"), "a b");
        let long = "é".repeat(100);
        assert_eq!(excerpt(&long).chars().count(), 81);
    }
}
