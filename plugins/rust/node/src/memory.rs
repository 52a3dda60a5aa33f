//! Every field of `/proc/meminfo`, named as node_exporter's `meminfo`
//! collector names it: `Active(anon):  1544 kB` becomes
//! `node_memory_Active_anon_bytes 1581056`, and a field without a unit
//! (`HugePages_Total:  0`) keeps its name and value.

use std::collections::BTreeMap;

use wasm_exporter_sdk::Family;

use crate::excerpt;

/// The fields of one read, by node_exporter's key (without the
/// `node_memory_` prefix), and the keys left out because they would not
/// make a valid metric name.
#[derive(Debug, Default, PartialEq)]
pub struct MemInfo {
    pub fields: BTreeMap<String, f64>,
    pub invalid: Vec<String>,
}

/// Parses the file. A line that is not `Key: value` or `Key: value kB`
/// makes the whole file an error, as it does for node_exporter; a key
/// appearing twice keeps its last value.
pub fn parse(text: &str) -> Result<MemInfo, String> {
    let mut info = MemInfo::default();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        // Some kernels print empty lines; node_exporter skips them too.
        if parts.is_empty() {
            continue;
        }
        let (Some(key), 2..=3) = (parts[0].strip_suffix(':'), parts.len()) else {
            return Err(format!("invalid line {:?}", excerpt(line)));
        };
        let mut value: f64 = parts[1]
            .parse()
            .map_err(|_| format!("invalid value in line {:?}", excerpt(line)))?;
        let mut key = unparenthesize(key);
        // The only unit the kernel writes is kB.
        if parts.len() == 3 {
            value *= 1024.0;
            key.push_str("_bytes");
        }
        if key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
        {
            info.fields.insert(key, value);
        } else {
            info.invalid.push(key);
        }
    }
    Ok(info)
}

/// `Active(anon)` → `Active_anon`: node_exporter's `\((.*)\)` → `_$1`,
/// from the first `(` to the last `)`.
fn unparenthesize(key: &str) -> String {
    match (key.find('('), key.rfind(')')) {
        (Some(open), Some(close)) if open < close => {
            format!(
                "{}_{}{}",
                &key[..open],
                &key[open + 1..close],
                &key[close + 1..]
            )
        }
        _ => key.to_owned(),
    }
}

/// One family per field: a gauge, or a counter for a key ending in
/// `_total` (node_exporter's rule; no Linux field does today).
pub fn families(info: &MemInfo) -> Vec<Family> {
    info.fields
        .iter()
        .map(|(key, &value)| {
            let name = format!("node_memory_{key}");
            let help = format!("Memory information field {key}.");
            let family = if key.ends_with("_total") {
                Family::counter(name, help)
            } else {
                Family::gauge(name, help)
            };
            let family = if key.ends_with("_bytes") {
                family.with_unit("bytes")
            } else {
                family
            };
            family.with(&[], value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "MemTotal:       24684096 kB
MemFree:        20843428 kB
Active(anon):       1544 kB
Inactive(file):  1589532 kB
HugePages_Total:       0
HugePages_Free:        0
Hugepagesize:       2048 kB
DirectMap4k:       28672 kB

";

    #[test]
    fn fields_are_named_and_scaled_as_node_exporter_does() {
        let info = parse(SAMPLE).unwrap();
        let expected = [
            ("Active_anon_bytes", 1544.0 * 1024.0),
            ("DirectMap4k_bytes", 28672.0 * 1024.0),
            ("HugePages_Free", 0.0),
            ("HugePages_Total", 0.0),
            ("Hugepagesize_bytes", 2048.0 * 1024.0),
            ("Inactive_file_bytes", 1589532.0 * 1024.0),
            ("MemFree_bytes", 20843428.0 * 1024.0),
            ("MemTotal_bytes", 24684096.0 * 1024.0),
        ];
        let got: Vec<_> = info.fields.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(got, expected);
        assert!(info.invalid.is_empty());

        let families = families(&info);
        let total = families
            .iter()
            .find(|f| f.name() == "node_memory_MemTotal_bytes")
            .unwrap();
        assert_eq!(total.help(), "Memory information field MemTotal_bytes.");
        assert_eq!(total.unit(), Some("bytes"));
        let huge = families
            .iter()
            .find(|f| f.name() == "node_memory_HugePages_Total")
            .unwrap();
        assert_eq!(huge.unit(), None);
        assert_eq!(huge.metric_type(), wasm_exporter_sdk::MetricType::Gauge);
    }

    #[test]
    fn parentheses_follow_the_greedy_regex() {
        assert_eq!(unparenthesize("Active(anon)"), "Active_anon");
        assert_eq!(unparenthesize("A(b)c(d)"), "A_b)c(d");
        assert_eq!(unparenthesize("Odd(open"), "Odd(open");
        assert_eq!(unparenthesize(")x("), ")x(");
    }

    #[test]
    fn keys_that_make_bad_names_are_left_out() {
        let info = parse("Good: 1 kB\nBad-Key: 2 kB\n").unwrap();
        assert_eq!(info.fields.len(), 1);
        assert_eq!(info.invalid, ["Bad-Key_bytes"]);
    }

    #[test]
    fn malformed_lines_fail_the_file() {
        assert!(parse("MemTotal 1 kB\n").is_err());
        assert!(parse("MemTotal: x kB\n").is_err());
        assert!(parse("MemTotal: 1 kB extra\n").is_err());
        assert!(parse("MemTotal:\n").is_err());
    }

    #[test]
    fn the_last_of_a_repeated_key_wins() {
        let info = parse("A: 1\nA: 2\n").unwrap();
        assert_eq!(info.fields["A"], 2.0);
    }
}
