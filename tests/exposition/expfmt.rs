//! A strict reader of the two exposition formats the host writes (text
//! 0.0.4 and OpenMetrics 1.0.0), for the property and fuzz tests.
//!
//! It accepts only well-formed output: every line ends in a newline,
//! metadata precedes the samples of its family, families are contiguous
//! and appear once, sample names fit their family's type, names and label
//! names follow the Prometheus syntax, label values use only the three
//! escapes, values are floats (`NaN`, `+Inf`, `-Inf` included) and no
//! series appears twice (labels with an empty value count as absent, as
//! Prometheus counts them). It also checks the rules of each type:
//! histogram buckets increasing up to `+Inf` with cumulative counts and a
//! matching `_count`, quantiles in [0, 1], counters neither negative nor
//! NaN, state values 0 or 1, info values 1.

use std::collections::{BTreeMap, HashSet};

use wasm_exporter_exposition::model::{MetricFamily, MetricType, Value};

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    OpenMetrics,
}

impl Format {
    pub const BOTH: [Format; 2] = [Format::Text, Format::OpenMetrics];

    pub fn host(self) -> wasm_exporter_exposition::encode::Format {
        match self {
            Format::Text => wasm_exporter_exposition::encode::Format::Text,
            Format::OpenMetrics => wasm_exporter_exposition::encode::Format::OpenMetrics,
        }
    }
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    /// In the order written.
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// The value as written.
    pub raw: String,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One family: its metadata and samples, in the order written.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The name on the metadata lines.
    pub name: String,
    /// As on the `# TYPE` line.
    pub type_: String,
    pub help: Option<String>,
    pub unit: Option<String>,
    pub samples: Vec<Sample>,
}

pub fn is_metric_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b':'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

pub fn is_label_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses a float as both formats write one.
pub fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => return Ok(f64::NAN),
        "+Inf" => return Ok(f64::INFINITY),
        "-Inf" => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match digits.find(['e', 'E']) {
        Some(i) => (&digits[..i], Some(&digits[i + 1..])),
        None => (digits, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| all_digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    if !all_digits(int) || !frac.is_none_or(all_digits) || !exponent_ok {
        return Err(format!("{s:?} is not a float"));
    }
    s.parse().map_err(|e| format!("{s:?}: {e}"))
}

/// Whether two values are the same: bit for bit, any NaN equal to any NaN.
pub fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn unescape(s: &str, quote_escape: bool) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quote_escape => out.push('"'),
            other => return Err(format!("invalid escape \\{other:?} in {s:?}")),
        }
    }
    Ok(out)
}

/// Reads `name{labels} value` (the labels optional).
fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or_else(|| format!("no value in sample line {line:?}"))?;
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err(format!("invalid metric name {name:?} in {line:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            if !labels.is_empty() {
                rest = rest
                    .strip_prefix(',')
                    .ok_or_else(|| format!("expected , or }} in {line:?}"))?;
            }
            let eq = rest
                .find('=')
                .ok_or_else(|| format!("label without = in {line:?}"))?;
            let label = &rest[..eq];
            if !is_label_name(label) {
                return Err(format!("invalid label name {label:?} in {line:?}"));
            }
            rest = rest[eq + 1..]
                .strip_prefix('"')
                .ok_or_else(|| format!("unquoted label value in {line:?}"))?;
            // The closing quote is the first one not escaped.
            let bytes = rest.as_bytes();
            let mut i = 0;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            if i >= bytes.len() {
                return Err(format!("unterminated label value in {line:?}"));
            }
            let value = unescape(&rest[..i], true)?;
            if labels.iter().any(|(n, _)| n == label) {
                return Err(format!("label {label:?} twice in {line:?}"));
            }
            labels.push((label.to_owned(), value));
            rest = &rest[i + 1..];
        }
    }
    let raw = rest
        .strip_prefix(' ')
        .ok_or_else(|| format!("expected one space before the value in {line:?}"))?;
    if raw.contains(' ') {
        return Err(format!("more than a value after the labels in {line:?}"));
    }
    let value = parse_value(raw)?;
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
        raw: raw.to_owned(),
    })
}

