//! Every plugin's families of one scrape, merged into one sorted set.
//!
//! Plugins are merged in name order, so the result does not depend on which
//! finished first. A family returned by several plugins is merged when its
//! type, help and unit agree and no series repeats; otherwise the later
//! plugin's families are refused whole with a [`Conflict`] (the host then
//! marks it down with reason `conflict`) and none of its output is
//! served. A family that would write a sample name owned by another family
//! (a gauge `x_count` beside a histogram `x`, or a host series) conflicts
//! the same way.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::hash::Hash;

use crate::block::Block;
use crate::model::{Label, MetricFamily, MetricType, base_name};
use crate::validate::{sample_names_of, show_labels};

/// What the merge needs of a family: its metadata, a key per series that
/// is equal for equal label sets, and a way to take another source's
/// series of the same family. A [`MetricFamily`] keys its series by their
/// canonical label set; an encoded [`Block`] by the hash of it.
pub trait Mergeable {
    /// The key of one series.
    type Key: Eq + Hash;
    /// Its name, type, help and unit.
    fn meta(&self) -> Meta<'_>;
    /// The number of series.
    fn series(&self) -> usize;
    /// The key of series `i`.
    fn key(&self, i: usize) -> Self::Key;
    /// Series `i` for a message: the family name and its labels.
    fn show_series(&self, i: usize) -> String;
    /// Takes the series of `other`, a family of the same name.
    fn append(&mut self, other: Self);
}

/// What two families of one name must agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta<'a> {
    /// The family name.
    pub name: &'a str,
    /// The family type.
    pub type_: MetricType,
    /// The HELP text.
    pub help: &'a str,
    /// The unit.
    pub unit: Option<&'a str>,
}

impl Mergeable for MetricFamily {
    type Key = String;
    fn meta(&self) -> Meta<'_> {
        Meta {
            name: &self.name,
            type_: self.type_,
            help: &self.help,
            unit: self.unit.as_deref(),
        }
    }
    fn series(&self) -> usize {
        self.metrics.len()
    }
    fn key(&self, i: usize) -> String {
        series_key(&self.metrics[i].labels)
    }
    fn show_series(&self, i: usize) -> String {
        format!("{}{}", self.name, show_labels(&self.metrics[i].labels))
    }
    fn append(&mut self, other: Self) {
        self.metrics.extend(other.metrics);
    }
}

impl Mergeable for Block {
    type Key = u64;
    fn meta(&self) -> Meta<'_> {
        Meta {
            name: &self.name,
            type_: self.type_,
            help: &self.help,
            unit: self.unit.as_deref(),
        }
    }
    fn series(&self) -> usize {
        self.len()
    }
    fn key(&self, i: usize) -> u64 {
        self.keys()[i]
    }
    fn show_series(&self, i: usize) -> String {
        Block::show_series(self, i)
    }
    fn append(&mut self, other: Self) {
        Block::append(self, other);
    }
}

/// The sample names a family writes.
fn sample_names<F: Mergeable>(family: &F) -> Vec<String> {
    let meta = family.meta();
    sample_names_of(base_name(meta.name, meta.type_), meta.type_)
}

/// Who writes a sample name.
#[derive(Clone, Copy)]
enum Owner {
    Host,
    Source(usize),
}

struct Slot<F: Mergeable> {
    family: F,
    sources: Vec<usize>,
    /// Keys of the family's series; built only once a second source
    /// returns the family.
    keys: Option<HashSet<F::Key>>,
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

/// Why a source's families were refused: they clash with what an earlier
/// source (or the host) already wrote. Nothing of that source was merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// What clashes with what, naming the family, the series and the
    /// other source.
    pub message: String,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Conflict {}

/// The families of one scrape, merged source by source: owned
/// [`MetricFamily`] values, or encoded [`Block`]s as a scrape merges them.
///
/// Sources are added in a fixed order (the host adds plugins by name), so
/// the result does not depend on which finished first; each source's
/// families must already be validated ([`crate::validate::validate`]).
pub struct Merge<F: Mergeable = MetricFamily> {
    slots: BTreeMap<String, Slot<F>>,
    samples: HashMap<String, Owner>,
    sources: Vec<String>,
}

impl<F: Mergeable> Merge<F> {
    /// An empty merge; `host_samples` are the sample names the host writes
    /// itself, which no source may take.
    pub fn new(host_samples: &[&str]) -> Self {
        Merge {
            slots: BTreeMap::new(),
            samples: host_samples
                .iter()
                .map(|s| ((*s).to_owned(), Owner::Host))
                .collect(),
            sources: Vec::new(),
        }
    }

