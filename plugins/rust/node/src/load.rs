//! Load averages from `/proc/loadavg`, as node_exporter's `loadavg`
//! collector exposes them.

use wasm_exporter_sdk::{Descriptor, Family, MetricType};

use crate::excerpt;

/// Name and help of the 1, 5 and 15 minute averages, in file order.
const FAMILIES: [(&str, &str); 3] = [
    ("node_load1", "1m load average."),
    ("node_load5", "5m load average."),
    ("node_load15", "15m load average."),
];

/// The 1, 5 and 15 minute load averages: the first three fields.
pub fn parse(text: &str) -> Result<[f64; 3], String> {
    let fields: Vec<&str> = text.split_whitespace().take(3).collect();
    if fields.len() < 3 {
        return Err(format!(
            "expected three load averages, found {:?}",
            excerpt(text)
        ));
    }
    let mut loads = [0.0; 3];
    for (load, field) in loads.iter_mut().zip(fields) {
        *load = field
            .parse()
            .map_err(|_| format!("load average {:?} is not a number", excerpt(field)))?;
    }
    Ok(loads)
}

/// One gauge per average.
pub fn families(loads: [f64; 3]) -> Vec<Family> {
    FAMILIES
        .iter()
        .zip(loads)
        .map(|(&(name, help), load)| Family::gauge(name, help).with(&[], load))
        .collect()
}

pub fn descriptors() -> Vec<Descriptor> {
    FAMILIES
        .iter()
        .map(|&(name, help)| Descriptor::new(MetricType::Gauge, name, help))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_first_three_fields() {
        assert_eq!(
            parse("0.50 1.10 1.62 2/107 12159\n").unwrap(),
            [0.5, 1.1, 1.62]
        );
        let families = families([0.5, 1.1, 1.62]);
        let names: Vec<_> = families.iter().map(Family::name).collect();
        assert_eq!(names, ["node_load1", "node_load5", "node_load15"]);
    }

    #[test]
    fn short_or_garbled_files_are_errors() {
        assert!(parse("").unwrap_err().contains("three load averages"));
        assert!(parse("0.1 0.2").is_err());
        assert!(parse("0.1 x 0.3 1/2 3").unwrap_err().contains("\"x\""));
    }
}
