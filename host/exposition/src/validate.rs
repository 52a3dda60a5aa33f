//! The rules a plugin's output must follow before any of it is served.
//!
//! [`validate`] checks one plugin's families for one scrape and normalises
//! them in place (info names lose their `_info` suffix, which the
//! encoders add back; counter names keep what the plugin wrote, which the
//! text format shows as it is; empty families are dropped). The first broken rule fails the whole plugin for that scrape
//! with a message naming the family and the series: half a plugin's output
//! is worse than none, because Prometheus would then see series vanish.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

use crate::model::{Label, Metric, MetricFamily, MetricType, Text, Value};

/// The prefix of the host's own series, which plugins may not use.
pub const RESERVED_PREFIX: &str = "wasm_exporter_";

/// Samples (exposition lines) one source may return per scrape, unless
/// told otherwise. Stops a cardinality explosion in one plugin from
/// swamping Prometheus and the page.
pub const DEFAULT_MAX_SERIES: u64 = 50_000;

/// Estimated exposition bytes one source may return per scrape, unless
/// told otherwise. Stops a few huge label values or help texts from doing
/// what `max_series` stops.
pub const DEFAULT_MAX_BYTES: u64 = 16 << 20;

/// Labels one series may carry, unless told otherwise. Stops one series
/// with a huge label set from costing the checks (and Prometheus) what a
/// whole page of ordinary series costs; kube-state-metrics' widest `_info`
/// and `_labels` series stay far below it.
pub const DEFAULT_MAX_LABELS_PER_SERIES: u64 = 128;

/// Buckets one histogram data point may have, unless told otherwise.
/// Classic histograms rarely exceed 30; this stops a "histogram" from being
/// a second, uncounted way to return thousands of samples per series.
pub const DEFAULT_MAX_BUCKETS: u64 = 256;

/// Quantiles one summary data point may have, unless told otherwise.
pub const DEFAULT_MAX_QUANTILES: u64 = 64;

/// States one state-set data point may have, unless told otherwise.
pub const DEFAULT_MAX_STATES: u64 = 1024;

/// The size caps [`validate`] enforces before it looks at anything else.
/// Every check after them is linear (or `n log n`) in the output's size,
/// so these caps bound the time the checks take, too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    /// See [`DEFAULT_MAX_SERIES`].
    pub max_series: u64,
    /// See [`DEFAULT_MAX_BYTES`].
    pub max_bytes: u64,
    /// See [`DEFAULT_MAX_LABELS_PER_SERIES`].
    pub max_labels_per_series: u64,
    /// See [`DEFAULT_MAX_BUCKETS`].
    pub max_buckets: u64,
    /// See [`DEFAULT_MAX_QUANTILES`].
    pub max_quantiles: u64,
    /// See [`DEFAULT_MAX_STATES`].
    pub max_states: u64,
    /// A label name the host keeps for itself (`tenant`, for a tenant's
    /// plugins): a series carrying it is invalid.
    pub reserved_label: Option<&'static str>,
}

impl Default for OutputLimits {
    fn default() -> Self {
        OutputLimits {
            max_series: DEFAULT_MAX_SERIES,
            max_bytes: DEFAULT_MAX_BYTES,
            max_labels_per_series: DEFAULT_MAX_LABELS_PER_SERIES,
            max_buckets: DEFAULT_MAX_BUCKETS,
            max_quantiles: DEFAULT_MAX_QUANTILES,
            max_states: DEFAULT_MAX_STATES,
            reserved_label: None,
        }
    }
}

/// Why [`validate`] refused a set of families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// A rule of the exposition format is broken.
    InvalidOutput,
    /// Over one of the [`OutputLimits`].
    TooLarge,
    /// The deadline given to [`validate_until`] passed before the checks
    /// were done.
    Deadline,
}

/// A refused set of families: which rule, where, and how big it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The class of the refusal.
    pub kind: RejectionKind,
    /// What is wrong, naming the family and the series.
    pub message: String,
    /// Samples the families held (counted even when over the cap).
    pub series: u64,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rejection {}

/// Size of one plugin's validated output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputStats {
    /// Samples (exposition lines).
    pub series: u64,
    /// Estimated exposition bytes.
    pub bytes: u64,
}

/// Whether `s` is a valid metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_metric_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b':'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// Whether `s` is a valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The sample names a (normalised) family produces in either format, and
/// the names its metadata lines use (`x` in OpenMetrics, `x_total` or
/// `x_info` in the text format), so two families that would write the
/// same sample or family name can be caught.
pub fn sample_names<S: Text>(family: &MetricFamily<S>) -> Vec<String> {
    sample_names_of(family.base_name(), family.type_)
}

/// [`sample_names`] of a family whose base name (without a counter's
/// `_total`) is `n`.
pub fn sample_names_of(n: &str, type_: MetricType) -> Vec<String> {
    let with = |suffixes: &[&str]| suffixes.iter().map(|s| format!("{n}{s}")).collect();
    match type_ {
        MetricType::Counter => with(&["", "_total", "_created"]),
        MetricType::Gauge | MetricType::Unknown | MetricType::StateSet => with(&[""]),
        MetricType::Histogram => with(&["", "_bucket", "_count", "_sum", "_created"]),
        MetricType::Summary => with(&["", "_count", "_sum", "_created"]),
        MetricType::Info => with(&["", "_info"]),
    }
}