/// The suffixes a family of `type_` writes samples with, in `format`.
fn suffixes(format: Format, type_: &str) -> Result<&'static [&'static str], String> {
    Ok(match (format, type_) {
        (Format::Text, "counter" | "gauge" | "untyped") => &[""],
        (Format::Text, "histogram") => &["_bucket", "_sum", "_count"],
        (Format::Text, "summary") => &["", "_sum", "_count"],
        (Format::OpenMetrics, "counter") => &["_total", "_created"],
        (Format::OpenMetrics, "gauge" | "unknown" | "stateset") => &[""],
        (Format::OpenMetrics, "info") => &["_info"],
        (Format::OpenMetrics, "histogram") => &["_bucket", "_count", "_sum", "_created"],
        (Format::OpenMetrics, "summary") => &["", "_count", "_sum", "_created"],
        _ => return Err(format!("unknown type {type_:?} in the {format:?} format")),
    })
}

/// A series' identity as Prometheus sees it: labels with an empty value
/// are absent.
fn series_key(name: &str, labels: &[(String, String)], skip: Option<&str>) -> Vec<String> {
    let mut key: Vec<String> = labels
        .iter()
        .filter(|(n, v)| !v.is_empty() && Some(n.as_str()) != skip)
        .map(|(n, v)| format!("{n}\u{0}{v}"))
        .collect();
    key.sort();
    key.insert(0, name.to_owned());
    key
}

/// Parses a whole exposition, checking it is well-formed.
pub fn parse(text: &str, format: Format) -> Result<Vec<Family>, String> {
    let body = match format {
        Format::OpenMetrics => text
            .strip_suffix("# EOF\n")
            .ok_or("OpenMetrics output does not end with `# EOF`")?,
        Format::Text => text,
    };
    if !body.is_empty() && !body.ends_with('\n') {
        return Err("the last line has no newline".into());
    }
    let mut families: Vec<Family> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut series: HashSet<Vec<String>> = HashSet::new();
    // Only `\n` ends a line (`\r` is part of a help text or label value).
    for line in body.split_terminator('\n') {
        if let Some(comment) = line.strip_prefix("# ") {
            let (kind, rest) = comment
                .split_once(' ')
                .ok_or_else(|| format!("bad comment line {line:?}"))?;
            let (name, arg) = rest.split_once(' ').unwrap_or((rest, ""));
            if !is_metric_name(name) {
                return Err(format!("invalid metric name in {line:?}"));
            }
            let starts_new = match families.last() {
                Some(f) => f.name != name || !f.samples.is_empty(),
                None => true,
            };
            if starts_new {
                if !names.insert(name.to_owned()) {
                    return Err(format!("family {name:?} appears twice"));
                }
                families.push(Family {
                    name: name.to_owned(),
                    type_: String::new(),
                    help: None,
                    unit: None,
                    samples: Vec::new(),
                });
            }
            let family = families.last_mut().expect("pushed above");
            let slot = match (kind, format) {
                ("HELP", _) => {
                    let help = unescape(arg, format == Format::OpenMetrics)?;
                    if family.help.replace(help).is_some() {
                        return Err(format!("second HELP for {name:?}"));
                    }
                    continue;
                }
                ("TYPE", _) => &mut family.type_,
                ("UNIT", Format::OpenMetrics) => family.unit.get_or_insert_with(String::new),
                _ => return Err(format!("unexpected comment line {line:?}")),
            };
            if !slot.is_empty() || arg.is_empty() {
                return Err(format!("repeated or empty {kind} for {name:?}"));
            }
            *slot = arg.to_owned();
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            return Err(format!("unexpected line {line:?}"));
        }
        let sample = parse_sample(line)?;
        let family = families
            .last_mut()
            .ok_or_else(|| format!("sample before any metadata: {line:?}"))?;
        if family.type_.is_empty() {
            return Err(format!("family {:?} has no TYPE", family.name));
        }
        let suffix = suffixes(format, &family.type_)?
            .iter()
            .find(|s| sample.name == format!("{}{s}", family.name))
            .ok_or_else(|| {
                format!(
                    "sample {:?} does not belong to the {} family {:?}",
                    sample.name, family.type_, family.name
                )
            })?;
        if !series.insert(series_key(&sample.name, &sample.labels, None)) {
            return Err(format!("duplicate series {line:?}"));
        }
        if sample.labels.iter().any(|(n, _)| n.starts_with("__")) {
            return Err(format!("reserved label name in {line:?}"));
        }
        check_sample(family, suffix, &sample).map_err(|e| format!("{e} in {line:?}"))?;
        family.samples.push(sample);
    }
    for family in &families {
        if family.type_.is_empty() {
            return Err(format!("family {:?} has no TYPE", family.name));
        }
        if let Some(unit) = &family.unit
            && !family.name.ends_with(&format!("_{unit}"))
        {
            return Err(format!("family {:?} does not end in its unit", family.name));
        }
        check_family(family)?;
    }
    Ok(families)
}

