//! Property tests of the host's pure steps: the encoders round-trip every
//! valid family through a strict parser, and the validator, the
//! configuration parser and the merge never panic on anything, whatever
//! they are given. Each property runs a bounded number of cases (a few
//! seconds in all); `PROPTEST_CASES=100000` runs them longer.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use wasm_exporter::collect::{Failure, FailureReason, Outcome};
use wasm_exporter::config::{self, ConfigError};
use wasm_exporter::encode::encode;
use wasm_exporter::limits::PluginLimits;
use wasm_exporter::merge::merge;
use wasm_exporter::model::{
    Bucket, Histogram, Label, Metric, MetricFamily, MetricType, Quantile, State, Summary, Value,
};
use wasm_exporter::validate::{sample_names, validate};

use crate::common::TempDir;
use crate::expfmt::{Format, round_trip};

/// Cases per property unless `PROPTEST_CASES` says otherwise.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Shrinking a slow case must not hold CI for long.
        max_shrink_time: 30_000,
        // Failures print their minimal input; nothing is written to the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Strategies.

/// Any float, with the special ones often.
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<f64>(),
        2 => any::<u64>().prop_map(f64::from_bits),
        2 => (-1_000_000i64..1_000_000).prop_map(|i| i as f64),
        1 => prop::num::f64::SUBNORMAL | prop::num::f64::POSITIVE | prop::num::f64::NEGATIVE,
        2 => select(vec![
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            5e-324,
            -5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            1e15,
            -1e15,
            999_999_999_999_999.0,
            1e16,
            2f64.powi(53) + 2.0,
            0.1,
            1.0 / 3.0,
            u64::MAX as f64,
        ]),
    ]
}

/// A label value: any text, with the escaped characters often.
fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        2 => "[a\\\\\"\n {},=é]{0,6}",
        1 => Just(String::new()),
    ]
}

fn help_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a \\\\\"\nn#]{0,8}", Just(String::new())]
}

fn label_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,6}".prop_filter("reserved", |n| !n.starts_with("__"))
}

fn labels() -> impl Strategy<Value = Vec<(String, String)>> {
    vec((label_name(), label_value()), 0..4)
}

const KINDS: [MetricType; 7] = [
    MetricType::Counter,
    MetricType::Gauge,
    MetricType::Unknown,
    MetricType::Histogram,
    MetricType::Summary,
    MetricType::Info,
    MetricType::StateSet,
];

fn kind() -> impl Strategy<Value = MetricType> {
    select(KINDS.to_vec())
}

/// A valid histogram: increasing bounds ending in +Inf, cumulative counts.
fn histogram() -> impl Strategy<Value = Histogram> {
    let bound = prop_oneof![
        8 => float().prop_filter("finite", |f| f.is_finite()),
        1 => Just(f64::NEG_INFINITY),
    ];
    let delta = prop_oneof![0..10u64, 0..u64::MAX / 16];
    (vec(bound, 0..6), vec(delta, 7), float()).prop_map(|(mut bounds, deltas, sum)| {
        bounds.sort_by(f64::total_cmp);
        bounds.dedup_by(|a, b| a == b);
        bounds.push(f64::INFINITY);
        let mut count = 0u64;
        let buckets = bounds
            .into_iter()
            .zip(deltas)
            .map(|(upper_bound, d)| {
                count += d;
                Bucket { upper_bound, count }
            })
            .collect();
        Histogram {
            buckets,
            sum,
            count,
        }
    })
}

fn summary() -> impl Strategy<Value = Summary> {
    let q = prop_oneof![
        4 => 0.0..=1.0f64,
        1 => select(vec![0.0, -0.0, 1.0, 0.5, 0.99, 5e-324]),
    ];
    (vec((q, float()), 0..5), float(), any::<u64>()).prop_map(|(qs, sum, count)| {
        let mut quantiles: Vec<Quantile> = Vec::new();
        for (quantile, value) in qs {
            if !quantiles.iter().any(|p| p.quantile == quantile) {
                quantiles.push(Quantile { quantile, value });
            }
        }
        Summary {
            quantiles,
            sum,
            count,
        }
    })
}

