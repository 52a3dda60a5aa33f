//! The `node` plugin against Debian's node_exporter 1.5 reading the same
//! machine: the same names, types, help, labels and values for load,
//! memory, CPU, file systems and network interfaces; and what an operator
//! sees when grants are missing.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::{Host, TempDir, example_plugin};
use crate::systems::{Daemon, Families, Family, exporter};

/// The grants the plugin's README lists for its defaults.
const GRANTS: &str = "{ files: [/proc/loadavg, /proc/meminfo, /proc/stat, /proc/net/dev, \
                      /proc/mounts], statfs: [/] }";

/// Comparisons tried before a difference counts: a systematic one fails
/// every attempt, a burst of activity on a busy machine only one.
const ATTEMPTS: usize = 5;

/// Families node_exporter exposes that the plugin cannot: the netlink
/// statistics of 1.5's default `--collector.netdev.netlink`, which
/// `/proc/net/dev` does not have.
const THEIRS_ONLY: [&str; 1] = ["node_network_receive_nohandler_total"];

/// Families whose value does not change while the machine runs (sizes,
/// flags, totals), compared exactly.
const EXACT: [&str; 10] = [
    "node_filesystem_size_bytes",
    "node_filesystem_files",
    "node_filesystem_readonly",
    "node_filesystem_device_error",
    "node_memory_MemTotal_bytes",
    "node_memory_SwapTotal_bytes",
    "node_memory_Hugepagesize_bytes",
    "node_memory_VmallocTotal_bytes",
    "node_memory_HugePages_Total",
    "node_memory_CommitLimit_bytes",
];

/// Slack beyond the plugin's two readings for CPU counters: idle and
/// iowait may step back a few ticks (NO_HZ accounting), and node_exporter
/// then keeps its previous, higher value. 10 ticks; a wrong column is off
/// by seconds to hours.
const CPU_SLACK_SECONDS: f64 = 0.1;

/// Slack for memory that moves, as a share of MemTotal: other processes
/// allocate and free between the readings, not always in one direction.
/// A wrong field or a missing ×1024 on a large field is far beyond it.
const MEMORY_SLACK_OF_TOTAL: f64 = 0.01;

/// Slack for free space and inodes, relative: builds write and delete
/// files on the same disk between the readings.
const FILESYSTEM_SLACK: f64 = 0.01;

/// One group of families and how many of them must be compared, so that
/// a family that silently disappears from either side fails the test.
struct Group {
    prefix: &'static str,
    min_families: usize,
    /// Whether node_exporter may have series the plugin does not (other
    /// mount points than the configured `/`).
    theirs_may_have_more: bool,
}

const GROUPS: [Group; 5] = [
    Group {
        prefix: "node_load",
        min_families: 3,
        theirs_may_have_more: false,
    },
    // 2.6 kernels already have 30 fields; this one has about 50.
    Group {
        prefix: "node_memory_",
        min_families: 25,
        theirs_may_have_more: false,
    },
    Group {
        prefix: "node_cpu_",
        min_families: 2,
        theirs_may_have_more: false,
    },
    Group {
        prefix: "node_filesystem_",
        min_families: 7,
        theirs_may_have_more: true,
    },
    Group {
        prefix: "node_network_",
        min_families: 16,
        theirs_may_have_more: false,
    },
];

fn node_exporter() -> Daemon {
    exporter(
        "node-exporter",
        &[
            "--collector.disable-defaults",
            "--collector.loadavg",
            "--collector.meminfo",
            "--collector.cpu",
            "--collector.filesystem",
            "--collector.netdev",
        ],
    )
}

/// The host serving the node plugin with `grants` (YAML), or none.
fn node_host(grants: Option<&str>, extra: &[&str]) -> Host {
    let dir = TempDir::new("node");
    dir.add("node", &example_plugin("node"));
    let mut config = String::from("plugins:\n  - path: node.wasm\n");
    if let Some(grants) = grants {
        config.push_str(&format!("    grants: {grants}\n"));
    }
    Host::start_config(dir, &config, extra)
}

fn scrape(host: &Host) -> Families {
    Families::scrape(&host.url("/metrics?format=text"))
}