fn check_sample(family: &Family, suffix: &str, s: &Sample) -> Result<(), String> {
    let float_label = |name: &str| -> Result<f64, String> {
        let v = s.label(name).ok_or_else(|| format!("no {name} label"))?;
        parse_value(v)
    };
    match (family.type_.as_str(), suffix) {
        ("counter", _) if s.value.is_nan() || s.value < 0.0 => {
            return Err("negative or NaN counter".into());
        }
        ("histogram", "_bucket") => {
            if float_label("le")?.is_nan() {
                return Err("NaN bucket bound".into());
            }
            s.raw
                .parse::<u64>()
                .map_err(|_| "bucket count is not a count")?;
        }
        ("histogram" | "summary", "_count") => {
            s.raw.parse::<u64>().map_err(|_| "_count is not a count")?;
        }
        ("summary", "") => {
            let q = float_label("quantile")?;
            if !(0.0..=1.0).contains(&q) {
                return Err(format!("quantile {q} outside [0, 1]"));
            }
        }
        ("stateset", _) => {
            if s.label(&family.name).is_none_or(str::is_empty) {
                return Err("state set sample without its state label".into());
            }
            if s.raw != "0" && s.raw != "1" {
                return Err("state value other than 0 or 1".into());
            }
        }
        ("info", _) if s.raw != "1" => return Err("info value other than 1".into()),
        _ => {}
    }
    let reserved = match (family.type_.as_str(), suffix) {
        ("histogram", "_bucket") | ("summary", "") => None,
        ("histogram", _) => Some("le"),
        ("summary", _) => Some("quantile"),
        _ => None,
    };
    if let Some(r) = reserved
        && s.label(r).is_some()
    {
        return Err(format!("{r} label on a {suffix} sample"));
    }
    Ok(())
}

/// Histogram rules across a series' samples.
fn check_family(family: &Family) -> Result<(), String> {
    if family.type_ != "histogram" {
        return Ok(());
    }
    #[derive(Default)]
    struct Series {
        buckets: Vec<(f64, u64)>,
        count: Option<u64>,
        sum: bool,
    }
    let mut by_series: BTreeMap<Vec<String>, Series> = BTreeMap::new();
    let base = |s: &Sample| series_key("", &s.labels, Some("le"));
    for s in &family.samples {
        let entry = by_series.entry(base(s)).or_default();
        if s.name.ends_with("_bucket") {
            let le = parse_value(s.label("le").expect("checked"))?;
            if entry.count.is_some() || entry.sum {
                return Err(format!("{}: bucket after _sum or _count", family.name));
            }
            entry.buckets.push((le, s.raw.parse().expect("checked")));
        } else if s.name.ends_with("_count") {
            entry.count = Some(s.raw.parse().expect("checked"));
        } else if s.name.ends_with("_sum") {
            entry.sum = true;
        }
    }
    for (key, s) in by_series {
        let err = |m: &str| Err(format!("histogram {}{key:?}: {m}", family.name));
        match s.buckets.last() {
            Some(&(le, last)) if le == f64::INFINITY => {
                if s.count != Some(last) {
                    return err("_count differs from the +Inf bucket");
                }
            }
            _ => return err("no +Inf bucket"),
        }
        for w in s.buckets.windows(2) {
            if w[0].0 >= w[1].0 {
                return err("bucket bounds not increasing");
            }
            if w[0].1 > w[1].1 {
                return err("bucket counts not cumulative");
            }
        }
        if !s.sum {
            return err("no _sum");
        }
    }
    Ok(())
}