fn states() -> impl Strategy<Value = Vec<State>> {
    let name = prop_oneof![any::<String>(), "[a-z\\\\\" ]{1,3}"];
    vec((name, any::<bool>()), 1..5).prop_map(|raw| {
        let mut states: Vec<State> = Vec::new();
        for (name, enabled) in raw {
            if !name.is_empty() && !states.iter().any(|s| s.name == name) {
                states.push(State { name, enabled });
            }
        }
        if states.is_empty() {
            states.push(State {
                name: "only".into(),
                enabled: true,
            });
        }
        states
    })
}

/// A valid value of a family of type `kind`.
fn valid_value(kind: MetricType) -> BoxedStrategy<Value> {
    match kind {
        MetricType::Counter => prop_oneof![
            float().prop_map(|v| if v.is_nan() { 0.0 } else { v.abs() }),
            Just(-0.0),
        ]
        .prop_map(Value::Counter)
        .boxed(),
        MetricType::Gauge => float().prop_map(Value::Gauge).boxed(),
        MetricType::Unknown => float().prop_map(Value::Unknown).boxed(),
        MetricType::Histogram => histogram().prop_map(Value::Histogram).boxed(),
        MetricType::Summary => summary().prop_map(Value::Summary).boxed(),
        MetricType::Info => Just(Value::Info).boxed(),
        MetricType::StateSet => states().prop_map(Value::StateSet).boxed(),
    }
}

/// A valid family, before its name is made unique.
#[derive(Debug, Clone)]
struct Spec {
    kind: MetricType,
    prefix: String,
    unit: Option<String>,
    suffixed: bool,
    help: String,
    series: Vec<(Vec<(String, String)>, Value)>,
}

fn spec() -> impl Strategy<Value = Spec> {
    kind().prop_flat_map(|kind| {
        let pattern = if kind == MetricType::StateSet {
            // A state set's name is also a label name.
            "[a-zA-Z_][a-zA-Z0-9_]{0,8}"
        } else {
            "[a-zA-Z_:][a-zA-Z0-9_:]{0,8}"
        };
        let prefix = pattern.prop_filter("reserved", |p| {
            let named = format!("{p}_0");
            !named.starts_with("__") && !named.starts_with("wasm_exporter_")
        });
        let unit = match kind {
            MetricType::Info | MetricType::StateSet => Just(None).boxed(),
            _ => prop_oneof![
                3 => Just(None),
                2 => "[a-z]{1,6}".prop_map(Some),
                1 => Just(Some(String::new())),
            ]
            .boxed(),
        };
        let series = prop_oneof![
            8 => vec((labels(), valid_value(kind)), 0..6),
            1 => (valid_value(kind), 100..1500usize).prop_map(|(v, n)| {
                (0..n).map(|i| (vec![("i".to_owned(), i.to_string())], v.clone())).collect()
            }),
        ];
        (prefix, unit, any::<bool>(), help_text(), series).prop_map(
            move |(prefix, unit, suffixed, help, series)| Spec {
                kind,
                prefix,
                unit,
                suffixed,
                help,
                series,
            },
        )
    })
}

/// The labels of a series as Prometheus identifies it (empty values are
/// absent), sorted.
fn series_identity(labels: &[(String, String)]) -> Vec<(String, String)> {
    let mut key: Vec<(String, String)> = labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .cloned()
        .collect();
    key.sort();
    key
}