/// Samples one series writes.
pub fn samples_of<S>(value: &Value<S>) -> u64 {
    match value {
        Value::Counter(_) | Value::Gauge(_) | Value::Unknown(_) | Value::Info => 1,
        Value::Histogram(h) => h.buckets.len() as u64 + 2,
        Value::Summary(s) => s.quantiles.len() as u64 + 2,
        Value::StateSet(states) => states.len() as u64,
    }
}

fn labels_bytes<S: Text>(labels: &[Label<S>]) -> u64 {
    labels
        .iter()
        .map(|l| (l.name.as_ref().len() + l.value.as_ref().len() + 4) as u64)
        .sum()
}

/// Counts samples and estimated bytes without checking anything, so an
/// oversized result is reported as `too_large` before it is inspected.
pub fn measure<S: Text>(families: &[MetricFamily<S>]) -> OutputStats {
    let mut stats = OutputStats::default();
    for f in families {
        let name = f.name.as_ref().len();
        stats.bytes += (2 * name + f.help.as_ref().len() + 32) as u64;
        for m in &f.metrics {
            let samples = samples_of(&m.value);
            stats.series += samples;
            stats.bytes += samples * (name as u64 + 40 + labels_bytes(&m.labels));
        }
    }
    stats
}

/// The first series over a per-series cap (labels, buckets, quantiles,
/// states), as a message; one linear pass.
fn over_a_cap<S: Text>(families: &[MetricFamily<S>], limits: &OutputLimits) -> Option<String> {
    for f in families {
        for m in &f.metrics {
            let (what, n, cap) = match &m.value {
                _ if m.labels.len() as u64 > limits.max_labels_per_series => {
                    ("labels", m.labels.len(), limits.max_labels_per_series)
                }
                Value::Histogram(h) if h.buckets.len() as u64 > limits.max_buckets => {
                    ("buckets", h.buckets.len(), limits.max_buckets)
                }
                Value::Summary(s) if s.quantiles.len() as u64 > limits.max_quantiles => {
                    ("quantiles", s.quantiles.len(), limits.max_quantiles)
                }
                Value::StateSet(s) if s.len() as u64 > limits.max_states => {
                    ("states", s.len(), limits.max_states)
                }
                _ => continue,
            };
            return Some(format!(
                "family {:?}: series {} has {n} {what}, over the limit of {cap}",
                f.name,
                show_labels(&m.labels)
            ));
        }
    }
    None
}

/// Checks and normalises one plugin's output. On failure, returns why,
/// with the number of samples it returned.
pub fn validate<S: Text>(
    families: &mut Vec<MetricFamily<S>>,
    limits: &OutputLimits,
) -> Result<OutputStats, Rejection> {
    validate_until(families, limits, None)
}

/// Series checked between two looks at the clock in [`validate_until`].
const SERIES_PER_DEADLINE_CHECK: usize = 256;

/// [`validate`], giving up with [`RejectionKind::Deadline`] once
/// `deadline` has passed, so the checks of one plugin's output never run
/// past that plugin's time.
pub fn validate_until<S: Text>(
    families: &mut Vec<MetricFamily<S>>,
    limits: &OutputLimits,
    deadline: Option<Instant>,
) -> Result<OutputStats, Rejection> {
    validate_keyed(families, limits, deadline, None)
}

/// [`validate_until`], also pushing onto `keys` (when given), per family
/// left, the [`label_set_hash`] of each of its series, which the checks
/// compute anyway.
pub(crate) fn validate_keyed<S: Text>(
    families: &mut Vec<MetricFamily<S>>,
    limits: &OutputLimits,
    deadline: Option<Instant>,
    mut keys: Option<&mut Vec<Vec<u64>>>,
) -> Result<OutputStats, Rejection> {
    let stats = measure(families);
    let reject = |kind, message| Rejection {
        kind,
        message,
        series: stats.series,
    };
    if stats.series > limits.max_series {
        let msg = format!(
            "returned {} series, over the limit of {}",
            stats.series, limits.max_series
        );
        return Err(reject(RejectionKind::TooLarge, msg));
    }
    if stats.bytes > limits.max_bytes {
        let msg = format!(
            "returned about {} bytes of exposition, over the limit of {}",
            stats.bytes, limits.max_bytes
        );
        return Err(reject(RejectionKind::TooLarge, msg));
    }
    if let Some(msg) = over_a_cap(families, limits) {
        return Err(reject(RejectionKind::TooLarge, msg));
    }
    let mut clock = Clock {
        deadline,
        countdown: SERIES_PER_DEADLINE_CHECK,
    };
    families.retain(|f| !f.metrics.is_empty());
    let mut samples: HashSet<String> = HashSet::new();
    for family in families.iter_mut() {
        let invalid = |msg: String| reject(RejectionKind::InvalidOutput, msg);
        normalise_and_check_family(family).map_err(&invalid)?;
        for name in sample_names(family) {
            if !samples.insert(name.clone()) {
                return Err(invalid(format!(
                    "family {:?}: sample name {name:?} is also written by another family",
                    family.name
                )));
            }
        }
        let family_keys = keys.as_deref_mut().map(|keys| {
            keys.push(Vec::with_capacity(family.metrics.len()));
            keys.last_mut().expect("just pushed")
        });
        match check_series(family, limits.reserved_label, &mut clock, family_keys) {
            Ok(()) => {}
            Err(Stop::Invalid(m)) => return Err(invalid(format!("family {:?}: {m}", family.name))),
            Err(Stop::Deadline) => {
                return Err(reject(
                    RejectionKind::Deadline,
                    "its output was still being checked at its deadline".into(),
                ));
            }
        }
    }
    Ok(stats)
}

