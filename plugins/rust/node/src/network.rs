//! Per-interface counters from `/proc/net/dev`, named as node_exporter's
//! `netdev` collector names them (`node_network_receive_bytes_total`, ...).

use std::collections::BTreeMap;

use wasm_exporter_sdk::{Descriptor, Family, MetricType};

use crate::excerpt;

/// The columns of `/proc/net/dev`, in order, as node_exporter's keys.
const COLUMNS: [&str; 16] = [
    "receive_bytes",
    "receive_packets",
    "receive_errs",
    "receive_drop",
    "receive_fifo",
    "receive_frame",
    "receive_compressed",
    "receive_multicast",
    "transmit_bytes",
    "transmit_packets",
    "transmit_errs",
    "transmit_drop",
    "transmit_fifo",
    "transmit_colls",
    "transmit_carrier",
    "transmit_compressed",
];

/// The counters of one interface, in [`COLUMNS`] order.
pub type Counters = [u64; 16];

/// The counters of each interface, by name. A malformed line makes the
/// whole file an error, as it does for node_exporter.
pub fn parse(text: &str) -> Result<BTreeMap<String, Counters>, String> {
    let mut devices = BTreeMap::new();
    // Two header lines name the columns; their layout has not changed
    // since Linux 2.2, and node_exporter does not read them either.
    for line in text.lines().skip(2).filter(|l| !l.trim().is_empty()) {
        let Some((name, values)) = line.rsplit_once(':') else {
            return Err(format!("no colon in line {:?}", excerpt(line)));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("no interface name in line {:?}", excerpt(line)));
        }
        let values: Vec<&str> = values.split_whitespace().collect();
        if values.len() < COLUMNS.len() {
            return Err(format!("too few columns in line {:?}", excerpt(line)));
        }
        let mut counters: Counters = [0; 16];
        for (counter, value) in counters.iter_mut().zip(values) {
            *counter = value
                .parse()
                .map_err(|_| format!("invalid value in line {:?}", excerpt(line)))?;
        }
        devices.insert(name.to_owned(), counters);
    }
    Ok(devices)
}

/// One counter family per column, one series per interface not in
/// `exclude`.
pub fn families(devices: &BTreeMap<String, Counters>, exclude: &[String]) -> Vec<Family> {
    let devices: Vec<_> = devices
        .iter()
        .filter(|(name, _)| !exclude.contains(name))
        .collect();
    COLUMNS
        .iter()
        .enumerate()
        .map(|(column, key)| {
            let mut family = family(key);
            for (device, counters) in &devices {
                family = family.with(&[("device", device)], counters[column] as f64);
            }
            family
        })
        .collect()
}

fn family(key: &str) -> Family {
    let family = Family::counter(
        format!("node_network_{key}_total"),
        format!("Network device statistic {key}."),
    );
    if key.ends_with("_bytes") {
        family.with_unit("bytes")
    } else {
        family
    }
}

pub fn descriptors() -> Vec<Descriptor> {
    COLUMNS
        .iter()
        .map(|key| {
            let family = family(key);
            let descriptor = Descriptor::new(MetricType::Counter, family.name(), family.help())
                .with_label_names(&["device"]);
            match family.unit() {
                Some(unit) => descriptor.with_unit(unit),
                None => descriptor,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_exporter_sdk::Value;

    const SAMPLE: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1429151337 1185244    0    0    0     0          0         0 1429151337 1185244    0    0    0     0       0          0
  eth0: 348215083   13588    1    2    3     4          5         6   660938    7073    7    8    9    10      11         12
";

    #[test]
    fn columns_become_counters_per_device() {
        let devices = parse(SAMPLE).unwrap();
        assert_eq!(devices.len(), 2);
        let families = families(&devices, &["lo".to_owned()]);
        assert_eq!(families.len(), 16);
        let names: Vec<_> = families.iter().map(Family::name).collect();
        assert_eq!(names[0], "node_network_receive_bytes_total");
        assert_eq!(names[13], "node_network_transmit_colls_total");
        assert_eq!(families[0].unit(), Some("bytes"));
        assert_eq!(families[1].unit(), None);
        assert_eq!(
            families[0].help(),
            "Network device statistic receive_bytes."
        );
        for (column, family) in families.iter().enumerate() {
            let series = family.series();
            assert_eq!(series.len(), 1, "lo is excluded");
            assert_eq!(series[0].labels, [("device", "eth0")]);
            let value = devices["eth0"][column] as f64;
            assert_eq!(series[0].value, Value::Counter(value));
        }
        assert_eq!(devices["eth0"][15], 12);
    }

    #[test]
    fn malformed_lines_fail_the_file() {
        let header = "h1\nh2\n";
        assert!(parse(&format!("{header}eth0 1 2\n")).is_err());
        assert!(parse(&format!("{header}eth0: 1 2 3\n")).is_err());
        assert!(parse(&format!("{header}: {}\n", "0 ".repeat(16))).is_err());
        assert!(parse(&format!("{header}eth0: x{}\n", " 0".repeat(15))).is_err());
        assert!(parse(header).unwrap().is_empty());
    }
}
