//! Property tests of the exposition core: the encoders round-trip every
//! valid family through a strict parser, and the validator and the merge
//! never panic on anything, whatever they are given. Each property runs a
//! bounded number of cases (a few seconds in all); `PROPTEST_CASES=100000`
//! runs them longer.

use std::collections::HashSet;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use wasm_exporter_exposition::encode::encode;
use wasm_exporter_exposition::merge::Merge;
use wasm_exporter_exposition::model::{
    Bucket, Histogram, Label, Metric, MetricFamily, MetricType, Quantile, State, Summary, Value,
};
use wasm_exporter_exposition::validate::{OutputLimits, Rejection, sample_names, validate};

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

fn tiny_limits() -> impl Strategy<Value = OutputLimits> {
    prop_oneof![
        Just(OutputLimits::default()),
        (0..40u64, 0..4000u64, 0..5u64, 0..5u64, 0..5u64, 0..5u64).prop_map(
            |(max_series, max_bytes, labels, buckets, quantiles, states)| OutputLimits {
                max_series,
                max_bytes,
                max_labels_per_series: labels,
                max_buckets: buckets,
                max_quantiles: quantiles,
                max_states: states,
                reserved_label: None,
            }
        ),
    ]
}

/// Checks what the validator accepted: within the limits, and it encodes
/// to well-formed output holding exactly its series.
fn accepted_is_well_formed(
    families: &[MetricFamily],
    limits: &OutputLimits,
    series: u64,
) -> Result<(), String> {
    if series > limits.max_series {
        return Err(format!(
            "{series} series accepted over {}",
            limits.max_series
        ));
    }
    for m in families.iter().flat_map(|f| &f.metrics) {
        let (entries, cap) = match &m.value {
            Value::Histogram(h) => (h.buckets.len(), limits.max_buckets),
            Value::Summary(s) => (s.quantiles.len(), limits.max_quantiles),
            Value::StateSet(s) => (s.len(), limits.max_states),
            _ => (0, 0),
        };
        if m.labels.len() as u64 > limits.max_labels_per_series || entries as u64 > cap {
            return Err(format!(
                "a series over a per-series cap was accepted: {m:?}"
            ));
        }
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
// Several plugins' validated output for the merge.

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

/// One plugin's output after validation.
#[derive(Debug)]
struct Source {
    plugin: String,
    families: Result<Vec<MetricFamily>, Rejection>,
}

fn sources() -> impl Strategy<Value = Vec<Source>> {
    let plugin = prop_oneof![
        6 => vec(shared_family(), 0..4),
        1 => vec(any_family(), 0..3),
    ];
    vec(plugin, 0..6).prop_map(|plugins| {
        plugins
            .into_iter()
            .enumerate()
            .map(|(i, mut families)| Source {
                plugin: format!("p{i}"),
                families: validate(&mut families, &OutputLimits::default()).map(|_| families),
            })
            .collect()
    })
}

fn check_merge(sources: Vec<Source>) -> Result<(), TestCaseError> {
    let mut merge = Merge::new(&HOST_SAMPLES);
    let mut served = 0;
    for source in sources {
        let Ok(families) = source.families else {
            continue;
        };
        let n: usize = families.iter().map(|f| f.metrics.len()).sum();
        // A refused source is refused whole; nothing of it is merged.
        if merge.add(&source.plugin, families).is_ok() {
            served += n;
        }
    }
    let merged = merge.finish();

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
        let stats = validate(&mut families, &OutputLimits::default());
        prop_assert!(stats.is_ok(), "valid families were refused: {:?}", stats.err());
        let names: Vec<&str> = families.iter().map(|f| f.base_name()).collect();
        prop_assert_eq!(names, bases.iter().map(String::as_str).collect::<Vec<_>>());
        accepted_is_well_formed(&families, &OutputLimits::default(), stats.unwrap().series)
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
        if let Ok(stats) = validate(&mut again, &OutputLimits::default()) {
            accepted_is_well_formed(&again, &OutputLimits::default(), stats.series)
                .map_err(TestCaseError::fail)?;
        }
    }

    /// The merge sorts, never serves a series or sample name twice, and
    /// fails only by conflict.
    #[test]
    fn merge_never_panics_and_never_duplicates(sources in sources()) {
        check_merge(sources)?;
    }
}
