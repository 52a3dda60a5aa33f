//! Time per CPU and mode from the `cpuN` lines of `/proc/stat`, as
//! node_exporter's `cpu` collector exposes it (`node_cpu_seconds_total`,
//! and `node_cpu_guest_seconds_total`, on by default in 1.5).

use wasm_exporter_sdk::{Descriptor, Family, MetricType};

use crate::excerpt;

/// Clock ticks per second of `/proc/stat` (`USER_HZ`): 100 on every Linux
/// architecture node_exporter supports, which hard-codes it too.
pub const USER_HZ: f64 = 100.0;

/// The highest CPU number taken: past it a line is corrupt (the kernel's
/// own limit, `NR_CPUS`, is at most 8192), and a bogus `cpu4000000000`
/// would otherwise fill in billions of absent CPUs.
const MAX_CPU: usize = 1 << 16;

/// The modes of `node_cpu_seconds_total`, in `/proc/stat` column order.
const MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

/// Columns after the modes: `guest` and `guest_nice`, which the kernel also
/// counts in `user` and `nice`.
const GUEST_MODES: [&str; 2] = ["user", "nice"];

const SECONDS: (&str, &str) = (
    "node_cpu_seconds_total",
    "Seconds the CPUs spent in each mode.",
);
const GUEST: (&str, &str) = (
    "node_cpu_guest_seconds_total",
    "Seconds the CPUs spent in guests (VMs) for each mode.",
);

/// Seconds per column (`user` .. `guest_nice`) of one CPU.
pub type CpuTimes = [f64; 10];

/// The times of each CPU, indexed by CPU number. As in node_exporter (its
/// procfs library), a number missing below the highest one (an offline
/// CPU) is filled with zeros, and columns an old kernel does not print are
/// zero.
pub fn parse(text: &str) -> Result<Vec<CpuTimes>, String> {
    let mut cpus: Vec<CpuTimes> = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(id) = fields.next().and_then(|f| f.strip_prefix("cpu")) else {
            continue;
        };
        // `cpu` alone is the sum over all CPUs, which node_exporter drops.
        if id.is_empty() {
            continue;
        }
        let id: usize = id
            .parse()
            .ok()
            .filter(|&id| id <= MAX_CPU)
            .ok_or_else(|| format!("invalid CPU number in line {:?}", excerpt(line)))?;
        let mut times: CpuTimes = [0.0; 10];
        let mut columns = 0;
        for (time, field) in times.iter_mut().zip(fields) {
            let ticks: f64 = field
                .parse()
                .map_err(|_| format!("invalid value in line {:?}", excerpt(line)))?;
            *time = ticks / USER_HZ;
            columns += 1;
        }
        // Every kernel since 2.6.11 prints at least the eight modes; fewer
        // than user, nice, system and idle is not a CPU line.
        if columns < 4 {
            return Err(format!("too few columns in line {:?}", excerpt(line)));
        }
        if cpus.len() <= id {
            cpus.resize(id + 1, [0.0; 10]);
        }
        cpus[id] = times;
    }
    if cpus.is_empty() {
        return Err("no cpuN line".to_owned());
    }
    Ok(cpus)
}

/// `node_cpu_seconds_total{cpu,mode}` and
/// `node_cpu_guest_seconds_total{cpu,mode}`.
pub fn families(cpus: &[CpuTimes]) -> Vec<Family> {
    let mut seconds = Family::counter(SECONDS.0, SECONDS.1).with_unit("seconds");
    let mut guest = Family::counter(GUEST.0, GUEST.1).with_unit("seconds");
    for (id, times) in cpus.iter().enumerate() {
        let cpu = id.to_string();
        for (mode, &value) in MODES.iter().zip(times) {
            seconds = seconds.with(&[("cpu", &cpu), ("mode", mode)], value);
        }
        for (mode, &value) in GUEST_MODES.iter().zip(&times[MODES.len()..]) {
            guest = guest.with(&[("cpu", &cpu), ("mode", mode)], value);
        }
    }
    vec![seconds, guest]
}

pub fn descriptors() -> Vec<Descriptor> {
    [SECONDS, GUEST]
        .iter()
        .map(|&(name, help)| {
            Descriptor::new(MetricType::Counter, name, help)
                .with_unit("seconds")
                .with_label_names(&["cpu", "mode"])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_exporter_sdk::Value;

    const SAMPLE: &str = "cpu  1154683 0 117087 401372 8357 0 1607 4616 0 0
cpu0 569437 0 56538 213093 2168 0 497 2282 10 20
cpu1 585246 0 60549 188279 6189 0 1109 2333 0 0
intr 123 4 5
ctxt 99
";

    #[test]
    fn per_cpu_lines_become_seconds_by_mode() {
        let cpus = parse(SAMPLE).unwrap();
        assert_eq!(cpus.len(), 2);
        assert_eq!(cpus[0][0], 5694.37);
        assert_eq!(cpus[1][3], 1882.79);
        let families = families(&cpus);
        assert_eq!(families[0].name(), "node_cpu_seconds_total");
        assert_eq!(families[0].series().len(), 16);
        let idle = &families[0].series()[3];
        assert_eq!(idle.labels, [("cpu", "0"), ("mode", "idle")]);
        assert_eq!(idle.value, Value::Counter(2130.93));
        let guest = &families[1].series();
        assert_eq!(guest.len(), 4);
        assert_eq!(guest[0].value, Value::Counter(0.1));
        assert_eq!(guest[1].value, Value::Counter(0.2));
        assert_eq!(guest[1].labels[1].1, "nice");
    }

    #[test]
    fn missing_cpus_and_columns_are_zero() {
        let cpus = parse("cpu1 1 2 3 4\n").unwrap();
        assert_eq!(
            cpus,
            [
                [0.0; 10],
                [0.01, 0.02, 0.03, 0.04, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
            ]
        );
    }

    #[test]
    fn corrupt_lines_are_errors() {
        assert!(parse("cpu0 1 2\n").unwrap_err().contains("too few columns"));
        assert!(parse("cpu0 1 2 x 4\n").is_err());
        assert!(parse("cpux 1 2 3 4\n").is_err());
        assert!(parse("cpu4000000000 1 2 3 4\n").is_err());
        assert!(parse("intr 1\n").unwrap_err().contains("no cpuN"));
    }
}