fn denied(page: &Families, capability: &str) -> f64 {
    page.value(
        "wasm_exporter_plugin_denied_total",
        &[("plugin", "node"), ("capability", capability)],
    )
    .unwrap_or_else(|| panic!("no denied_total series for {capability}"))
}

/// How far node_exporter's value of a sample of `name` may lie outside
/// the plugin's readings before and after it. Counters and load averages
/// move one way between the readings (the kernel updates the load every
/// 5 s), so the two readings bound node_exporter's with no slack.
fn slack(name: &str, value: f64, mem_total: f64) -> f64 {
    if EXACT.contains(&name) {
        0.0
    } else if name.starts_with("node_cpu_") {
        CPU_SLACK_SECONDS
    } else if name.starts_with("node_memory_") && name.ends_with("_bytes") {
        MEMORY_SLACK_OF_TOTAL * mem_total
    } else if name.starts_with("node_filesystem_") {
        FILESYSTEM_SLACK * value.abs()
    } else {
        0.0
    }
}

/// The families of one group, `(before, after)` from the plugin and
/// `theirs` from node_exporter read in between: the families compared, or
/// every difference.
fn compare_group(
    group: &Group,
    ours: (&Families, &Families),
    theirs: &Families,
    mem_total: f64,
) -> (usize, Vec<String>) {
    let (before, after) = (
        ours.0.with_prefix(group.prefix),
        ours.1.with_prefix(group.prefix),
    );
    let theirs = theirs.with_prefix(group.prefix);
    let names: BTreeSet<&String> = before.0.keys().chain(theirs.0.keys()).collect();
    let mut compared = 0;
    let mut differences = Vec::new();
    for name in names {
        let (Some(ours), Some(their)) = (before.0.get(name), theirs.0.get(name)) else {
            if !before.0.contains_key(name) && THEIRS_ONLY.contains(&name.as_str()) {
                continue;
            }
            let side = if before.0.contains_key(name) {
                "node_exporter"
            } else {
                "the plugin"
            };
            differences.push(format!("{name}: not exposed by {side}"));
            continue;
        };
        compared += 1;
        differences.extend(compare_family(
            name,
            ours,
            after.0.get(name),
            their,
            group,
            mem_total,
        ));
    }
    (compared, differences)
}

fn compare_family(
    name: &str,
    ours: &Family,
    after: Option<&Family>,
    theirs: &Family,
    group: &Group,
    mem_total: f64,
) -> Vec<String> {
    let mut differences = Vec::new();
    if ours.type_ != theirs.type_ {
        differences.push(format!("{name}: type {} vs {}", ours.type_, theirs.type_));
    }
    if ours.help != theirs.help {
        differences.push(format!("{name}: help {:?} vs {:?}", ours.help, theirs.help));
    }
    let our_keys: BTreeSet<_> = ours.samples.keys().collect();
    let their_keys: BTreeSet<_> = theirs.samples.keys().collect();
    let missing: Vec<_> = our_keys.difference(&their_keys).collect();
    let extra: Vec<_> = their_keys.difference(&our_keys).collect();
    if !missing.is_empty() {
        differences.push(format!("{name}: node_exporter has no {missing:?}"));
    }
    if !extra.is_empty() && !group.theirs_may_have_more {
        differences.push(format!("{name}: the plugin has no {extra:?}"));
    }
    for (key, &first) in &ours.samples {
        let Some(&their) = theirs.samples.get(key) else {
            continue;
        };
        let second = after
            .and_then(|f| f.samples.get(key))
            .copied()
            .unwrap_or(first);
        let slack = slack(name, their, mem_total);
        let (low, high) = (first.min(second) - slack, first.max(second) + slack);
        if !(low..=high).contains(&their) {
            differences.push(format!(
                "{}{:?}: node_exporter's {their} outside the plugin's {first}..{second} \
                 (slack {slack})",
                key.0, key.1
            ));
        }
    }
    differences
}

