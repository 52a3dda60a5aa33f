//! Every plugin's families of one scrape, merged into one sorted set.
//!
//! Plugins are merged in name order, so the result does not depend on which
//! finished first. A family returned by several plugins is merged when its
//! type, help and unit agree and no series repeats; otherwise the later
//! plugin is marked down with reason `conflict` and none of its output is
//! served. A family that would write a sample name owned by another family
//! (a gauge `x_count` beside a histogram `x`, or a host series) conflicts
//! the same way.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::collect::{Failure, FailureReason, Outcome};
use crate::model::{Label, MetricFamily};
use crate::validate::{sample_names, show_labels};

/// Who writes a sample name.
#[derive(Clone, Copy)]
enum Owner {
    Host,
    Plugin(usize),
}

struct Slot {
    family: MetricFamily,
    plugins: Vec<usize>,
    /// Canonical label sets of the family's series; built only once a
    /// second plugin returns the family.
    keys: Option<HashSet<String>>,
}

/// A series' label set as Prometheus reads it: sorted, and without the
/// labels whose value is empty.
fn series_key(labels: &[Label]) -> String {
    let mut sorted: Vec<&Label> = labels.iter().filter(|l| !l.value.is_empty()).collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut key = String::new();
    for l in sorted {
        key.push_str(&l.name);
        key.push('\u{0}');
        key.push_str(&l.value);
        key.push('\u{0}');
    }
    key
}

/// Merges the families of every successful outcome (which must be sorted
/// by plugin name) and returns them sorted by name. `host_samples` are the
/// sample names the host writes itself. The families are moved out of the
/// outcomes; an outcome that conflicts becomes a failure.
pub fn merge(outcomes: &mut [Outcome], host_samples: &[&str]) -> Vec<MetricFamily> {
    let mut slots: BTreeMap<String, Slot> = BTreeMap::new();
    let mut samples: HashMap<String, Owner> = host_samples
        .iter()
        .map(|s| ((*s).to_owned(), Owner::Host))
        .collect();
    for i in 0..outcomes.len() {
        let Ok(families) = &outcomes[i].result else {
            continue;
        };
        if let Some(problem) = find_conflict(families, &mut slots, &samples, outcomes) {
            outcomes[i].result = Err(Failure::new(FailureReason::Conflict, problem));
            continue;
        }
        let families = match &mut outcomes[i].result {
            Ok(families) => std::mem::take(families),
            Err(_) => unreachable!("checked above"),
        };
        for family in families {
            match slots.get_mut(&family.name) {
                Some(slot) => {
                    if let Some(keys) = &mut slot.keys {
                        keys.extend(family.metrics.iter().map(|m| series_key(&m.labels)));
                    }
                    slot.family.metrics.extend(family.metrics);
                    slot.plugins.push(i);
                }
                None => {
                    for name in sample_names(&family) {
                        samples.insert(name, Owner::Plugin(i));
                    }
                    slots.insert(
                        family.name.clone(),
                        Slot {
                            family,
                            plugins: vec![i],
                            keys: None,
                        },
                    );
                }
            }
        }
    }
    slots.into_values().map(|s| s.family).collect()
}