// What the host's encoders must write for (validated, normalised) families.

#[derive(Debug, Clone, PartialEq)]
enum Extra {
    Str(String),
    Num(f64),
}

#[derive(Debug, Clone, PartialEq)]
enum Want {
    Float(f64),
    Count(u64),
}

#[derive(Debug, Clone)]
struct WantSample {
    name: String,
    labels: Vec<(String, String)>,
    extra: Option<(String, Extra)>,
    value: Want,
}

#[derive(Debug, Clone)]
pub struct WantFamily {
    name: String,
    type_: &'static str,
    help: Option<String>,
    unit: Option<String>,
    samples: Vec<WantSample>,
}

fn type_name(format: Format, t: MetricType) -> &'static str {
    match (format, t) {
        (Format::Text, MetricType::Info | MetricType::StateSet) => "gauge",
        (Format::Text, MetricType::Unknown) => "untyped",
        (_, t) => t.as_str(),
    }
}

/// The families and samples `families` must come back as, in order.
pub fn expected(families: &[MetricFamily], format: Format) -> Vec<WantFamily> {
    let mut out = Vec::new();
    for f in families.iter().filter(|f| !f.metrics.is_empty()) {
        // A counter keeps its name as written in the text format; in
        // OpenMetrics its family is the name without `_total`.
        let n = match format {
            Format::Text => f.name.as_str(),
            Format::OpenMetrics => f.base_name(),
        };
        let header = match (format, f.type_) {
            (Format::Text, MetricType::Info) => format!("{n}_info"),
            _ => n.to_string(),
        };
        let counter_suffix = match format {
            Format::Text => "",
            Format::OpenMetrics => "_total",
        };
        let (help, unit) = match format {
            Format::Text => (Some(f.help.clone()), None),
            Format::OpenMetrics => ((!f.help.is_empty()).then(|| f.help.clone()), f.unit.clone()),
        };
        let mut samples = Vec::new();
        for m in &f.metrics {
            let labels: Vec<(String, String)> = m
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            let mut push = |suffix: &str, extra: Option<(String, Extra)>, value: Want| {
                samples.push(WantSample {
                    name: format!("{n}{suffix}"),
                    labels: labels.clone(),
                    extra,
                    value,
                })
            };
            match &m.value {
                Value::Counter(v) => push(counter_suffix, None, Want::Float(*v)),
                Value::Gauge(v) | Value::Unknown(v) => push("", None, Want::Float(*v)),
                Value::Info => push("_info", None, Want::Float(1.0)),
                Value::StateSet(states) => {
                    for s in states {
                        let v = if s.enabled { 1.0 } else { 0.0 };
                        push(
                            "",
                            Some((n.to_string(), Extra::Str(s.name.clone()))),
                            Want::Float(v),
                        );
                    }
                }
                Value::Histogram(h) => {
                    for b in &h.buckets {
                        let le = Some(("le".to_owned(), Extra::Num(b.upper_bound)));
                        push("_bucket", le, Want::Count(b.count));
                    }
                    push("_sum", None, Want::Float(h.sum));
                    push("_count", None, Want::Count(h.count));
                }
                Value::Summary(s) => {
                    for q in &s.quantiles {
                        let quantile = Some(("quantile".to_owned(), Extra::Num(q.quantile)));
                        push("", quantile, Want::Float(q.value));
                    }
                    push("_sum", None, Want::Float(s.sum));
                    push("_count", None, Want::Count(s.count));
                }
            }
        }
        out.push(WantFamily {
            name: header,
            type_: type_name(format, f.type_),
            help,
            unit,
            samples,
        });
    }
    out
}

