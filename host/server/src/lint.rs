//! The lints of `wasm_exporter check`: those `promtool check metrics`
//! applies to an exposition (naming, units, `_total`, HELP present), a
//! cardinality warning, and what is specific to plugins: families returned
//! but not described, described but not returned, or returned with
//! another type or other labels than described.
//!
//! The input is what the host would serve: the validated families of one
//! `collect`, each with its samples in the text format.

use std::collections::{BTreeMap, BTreeSet};

use wasm_exporter_exposition::block::{self, Block};
use wasm_exporter_exposition::encode::Format;
use wasm_exporter_exposition::model::{Descriptor, MetricType};

/// How bad a finding is: a problem fails `check`, a warning does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Fails the check.
    Problem,
    /// Reported; the check still passes.
    Warning,
}

/// One thing found wrong with a family.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// Problem or warning.
    pub severity: Severity,
    /// The family (as the text format names it).
    pub family: String,
    /// What is wrong, in promtool's words where promtool has a lint for it.
    pub message: String,
    /// Which rule found it, as `--lint.skip` names it.
    pub rule: &'static str,
}

/// Every rule, as `--lint.skip` names it.
pub const RULES: [&str; 14] = [
    "help",
    "counter_total",
    "total_suffix",
    "reserved_suffix",
    "type_in_name",
    "base_unit",
    "abbreviated_unit",
    "colon",
    "camel_case",
    "cardinality",
    "undescribed",
    "type_mismatch",
    "undescribed_labels",
    "not_returned",
];

/// Series in one family past which `check` warns of cardinality.
pub const DEFAULT_MAX_SERIES_PER_FAMILY: usize = 1_000;

/// The base units Prometheus names metrics in, and the prefixes that make
/// a unit not a base one.
const BASE_UNITS: [&str; 10] = [
    "amperes", "bytes", "celsius", "grams", "joules", "kelvin", "meters", "metres", "seconds",
    "volts",
];
const UNIT_PREFIXES: [&str; 18] = [
    "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega",
    "mebi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
];
/// Units written short, which a name should spell out.
const UNIT_ABBREVIATIONS: [&str; 16] = [
    "s", "ms", "us", "ns", "sec", "secs", "min", "mins", "hr", "hrs", "b", "kb", "mb", "gb", "tb",
    "pb",
];

/// Lints one collect's families.
pub fn lint(families: &[Block], max_series_per_family: usize) -> Vec<Finding> {
    let mut out = Vec::new();
    for family in families {
        let name = family.name.as_str();
        let mut problem = |rule: &'static str, message: String| {
            out.push(Finding {
                severity: Severity::Problem,
                family: name.to_owned(),
                message,
                rule,
            })
        };
        if family.help.trim().is_empty() {
            problem("help", "no help text".into());
        }
        let is_counter = family.type_ == MetricType::Counter;
        if is_counter && !name.ends_with("_total") {
            problem(
                "counter_total",
                "counter metrics should have \"_total\" suffix".into(),
            );
        }
        if !is_counter && name.ends_with("_total") {
            problem(
                "total_suffix",
                "non-counter metrics should not have \"_total\" suffix".into(),
            );
        }
        if family.type_ != MetricType::Histogram && name.ends_with("_bucket") {
            problem(
                "reserved_suffix",
                "non-histogram metrics should not have \"_bucket\" suffix".into(),
            );
        }
        let aggregate = matches!(family.type_, MetricType::Histogram | MetricType::Summary);
        for suffix in ["_count", "_sum"] {
            if !aggregate && name.ends_with(suffix) {
                problem(
                    "reserved_suffix",
                    format!(
                        "non-histogram and non-summary metrics should not have \"{suffix}\" suffix"
                    ),
                );
            }
        }
        let words: Vec<&str> = name.split('_').collect();
        for t in ["counter", "gauge", "histogram", "summary", "untyped"] {
            if words.contains(&t) {
                problem(
                    "type_in_name",
                    format!("metric name should not include type '{t}'"),
                );
            }
        }
        for word in &words {
            let lower = word.to_ascii_lowercase();
            if let Some(base) = non_base_unit(&lower) {
                problem(
                    "base_unit",
                    format!("use base unit \"{base}\" instead of \"{lower}\""),
                );
            }
        }
        if words.iter().any(|w| UNIT_ABBREVIATIONS.contains(w)) {
            problem(
                "abbreviated_unit",
                "metric names should not contain abbreviated units".into(),
            );
        }
        if name.contains(':') {
            problem("colon", "metric names should not contain ':'".into());
        }
        if is_camel_case(name) {
            problem(
                "camel_case",
                "metric names should be written in 'snake_case' not 'camelCase'".into(),
            );
        }
        let samples = samples(family);
        let label_names: BTreeSet<&str> = samples
            .iter()
            .flat_map(|labels| labels.keys().map(String::as_str))
            .collect();
        for label in &label_names {
            if is_camel_case(label) {
                problem(
                    "camel_case",
                    format!(
                        "label names should be written in 'snake_case' not 'camelCase' ({label})"
                    ),
                );
            }
        }
        let series = samples.len();
        if series > max_series_per_family {
            // The label with the most values is the likely cause.
            let widest = label_names
                .iter()
                .map(|l| {
                    let values: BTreeSet<&str> = samples
                        .iter()
                        .filter_map(|s| s.get(*l).map(String::as_str))
                        .collect();
                    (values.len(), *l)
                })
                .max();
            let cause = match widest {
                Some((n, label)) => format!("; label {label:?} has {n} values"),
                None => String::new(),
            };
            out.push(Finding {
                severity: Severity::Warning,
                family: name.to_owned(),
                message: format!(
                    "{series} series, more than {max_series_per_family}: check that its labels are bounded{cause}"
                ),
                rule: "cardinality",
            });
        }
    }
    out.sort();
    out
}