/// Builds valid families from specs: names made unique by their index
/// (the last all-digit segment of every sample name), reserved and repeated
/// labels dropped, repeated series dropped. Returns the families and the
/// names the validator must normalise them to.
fn build(specs: Vec<Spec>) -> (Vec<MetricFamily>, Vec<String>) {
    let mut families = Vec::new();
    let mut bases = Vec::new();
    for (i, s) in specs.into_iter().enumerate() {
        let mut base = format!("{}_{i}", s.prefix);
        if let Some(unit) = s.unit.as_deref().filter(|u| !u.is_empty()) {
            base = format!("{base}_{unit}");
        }
        let suffix = match s.kind {
            // A counter named for its unit must keep `_total` after it.
            MetricType::Counter
                if s.suffixed || s.unit.as_deref().is_some_and(|u| !u.is_empty()) =>
            {
                "_total"
            }
            MetricType::Info if s.suffixed => "_info",
            _ => "",
        };
        let reserved = match s.kind {
            MetricType::Histogram => Some("le"),
            MetricType::Summary => Some("quantile"),
            MetricType::StateSet => Some(base.as_str()),
            _ => None,
        };
        let mut family = MetricFamily::new(format!("{base}{suffix}"), s.help, s.kind);
        family.unit = s.unit.clone();
        let mut seen = HashSet::new();
        for (raw_labels, value) in s.series {
            let mut labels: Vec<(String, String)> = Vec::new();
            for (name, value) in raw_labels {
                if Some(name.as_str()) != reserved && !labels.iter().any(|(n, _)| *n == name) {
                    labels.push((name, value));
                }
            }
            if seen.insert(series_identity(&labels)) {
                family.push(
                    labels.into_iter().map(|(n, v)| Label::new(n, v)).collect(),
                    value,
                );
            }
        }
        if !family.metrics.is_empty() {
            bases.push(base);
        }
        families.push(family);
    }
    (families, bases)
}

fn tricky_metric_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec![
            "a", "a_total", "a_info", "a_count", "a_sum", "a_bucket", "a_created", "b", "b:c",
            "x_seconds", "x_seconds_total", "_total", "_info", "__a", "wasm_exporter_up",
            "wasm_exporter_", "", "0a", "a-b", "é", "le", "quantile", "A", ":", "_",
        ])
        .prop_map(str::to_owned),
        2 => "[a-zA-Z_:][a-zA-Z0-9_:]{0,5}",
        1 => any::<String>(),
    ]
}

fn tricky_label_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec![
            "a", "b", "le", "quantile", "__name__", "", "0", "a:b", "_", "x", "é", "a_total",
        ])
        .prop_map(str::to_owned),
        2 => label_name(),
        1 => any::<String>(),
    ]
}

/// Any value, whatever the family's type.
fn any_value() -> impl Strategy<Value = Value> {
    let buckets = vec(
        (float(), any::<u64>()).prop_map(|(upper_bound, count)| Bucket { upper_bound, count }),
        0..5,
    );
    let quantiles = vec(
        (float(), float()).prop_map(|(quantile, value)| Quantile { quantile, value }),
        0..4,
    );
    let states = vec(
        (tricky_label_name(), any::<bool>()).prop_map(|(name, enabled)| State { name, enabled }),
        0..4,
    );
    prop_oneof![
        float().prop_map(Value::Counter),
        float().prop_map(Value::Gauge),
        float().prop_map(Value::Unknown),
        (buckets, float(), any::<u64>()).prop_map(|(buckets, sum, count)| Value::Histogram(
            Histogram {
                buckets,
                sum,
                count
            }
        )),
        (quantiles, float(), any::<u64>()).prop_map(|(quantiles, sum, count)| Value::Summary(
            Summary {
                quantiles,
                sum,
                count
            }
        )),
        Just(Value::Info),
        states.prop_map(Value::StateSet),
    ]
}

/// Any family at all: names, labels, units, values and shapes as they come.
fn any_family() -> impl Strategy<Value = MetricFamily> {
    let label = (tricky_label_name(), label_value()).prop_map(|(n, v)| Label::new(n, v));
    let value = prop_oneof![
        4 => kind().prop_flat_map(valid_value),
        3 => any_value(),
    ];
    let metric = (vec(label, 0..4), value)
        .prop_map(|(labels, value)| Metric { labels, value })
        .boxed();
    let metrics = prop_oneof![
        12 => vec(metric.clone(), 0..6),
        1 => (metric.clone(), 0..2000usize).prop_map(|(m, n)| vec![m; n]),
        1 => (metric, 0..3000usize).prop_map(|(m, n)| {
            (0..n)
                .map(|i| {
                    let mut m = m.clone();
                    m.labels.push(Label::new("i", i.to_string()));
                    m
                })
                .collect()
        }),
    ];
    let unit = prop_oneof![
        4 => Just(None),
        2 => select(vec!["", "seconds", "total", "info", "count", "a b", "bytes", "é"])
            .prop_map(|u| Some(u.to_owned())),
        1 => any::<String>().prop_map(Some),
    ];
    (tricky_metric_name(), help_text(), kind(), unit, metrics).prop_map(
        |(name, help, type_, unit, metrics)| MetricFamily {
            name,
            help,
            type_,
            unit,
            metrics,
        },
    )
}