pub fn compare(want: &[WantFamily], got: &[Family]) -> Result<(), String> {
    let names = |w: &[WantFamily], g: &[Family]| {
        format!(
            "want {:?}, got {:?}",
            w.iter().map(|f| &f.name).collect::<Vec<_>>(),
            g.iter().map(|f| &f.name).collect::<Vec<_>>()
        )
    };
    if want.len() != got.len() {
        return Err(format!("family count differs: {}", names(want, got)));
    }
    for (w, g) in want.iter().zip(got) {
        if w.name != g.name || w.type_ != g.type_ || w.help != g.help || w.unit != g.unit {
            return Err(format!("metadata differs: want {w:?}, got {g:?}"));
        }
        if w.samples.len() != g.samples.len() {
            return Err(format!(
                "sample count of {} differs: want {w:?}, got {g:?}",
                w.name
            ));
        }
        for (ws, gs) in w.samples.iter().zip(&g.samples) {
            let fail = || Err(format!("sample differs: want {ws:?}, got {gs:?}"));
            let labels_written = ws.labels.len() + usize::from(ws.extra.is_some());
            if ws.name != gs.name
                || gs.labels.len() != labels_written
                || gs.labels[..ws.labels.len()] != ws.labels[..]
            {
                return fail();
            }
            if let Some((name, extra)) = &ws.extra {
                let (gname, gvalue) = gs.labels.last().expect("counted");
                let same = match extra {
                    Extra::Str(s) => s == gvalue,
                    Extra::Num(v) => parse_value(gvalue).is_ok_and(|g| same_value(*v, g)),
                };
                if name != gname || !same {
                    return fail();
                }
            }
            let same = match ws.value {
                Want::Float(v) => same_value(v, gs.value),
                Want::Count(n) => gs.raw == n.to_string(),
            };
            if !same {
                return fail();
            }
        }
    }
    Ok(())
}

/// Encodes `families` in both formats, parses them back strictly and
/// checks every family and sample came back as written.
pub fn round_trip(families: &[MetricFamily]) -> Result<(), String> {
    for format in Format::BOTH {
        let bytes = wasm_exporter_exposition::encode::encode(families, format.host());
        let text = String::from_utf8(bytes).map_err(|e| format!("{format:?}: not UTF-8: {e}"))?;
        let parsed = parse(&text, format).map_err(|e| format!("{format:?}: {e}\n{text}"))?;
        compare(&expected(families, format), &parsed)
            .map_err(|e| format!("{format:?}: {e}\n{text}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_host_writes_and_refuses_the_rest() {
        let om = "# TYPE a counter\n# HELP a x \\\" \\\\ \\n y\na_total{l=\"\\\"\\n\\\\\"} 1.5\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum NaN\nh_count 2\n# EOF\n";
        let f = parse(om, Format::OpenMetrics).unwrap();
        assert_eq!(f[0].help.as_deref(), Some("x \" \\ \n y"));
        assert_eq!(f[0].samples[0].labels[0].1, "\"\n\\");
        assert_eq!(f[1].samples.len(), 4);
        assert!(parse("a 1\n", Format::Text).is_err(), "no TYPE");
        assert!(parse("# TYPE a gauge\na 1\n", Format::OpenMetrics).is_err());
        assert!(parse("# TYPE a gauge\na{b=\"\\t\"} 1\n", Format::Text).is_err());
        assert!(parse("# TYPE a gauge\na{b=\"\"} 1\na 2\n", Format::Text).is_err());
        assert!(parse("# TYPE a gauge\na{b:c=\"x\"} 1\n", Format::Text).is_err());
        assert!(parse("# TYPE a gauge\na 1 2\n", Format::Text).is_err());
        assert!(parse("# TYPE a gauge\na inf\n", Format::Text).is_err());
        assert!(parse("# TYPE a gauge\na 1\n# TYPE a gauge\n", Format::Text).is_err());
        let bad_hist = "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n";
        assert!(parse(bad_hist, Format::Text).is_err());
    }
}
