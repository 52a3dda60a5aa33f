//! Prometheus text 0.0.4 and OpenMetrics 1.0.0 exposition.
//!
//! The encoders write straight into a byte buffer: numbers through
//! `itoa`/`ryu`, label values escaped in place, no allocation per sample.
//! The `stream` module cuts the output into chunks (gzip-compressed when
//! asked) so a large page is streamed rather than built whole.
//!
//! A counter `jobs_total` with one series, in both formats:
//!
//! ```
//! use wasm_exporter_exposition::encode::{Format, encode};
//! use wasm_exporter_exposition::model::{Label, MetricFamily, MetricType, Value};
//!
//! let mut jobs = MetricFamily::new("jobs_total", "Jobs done.", MetricType::Counter);
//! jobs.push(vec![Label::new("queue", "a\"b")], Value::Counter(3.0));
//! let families = vec![jobs];
//! assert_eq!(
//!     String::from_utf8(encode(&families, Format::Text)).unwrap(),
//!     "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total{queue=\"a\\\"b\"} 3\n"
//! );
//! assert_eq!(
//!     String::from_utf8(encode(&families, Format::OpenMetrics)).unwrap(),
//!     "# TYPE jobs counter\n# HELP jobs Jobs done.\njobs_total{queue=\"a\\\"b\"} 3\n# EOF\n"
//! );
//! ```

use crate::model::{Label, MetricFamily, MetricType, Text, Value, base_name};

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics text format 1.0.0.
    OpenMetrics,
}

/// Content-Type of the text format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content-Type of OpenMetrics 1.0.0.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Content-Type of OpenMetrics 0.0.1 (same body as 1.0.0).
pub const OPENMETRICS_0_0_1_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=0.0.1; charset=utf-8";

impl Format {
    /// Picks the format (and the exact Content-Type to answer with) from an
    /// `Accept` header, honouring q-values; the text format when nothing
    /// acceptable is offered or there is no header.
    pub fn negotiate(accept: Option<&str>) -> (Format, &'static str) {
        let mut best = (Format::Text, TEXT_CONTENT_TYPE);
        let mut best_q = -1.0f32;
        for range in accept.unwrap_or("").split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut q = 1.0f32;
            let mut version = None;
            for p in parts {
                if let Some((k, v)) = p.split_once('=') {
                    match k.trim().to_ascii_lowercase().as_str() {
                        "q" => q = v.trim().parse().unwrap_or(0.0),
                        "version" => version = Some(v.trim().to_owned()),
                        _ => {}
                    }
                }
            }
            let candidate = match (media.as_str(), version.as_deref()) {
                ("application/openmetrics-text", None | Some("1.0.0")) => {
                    (Format::OpenMetrics, OPENMETRICS_CONTENT_TYPE)
                }
                ("application/openmetrics-text", Some("0.0.1")) => {
                    (Format::OpenMetrics, OPENMETRICS_0_0_1_CONTENT_TYPE)
                }
                ("text/plain", None | Some("0.0.4")) | ("text/*" | "*/*", _) => {
                    (Format::Text, TEXT_CONTENT_TYPE)
                }
                _ => continue,
            };
            if q > 0.0 && q > best_q {
                best = candidate;
                best_q = q;
            }
        }
        best
    }

    /// The Content-Type for this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => TEXT_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

/// Encodes all `families` (and, for OpenMetrics, the `# EOF` line).
pub fn encode<S: Text>(families: &[MetricFamily<S>], format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    for f in families {
        encode_family(&mut out, f, format);
    }
    if format == Format::OpenMetrics {
        out.extend_from_slice(b"# EOF\n");
    }
    out
}

/// Appends one family in `format`.
pub fn encode_family<S: Text>(out: &mut Vec<u8>, family: &MetricFamily<S>, format: Format) {
    if family.metrics.is_empty() {
        return;
    }
    let unit = family.unit.as_ref().map(AsRef::as_ref);
    write_header(
        out,
        family.name.as_ref(),
        family.type_,
        family.help.as_ref(),
        unit,
        format,
    );
    write_series(out, family, format);
}

/// The name a family's samples start with: a counter keeps its name as
/// written in the text format (sample and metadata alike); OpenMetrics
/// names the family without `_total` and the sample with it.
fn base_of(name: &str, type_: MetricType, format: Format) -> &str {
    match format {
        Format::Text => name,
        Format::OpenMetrics => base_name(name, type_),
    }
}

/// Whether a family's sample lines differ between the two formats: only
/// a counter's, when its name lacks `_total` (the text format writes the
/// name as given, OpenMetrics adds `_total`).
pub fn lines_differ(name: &str, type_: MetricType) -> bool {
    type_ == MetricType::Counter && !name.ends_with("_total")
}