/// What `describe` declares against what `collect` returned.
pub fn compare(descriptors: &[Descriptor], families: &[Block]) -> Vec<Finding> {
    let described: BTreeMap<String, &Descriptor> = descriptors
        .iter()
        .map(|d| (base_name(&d.name), d))
        .collect();
    let returned: BTreeMap<String, &Block> =
        families.iter().map(|b| (base_name(&b.name), b)).collect();
    let mut out = Vec::new();
    for (base, family) in &returned {
        let Some(descriptor) = described.get(base) else {
            out.push(Finding {
                severity: Severity::Problem,
                family: family.name.clone(),
                message: "returned but not described: describe() does not declare it".into(),
                rule: "undescribed",
            });
            continue;
        };
        // A descriptor of type unknown says nothing of the type (a
        // client_golang `Desc` has none).
        if descriptor.type_ != family.type_ && descriptor.type_ != MetricType::Unknown {
            out.push(Finding {
                severity: Severity::Problem,
                family: family.name.clone(),
                message: format!(
                    "described as {} but returned as {}",
                    descriptor.type_.as_str(),
                    family.type_.as_str()
                ),
                rule: "type_mismatch",
            });
        }
        let returned_labels: BTreeSet<String> = samples(family)
            .into_iter()
            .flat_map(|labels| labels.into_keys())
            .filter(|l| !matches!(l.as_str(), "le" | "quantile") && *l != family.name)
            .collect();
        let described_labels: BTreeSet<String> = descriptor.label_names.iter().cloned().collect();
        if !returned_labels.is_subset(&described_labels) {
            out.push(Finding {
                severity: Severity::Warning,
                family: family.name.clone(),
                message: format!(
                    "returned with labels {:?}, described with {:?}",
                    returned_labels, described_labels
                ),
                rule: "undescribed_labels",
            });
        }
    }
    for (base, descriptor) in &described {
        if !returned.contains_key(base) {
            out.push(Finding {
                severity: Severity::Warning,
                family: descriptor.name.clone(),
                message: "described but not returned by this collect".into(),
                rule: "not_returned",
            });
        }
    }
    out.sort();
    out
}

/// A family's name without the suffix one format adds and the other does
/// not (`_total` of a counter, `_info` of an info).
fn base_name(name: &str) -> String {
    let name = name.strip_suffix("_total").unwrap_or(name);
    name.strip_suffix("_info").unwrap_or(name).to_owned()
}

/// The base unit `word` is a prefixed form of (`milliseconds`: `seconds`).
fn non_base_unit(word: &str) -> Option<&'static str> {
    UNIT_PREFIXES.iter().find_map(|prefix| {
        let unit = word.strip_prefix(prefix)?;
        BASE_UNITS.iter().find(|b| **b == unit).copied()
    })
}

/// A lowercase letter followed by an uppercase one.
fn is_camel_case(name: &str) -> bool {
    name.as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}

/// Each series' labels in `family`'s text-format samples (one entry per
/// sample line: a histogram's buckets are lines of their own).
fn samples(family: &Block) -> Vec<BTreeMap<String, String>> {
    let text = block::write_all(std::slice::from_ref(family), Format::Text);
    let text = String::from_utf8_lossy(&text);
    let mut series = BTreeSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut labels = labels_of(line);
        // One series per label set: a histogram's `le` lines and its
        // `_sum` and `_count` are one series.
        labels.remove("le");
        labels.remove("quantile");
        series.insert(labels);
    }
    series.into_iter().collect()
}

