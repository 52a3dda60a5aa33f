//! The rules a plugin's output must follow before any of it is served.
//!
//! [`validate`] checks one plugin's families for one scrape and normalises
//! them in place (counter and info names lose their `_total`/`_info`
//! suffix, which the encoders add back per format; empty families are
//! dropped). The first broken rule fails the whole plugin for that scrape
//! with a message naming the family and the series: half a plugin's output
//! is worse than none, because Prometheus would then see series vanish.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use std::fmt;

use crate::model::{Label, Metric, MetricFamily, MetricType, Value};

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

/// The size caps [`validate`] enforces before it looks at anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    /// See [`DEFAULT_MAX_SERIES`].
    pub max_series: u64,
    /// See [`DEFAULT_MAX_BYTES`].
    pub max_bytes: u64,
}

impl Default for OutputLimits {
    fn default() -> Self {
        OutputLimits {
            max_series: DEFAULT_MAX_SERIES,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// Why [`validate`] refused a set of families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// A rule of the exposition format is broken.
    InvalidOutput,
    /// More samples or bytes than [`OutputLimits`] allow.
    TooLarge,
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
pub fn sample_names(family: &MetricFamily) -> Vec<String> {
    let n = &family.name;
    let with = |suffixes: &[&str]| suffixes.iter().map(|s| format!("{n}{s}")).collect();
    match family.type_ {
        MetricType::Counter => with(&["", "_total", "_created"]),
        MetricType::Gauge | MetricType::Unknown | MetricType::StateSet => with(&[""]),
        MetricType::Histogram => with(&["", "_bucket", "_count", "_sum", "_created"]),
        MetricType::Summary => with(&["", "_count", "_sum", "_created"]),
        MetricType::Info => with(&["", "_info"]),
    }
}

/// Samples one series writes.
pub fn samples_of(value: &Value) -> u64 {
    match value {
        Value::Counter(_) | Value::Gauge(_) | Value::Unknown(_) | Value::Info => 1,
        Value::Histogram(h) => h.buckets.len() as u64 + 2,
        Value::Summary(s) => s.quantiles.len() as u64 + 2,
        Value::StateSet(states) => states.len() as u64,
    }
}

fn labels_bytes(labels: &[Label]) -> u64 {
    labels
        .iter()
        .map(|l| (l.name.len() + l.value.len() + 4) as u64)
        .sum()
}

/// Counts samples and estimated bytes without checking anything, so an
/// oversized result is reported as `too_large` before it is inspected.
pub fn measure(families: &[MetricFamily]) -> OutputStats {
    let mut stats = OutputStats::default();
    for f in families {
        stats.bytes += (2 * f.name.len() + f.help.len() + 32) as u64;
        for m in &f.metrics {
            let samples = samples_of(&m.value);
            stats.series += samples;
            stats.bytes += samples * (f.name.len() as u64 + 40 + labels_bytes(&m.labels));
        }
    }
    stats
}

/// Checks and normalises one plugin's output. On failure, returns why,
/// with the number of samples it returned.
pub fn validate(
    families: &mut Vec<MetricFamily>,
    limits: &OutputLimits,
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
        check_series(family).map_err(|m| invalid(format!("family {:?}: {m}", family.name)))?;
    }
    Ok(stats)
}

fn normalise_and_check_family(family: &mut MetricFamily) -> Result<(), String> {
    let original = family.name.clone();
    if !is_metric_name(&family.name) {
        return Err(format!("family {original:?}: invalid metric name"));
    }
    if family.name.starts_with("__") {
        return Err(format!(
            "family {original:?}: names starting with __ are reserved"
        ));
    }
    if family.name.starts_with(RESERVED_PREFIX) {
        return Err(format!(
            "family {original:?}: the prefix {RESERVED_PREFIX} is reserved for the host's own series"
        ));
    }
    if family.type_ == MetricType::StateSet && !is_label_name(&family.name) {
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
        && let Some(base) = family.name.strip_suffix(suffix)
    {
        if base.is_empty() {
            return Err(format!("family {original:?}: empty name before {suffix}"));
        }
        family.name.truncate(base.len());
    }
    if family.unit.as_deref() == Some("") {
        family.unit = None;
    }
    if let Some(unit) = &family.unit {
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
        if !family.name.ends_with(&format!("_{unit}")) {
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
fn label_set_hash(labels: &[Label]) -> u64 {
    labels
        .iter()
        .filter(|l| !l.value.is_empty())
        .fold(0u64, |acc, l| {
            let mut h = FastHasher::default();
            h.write(l.name.as_bytes());
            h.write_u64(0xff);
            h.write(l.value.as_bytes());
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

/// Whether two label sets (each without a repeated name) name the same
/// series, where a label with an empty value is the same as no label.
fn same_label_set(a: &[Label], b: &[Label]) -> bool {
    let set = |x: &[Label]| x.iter().filter(|l| !l.value.is_empty()).count();
    set(a) == set(b) && a.iter().all(|l| l.value.is_empty() || b.contains(l))
}

/// Renders a label set for an error message, shortened.
pub fn show_labels(labels: &[Label]) -> String {
    let mut s = String::from("{");
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("{}={:?}", l.name, l.value));
        if s.len() > 200 {
            s.push_str(",…");
            break;
        }
    }
    s.push('}');
    s
}

fn check_series(family: &MetricFamily) -> Result<(), String> {
    let reserved_label = match family.type_ {
        MetricType::Histogram => Some("le"),
        MetricType::Summary => Some("quantile"),
        MetricType::StateSet => Some(family.name.as_str()),
        _ => None,
    };
    let mut seen: HashMap<u64, usize, BuildHasherDefault<IdentityHasher>> =
        HashMap::with_capacity_and_hasher(family.metrics.len(), Default::default());
    let mut collided: Vec<usize> = Vec::new();
    for (i, Metric { labels, value }) in family.metrics.iter().enumerate() {
        if value.metric_type() != family.type_ {
            return Err(format!(
                "series {} has a {} value in a {} family",
                show_labels(labels),
                value.metric_type().as_str(),
                family.type_.as_str()
            ));
        }
        for (j, label) in labels.iter().enumerate() {
            if !is_label_name(&label.name) {
                return Err(format!("invalid label name {:?}", label.name));
            }
            if label.name.starts_with("__") {
                return Err(format!(
                    "label name {:?}: names starting with __ are reserved",
                    label.name
                ));
            }
            if Some(label.name.as_str()) == reserved_label {
                return Err(format!(
                    "label name {:?} is reserved in a {} family",
                    label.name,
                    family.type_.as_str()
                ));
            }
            if labels[..j].iter().any(|l| l.name == label.name) {
                return Err(format!(
                    "series {} has the label {:?} twice",
                    show_labels(labels),
                    label.name
                ));
            }
        }
        check_value(value).map_err(|m| format!("series {}: {m}", show_labels(labels)))?;
        let hash = label_set_hash(labels);
        if let Some(&other) = seen.get(&hash) {
            let duplicate = same_label_set(&family.metrics[other].labels, labels)
                || collided
                    .iter()
                    .any(|&k| same_label_set(&family.metrics[k].labels, labels));
            if duplicate {
                return Err(format!("duplicate series {}", show_labels(labels)));
            }
            collided.push(i);
        } else {
            seen.insert(hash, i);
        }
    }
    Ok(())
}

fn check_value(value: &Value) -> Result<(), String> {
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
            for (i, q) in s.quantiles.iter().enumerate() {
                if !(0.0..=1.0).contains(&q.quantile) {
                    return Err(format!("quantile {} is outside [0, 1]", q.quantile));
                }
                if s.quantiles[..i].iter().any(|p| p.quantile == q.quantile) {
                    return Err(format!("quantile {} appears twice", q.quantile));
                }
            }
            Ok(())
        }
        Value::StateSet(states) => {
            if states.is_empty() {
                return Err("a state set needs at least one state".into());
            }
            for (i, s) in states.iter().enumerate() {
                if s.name.is_empty() {
                    return Err("state names cannot be empty".into());
                }
                if states[..i].iter().any(|p| p.name == s.name) {
                    return Err(format!("state {:?} appears twice", s.name));
                }
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
        assert_eq!(out[0].name, "jobs");
        assert_eq!(out[1].name, "build");
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
}
