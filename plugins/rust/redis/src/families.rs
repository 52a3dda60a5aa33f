//! The families of one scrape, gathered by name as the INFO lines come,
//! in the order each name first appears.

use std::collections::HashMap;

use wasm_exporter_sdk::{Descriptor, Family, MetricType};

/// What a family is, for [`FamilySet::put`] and for `describe`.
pub struct Meta {
    /// The name, after the set's prefix.
    pub name: &'static str,
    /// The help text.
    pub help: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Its label names, in order.
    pub labels: &'static [&'static str],
}

impl Meta {
    /// Its descriptor, with the full name.
    pub fn descriptor(&self, prefix: &str) -> Descriptor {
        let kind = match self.kind {
            Kind::Gauge => MetricType::Gauge,
            Kind::Counter => MetricType::Counter,
        };
        let name = format!("{prefix}{}", self.name);
        let mut descriptor = Descriptor::new(kind, &name, self.help).with_label_names(self.labels);
        if let Some(unit) = unit_of(&name) {
            descriptor = descriptor.with_unit(unit);
        }
        descriptor
    }
}

/// The OpenMetrics unit a name ends in, if any.
fn unit_of(name: &str) -> Option<&'static str> {
    let base = name.strip_suffix("_total").unwrap_or(name);
    ["bytes", "seconds"]
        .into_iter()
        .find(|unit| base.ends_with(&format!("_{unit}")))
}

/// The type of a scalar family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Goes up and down.
    Gauge,
    /// Only goes up (until the server restarts).
    Counter,
}

struct Entry {
    name: String,
    kind: Kind,
    help: String,
    series: Vec<(Vec<(String, String)>, f64)>,
}

/// Families being built; every name gets `prefix` in front.
pub struct FamilySet {
    prefix: &'static str,
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
}

impl FamilySet {
    /// An empty set whose names start with `prefix`.
    pub fn new(prefix: &'static str) -> Self {
        FamilySet {
            prefix,
            entries: Vec::new(),
            by_name: HashMap::new(),
        }
    }

    /// Adds a series of a family described by `meta`, with the values of
    /// its labels in order.
    pub fn put(&mut self, meta: &Meta, values: &[&str], value: f64) {
        let labels: Vec<(&str, &str)> = meta
            .labels
            .iter()
            .copied()
            .zip(values.iter().copied())
            .collect();
        self.add(meta.name, meta.kind, meta.help, &labels, value);
    }

    /// Adds a series. A repeated label set, or a name already used with the
    /// other type, keeps the first: a server that repeats an INFO field
    /// must not turn the whole scrape into a duplicate-series failure.
    pub fn add(&mut self, name: &str, kind: Kind, help: &str, labels: &[(&str, &str)], value: f64) {
        let index = *self.by_name.entry(name.to_owned()).or_insert_with(|| {
            self.entries.push(Entry {
                name: format!("{}{name}", self.prefix),
                kind,
                help: help.to_owned(),
                series: Vec::new(),
            });
            self.entries.len() - 1
        });
        let entry = &mut self.entries[index];
        let labels: Vec<(String, String)> = labels
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if entry.kind != kind || entry.series.iter().any(|(l, _)| *l == labels) {
            return;
        }
        entry.series.push((labels, value));
    }

    /// The families, with the OpenMetrics unit their name ends in.
    pub fn into_families(self) -> Vec<Family> {
        self.entries
            .into_iter()
            .map(|entry| {
                let mut family = match entry.kind {
                    Kind::Gauge => Family::gauge(&entry.name, &entry.help),
                    Kind::Counter => Family::counter(&entry.name, &entry.help),
                };
                if let Some(unit) = unit_of(&entry.name) {
                    family = family.with_unit(unit);
                }
                for (labels, value) in &entry.series {
                    let labels: Vec<(&str, &str)> = labels
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    family = family.with(&labels, *value);
                }
                family
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_exporter_sdk::Value;

    #[test]
    fn first_series_of_a_label_set_wins_and_units_follow_the_name() {
        let mut set = FamilySet::new("redis_");
        let (gauge, counter) = (Kind::Gauge, Kind::Counter);
        set.add("memory_used_bytes", gauge, "Used.", &[], 10.0);
        set.add("memory_used_bytes", gauge, "Used.", &[], 20.0);
        set.add("memory_used_bytes", counter, "Clash.", &[("x", "y")], 1.0);
        set.add("cpu_sys_seconds_total", counter, "CPU.", &[], 0.5);
        let db_keys = Meta {
            name: "db_keys",
            help: "Keys.",
            kind: gauge,
            labels: &["db"],
        };
        set.put(&db_keys, &["db0"], 3.0);
        set.put(&db_keys, &["db1"], 0.0);
        let families = set.into_families();
        let names: Vec<_> = families.iter().map(Family::name).collect();
        assert_eq!(
            names,
            [
                "redis_memory_used_bytes",
                "redis_cpu_sys_seconds_total",
                "redis_db_keys"
            ]
        );
        assert_eq!(families[0].unit(), Some("bytes"));
        assert_eq!(families[0].series().len(), 1);
        assert_eq!(families[0].series()[0].value, Value::Gauge(10.0));
        assert_eq!(families[1].unit(), Some("seconds"));
        assert_eq!(families[1].metric_type(), MetricType::Counter);
        assert_eq!(families[1].series()[0].value, Value::Counter(0.5));
        assert_eq!(families[2].unit(), None);
        assert_eq!(families[2].series().len(), 2);
        assert_eq!(
            db_keys.descriptor("redis_"),
            Descriptor::new(MetricType::Gauge, "redis_db_keys", "Keys.").with_label_names(&["db"])
        );
    }
}