fn tiny_limits() -> impl Strategy<Value = PluginLimits> {
    prop_oneof![
        Just(PluginLimits::default()),
        (0..40u64, 0..4000u64).prop_map(|(max_series, max_bytes)| PluginLimits {
            max_series,
            max_bytes,
            ..PluginLimits::default()
        }),
    ]
}

/// Checks what the validator accepted: within the limits, and it encodes
/// to well-formed output holding exactly its series.
fn accepted_is_well_formed(
    families: &[MetricFamily],
    limits: &PluginLimits,
    series: u64,
) -> Result<(), String> {
    if series > limits.max_series {
        return Err(format!(
            "{series} series accepted over {}",
            limits.max_series
        ));
    }
    round_trip(families)?;
    let text = String::from_utf8(encode(families, Format::Text.host())).expect("checked");
    let lines = text
        .split_terminator('\n')
        .filter(|l| !l.starts_with('#'))
        .count() as u64;
    if lines != series {
        return Err(format!(
            "validate counted {series} samples, {lines} written"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Configuration documents built from the schema's keys.

#[derive(Debug, Clone)]
enum Yaml {
    Scalar(String),
    Map(Vec<(String, Yaml)>),
    Seq(Vec<Yaml>),
}

impl Yaml {
    fn render(&self, flow: bool) -> String {
        let mut out = String::new();
        if flow {
            self.flow(&mut out);
            out.push('\n');
        } else {
            self.block(&mut out, 0);
        }
        out
    }

    fn flow(&self, out: &mut String) {
        match self {
            Yaml::Scalar(s) => out.push_str(s),
            Yaml::Map(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push_str(": ");
                    v.flow(out);
                }
                out.push('}');
            }
            Yaml::Seq(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.flow(out);
                }
                out.push(']');
            }
        }
    }

    fn block(&self, out: &mut String, indent: usize) {
        let pad = " ".repeat(indent);
        match self {
            Yaml::Scalar(s) => {
                out.push_str(&pad);
                out.push_str(s);
                out.push('\n');
            }
            Yaml::Map(entries) if entries.is_empty() => out.push_str(&format!("{pad}{{}}\n")),
            Yaml::Seq(items) if items.is_empty() => out.push_str(&format!("{pad}[]\n")),
            Yaml::Map(entries) => {
                for (k, v) in entries {
                    match v {
                        Yaml::Scalar(s) => out.push_str(&format!("{pad}{k}: {s}\n")),
                        Yaml::Map(e) if e.is_empty() => out.push_str(&format!("{pad}{k}: {{}}\n")),
                        Yaml::Seq(e) if e.is_empty() => out.push_str(&format!("{pad}{k}: []\n")),
                        _ => {
                            out.push_str(&format!("{pad}{k}:\n"));
                            v.block(out, indent + 2);
                        }
                    }
                }
            }
            Yaml::Seq(items) => {
                for item in items {
                    let mut inner = String::new();
                    item.block(&mut inner, indent + 2);
                    // `- ` takes the place of the item's first indentation.
                    out.push_str(&pad);
                    out.push_str("- ");
                    out.push_str(&inner[indent + 2..]);
                }
            }
        }
    }
}

fn scalar(pool: &'static [&'static str]) -> BoxedStrategy<Yaml> {
    prop_oneof![
        40 => select(pool).prop_map(|s| Yaml::Scalar(s.to_owned())),
        1 => select(YAML_ODDITIES).prop_map(|s| Yaml::Scalar(s.to_owned())),
        1 => any::<String>().prop_map(|s| Yaml::Scalar(yaml_quote(&s))),
        1 => "[a-z0-9 :'\"{}\\[\\],&*!#|>-]{0,8}".prop_map(Yaml::Scalar),
    ]
    .boxed()
}

/// `s` as a YAML double-quoted scalar.
fn yaml_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const YAML_ODDITIES: &[&str] = &[
    "~",
    "null",
    "true",
    "''",
    "\"\"",
    "&a 1",
    "*a",
    "*missing",
    "!!binary aGk=",
    "!custom x",
    "[1, 2]",
    "{a: b}",
    "|\n  multi",
    "\"\\0\"",
    "\"\\u00e9\"",
    "- x",
    "? x",
    "@",
    "%YAML",
    "1e400",
    ".nan",
    "-.inf",
    "0x1F",
    "0o17",
    "2001-12-14",
];

const DURATIONS: &[&str] = &[
    "5s",
    "800ms",
    "1.5m",
    "0s",
    "0ms",
    "5",
    "5h",
    "",
    "99999999999999999999999s",
    "18446744073709551616ms",
    "1e3s",
    ".s",
    "..5s",
    "-1s",
    "NaNs",
    "infs",
    "0.0000001ms",
    "0.5ms",
    "1.5.5s",
    "307445734561825860m",
    "999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999s",
];

/// Mostly numbers a `u64` field takes, 0 and over-the-ceiling included.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "1000",
    "1000000000",
    "67108864",
    "1073741824",
    "1073741825",
    "18446744073709551615",
    "0",
    "1",
    "1000",
    "1000000000",
    "67108864",
    "1073741824",
    "1073741825",
    "18446744073709551615",
    "-1",
    "18446744073709551616",
    "1.5",
    "0x10",
    "'5'",
];

