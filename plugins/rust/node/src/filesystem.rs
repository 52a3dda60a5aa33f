//! Sizes of the configured mount points, as node_exporter's `filesystem`
//! collector exposes them: numbers from `statfs` (the host's `fs-stats`
//! interface), labels and the read-only flag from `/proc/mounts`.

use wasm_exporter_sdk::{Descriptor, Family, FsStats, MetricType};

use crate::excerpt;

/// One line of `/proc/mounts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub device: String,
    pub mount_point: String,
    pub fs_type: String,
    pub options: String,
}

impl Mount {
    /// Whether the mount options include `ro` (node_exporter's
    /// `node_filesystem_readonly` reads the options, not statfs's flags).
    pub fn read_only(&self) -> bool {
        self.options.split(',').any(|o| o == "ro")
    }
}

/// Parses `/proc/mounts`; a line with fewer than four fields makes the
/// whole file an error, as it does for node_exporter.
pub fn parse_mounts(text: &str) -> Result<Vec<Mount>, String> {
    let mut mounts = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [device, mount_point, fs_type, options, ..] = fields[..] else {
            return Err(format!("malformed mount line {:?}", excerpt(line)));
        };
        mounts.push(Mount {
            device: device.to_owned(),
            // fstab(5) escapes; node_exporter undoes space and tab only.
            mount_point: mount_point.replace("\\040", " ").replace("\\011", "\t"),
            fs_type: fs_type.to_owned(),
            options: options.to_owned(),
        });
    }
    Ok(mounts)
}

/// The entries of `mount_point`, one per device and type: stacked mounts
/// list a mount point more than once, and node_exporter reports each of
/// them (with the statistics of the one on top, which is what `statfs`
/// sees).
pub fn entries<'a>(mounts: &'a [Mount], mount_point: &str) -> Vec<&'a Mount> {
    let mut found: Vec<&Mount> = Vec::new();
    for mount in mounts.iter().filter(|m| m.mount_point == mount_point) {
        if !found
            .iter()
            .any(|m| m.device == mount.device && m.fs_type == mount.fs_type)
        {
            found.push(mount);
        }
    }
    found
}

const DEVICE_ERROR: (&str, &str) = (
    "node_filesystem_device_error",
    "Whether an error occurred while getting statistics for the given device.",
);
const SIZE: (&str, &str) = ("node_filesystem_size_bytes", "Filesystem size in bytes.");
const FREE: (&str, &str) = (
    "node_filesystem_free_bytes",
    "Filesystem free space in bytes.",
);
const AVAIL: (&str, &str) = (
    "node_filesystem_avail_bytes",
    "Filesystem space available to non-root users in bytes.",
);
const FILES: (&str, &str) = ("node_filesystem_files", "Filesystem total file nodes.");
const FILES_FREE: (&str, &str) = (
    "node_filesystem_files_free",
    "Filesystem total free file nodes.",
);
const READ_ONLY: (&str, &str) = ("node_filesystem_readonly", "Filesystem read-only status.");

/// node_exporter's label order.
const LABELS: [&str; 3] = ["device", "mountpoint", "fstype"];

/// The families for each mount entry and what `statfs` answered for its
/// mount point (`None`: it failed). A failure shows only as
/// `node_filesystem_device_error 1`, as in node_exporter. Families without
/// series are left out.
pub fn families(reports: &[(&Mount, Option<FsStats>)]) -> Vec<Family> {
    let mut device_error = Family::gauge(DEVICE_ERROR.0, DEVICE_ERROR.1);
    let mut size = Family::gauge(SIZE.0, SIZE.1).with_unit("bytes");
    let mut free = Family::gauge(FREE.0, FREE.1).with_unit("bytes");
    let mut avail = Family::gauge(AVAIL.0, AVAIL.1).with_unit("bytes");
    let mut files = Family::gauge(FILES.0, FILES.1);
    let mut files_free = Family::gauge(FILES_FREE.0, FILES_FREE.1);
    let mut read_only = Family::gauge(READ_ONLY.0, READ_ONLY.1);
    for (mount, stats) in reports {
        let labels = [
            (LABELS[0], mount.device.as_str()),
            (LABELS[1], mount.mount_point.as_str()),
            (LABELS[2], mount.fs_type.as_str()),
        ];
        device_error = device_error.with(&labels, if stats.is_some() { 0.0 } else { 1.0 });
        let Some(s) = stats else {
            continue;
        };
        // Products of floats, as node_exporter computes them.
        let block = s.block_size as f64;
        size = size.with(&labels, s.blocks as f64 * block);
        free = free.with(&labels, s.blocks_free as f64 * block);
        avail = avail.with(&labels, s.blocks_available as f64 * block);
        files = files.with(&labels, s.files as f64);
        files_free = files_free.with(&labels, s.files_free as f64);
        read_only = read_only.with(&labels, if mount.read_only() { 1.0 } else { 0.0 });
    }
    [
        device_error,
        size,
        free,
        avail,
        files,
        files_free,
        read_only,
    ]
    .into_iter()
    .filter(|f| !f.series().is_empty())
    .collect()
}