fn find_conflict(
    families: &[MetricFamily],
    slots: &mut BTreeMap<String, Slot>,
    samples: &HashMap<String, Owner>,
    outcomes: &[Outcome],
) -> Option<String> {
    let name_of = |owner: Owner| match owner {
        Owner::Host => "the host's own series".to_owned(),
        Owner::Plugin(i) => format!("plugin {:?}", outcomes[i].plugin),
    };
    for family in families {
        if let Some(slot) = slots.get_mut(&family.name) {
            let first = name_of(Owner::Plugin(slot.plugins[0]));
            let theirs = &slot.family;
            if theirs.type_ != family.type_ {
                return Some(format!(
                    "family {:?} is a {} here but a {} in {first}",
                    family.name,
                    family.type_.as_str(),
                    theirs.type_.as_str()
                ));
            }
            if theirs.help != family.help || theirs.unit != family.unit {
                return Some(format!(
                    "family {:?} has a different help or unit in {first}",
                    family.name
                ));
            }
            let keys = slot.keys.get_or_insert_with(|| {
                theirs
                    .metrics
                    .iter()
                    .map(|m| series_key(&m.labels))
                    .collect()
            });
            if let Some(m) = family
                .metrics
                .iter()
                .find(|m| keys.contains(&series_key(&m.labels)))
            {
                return Some(format!(
                    "series {}{} is also returned by {first}",
                    family.name,
                    show_labels(&m.labels)
                ));
            }
        } else {
            // Nor may it take the name of a host family: a gauge `x`, or
            // a counter `x` written as `x_total`.
            for name in [family.name.clone(), format!("{}_total", family.name)] {
                if let Some(Owner::Host) = samples.get(&name) {
                    return Some(format!(
                        "family {:?} has the name of one of the host's own families",
                        family.name
                    ));
                }
            }
            for name in sample_names(family) {
                if let Some(&owner) = samples.get(&name) {
                    return Some(format!(
                        "family {:?} writes samples named {name:?}, as does {}",
                        family.name,
                        name_of(owner)
                    ));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MetricType, Value};
    use std::time::Duration;

    fn outcome(plugin: &str, families: Vec<MetricFamily>) -> Outcome {
        Outcome {
            plugin: plugin.into(),
            result: Ok(families),
            duration: Duration::ZERO,
            fuel_consumed: 0,
            memory_peak_bytes: 0,
            series: 0,
        }
    }

    fn gauge(name: &str, help: &str, label: &str) -> MetricFamily {
        let mut f = MetricFamily::new(name, help, MetricType::Gauge);
        f.push(vec![Label::new("k", label)], Value::Gauge(1.0));
        f
    }

    #[test]
    fn families_are_sorted_and_shared_families_merged() {
        let mut outcomes = vec![
            outcome(
                "a",
                vec![gauge("zeta", "z", "1"), gauge("shared", "s", "a")],
            ),
            outcome(
                "b",
                vec![gauge("alpha", "x", "1"), gauge("shared", "s", "b")],
            ),
        ];
        let merged = merge(&mut outcomes, &[]);
        let names: Vec<&str> = merged.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["alpha", "shared", "zeta"]);
        assert_eq!(merged[1].metrics.len(), 2);
        assert!(outcomes.iter().all(|o| o.result.is_ok()));
    }

    #[test]
    fn conflicting_plugin_is_dropped_whole_and_named() {
        let mut outcomes = vec![
            outcome("a", vec![gauge("shared", "s", "1")]),
            outcome(
                "b",
                vec![gauge("own", "o", "1"), gauge("shared", "other help", "2")],
            ),
            outcome("c", vec![gauge("shared", "s", "1")]),
        ];
        let merged = merge(&mut outcomes, &[]);
        assert_eq!(merged.len(), 1, "nothing of b or c is served");
        let b = outcomes[1].result.as_ref().unwrap_err();
        assert_eq!(b.reason, FailureReason::Conflict);
        assert!(b.message.contains("plugin \"a\""), "{}", b.message);
        let c = outcomes[2].result.as_ref().unwrap_err();
        assert!(c.message.contains("also returned"), "{}", c.message);
    }

    #[test]
    fn clashing_sample_names_conflict_with_host_and_other_plugins() {
        let mut h = MetricFamily::new("x", "h", MetricType::Counter);
        h.push(Vec::new(), Value::Counter(1.0));
        let mut outcomes = vec![
            outcome("a", vec![h]),
            outcome("b", vec![gauge("x_total", "g", "1")]),
            outcome("c", vec![gauge("process_open_fds", "g", "1")]),
        ];
        merge(&mut outcomes, &["process_open_fds"]);
        assert!(outcomes[0].result.is_ok());
        assert_eq!(
            outcomes[1].result.as_ref().unwrap_err().reason,
            FailureReason::Conflict
        );
        let c = outcomes[2].result.as_ref().unwrap_err();
        assert!(c.message.contains("host"), "{}", c.message);
    }

    #[test]
    fn host_family_names_are_not_taken() {
        let info = |name: &str| {
            let mut f = MetricFamily::new(name, "i", MetricType::Info);
            f.push(Vec::new(), Value::Info);
            f
        };
        let mut outcomes = vec![
            outcome("a", vec![info("process_open_fds")]),
            outcome("b", vec![info("process_cpu_seconds")]),
            outcome("c", vec![info("process")]),
        ];
        merge(
            &mut outcomes,
            &["process_open_fds", "process_cpu_seconds_total"],
        );
        for o in &outcomes[..2] {
            let failure = o.result.as_ref().unwrap_err();
            assert!(failure.message.contains("host's own"), "{failure}");
        }
        assert!(outcomes[2].result.is_ok());
    }
}