/// Looks at the clock every [`SERIES_PER_DEADLINE_CHECK`] series.
struct Clock {
    deadline: Option<Instant>,
    countdown: usize,
}

impl Clock {
    fn tick(&mut self) -> Result<(), Stop> {
        self.countdown -= 1;
        if self.countdown == 0 {
            self.countdown = SERIES_PER_DEADLINE_CHECK;
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Stop::Deadline);
            }
        }
        Ok(())
    }
}

/// Why the series checks stopped.
enum Stop {
    Invalid(String),
    Deadline,
}

impl From<String> for Stop {
    fn from(message: String) -> Self {
        Stop::Invalid(message)
    }
}

fn normalise_and_check_family<S: Text>(family: &mut MetricFamily<S>) -> Result<(), String> {
    let original = family.name.clone();
    let name = family.name.as_ref();
    if !is_metric_name(name) {
        return Err(format!("family {original:?}: invalid metric name"));
    }
    if name.starts_with("__") {
        return Err(format!(
            "family {original:?}: names starting with __ are reserved"
        ));
    }
    if name.starts_with(RESERVED_PREFIX) {
        return Err(format!(
            "family {original:?}: the prefix {RESERVED_PREFIX} is reserved for the host's own series"
        ));
    }
    if family.type_ == MetricType::StateSet && !is_label_name(name) {
        return Err(format!(
            "family {original:?}: a state set's name is also the label name of its states, so it cannot contain ':'"
        ));
    }
    let suffix = match family.type_ {
        MetricType::Counter => Some("_total"),
        MetricType::Info => Some("_info"),
        _ => None,
    };
    if let Some(suffix) = suffix
        && let Some(base) = name.strip_suffix(suffix)
    {
        if base.is_empty() {
            return Err(format!("family {original:?}: empty name before {suffix}"));
        }
        if family.type_ == MetricType::Info {
            let len = base.len();
            family.name.truncate_to(len);
        }
    }
    if family.unit.as_ref().map(AsRef::as_ref) == Some("") {
        family.unit = None;
    }
    if let Some(unit) = family.unit.as_ref().map(AsRef::<str>::as_ref) {
        if matches!(family.type_, MetricType::Info | MetricType::StateSet) {
            return Err(format!(
                "family {original:?}: {} families cannot have a unit",
                family.type_.as_str()
            ));
        }
        if !unit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
        {
            return Err(format!("family {original:?}: invalid unit {unit:?}"));
        }
        if !family.base_name().ends_with(&format!("_{unit}")) {
            return Err(format!(
                "family {original:?}: a family with unit {unit:?} must be named ..._{unit}"
            ));
        }
    }
    Ok(())
}

/// A fast, non-cryptographic hasher (FxHash's mixing step) for label
/// sets. Duplicate detection hashes every series of every scrape; a hash
/// collision only costs an exact comparison, never a wrong verdict.
#[derive(Default)]
struct FastHasher(u64);

impl FastHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 59));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A hash of a label set that does not depend on label order. A label
/// with an empty value is left out: Prometheus reads it as no label.
pub fn label_set_hash<S: Text>(labels: &[Label<S>]) -> u64 {
    labels
        .iter()
        .filter(|l| !l.value.as_ref().is_empty())
        .fold(0u64, |acc, l| {
            let mut h = FastHasher::default();
            h.write(l.name.as_ref().as_bytes());
            h.write_u64(0xff);
            h.write(l.value.as_ref().as_bytes());
            // Finalise so that summing per-label hashes keeps their entropy.
            let x = h.finish();
            acc.wrapping_add(x ^ (x >> 29))
        })
}

/// Keys are already hashes.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys are hashed")
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A label set as Prometheus reads it: `(name, value)` of the labels with a
/// value, sorted by name.
type LabelSet<'a> = Vec<(&'a str, &'a str)>;