/// Every series node_exporter and the plugin both expose has the same
/// name, type, help and labels, and node_exporter's value, read between
/// two scrapes of the plugin, lies between the plugin's two values (plus
/// the slack above for what does not move one way).
#[test]
fn matches_node_exporter() {
    let host = node_host(Some(GRANTS), &[]);
    let node_exporter = node_exporter();
    let theirs_url = node_exporter.url("/metrics");

    let mut last = Vec::new();
    for attempt in 1..=ATTEMPTS {
        let before = scrape(&host);
        let theirs = Families::scrape(&theirs_url);
        let after = scrape(&host);
        assert_eq!(
            before.value("wasm_exporter_plugin_up", &[("plugin", "node")]),
            Some(1.0),
            "node plugin down; log:\n{}",
            host.log().join("\n")
        );
        for capability in ["files", "statfs"] {
            assert_eq!(
                denied(&after, capability),
                0.0,
                "the README's grants cover every {capability} access"
            );
        }
        let mem_total = before
            .value("node_memory_MemTotal_bytes", &[])
            .expect("node_memory_MemTotal_bytes");
        let mut differences = Vec::new();
        for group in &GROUPS {
            let (compared, found) = compare_group(group, (&before, &after), &theirs, mem_total);
            if compared < group.min_families {
                differences.push(format!(
                    "{}*: {compared} families compared, expected at least {}",
                    group.prefix, group.min_families
                ));
            }
            differences.extend(found);
        }
        if differences.is_empty() {
            return;
        }
        eprintln!("attempt {attempt}: {} differences", differences.len());
        last = differences;
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "the node plugin differs from node_exporter in {ATTEMPTS} attempts; the last:\n{}",
        last.join("\n")
    );
}

/// With no grants every source fails: the scrape fails with a message
/// naming every file and mount point to grant. Nothing reaches the host's
/// checks to be counted: a file outside every preopened directory is
/// refused inside the plugin's own WASI layer, and without `/proc/mounts`
/// the plugin asks for no file-system statistics.
#[test]
fn without_grants_the_scrape_fails_naming_what_to_grant() {
    let host = node_host(None, &["--log.level", "debug"]);
    let page = scrape(&host);
    assert_eq!(
        page.value("wasm_exporter_plugin_up", &[("plugin", "node")]),
        Some(0.0)
    );
    assert!(
        page.value(
            "wasm_exporter_plugin_failures_total",
            &[("plugin", "node"), ("reason", "error")]
        )
        .is_some_and(|n| n >= 1.0)
    );
    host.wait_for_log(&[
        "plugin down for this scrape",
        "plugin=node",
        "grant files /proc/loadavg, /proc/meminfo, /proc/stat, /proc/mounts, /proc/net/dev \
         and statfs /",
    ]);
    assert_eq!(denied(&page, "files"), 0.0);
    assert_eq!(denied(&page, "statfs"), 0.0);
}

/// With some grants the plugin serves what it can read, leaves out the
/// rest with a warning, and reports `device_error` for a mount point whose
/// statistics are not granted; the host counts each refused file and
/// statfs call (those files lie beside granted ones, in a preopened
/// directory, so the host's check sees them).
#[test]
fn with_some_grants_the_rest_is_skipped_and_counted() {
    let host = node_host(Some("{ files: [/proc/loadavg, /proc/mounts] }"), &[]);
    let page = scrape(&host);
    assert_eq!(
        page.value("wasm_exporter_plugin_up", &[("plugin", "node")]),
        Some(1.0),
        "log:\n{}",
        host.log().join("\n")
    );
    assert!(page.value("node_load1", &[]).is_some());
    for absent in [
        "node_memory_",
        "node_cpu_",
        "node_network_",
        "node_filesystem_size_bytes",
    ] {
        assert!(
            page.with_prefix(absent).0.is_empty(),
            "{absent} served without its grant"
        );
    }
    let errors = &page.0["node_filesystem_device_error"].samples;
    assert_eq!(errors.len(), 1, "{errors:?}");
    let ((_, labels), value) = errors.iter().next().unwrap();
    assert!(labels.contains(&("mountpoint".to_owned(), "/".to_owned())));
    assert_eq!(*value, 1.0);

    // One refusal per ungranted file (meminfo, stat, net/dev) and one
    // statfs per scrape; the load-time smoke test made attempts too.
    assert!(denied(&page, "files") >= 3.0, "{}", denied(&page, "files"));
    assert!(denied(&page, "statfs") >= 1.0);
    host.wait_for_log(&["plugin=node", "skipped meminfo: /proc/meminfo"]);
    host.wait_for_log(&["plugin=node", "statfs /: not granted"]);
}