/// The labels of one text-format sample line.
fn labels_of(line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let Some(open) = line.find('{') else {
        return labels;
    };
    let mut rest = &line[open + 1..];
    loop {
        rest = rest.trim_start_matches(',');
        let Some(eq) = rest.find("=\"") else {
            break;
        };
        let name = rest[..eq].to_owned();
        rest = &rest[eq + 2..];
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let mut end = rest.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(match escaped {
                            'n' => '\n',
                            other => other,
                        });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.insert(name, value);
        rest = &rest[end..];
        if rest.starts_with('}') || rest.is_empty() {
            break;
        }
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_exporter_exposition::model::{Label, MetricFamily, Value};

    fn family(name: &str, type_: MetricType, help: &str, series: &[&[(&str, &str)]]) -> Block {
        let mut f = MetricFamily::new(name, help, type_);
        for labels in series {
            let value = match type_ {
                MetricType::Counter => Value::Counter(1.0),
                _ => Value::Gauge(1.0),
            };
            let labels = labels.iter().map(|(k, v)| Label::new(*k, *v)).collect();
            f.push(labels, value);
        }
        Block::of(&f)
    }

    fn messages(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.message.as_str()).collect()
    }

    #[test]
    fn a_clean_family_has_no_findings() {
        let f = family(
            "jobs_processed_total",
            MetricType::Counter,
            "Jobs.",
            &[&[("queue", "a")]],
        );
        assert_eq!(lint(&[f], 10), vec![]);
    }

    #[test]
    fn each_naming_rule_is_caught() {
        let cases: [(&str, MetricType, &str, &str); 9] = [
            ("jobs", MetricType::Counter, "h", "\"_total\" suffix"),
            ("up_total", MetricType::Gauge, "h", "non-counter"),
            (
                "latency_milliseconds",
                MetricType::Gauge,
                "h",
                "use base unit \"seconds\"",
            ),
            ("latency_ms", MetricType::Gauge, "h", "abbreviated units"),
            ("size_gauge", MetricType::Gauge, "h", "include type 'gauge'"),
            ("latency_bucket", MetricType::Gauge, "h", "\"_bucket\""),
            ("queueSize", MetricType::Gauge, "h", "'snake_case'"),
            ("a:b", MetricType::Gauge, "h", "':'"),
            ("workers", MetricType::Gauge, "", "no help text"),
        ];
        for (name, type_, help, expected) in cases {
            let findings = lint(&[family(name, type_, help, &[&[]])], 10);
            assert!(
                findings.iter().all(|f| RULES.contains(&f.rule)),
                "{findings:?}"
            );
            assert!(
                findings
                    .iter()
                    .any(|f| f.message.contains(expected) && f.severity == Severity::Problem),
                "{name}: {:?}",
                messages(&findings)
            );
        }
    }

    #[test]
    fn many_series_warn_and_name_the_widest_label() {
        let values: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        let series: Vec<[(&str, &str); 2]> = values
            .iter()
            .map(|v| [("id", v.as_str()), ("kind", "x")])
            .collect();
        let series: Vec<&[(&str, &str)]> = series.iter().map(|s| &s[..]).collect();
        let findings = lint(&[family("items", MetricType::Gauge, "h", &series)], 10);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].severity, Severity::Warning);
        assert!(findings[0].message.contains("label \"id\" has 20 values"));
    }

    #[test]
    fn described_and_returned_are_compared_both_ways() {
        let descriptor = |name: &str, type_: MetricType| Descriptor {
            name: name.into(),
            help: "h".into(),
            type_,
            unit: None,
            label_names: vec!["queue".into()],
        };
        let returned = [
            family("depth", MetricType::Gauge, "h", &[&[("queue", "a")]]),
            family("jobs_total", MetricType::Counter, "h", &[&[("queue", "a")]]),
            family("hidden", MetricType::Gauge, "h", &[&[]]),
        ];
        let described = [
            descriptor("depth", MetricType::Counter),
            descriptor("jobs_total", MetricType::Counter),
            descriptor("missing", MetricType::Gauge),
        ];
        let findings = compare(&described, &returned);
        assert!(
            findings.iter().all(|f| RULES.contains(&f.rule)),
            "{findings:?}"
        );
        let shown: Vec<(String, Severity)> = findings
            .iter()
            .map(|f| (format!("{}: {}", f.family, f.message), f.severity))
            .collect();
        assert_eq!(
            shown,
            vec![
                (
                    "depth: described as counter but returned as gauge".into(),
                    Severity::Problem
                ),
                (
                    "hidden: returned but not described: describe() does not declare it".into(),
                    Severity::Problem
                ),
                (
                    "missing: described but not returned by this collect".into(),
                    Severity::Warning
                ),
            ]
        );
    }

    #[test]
    fn labels_are_read_with_escapes() {
        let labels = labels_of(r#"x{a="1",b="q\"uo\\te",c="}"} 1"#);
        assert_eq!(labels["a"], "1");
        assert_eq!(labels["b"], "q\"uo\\te");
        assert_eq!(labels["c"], "}");
    }
}