/// The [`LabelSet`] of `labels` (each name appears once; that is checked
/// before).
fn canonical<S: Text>(labels: &[Label<S>]) -> LabelSet<'_> {
    let mut set: LabelSet<'_> = labels
        .iter()
        .filter(|l| !l.value.as_ref().is_empty())
        .map(|l| (l.name.as_ref(), l.value.as_ref()))
        .collect();
    set.sort_unstable();
    set
}

/// Up to this many items, a nested scan for repeats is faster than sorting
/// or hashing; past it, the checks sort or hash, so they stay `n log n`.
const SMALL: usize = 8;

/// The first key that appears twice among `items`, found in `n log n`
/// (and without allocating for a handful of items).
fn first_repeat<'a, T, K: Ord + Copy>(items: &'a [T], key: impl Fn(&'a T) -> K) -> Option<K> {
    if items.len() <= SMALL {
        for (i, item) in items.iter().enumerate() {
            let k = key(item);
            if items[..i].iter().any(|other| key(other) == k) {
                return Some(k);
            }
        }
        return None;
    }
    let mut keys: Vec<K> = items.iter().map(key).collect();
    keys.sort_unstable();
    keys.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

/// Renders a label set for an error message, shortened.
pub fn show_labels<S: Text>(labels: &[Label<S>]) -> String {
    let mut s = String::from("{");
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("{}={:?}", l.name.as_ref(), l.value.as_ref()));
        if s.len() > 200 {
            s.push_str(",…");
            break;
        }
    }
    s.push('}');
    s
}

fn check_series<S: Text>(
    family: &MetricFamily<S>,
    host_label: Option<&str>,
    clock: &mut Clock,
    mut keys: Option<&mut Vec<u64>>,
) -> Result<(), Stop> {
    let reserved_label = match family.type_ {
        MetricType::Histogram => Some("le"),
        MetricType::Summary => Some("quantile"),
        MetricType::StateSet => Some(family.name.as_ref()),
        _ => None,
    };
    // Series by the hash of their label set; a hash seen twice marks both
    // series as suspects, compared exactly once every series is hashed.
    let mut seen: HashMap<u64, usize, BuildHasherDefault<IdentityHasher>> =
        HashMap::with_capacity_and_hasher(family.metrics.len(), Default::default());
    let mut suspects: Vec<(u64, usize)> = Vec::new();
    for (i, Metric { labels, value }) in family.metrics.iter().enumerate() {
        clock.tick()?;
        if value.metric_type() != family.type_ {
            return Err(format!(
                "series {} has a {} value in a {} family",
                show_labels(labels),
                value.metric_type().as_str(),
                family.type_.as_str()
            )
            .into());
        }
        for label in labels {
            let name = label.name.as_ref();
            if !is_label_name(name) {
                return Err(format!("invalid label name {name:?}").into());
            }
            if name.starts_with("__") {
                return Err(
                    format!("label name {name:?}: names starting with __ are reserved").into(),
                );
            }
            if Some(name) == reserved_label {
                return Err(format!(
                    "label name {name:?} is reserved in a {} family",
                    family.type_.as_str()
                )
                .into());
            }
            if Some(name) == host_label {
                return Err(format!(
                    "label name {name:?} is reserved: the host sets it, a plugin cannot"
                )
                .into());
            }
        }
        if let Some(name) = first_repeat(labels, |l| l.name.as_ref()) {
            return Err(format!(
                "series {} has the label {name:?} twice",
                show_labels(labels)
            )
            .into());
        }
        check_value(value).map_err(|m| format!("series {}: {m}", show_labels(labels)))?;
        let hash = label_set_hash(labels);
        if let Some(keys) = keys.as_deref_mut() {
            keys.push(hash);
        }
        match seen.get(&hash) {
            // Repeats of (hash, first) are removed before the comparison.
            Some(&first) => suspects.extend([(hash, first), (hash, i)]),
            None => {
                seen.insert(hash, i);
            }
        }
    }
    find_duplicate(family, suspects)
}