const NAMES: &[&str] = &[
    "a", "bee", "bad name", "", "a/b", "é", "'q'", "x.y-z_1", ".",
];

const PATHS: &[&str] = &[
    "a.wasm",
    "sub/b.wasm",
    "",
    "../x.wasm",
    "/nonexistent/c.wasm",
    "sub/",
    ".wasm",
    "a",
    "\"a\\0b.wasm\"",
    "'é.wasm'",
];

const DIRS: &[&str] = &[".", "sub", "missing", "", "/nonexistent", "pw", "\"\\0\""];

const SECRET_FILES: &[&str] = &["pw", "missing", "sub", "", "/nonexistent/pw", "\"\\0\""];

const ENV_VARS: &[&str] = &[
    "PATH",
    "HOME",
    "WX_SURELY_UNSET_VAR",
    "''",
    "\"A=B\"",
    "\"\\0\"",
    "\"é\"",
];

const CONFIG_VALUES: &[&str] = &[
    "x",
    "1",
    "-5",
    "1.5",
    "true",
    "db:6379",
    "'quoted'",
    "\"a\\nb\"",
];

fn unknown_key() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "fule",
            "plugin",
            "Global",
            "x",
            "<<",
            "? a",
            "\"timeout\"",
            "'path'"
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,6}",
    ]
}