    /// Adds every family of the source called `source`, or none of them
    /// when one conflicts with what is already merged.
    pub fn add(&mut self, source: &str, families: Vec<F>) -> Result<(), Conflict> {
        if let Some(message) = self.find_conflict(&families) {
            return Err(Conflict { message });
        }
        let index = self.sources.len();
        self.sources.push(source.to_owned());
        for family in families {
            match self.slots.get_mut(family.meta().name) {
                Some(slot) => {
                    if let Some(keys) = &mut slot.keys {
                        keys.extend((0..family.series()).map(|i| family.key(i)));
                    }
                    slot.family.append(family);
                    slot.sources.push(index);
                }
                None => {
                    for name in sample_names(&family) {
                        self.samples.insert(name, Owner::Source(index));
                    }
                    self.slots.insert(
                        family.meta().name.to_owned(),
                        Slot {
                            family,
                            sources: vec![index],
                            keys: None,
                        },
                    );
                }
            }
        }
        Ok(())
    }

    /// The merged families, sorted by name.
    pub fn finish(self) -> Vec<F> {
        self.slots.into_values().map(|s| s.family).collect()
    }

    fn find_conflict(&mut self, families: &[F]) -> Option<String> {
        let sources = &self.sources;
        let name_of = |owner: Owner| match owner {
            Owner::Host => "the host's own series".to_owned(),
            Owner::Source(i) => format!("plugin {:?}", sources[i]),
        };
        for family in families {
            let meta = family.meta();
            if let Some(slot) = self.slots.get_mut(meta.name) {
                let first = name_of(Owner::Source(slot.sources[0]));
                let theirs = &slot.family;
                let their_meta = theirs.meta();
                if their_meta.type_ != meta.type_ {
                    return Some(format!(
                        "family {:?} is a {} here but a {} in {first}",
                        meta.name,
                        meta.type_.as_str(),
                        their_meta.type_.as_str()
                    ));
                }
                if their_meta != meta {
                    return Some(format!(
                        "family {:?} has a different help or unit in {first}",
                        meta.name
                    ));
                }
                let keys = slot
                    .keys
                    .get_or_insert_with(|| (0..theirs.series()).map(|i| theirs.key(i)).collect());
                if let Some(i) = (0..family.series()).find(|&i| keys.contains(&family.key(i))) {
                    return Some(format!(
                        "series {} is also returned by {first}",
                        family.show_series(i)
                    ));
                }
            } else {
                // Nor may it take the name of a host family: a gauge `x`, or
                // a counter `x` written as `x_total`.
                let base = base_name(meta.name, meta.type_);
                for name in [base.to_string(), format!("{base}_total")] {
                    if let Some(Owner::Host) = self.samples.get(&name) {
                        return Some(format!(
                            "family {:?} has the name of one of the host's own families",
                            meta.name
                        ));
                    }
                }
                for name in sample_names(family) {
                    if let Some(&owner) = self.samples.get(&name) {
                        return Some(format!(
                            "family {:?} writes samples named {name:?}, as does {}",
                            meta.name,
                            name_of(owner)
                        ));
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MetricType, Value};

    /// One source's families, and after [`merge`] whether they were taken.
    struct Source {
        name: &'static str,
        families: Vec<MetricFamily>,
        result: Result<(), Conflict>,
    }

    fn outcome(name: &'static str, families: Vec<MetricFamily>) -> Source {
        Source {
            name,
            families,
            result: Ok(()),
        }
    }

    fn merge(sources: &mut [Source], host_samples: &[&str]) -> Vec<MetricFamily> {
        let mut merge = Merge::new(host_samples);
        for s in sources.iter_mut() {
            s.result = merge.add(s.name, std::mem::take(&mut s.families));
        }
        merge.finish()
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
        assert!(outcomes[1].result.is_err());
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