/// Among series whose label-set hashes collide, the first pair with the
/// same label set. Suspects are grouped by hash and each group sorted by
/// canonical label set, so even a crafted flood of colliding hashes costs
/// `n log n` comparisons, never `n²`.
fn find_duplicate<S: Text>(
    family: &MetricFamily<S>,
    mut suspects: Vec<(u64, usize)>,
) -> Result<(), Stop> {
    if suspects.is_empty() {
        return Ok(());
    }
    suspects.sort_unstable();
    suspects.dedup();
    let mut keyed: Vec<(u64, LabelSet<'_>, usize)> = suspects
        .into_iter()
        .map(|(hash, i)| (hash, canonical(&family.metrics[i].labels), i))
        .collect();
    keyed.sort_unstable();
    for pair in keyed.windows(2) {
        if pair[0].0 == pair[1].0 && pair[0].1 == pair[1].1 {
            let labels = &family.metrics[pair[0].2.max(pair[1].2)].labels;
            return Err(format!("duplicate series {}", show_labels(labels)).into());
        }
    }
    Ok(())
}

fn check_value<S: Text>(value: &Value<S>) -> Result<(), String> {
    match value {
        Value::Counter(v) if v.is_nan() || *v < 0.0 => {
            Err(format!("counter value {v} is negative or NaN"))
        }
        Value::Histogram(h) => {
            let Some(last) = h.buckets.last() else {
                return Err("histogram has no buckets (the +Inf bucket is required)".into());
            };
            if last.upper_bound != f64::INFINITY {
                return Err("histogram's last bucket must have the upper bound +Inf".into());
            }
            for pair in h.buckets.windows(2) {
                if pair[0].upper_bound.is_nan() || pair[0].upper_bound >= pair[1].upper_bound {
                    return Err("histogram bucket bounds must be strictly increasing".into());
                }
                if pair[0].count > pair[1].count {
                    return Err("histogram bucket counts must be cumulative".into());
                }
            }
            if h.count != last.count {
                return Err(format!(
                    "histogram count {} differs from the +Inf bucket's {}",
                    h.count, last.count
                ));
            }
            Ok(())
        }
        Value::Summary(s) => {
            for q in &s.quantiles {
                if !(0.0..=1.0).contains(&q.quantile) {
                    return Err(format!("quantile {} is outside [0, 1]", q.quantile));
                }
            }
            // In [0, 1] (no NaN), so equal values have equal bits, bar -0.
            if let Some(q) = first_repeat(&s.quantiles, |q| (q.quantile + 0.0).to_bits()) {
                return Err(format!("quantile {} appears twice", f64::from_bits(q)));
            }
            Ok(())
        }
        Value::StateSet(states) => {
            if states.is_empty() {
                return Err("a state set needs at least one state".into());
            }
            if states.iter().any(|s| s.name.as_ref().is_empty()) {
                return Err("state names cannot be empty".into());
            }
            if let Some(name) = first_repeat(states, |s| s.name.as_ref()) {
                return Err(format!("state {name:?} appears twice"));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Bucket, Histogram, Quantile, State, Summary};

    fn gauge(name: &str, series: &[&[(&str, &str)]]) -> MetricFamily {
        let mut f = MetricFamily::new(name, "h", MetricType::Gauge);
        for labels in series {
            f.push(
                labels.iter().map(|(k, v)| Label::new(*k, *v)).collect(),
                Value::Gauge(1.0),
            );
        }
        f
    }

    fn check(families: Vec<MetricFamily>) -> Result<Vec<MetricFamily>, Rejection> {
        let mut families = families;
        validate(&mut families, &OutputLimits::default()).map(|_| families)
    }

    fn rejects(families: Vec<MetricFamily>, reason: RejectionKind, fragment: &str) {
        let failure = check(families).expect_err("must be rejected");
        assert_eq!(failure.kind, reason, "{failure}");
        assert!(
            failure.message.contains(fragment),
            "{:?} does not contain {fragment:?}",
            failure.message
        );
    }

    fn histogram(buckets: &[(f64, u64)], count: u64) -> MetricFamily {
        let mut f = MetricFamily::new("h_seconds", "h", MetricType::Histogram);
        f.push(
            Vec::new(),
            Value::Histogram(Histogram {
                buckets: buckets
                    .iter()
                    .map(|&(upper_bound, count)| Bucket { upper_bound, count })
                    .collect(),
                sum: 1.0,
                count,
            }),
        );
        f
    }

    #[test]
    fn names_follow_the_prometheus_syntax() {
        assert!(is_metric_name("a:b_c9"));
        assert!(!is_metric_name("0bad"));
        assert!(!is_metric_name("bad-name"));
        assert!(!is_metric_name(""));
        assert!(is_label_name("_x9"));
        assert!(!is_label_name("a:b"));
        rejects(
            vec![gauge("0bad-name", &[&[]])],
            RejectionKind::InvalidOutput,
            "invalid metric name",
        );
        rejects(
            vec![gauge("ok", &[&[("bad-label", "v")]])],
            RejectionKind::InvalidOutput,
            "invalid label name",
        );
        rejects(
            vec![gauge("ok", &[&[("__name__", "v")]])],
            RejectionKind::InvalidOutput,
            "reserved",
        );
        rejects(
            vec![gauge("wasm_exporter_plugin_up", &[&[]])],
            RejectionKind::InvalidOutput,
            "reserved for the host",
        );
    }

    #[test]
    fn duplicate_series_and_labels_are_rejected() {
        rejects(
            vec![gauge(
                "g",
                &[&[("a", "1"), ("b", "2")], &[("b", "2"), ("a", "1")]],
            )],
            RejectionKind::InvalidOutput,
            "duplicate series",
        );
        rejects(
            vec![gauge("g", &[&[("a", "1"), ("a", "2")]])],
            RejectionKind::InvalidOutput,
            "twice",
        );
        assert!(check(vec![gauge("g", &[&[("a", "1")], &[("a", "2")], &[]])]).is_ok());
        rejects(
            vec![gauge("g", &[&[("a", "1"), ("b", "")], &[("a", "1")]])],
            RejectionKind::InvalidOutput,
            "duplicate series",
        );
    }

    #[test]
    fn counters_and_infos_are_normalised_and_checked() {
        let mut c = MetricFamily::new("jobs_total", "h", MetricType::Counter);
        c.push(Vec::new(), Value::Counter(1.0));
        let mut i = MetricFamily::new("build_info", "h", MetricType::Info);
        i.push(vec![Label::new("v", "1")], Value::Info);
        let out = check(vec![c, i]).unwrap();
        // A counter keeps the name as written (the text format shows it);
        // its base is the OpenMetrics family name.
        assert_eq!(out[0].name, "jobs_total");
        assert_eq!(out[0].base_name(), "jobs");
        assert_eq!(out[1].name, "build");
        let mut empty = MetricFamily::new("_total", "h", MetricType::Counter);
        empty.push(Vec::new(), Value::Counter(1.0));
        rejects(vec![empty], RejectionKind::InvalidOutput, "empty name");
        let mut neg = MetricFamily::new("jobs", "h", MetricType::Counter);
        neg.push(Vec::new(), Value::Counter(-1.0));
        rejects(vec![neg], RejectionKind::InvalidOutput, "negative or NaN");
        let mut nan = MetricFamily::new("jobs", "h", MetricType::Counter);
        nan.push(Vec::new(), Value::Counter(f64::NAN));
        rejects(vec![nan], RejectionKind::InvalidOutput, "negative or NaN");
    }

    #[test]
    fn value_must_match_family_type() {
        let mut f = MetricFamily::new("g", "h", MetricType::Gauge);
        f.push(Vec::new(), Value::Counter(1.0));
        rejects(
            vec![f],
            RejectionKind::InvalidOutput,
            "counter value in a gauge family",
        );
    }

    #[test]
    fn histograms_need_ordered_cumulative_buckets_ending_in_inf() {
        assert!(
            check(vec![histogram(
                &[(0.1, 1), (1.0, 2), (f64::INFINITY, 3)],
                3
            )])
            .is_ok()
        );
        rejects(
            vec![histogram(&[(0.1, 1), (1.0, 2)], 2)],
            RejectionKind::InvalidOutput,
            "+Inf",
        );
        rejects(
            vec![histogram(&[], 0)],
            RejectionKind::InvalidOutput,
            "no buckets",
        );
        rejects(
            vec![histogram(&[(1.0, 1), (0.1, 2), (f64::INFINITY, 3)], 3)],
            RejectionKind::InvalidOutput,
            "strictly increasing",
        );
        rejects(
            vec![histogram(&[(f64::NAN, 1), (f64::INFINITY, 3)], 3)],
            RejectionKind::InvalidOutput,
            "strictly increasing",
        );
        rejects(
            vec![histogram(&[(0.1, 5), (f64::INFINITY, 3)], 3)],
            RejectionKind::InvalidOutput,
            "cumulative",
        );
        rejects(
            vec![histogram(&[(f64::INFINITY, 3)], 4)],
            RejectionKind::InvalidOutput,
            "differs",
        );
        let mut le = histogram(&[(f64::INFINITY, 3)], 3);
        le.metrics[0].labels.push(Label::new("le", "1"));
        rejects(
            vec![le],
            RejectionKind::InvalidOutput,
            "reserved in a histogram",
        );
    }

    #[test]
    fn summaries_and_state_sets_are_checked() {
        let summary = |q: f64| {
            let mut f = MetricFamily::new("s", "h", MetricType::Summary);
            f.push(
                Vec::new(),
                Value::Summary(Summary {
                    quantiles: vec![Quantile {
                        quantile: q,
                        value: 1.0,
                    }],
                    sum: 1.0,
                    count: 1,
                }),
            );
            f
        };
        assert!(check(vec![summary(0.5)]).is_ok());
        rejects(
            vec![summary(1.5)],
            RejectionKind::InvalidOutput,
            "outside [0, 1]",
        );
        rejects(
            vec![summary(f64::NAN)],
            RejectionKind::InvalidOutput,
            "outside [0, 1]",
        );
        let states = |names: &[&str]| {
            let mut f = MetricFamily::new("door", "h", MetricType::StateSet);
            f.push(
                Vec::new(),
                Value::StateSet(
                    names
                        .iter()
                        .map(|n| State {
                            name: (*n).into(),
                            enabled: true,
                        })
                        .collect(),
                ),
            );
            f
        };
        assert!(check(vec![states(&["open", "closed"])]).is_ok());
        let mut colon = states(&["open"]);
        colon.name = "door:state".into();
        rejects(
            vec![colon],
            RejectionKind::InvalidOutput,
            "cannot contain ':'",
        );
        rejects(
            vec![states(&["open", "open"])],
            RejectionKind::InvalidOutput,
            "twice",
        );
        rejects(
            vec![states(&[])],
            RejectionKind::InvalidOutput,
            "at least one state",
        );
    }

    #[test]
    fn units_must_be_the_name_suffix() {
        let mut f = gauge("size_bytes", &[&[]]);
        f.unit = Some("bytes".into());
        assert!(check(vec![f]).is_ok());
        let mut f = gauge("size", &[&[]]);
        f.unit = Some("bytes".into());
        rejects(vec![f], RejectionKind::InvalidOutput, "must be named");
    }

    #[test]
    fn sample_name_clashes_within_a_plugin_are_rejected() {
        let h = histogram(&[(f64::INFINITY, 1)], 1);
        let clash = gauge("h_seconds_count", &[&[]]);
        rejects(
            vec![h, clash],
            RejectionKind::InvalidOutput,
            "also written by another family",
        );
        rejects(
            vec![gauge("g", &[&[]]), gauge("g", &[&[]])],
            RejectionKind::InvalidOutput,
            "also written",
        );
        // Different samples, but one family name (`# TYPE g` twice in
        // OpenMetrics, `# TYPE g_total` twice in the text format).
        let mut counter = MetricFamily::new("g_total", "h", MetricType::Counter);
        counter.push(Vec::new(), Value::Counter(1.0));
        rejects(
            vec![gauge("g", &[&[]]), counter.clone()],
            RejectionKind::InvalidOutput,
            "also written",
        );
        let mut h = histogram(&[(f64::INFINITY, 1)], 1);
        h.name = "g_total".into();
        rejects(
            vec![counter, h],
            RejectionKind::InvalidOutput,
            "also written",
        );
    }

    #[test]
    fn a_label_the_host_keeps_is_refused_only_where_it_keeps_it() {
        let limits = OutputLimits {
            reserved_label: Some("tenant"),
            ..OutputLimits::default()
        };
        let failure = validate(&mut vec![gauge("g", &[&[("tenant", "b")]])], &limits).unwrap_err();
        assert_eq!(failure.kind, RejectionKind::InvalidOutput);
        assert!(
            failure.message.contains("\"tenant\" is reserved"),
            "{}",
            failure.message
        );
        validate(&mut vec![gauge("g", &[&[("tenants", "b")]])], &limits).unwrap();
        validate(
            &mut vec![gauge("g", &[&[("tenant", "b")]])],
            &OutputLimits::default(),
        )
        .unwrap();
    }

    #[test]
    fn oversized_output_is_too_large_before_anything_else() {
        let limits = OutputLimits {
            max_series: 10,
            ..OutputLimits::default()
        };
        let series: Vec<Vec<(String, String)>> = (0..11)
            .map(|i| vec![("i".to_string(), i.to_string())])
            .collect();
        let mut f = MetricFamily::new("0bad", "h", MetricType::Gauge);
        for s in &series {
            f.push(
                s.iter().map(|(k, v)| Label::new(k, v)).collect(),
                Value::Gauge(1.0),
            );
        }
        let failure = validate(&mut vec![f], &limits).unwrap_err();
        assert_eq!(failure.kind, RejectionKind::TooLarge);
        assert_eq!(failure.series, 11);
        let limits = OutputLimits {
            max_bytes: 100,
            ..OutputLimits::default()
        };
        let mut big = gauge("g", &[&[]]);
        big.metrics[0].labels.push(Label::new("v", "x".repeat(200)));
        let failure = validate(&mut vec![big], &limits).unwrap_err();
        assert_eq!(failure.kind, RejectionKind::TooLarge);
    }

    #[test]
    fn empty_families_are_dropped() {
        let out = check(vec![gauge("empty", &[]), gauge("g", &[&[]])]).unwrap();
        assert_eq!(out.len(), 1);
    }

    fn wide_series(labels: usize, stride: usize) -> MetricFamily {
        let mut f = MetricFamily::new("wide", "h", MetricType::Gauge);
        f.push(
            (0..labels)
                .map(|i| Label::new(format!("l{}", (i * stride) % labels), "v"))
                .collect(),
            Value::Gauge(1.0),
        );
        f
    }

    #[test]
    fn per_series_caps_are_too_large_and_named() {
        let limits = OutputLimits {
            max_labels_per_series: 4,
            max_buckets: 2,
            max_quantiles: 1,
            max_states: 1,
            ..OutputLimits::default()
        };
        let refuse = |f: MetricFamily, what: &str| {
            let r = validate(&mut vec![f], &limits).unwrap_err();
            assert_eq!(r.kind, RejectionKind::TooLarge, "{r}");
            assert!(r.message.contains(what), "{r}");
            assert!(r.message.contains("over the limit"), "{r}");
        };
        refuse(wide_series(5, 1), "5 labels");
        refuse(
            histogram(&[(0.1, 1), (1.0, 2), (f64::INFINITY, 3)], 3),
            "3 buckets",
        );
        let mut s = MetricFamily::new("s", "h", MetricType::Summary);
        let q = |quantile| Quantile {
            quantile,
            value: 1.0,
        };
        s.push(
            Vec::new(),
            Value::Summary(Summary {
                quantiles: vec![q(0.5), q(0.9)],
                sum: 1.0,
                count: 1,
            }),
        );
        refuse(s, "2 quantiles");
        let mut st = MetricFamily::new("door", "h", MetricType::StateSet);
        let state = |name: &str| State {
            name: name.into(),
            enabled: true,
        };
        st.push(Vec::new(), Value::StateSet(vec![state("a"), state("b")]));
        refuse(st, "2 states");
        assert!(validate(&mut vec![wide_series(4, 1)], &limits).is_ok());
    }

    #[test]
    fn repeats_are_found_in_long_lists_too() {
        let limits = OutputLimits {
            max_labels_per_series: 1000,
            ..OutputLimits::default()
        };
        // 100 distinct labels in two orders: one series, then its twin.
        let mut twins = wide_series(100, 1);
        let reordered = wide_series(100, 7).metrics.remove(0);
        twins.metrics.push(reordered);
        let r = validate(&mut vec![twins], &limits).unwrap_err();
        assert!(r.message.contains("duplicate series"), "{r}");
        let mut twice = wide_series(100, 1);
        twice.metrics[0].labels.push(Label::new("l42", "w"));
        let r = validate(&mut vec![twice], &limits).unwrap_err();
        assert!(r.message.contains("label \"l42\" twice"), "{r}");
    }

    #[test]
    fn colliding_hashes_are_told_apart_and_true_duplicates_found() {
        let mut f = MetricFamily::new("g", "h", MetricType::Gauge);
        for i in 0..2000 {
            f.push(vec![Label::new("i", i.to_string())], Value::Gauge(1.0));
        }
        // Every series a suspect under one hash, as a crafted flood of
        // collisions would make them: distinct label sets pass...
        let all: Vec<(u64, usize)> = (0..f.metrics.len()).map(|i| (7, i)).collect();
        assert!(find_duplicate(&f, all.clone()).is_ok());
        // ...and a real duplicate among them is found.
        f.push(vec![Label::new("i", "1999")], Value::Gauge(2.0));
        let mut all = all;
        all.push((7, f.metrics.len() - 1));
        assert!(matches!(find_duplicate(&f, all), Err(Stop::Invalid(m)) if m.contains("\"1999\"")));
    }

    #[test]
    fn a_passed_deadline_stops_the_checks() {
        let mut f = MetricFamily::new("g", "h", MetricType::Gauge);
        for i in 0..10 * SERIES_PER_DEADLINE_CHECK {
            f.push(vec![Label::new("i", i.to_string())], Value::Gauge(1.0));
        }
        let past = Instant::now();
        let r =
            validate_until(&mut vec![f.clone()], &OutputLimits::default(), Some(past)).unwrap_err();
        assert_eq!(r.kind, RejectionKind::Deadline);
        let future = Instant::now() + std::time::Duration::from_secs(3600);
        assert!(validate_until(&mut vec![f], &OutputLimits::default(), Some(future)).is_ok());
    }

    /// The shortest of three runs of `validate` on what `build` makes.
    fn fastest(build: impl Fn() -> Vec<MetricFamily>, limits: &OutputLimits) -> f64 {
        (0..3)
            .map(|_| {
                let mut families = build();
                let start = Instant::now();
                let _ = validate(&mut families, limits);
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// A result under every cap must cost time in proportion to its size:
    /// four times the entries may take about four times as long (`n log
    /// n`), never sixteen (a nested scan). Measured as a ratio in one run,
    /// so the machine's speed cancels out.
    #[test]
    fn checks_grow_linearly_with_the_entries_of_one_series() {
        let limits = OutputLimits {
            max_labels_per_series: u64::MAX,
            max_states: u64::MAX,
            max_quantiles: u64::MAX,
            ..OutputLimits::default()
        };
        let labels = |n: usize| move || vec![wide_series(n, 1)];
        let states = |n: usize| {
            move || {
                let mut f = MetricFamily::new("door", "h", MetricType::StateSet);
                let states = (0..n)
                    .map(|i| State {
                        name: format!("s{i}"),
                        enabled: false,
                    })
                    .collect();
                f.push(Vec::new(), Value::StateSet(states));
                vec![f]
            }
        };
        let quantiles = |n: usize| {
            move || {
                let mut f = MetricFamily::new("s", "h", MetricType::Summary);
                let quantiles = (0..n)
                    .map(|i| Quantile {
                        quantile: i as f64 / n as f64,
                        value: 1.0,
                    })
                    .collect();
                f.push(
                    Vec::new(),
                    Value::Summary(Summary {
                        quantiles,
                        sum: 1.0,
                        count: 1,
                    }),
                );
                vec![f]
            }
        };
        let n = 20_000;
        for (what, small, large) in [
            (
                "labels",
                fastest(labels(n), &limits),
                fastest(labels(4 * n), &limits),
            ),
            (
                "states",
                fastest(states(n), &limits),
                fastest(states(4 * n), &limits),
            ),
            (
                "quantiles",
                fastest(quantiles(n), &limits),
                fastest(quantiles(4 * n), &limits),
            ),
        ] {
            let ratio = large / small.max(1e-6);
            assert!(
                ratio < 9.0,
                "{what}: 4x the entries took {ratio:.1}x as long ({small:.4} s, {large:.4} s)"
            );
        }
    }
}
