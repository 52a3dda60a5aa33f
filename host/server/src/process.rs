//! The standard `process_*` series of a Prometheus exporter, read from
//! `/proc/self` on Linux (absent elsewhere).

use std::sync::OnceLock;

use wasm_exporter_runtime::model::{MetricFamily, MetricType};

const USER_HZ: f64 = 100.0;

/// The sample names this module writes; plugins may not write them.
pub const SAMPLE_NAMES: [&str; 7] = [
    "process_cpu_seconds_total",
    "process_open_fds",
    "process_max_fds",
    "process_virtual_memory_bytes",
    "process_virtual_memory_max_bytes",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
];

/// The process families, or none where `/proc` cannot be read.
pub fn families() -> Vec<MetricFamily> {
    read().unwrap_or_default()
}

/// When the machine booted, in seconds since the epoch: read once, since
/// it never changes and `/proc/stat` costs as much to read as the rest of
/// a small scrape's `/proc` reads.
fn boot_time() -> Option<f64> {
    static BOOT_TIME: OnceLock<Option<f64>> = OnceLock::new();
    *BOOT_TIME.get_or_init(|| {
        std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<f64>().ok())
    })
}

fn read() -> Option<Vec<MetricFamily>> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may
    // contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Option<f64> { fields.get(n - 3)?.parse().ok() };
    // /proc reports times in USER_HZ, which the Linux ABI fixes at 100.
    let ticks = USER_HZ;
    let utime = field(14)?;
    let stime = field(15)?;
    let start_ticks = field(22)?;
    let vsize = field(23)?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let rss_kib = status.lines().find_map(|l| {
        l.strip_prefix("VmRSS:")?
            .split_whitespace()
            .next()?
            .parse::<f64>()
            .ok()
    })?;
    let boot_time = boot_time()?;
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as f64;
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let limit = |prefix: &str| -> f64 {
        limits
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l[prefix.len()..].split_whitespace().next())
            .and_then(|v| match v {
                "unlimited" => Some(u64::MAX as f64),
                v => v.parse().ok(),
            })
            .unwrap_or(-1.0)
    };
    Some(vec![
        MetricFamily::single(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            MetricType::Counter,
            (utime + stime) / ticks,
        ),
        MetricFamily::single(
            "process_max_fds",
            "Maximum number of open file descriptors.",
            MetricType::Gauge,
            limit("Max open files"),
        ),
        MetricFamily::single(
            "process_open_fds",
            "Number of open file descriptors.",
            MetricType::Gauge,
            open_fds,
        ),
        MetricFamily::single(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            MetricType::Gauge,
            rss_kib * 1024.0,
        ),
        MetricFamily::single(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            MetricType::Gauge,
            boot_time + start_ticks / ticks,
        ),
        MetricFamily::single(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            MetricType::Gauge,
            vsize,
        ),
        MetricFamily::single(
            "process_virtual_memory_max_bytes",
            "Maximum amount of virtual memory available in bytes.",
            MetricType::Gauge,
            limit("Max address space"),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_exporter_runtime::model::Value;

    #[test]
    fn process_families_are_read_and_plausible() {
        let families = families();
        assert_eq!(families.len(), SAMPLE_NAMES.len());
        let value = |name: &str| match &families.iter().find(|f| f.name == name).unwrap().metrics[0]
            .value
        {
            Value::Gauge(v) | Value::Counter(v) => *v,
            _ => unreachable!(),
        };
        assert!(value("process_resident_memory_bytes") > 1e6);
        assert!(value("process_open_fds") >= 3.0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = value("process_start_time_seconds");
        assert!(start <= now + 1.0 && start > now - 86_400.0 * 365.0);
    }
}