pub fn descriptors() -> Vec<Descriptor> {
    let with_unit = [SIZE, FREE, AVAIL];
    let without = [DEVICE_ERROR, FILES, FILES_FREE, READ_ONLY];
    let gauge = |(name, help): (&str, &str)| {
        Descriptor::new(MetricType::Gauge, name, help).with_label_names(&LABELS)
    };
    with_unit
        .into_iter()
        .map(|f| gauge(f).with_unit("bytes"))
        .chain(without.into_iter().map(gauge))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_exporter_sdk::Value;

    const SAMPLE: &str = "proc /proc proc rw,relatime 0 0
/dev/vda / ext4 rw,relatime,discard 0 0
/dev/vdb /srv/my\\040data xfs ro,noatime 0 0
overlay / overlay rw 0 0
/dev/vda / ext4 rw,relatime,discard 0 0
";

    #[test]
    fn mount_points_are_unescaped_and_stacked_entries_kept_once() {
        let mounts = parse_mounts(SAMPLE).unwrap();
        assert_eq!(mounts.len(), 5);
        assert_eq!(mounts[2].mount_point, "/srv/my data");
        assert!(mounts[2].read_only());
        assert!(!mounts[1].read_only());
        let root = entries(&mounts, "/");
        let devices: Vec<_> = root.iter().map(|m| m.device.as_str()).collect();
        assert_eq!(devices, ["/dev/vda", "overlay"]);
        assert!(entries(&mounts, "/srv").is_empty());
        assert!(parse_mounts("a b c\n").is_err());
    }

    #[test]
    fn statistics_become_bytes_and_errors_only_device_error() {
        let mounts = parse_mounts(SAMPLE).unwrap();
        let stats = FsStats {
            block_size: 4096,
            blocks: 1000,
            blocks_free: 600,
            blocks_available: 500,
            files: 64,
            files_free: 60,
            read_only: false,
        };
        let families = families(&[(&mounts[2], Some(stats)), (&mounts[1], None)]);
        let value = |name: &str, device: &str| {
            let family = families.iter().find(|f| f.name() == name).unwrap();
            family
                .series()
                .iter()
                .find(|s| s.labels[0].1 == device)
                .map(|s| s.value.clone())
        };
        assert_eq!(
            value("node_filesystem_size_bytes", "/dev/vdb"),
            Some(Value::Gauge(4_096_000.0))
        );
        assert_eq!(
            value("node_filesystem_avail_bytes", "/dev/vdb"),
            Some(Value::Gauge(2_048_000.0))
        );
        assert_eq!(
            value("node_filesystem_readonly", "/dev/vdb"),
            Some(Value::Gauge(1.0))
        );
        assert_eq!(
            value("node_filesystem_device_error", "/dev/vda"),
            Some(Value::Gauge(1.0))
        );
        assert_eq!(value("node_filesystem_size_bytes", "/dev/vda"), None);
        let labels: Vec<_> = families[0].series()[0]
            .labels
            .iter()
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(labels, LABELS);

        let only_errors = families_of_failures(&mounts);
        assert_eq!(only_errors, ["node_filesystem_device_error"]);
    }

    fn families_of_failures(mounts: &[Mount]) -> Vec<String> {
        families(&[(&mounts[1], None)])
            .iter()
            .map(|f| f.name().to_owned())
            .collect()
    }
}