/// Appends a family's metadata lines (`# TYPE`, `# HELP`, `# UNIT`) in
/// `format`.
pub fn write_header(
    out: &mut Vec<u8>,
    name: &str,
    type_: MetricType,
    help: &str,
    unit: Option<&str>,
    format: Format,
) {
    let base = base_of(name, type_, format);
    let (header_suffix, type_name) = match (format, type_) {
        (Format::Text, MetricType::Counter) => ("", "counter"),
        (Format::Text, MetricType::Info) => ("_info", "gauge"),
        (Format::Text, MetricType::StateSet) => ("", "gauge"),
        (Format::Text, MetricType::Unknown) => ("", "untyped"),
        (_, t) => ("", t.as_str()),
    };
    match format {
        Format::Text => {
            header(out, b"# HELP ", base, header_suffix);
            escape_help(out, help, false);
            out.push(b'\n');
            header(out, b"# TYPE ", base, header_suffix);
            out.extend_from_slice(type_name.as_bytes());
            out.push(b'\n');
        }
        Format::OpenMetrics => {
            header(out, b"# TYPE ", base, "");
            out.extend_from_slice(type_name.as_bytes());
            out.push(b'\n');
            if let Some(unit) = unit {
                header(out, b"# UNIT ", base, "");
                out.extend_from_slice(unit.as_bytes());
                out.push(b'\n');
            }
            if !help.is_empty() {
                header(out, b"# HELP ", base, "");
                escape_help(out, help, true);
                out.push(b'\n');
            }
        }
    }
}

/// Appends the sample lines of every series of `family` in `format`.
pub fn write_series<S: Text>(out: &mut Vec<u8>, family: &MetricFamily<S>, format: Format) {
    write_series_each(out, family, format, |_, _| {});
}

/// [`write_series`], calling `at(index, offset)` before each series'
/// first line.
pub fn write_series_each<S: Text>(
    out: &mut Vec<u8>,
    family: &MetricFamily<S>,
    format: Format,
    mut at: impl FnMut(usize, usize),
) {
    let base = base_of(family.name.as_ref(), family.type_, format);
    let counter_suffix = match format {
        Format::Text => "",
        Format::OpenMetrics => "_total",
    };
    let start = out.len();
    for (i, m) in family.metrics.iter().enumerate() {
        if i == 1 {
            // Room for the rest, guessed from the first series.
            let first = out.len() - start;
            out.reserve(first * (family.metrics.len() - 1) + first);
        }
        at(i, out.len());
        let labels = &m.labels[..];
        match &m.value {
            Value::Counter(v) => sample(out, base, counter_suffix, labels, None, *v),
            Value::Gauge(v) | Value::Unknown(v) => sample(out, base, "", labels, None, *v),
            Value::Info => sample(out, base, "_info", labels, None, 1.0),
            Value::StateSet(states) => {
                for s in states {
                    let value = if s.enabled { 1.0 } else { 0.0 };
                    sample_with(
                        out,
                        base,
                        "",
                        labels,
                        Some((base, Extra::Str(s.name.as_ref()))),
                        |o| write_f64(o, value),
                    );
                }
            }
            Value::Histogram(h) => {
                for b in &h.buckets {
                    sample_with(
                        out,
                        base,
                        "_bucket",
                        labels,
                        Some(("le", Extra::Num(b.upper_bound))),
                        |o| write_u64(o, b.count),
                    );
                }
                sample(out, base, "_sum", labels, None, h.sum);
                sample_with(out, base, "_count", labels, None, |o| write_u64(o, h.count));
            }
            Value::Summary(s) => {
                for q in &s.quantiles {
                    sample(
                        out,
                        base,
                        "",
                        labels,
                        Some(("quantile", Extra::Num(q.quantile))),
                        q.value,
                    );
                }
                sample(out, base, "_sum", labels, None, s.sum);
                sample_with(out, base, "_count", labels, None, |o| write_u64(o, s.count));
            }
        }
    }
}