/// A map of some of `fields` in any order, now and then with a key
/// twice or an unknown key, or occasionally not a map at all.
fn map_of(fields: Vec<(&'static str, BoxedStrategy<Yaml>)>) -> BoxedStrategy<Yaml> {
    let chosen: Vec<BoxedStrategy<Option<(String, Yaml)>>> = fields
        .into_iter()
        .map(|(k, v)| prop::option::weighted(0.75, v.prop_map(move |v| (k.to_owned(), v))).boxed())
        .collect();
    let unknown = prop::option::weighted(0.05, (unknown_key(), scalar(NAMES)));
    let map = (
        chosen,
        unknown,
        prop::option::weighted(0.05, any::<prop::sample::Index>()),
    )
        .prop_flat_map(|(chosen, unknown, twice)| {
            let mut entries: Vec<(String, Yaml)> = chosen.into_iter().flatten().collect();
            if let Some(i) = twice
                && !entries.is_empty()
            {
                entries.push(entries[i.index(entries.len())].clone());
            }
            entries.extend(unknown);
            Just(entries).prop_shuffle()
        })
        .prop_map(Yaml::Map);
    prop_oneof![
        40 => map,
        1 => scalar(NAMES),
        1 => Just(Yaml::Seq(Vec::new())),
    ]
    .boxed()
}

fn limits_yaml() -> BoxedStrategy<Yaml> {
    map_of(vec![
        ("timeout", scalar(DURATIONS)),
        ("fuel", scalar(NUMBERS)),
        ("memory_bytes", scalar(NUMBERS)),
        ("max_series", scalar(NUMBERS)),
        ("max_bytes", scalar(NUMBERS)),
    ])
}

fn config_value_yaml() -> BoxedStrategy<Yaml> {
    prop_oneof![
        3 => scalar(CONFIG_VALUES),
        2 => map_of(vec![
            ("file", scalar(SECRET_FILES)),
            ("env", scalar(ENV_VARS)),
        ]),
    ]
    .boxed()
}

fn plugin_yaml() -> BoxedStrategy<Yaml> {
    let config = prop_oneof![
        4 => vec((select(vec!["address", "port", "password", "a", ""]), config_value_yaml()), 0..4)
            .prop_map(|kv| Yaml::Map(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        1 => scalar(CONFIG_VALUES),
    ];
    map_of(vec![
        ("name", scalar(NAMES)),
        ("path", scalar(PATHS)),
        ("limits", limits_yaml()),
        ("config", config.boxed()),
    ])
}

fn document() -> impl Strategy<Value = Yaml> {
    let plugins = prop_oneof![
        6 => vec(plugin_yaml(), 0..4).prop_map(Yaml::Seq),
        1 => scalar(NAMES),
        1 => plugin_yaml(),
    ];
    prop_oneof![
        12 => map_of(vec![
            ("global", limits_yaml()),
            ("plugins_dir", scalar(DIRS)),
            ("plugins", plugins.boxed()),
        ]),
        1 => vec(scalar(NAMES), 0..3).prop_map(Yaml::Seq),
    ]
}

/// Text made of YAML's punctuation and the schema's words.
fn yaml_soup() -> impl Strategy<Value = String> {
    let token = select(vec![
        "global:",
        "plugins:",
        "plugins_dir:",
        "- ",
        "path: ",
        "name: ",
        "limits:",
        "timeout: ",
        "fuel: ",
        "config:",
        "file: ",
        "env: ",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "&a ",
        "*a",
        "!!str ",
        "\n",
        "  ",
        "    ",
        "\t",
        "'",
        "\"",
        "#",
        "|",
        ">",
        "~",
        "null",
        "1e400",
        "5s",
        "x",
        "\u{feff}",
        "---\n",
        "...\n",
        "? ",
        "\\",
        "%TAG ! x\n",
        "<<: *a\n",
        "\0",
    ]);
    vec(token, 0..40).prop_map(|t| t.concat())
}

/// A directory the resolver may look into: a secret file, a plugin file and
/// a subdirectory.
fn config_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = TempDir::new("config_props");
        let path = dir.path().to_owned();
        std::fs::create_dir_all(path.join("sub")).unwrap();
        std::fs::write(path.join("pw"), "secret\n").unwrap();
        std::fs::write(path.join("sub/b.wasm"), b"\0asm").unwrap();
        std::fs::write(path.join("a.wasm"), b"not wasm").unwrap();
        // Kept for the whole test run (removed with the system's temp files).
        std::mem::forget(dir);
        path
    })
}

fn check_config(text: &str) -> Result<(), TestCaseError> {
    let dir = config_dir();
    let path = dir.join("config.yml");
    let prefix = path.display().to_string();
    let starts_with_path = |e: &ConfigError| {
        prop_assert!(
            e.to_string().starts_with(&prefix),
            "error does not start with the file: {e}"
        );
        Ok(())
    };
    match config::parse(text, &path) {
        Err(e) => starts_with_path(&e)?,
        Ok(file) => {
            match config::resolve(&file, &path, dir, Some(text), &PluginLimits::default()) {
                Err(e) => starts_with_path(&e)?,
                Ok(resolved) => {
                    for (name, spec) in &resolved.plugins {
                        prop_assert!(config::is_plugin_name(name));
                        prop_assert!(spec.limits.fuel > 0);
                    }
                }
            }
            // Without the text (no line numbers) the verdict is the same.
            let again = config::resolve(&file, &path, dir, None, &PluginLimits::default());
            if let Err(e) = again {
                starts_with_path(&e)?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Several plugins' outcomes for the merge.

/// A valid-looking family from a small pool of names, helps, labels and
/// values, so that plugins often return the same family or series.
fn shared_family() -> impl Strategy<Value = MetricFamily> {
    let name = select(vec![
        "m",
        "n",
        "m_count",
        "m_total",
        "n_info",
        "s",
        "m_bucket",
        "up",
        "process_open_fds",
        "process_cpu_seconds",
        "process_cpu_seconds_total",
    ]);
    let label =
        (select(vec!["a", "b"]), select(vec!["1", "2", ""])).prop_map(|(n, v)| Label::new(n, v));
    (kind(), name, select(vec!["h", "H"]), any::<bool>()).prop_flat_map(
        move |(kind, name, help, unit)| {
            let metric = (vec(label.clone(), 0..3), valid_value(kind))
                .prop_map(|(labels, value)| Metric { labels, value });
            vec(metric, 0..4).prop_map(move |metrics| {
                let mut f = MetricFamily::new(name, help, kind);
                if unit && name == "m_count" && kind == MetricType::Gauge {
                    f.unit = Some("count".into());
                }
                f.metrics = metrics;
                f
            })
        },
    )
}

/// The host's own families in the merge property, as `process` and
/// `health` add theirs after the merge.
fn host_families() -> Vec<MetricFamily> {
    let mut up = MetricFamily::new("up", "Up.", MetricType::Gauge);
    up.push(Vec::new(), Value::Gauge(1.0));
    let mut fds = MetricFamily::new("process_open_fds", "Fds.", MetricType::Gauge);
    fds.push(Vec::new(), Value::Gauge(7.0));
    let mut cpu = MetricFamily::new("process_cpu_seconds", "CPU.", MetricType::Counter);
    cpu.push(Vec::new(), Value::Counter(0.5));
    vec![up, fds, cpu]
}

/// The sample names the host writes, as `scrape` hands them to the merge.
const HOST_SAMPLES: [&str; 3] = ["up", "process_open_fds", "process_cpu_seconds_total"];

fn outcomes() -> impl Strategy<Value = Vec<Outcome>> {
    let plugin = prop_oneof![
        6 => vec(shared_family(), 0..4),
        1 => vec(any_family(), 0..3),
    ];
    vec(plugin, 0..6).prop_map(|plugins| {
        plugins
            .into_iter()
            .enumerate()
            .map(|(i, mut families)| {
                let result = match validate(&mut families, &PluginLimits::default()) {
                    Ok(_) => Ok(families),
                    Err((failure, _)) => Err(failure),
                };
                Outcome {
                    plugin: format!("p{i}"),
                    result,
                    duration: Duration::ZERO,
                    fuel_consumed: 0,
                    memory_peak_bytes: 0,
                    series: 0,
                }
            })
            .collect()
    })
}

fn check_merge(mut outcomes: Vec<Outcome>) -> Result<(), TestCaseError> {
    let before: Vec<Option<usize>> = outcomes
        .iter()
        .map(|o| {
            o.result
                .as_ref()
                .ok()
                .map(|f| f.iter().map(|f| f.metrics.len()).sum())
        })
        .collect();
    let merged = merge(&mut outcomes, &HOST_SAMPLES);

    for pair in merged.windows(2) {
        prop_assert!(
            pair[0].name < pair[1].name,
            "not sorted or repeated: {}",
            pair[1].name
        );
    }
    let mut samples: HashSet<String> = HOST_SAMPLES.iter().map(|s| s.to_string()).collect();
    for family in &merged {
        let mut series = HashSet::new();
        for m in &family.metrics {
            prop_assert_eq!(m.value.metric_type(), family.type_);
            let labels: Vec<(String, String)> = m
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            prop_assert!(
                series.insert(series_identity(&labels)),
                "duplicate series {}{:?}",
                family.name,
                labels
            );
        }
        for name in sample_names(family) {
            prop_assert!(
                samples.insert(name.clone()),
                "sample name {} written twice",
                name
            );
        }
    }
    let mut served = 0;
    for (o, before) in outcomes.iter().zip(before) {
        match (&o.result, before) {
            (Ok(families), Some(n)) => {
                prop_assert!(families.is_empty(), "families are moved out");
                served += n;
            }
            (Err(Failure { reason, .. }), Some(_)) => {
                prop_assert_eq!(*reason, FailureReason::Conflict)
            }
            (Err(_), None) => {}
            (Ok(_), None) => prop_assert!(false, "a failed outcome became Ok"),
        }
    }
    let total: usize = merged.iter().map(|f| f.metrics.len()).sum();
    prop_assert_eq!(total, served, "every served series is merged, once");
    // With the host's families beside them, as a scrape serves them.
    let mut page = merged;
    page.extend(host_families());
    page.sort_by(|a, b| a.name.cmp(&b.name));
    round_trip(&page).map_err(TestCaseError::fail)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The properties.

proptest! {
    #![proptest_config(cases(2000))]

    /// Valid families of every type come back from both formats exactly:
    /// names with their suffixes, labels, values bit for bit, in order.
    #[test]
    fn encoder_round_trips_valid_families(specs in vec(spec(), 0..6)) {
        let (mut families, bases) = build(specs);
        let stats = validate(&mut families, &PluginLimits::default());
        prop_assert!(stats.is_ok(), "valid families were refused: {:?}", stats.err());
        let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
        prop_assert_eq!(names, bases.iter().map(String::as_str).collect::<Vec<_>>());
        accepted_is_well_formed(&families, &PluginLimits::default(), stats.unwrap().series)
            .map_err(TestCaseError::fail)?;
    }

    /// The validator returns on anything; what it accepts is well-formed.
    #[test]
    fn validator_never_panics_and_accepts_only_well_formed(
        families in vec(any_family(), 0..5),
        limits in tiny_limits(),
    ) {
        let mut accepted = families.clone();
        if let Ok(stats) = validate(&mut accepted, &limits) {
            accepted_is_well_formed(&accepted, &limits, stats.series)
                .map_err(TestCaseError::fail)?;
        }
        let mut again = families;
        if let Ok(stats) = validate(&mut again, &PluginLimits::default()) {
            accepted_is_well_formed(&again, &PluginLimits::default(), stats.series)
                .map_err(TestCaseError::fail)?;
        }
    }

    /// Any text, and documents built from the schema, parse and resolve to
    /// a configuration or an error that names the file; never a panic.
    #[test]
    fn config_parser_never_panics_on_text(text in prop_oneof![any::<String>(), yaml_soup()]) {
        check_config(&text)?;
    }

    #[test]
    fn config_parser_never_panics_on_documents(doc in document(), flow in any::<bool>()) {
        check_config(&doc.render(flow))?;
    }

    /// The merge sorts, never serves a series or sample name twice, and
    /// fails only by conflict.
    #[test]
    fn merge_never_panics_and_never_duplicates(outcomes in outcomes()) {
        check_merge(outcomes)?;
    }
}

#[test]
fn the_documents_are_yaml_of_the_schema() {
    let doc = Yaml::Map(vec![
        (
            "global".into(),
            Yaml::Map(vec![("timeout".into(), Yaml::Scalar("2s".into()))]),
        ),
        (
            "plugins".into(),
            Yaml::Seq(vec![Yaml::Map(vec![
                ("path".into(), Yaml::Scalar("a.wasm".into())),
                (
                    "limits".into(),
                    Yaml::Map(vec![("fuel".into(), Yaml::Scalar("5".into()))]),
                ),
            ])]),
        ),
    ]);
    for flow in [false, true] {
        let text = doc.render(flow);
        let file =
            config::parse(&text, Path::new("c.yml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(file.plugins[0].limits.fuel, Some(5), "{text}");
        assert_eq!(file.global.timeout.as_deref(), Some("2s"));
    }
}