fn header(out: &mut Vec<u8>, kind: &[u8], base: &str, suffix: &str) {
    out.extend_from_slice(kind);
    out.extend_from_slice(base.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    out.push(b' ');
}

/// An extra label the encoder adds (`le`, `quantile`, a state set's state).
enum Extra<'a> {
    Str(&'a str),
    Num(f64),
}

fn sample<S: Text>(
    out: &mut Vec<u8>,
    base: &str,
    suffix: &str,
    labels: &[Label<S>],
    extra: Option<(&str, Extra<'_>)>,
    value: f64,
) {
    sample_with(out, base, suffix, labels, extra, |o| write_f64(o, value));
}

fn sample_with<S: Text>(
    out: &mut Vec<u8>,
    base: &str,
    suffix: &str,
    labels: &[Label<S>],
    extra: Option<(&str, Extra<'_>)>,
    value: impl FnOnce(&mut Vec<u8>),
) {
    out.extend_from_slice(base.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    if !labels.is_empty() || extra.is_some() {
        out.push(b'{');
        let mut first = true;
        for l in labels {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(l.name.as_ref().as_bytes());
            out.extend_from_slice(b"=\"");
            escape_label_value(out, l.value.as_ref());
            out.push(b'"');
        }
        if let Some((name, v)) = extra {
            if !first {
                out.push(b',');
            }
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"=\"");
            match v {
                Extra::Str(s) => escape_label_value(out, s),
                Extra::Num(n) => write_f64(out, n),
            }
            out.push(b'"');
        }
        out.push(b'}');
    }
    out.push(b' ');
    value(out);
    out.push(b'\n');
}

/// Writes a label value with `\`, `"` and newline escaped.
pub fn escape_label_value(out: &mut Vec<u8>, value: &str) {
    escape(out, value.as_bytes(), true);
}

fn escape_help(out: &mut Vec<u8>, help: &str, quote: bool) {
    escape(out, help.as_bytes(), quote);
}

fn escape(out: &mut Vec<u8>, bytes: &[u8], quote: bool) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if quote => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Writes a float as both formats read it: `NaN`, `+Inf`, `-Inf`, an
/// integer without a fraction, or the shortest round-tripping decimal.
pub fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if v == 0.0 && v.is_sign_negative() {
        out.extend_from_slice(b"-0");
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        out.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
    } else {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    }
}

fn write_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Bucket, Histogram, Quantile, State, Summary};

    fn l(pairs: &[(&str, &str)]) -> Vec<Label> {
        pairs.iter().map(|(k, v)| Label::new(*k, *v)).collect()
    }

    /// One family of every type, with escaping and special floats.
    fn every_type() -> Vec<MetricFamily> {
        let mut counter = MetricFamily::new("jobs_total", "Jobs done.", MetricType::Counter);
        counter.push(l(&[("queue", "a\\b\"c\nd")]), Value::Counter(3.5));
        let mut gauge = MetricFamily::new(
            "temp_celsius",
            "Temp \\ with\nnewline \"q\".",
            MetricType::Gauge,
        );
        gauge.unit = Some("celsius".into());
        gauge.push(l(&[("k", "nan")]), Value::Gauge(f64::NAN));
        gauge.push(l(&[("k", "inf")]), Value::Gauge(f64::INFINITY));
        gauge.push(l(&[("k", "ninf")]), Value::Gauge(f64::NEG_INFINITY));
        gauge.push(l(&[("k", "negzero")]), Value::Gauge(-0.0));
        gauge.push(l(&[("k", "big")]), Value::Gauge(1.5e300));
        gauge.push(l(&[("k", "small")]), Value::Gauge(2.5e-7));
        gauge.push(Vec::new(), Value::Gauge(-42.0));
        let mut unknown = MetricFamily::new("mystery", "", MetricType::Unknown);
        unknown.push(Vec::new(), Value::Unknown(0.25));
        let mut hist = MetricFamily::new("latency_seconds", "Latency.", MetricType::Histogram);
        hist.push(
            l(&[("path", "/")]),
            Value::Histogram(Histogram {
                buckets: vec![
                    Bucket {
                        upper_bound: 0.1,
                        count: 1,
                    },
                    Bucket {
                        upper_bound: 1.0,
                        count: 3,
                    },
                    Bucket {
                        upper_bound: f64::INFINITY,
                        count: 4,
                    },
                ],
                sum: 2.5,
                count: 4,
            }),
        );
        let mut summary = MetricFamily::new("rpc_seconds", "RPC.", MetricType::Summary);
        summary.push(
            Vec::new(),
            Value::Summary(Summary {
                quantiles: vec![
                    Quantile {
                        quantile: 0.5,
                        value: 0.2,
                    },
                    Quantile {
                        quantile: 0.99,
                        value: 1.0,
                    },
                ],
                sum: 10.0,
                count: 30,
            }),
        );
        let mut info = MetricFamily::new("build", "Build.", MetricType::Info);
        info.push(l(&[("version", "1.2")]), Value::Info);
        let mut states = MetricFamily::new("door", "Door state.", MetricType::StateSet);
        states.push(
            l(&[("room", "hall")]),
            Value::StateSet(vec![
                State {
                    name: "open".into(),
                    enabled: false,
                },
                State {
                    name: "closed".into(),
                    enabled: true,
                },
            ]),
        );
        vec![counter, gauge, unknown, hist, summary, info, states]
    }

    #[test]
    fn text_format_golden() {
        let out = String::from_utf8(encode(&every_type(), Format::Text)).unwrap();
        assert_eq!(
            out,
            r#"# HELP jobs_total Jobs done.
# TYPE jobs_total counter
jobs_total{queue="a\\b\"c\nd"} 3.5
# HELP temp_celsius Temp \\ with\nnewline "q".
# TYPE temp_celsius gauge
temp_celsius{k="nan"} NaN
temp_celsius{k="inf"} +Inf
temp_celsius{k="ninf"} -Inf
temp_celsius{k="negzero"} -0
temp_celsius{k="big"} 1.5e300
temp_celsius{k="small"} 2.5e-7
temp_celsius -42
# HELP mystery 
# TYPE mystery untyped
mystery 0.25
# HELP latency_seconds Latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{path="/",le="0.1"} 1
latency_seconds_bucket{path="/",le="1"} 3
latency_seconds_bucket{path="/",le="+Inf"} 4
latency_seconds_sum{path="/"} 2.5
latency_seconds_count{path="/"} 4
# HELP rpc_seconds RPC.
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.2
rpc_seconds{quantile="0.99"} 1
rpc_seconds_sum 10
rpc_seconds_count 30
# HELP build_info Build.
# TYPE build_info gauge
build_info{version="1.2"} 1
# HELP door Door state.
# TYPE door gauge
door{room="hall",door="open"} 0
door{room="hall",door="closed"} 1
"#
        );
    }

    /// A counter named without `_total` (as nginx-prometheus-exporter's
    /// `nginx_connections_accepted`) keeps its name in the text format,
    /// where Prometheus reads it as written; OpenMetrics requires the
    /// sample's `_total`, and the family is named without it.
    #[test]
    fn counters_without_total_keep_their_text_name() {
        let mut accepted = MetricFamily::new("accepted", "Accepted.", MetricType::Counter);
        accepted.push(Vec::new(), Value::Counter(7.0));
        let families = vec![accepted];
        assert_eq!(
            String::from_utf8(encode(&families, Format::Text)).unwrap(),
            "# HELP accepted Accepted.\n# TYPE accepted counter\naccepted 7\n"
        );
        assert_eq!(
            String::from_utf8(encode(&families, Format::OpenMetrics)).unwrap(),
            "# TYPE accepted counter\n# HELP accepted Accepted.\naccepted_total 7\n# EOF\n"
        );
    }

    #[test]
    fn openmetrics_golden() {
        let out = String::from_utf8(encode(&every_type(), Format::OpenMetrics)).unwrap();
        assert_eq!(
            out,
            r#"# TYPE jobs counter
# HELP jobs Jobs done.
jobs_total{queue="a\\b\"c\nd"} 3.5
# TYPE temp_celsius gauge
# UNIT temp_celsius celsius
# HELP temp_celsius Temp \\ with\nnewline \"q\".
temp_celsius{k="nan"} NaN
temp_celsius{k="inf"} +Inf
temp_celsius{k="ninf"} -Inf
temp_celsius{k="negzero"} -0
temp_celsius{k="big"} 1.5e300
temp_celsius{k="small"} 2.5e-7
temp_celsius -42
# TYPE mystery unknown
mystery 0.25
# TYPE latency_seconds histogram
# HELP latency_seconds Latency.
latency_seconds_bucket{path="/",le="0.1"} 1
latency_seconds_bucket{path="/",le="1"} 3
latency_seconds_bucket{path="/",le="+Inf"} 4
latency_seconds_sum{path="/"} 2.5
latency_seconds_count{path="/"} 4
# TYPE rpc_seconds summary
# HELP rpc_seconds RPC.
rpc_seconds{quantile="0.5"} 0.2
rpc_seconds{quantile="0.99"} 1
rpc_seconds_sum 10
rpc_seconds_count 30
# TYPE build info
# HELP build Build.
build_info{version="1.2"} 1
# TYPE door stateset
# HELP door Door state.
door{room="hall",door="open"} 0
door{room="hall",door="closed"} 1
# EOF
"#
        );
    }

    #[test]
    fn negotiation_follows_q_values() {
        let prometheus_2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(
            Format::negotiate(Some(prometheus_2)),
            (Format::OpenMetrics, OPENMETRICS_CONTENT_TYPE)
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;version=0.0.1")),
            (Format::OpenMetrics, OPENMETRICS_0_0_1_CONTENT_TYPE)
        );
        assert_eq!(
            Format::negotiate(Some(
                "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5"
            )),
            (Format::Text, TEXT_CONTENT_TYPE)
        );
        assert_eq!(Format::negotiate(None), (Format::Text, TEXT_CONTENT_TYPE));
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=9.9.9, application/json"
            )),
            (Format::Text, TEXT_CONTENT_TYPE)
        );
    }
}
