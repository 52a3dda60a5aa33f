//! The host against the fuzz plugin (`tests/plugins/fuzz_output`): for each
//! seed, `/probe?target=<seed>&collect[]=fuzz_output` must answer 200 with
//! well-formed output, and exactly what the seed's plan predicts: the
//! plugin's families as the validator and merge leave them (checked here
//! with the library's own `validate` and `merge`), or the plugin down with
//! the plan's reason. `demo_queue` keeps serving on `/metrics` and the host
//! stays alive throughout.
//!
//! `WASM_EXPORTER_FUZZ_SEEDS` sets how many seeds run (300 by default, a
//! few seconds) and `WASM_EXPORTER_FUZZ_FIRST_SEED` the first one (0).

use std::collections::BTreeMap;
use std::time::Instant;

use wasm_exporter::runtime::limits::PluginLimits;
use wasm_exporter::runtime::outcome::Failure;
use wasm_exporter_exposition::merge::Merge;
use wasm_exporter_exposition::model::{
    Bucket, Histogram, Label, MetricFamily, MetricType, Quantile, State, Summary, Value,
};
use wasm_exporter_exposition::validate::validate;

use crate::common::{Host, TempDir, example_plugin, test_plugin};
use crate::expfmt::{self, Format, compare, expected};

#[allow(dead_code)]
#[path = "../plugins/fuzz_output/src/plan.rs"]
mod plan;

use plan::{Fam, Kind, Plan, Val};

const PLUGIN: &str = "fuzz_output";

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn family(fam: &Fam) -> MetricFamily {
    let type_ = match fam.kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge => MetricType::Gauge,
        Kind::Histogram => MetricType::Histogram,
        Kind::Summary => MetricType::Summary,
        Kind::Info => MetricType::Info,
        Kind::StateSet => MetricType::StateSet,
        Kind::Unknown => MetricType::Unknown,
    };
    let mut f = MetricFamily::new(fam.name.clone(), fam.help.clone(), type_);
    f.unit = fam.unit.clone();
    for (labels, value) in &fam.series {
        let value = match value {
            Val::Counter(v) => Value::Counter(*v),
            Val::Gauge(v) => Value::Gauge(*v),
            Val::Unknown(v) => Value::Unknown(*v),
            Val::Histogram(buckets, sum, count) => Value::Histogram(Histogram {
                buckets: buckets
                    .iter()
                    .map(|&(upper_bound, count)| Bucket { upper_bound, count })
                    .collect(),
                sum: *sum,
                count: *count,
            }),
            Val::Summary(quantiles, sum, count) => Value::Summary(Summary {
                quantiles: quantiles
                    .iter()
                    .map(|&(quantile, value)| Quantile { quantile, value })
                    .collect(),
                sum: *sum,
                count: *count,
            }),
            Val::Info => Value::Info,
            Val::StateSet(states) => Value::StateSet(
                states
                    .iter()
                    .map(|(name, enabled)| State {
                        name: name.clone(),
                        enabled: *enabled,
                    })
                    .collect(),
            ),
        };
        f.push(
            labels.iter().map(|(n, v)| Label::new(n, v)).collect(),
            value,
        );
    }
    f
}

/// What the host must answer for one seed.
#[derive(Debug)]
enum Prediction {
    /// Up, serving exactly these families (sorted, as the merge leaves them).
    Up(Vec<MetricFamily>),
    /// Down, with one of these reasons.
    Down(&'static [&'static str]),
}

fn predict(plan: &Plan) -> Prediction {
    let families = match plan {
        Plan::Families { families, .. } | Plan::Log { families, .. } => families,
        Plan::Error(_) => return Prediction::Down(&["error"]),
        Plan::Panic(_) | Plan::Recurse => return Prediction::Down(&["trap"]),
        Plan::Loop => return Prediction::Down(&["fuel"]),
        Plan::Allocate(_) => return Prediction::Down(&["memory"]),
        Plan::Sleep(_) => return Prediction::Down(&["timeout"]),
    };
    let mut families: Vec<MetricFamily> = families.iter().map(family).collect();
    let result = validate(&mut families, &PluginLimits::default().output());
    if let Plan::Families {
        defect: Some(defect),
        ..
    } = plan
    {
        assert!(result.is_err(), "the validator accepted {defect}");
    }
    match result {
        Err(rejection) => Prediction::Down(match Failure::from(rejection).reason.as_str() {
            "invalid_output" => &["invalid_output"],
            "too_large" => &["too_large"],
            other => panic!("validate failed with {other}"),
        }),
        Ok(_) => {
            // The reference path: owned families, merged as the scrape
            // merges the blocks it read in place.
            let mut merge = Merge::new(&wasm_exporter::process::SAMPLE_NAMES);
            match merge.add(PLUGIN, families) {
                Ok(()) => Prediction::Up(merge.finish()),
                Err(_) => Prediction::Down(&["conflict"]),
            }
        }
    }
}

/// A plan in a few words, for failure messages.
fn describe(plan: &Plan) -> String {
    let sizes = |families: &[Fam]| {
        families
            .iter()
            .map(|f| format!("{:?} {:?} x{}", f.kind, f.name, f.series.len()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match plan {
        Plan::Families { families, defect } => {
            format!("families [{}], defect {defect:?}", sizes(families))
        }
        Plan::Log { records, families } => {
            format!("{records} log records, families [{}]", sizes(families))
        }
        Plan::Error(m) => format!("error of {} bytes", m.len()),
        Plan::Panic(m) => format!("panic of {} bytes", m.len()),
        other => format!("{other:?}"),
    }
}

/// One sample's value from parsed families, by sample name and labels.
fn value_of(families: &[expfmt::Family], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    families
        .iter()
        .flat_map(|f| &f.samples)
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels.iter().all(|(k, v)| s.label(k) == Some(*v))
        })
        .map(|s| s.value)
}

fn failures(families: &[expfmt::Family]) -> BTreeMap<String, f64> {
    families
        .iter()
        .flat_map(|f| &f.samples)
        .filter(|s| {
            s.name == "wasm_exporter_plugin_failures_total" && s.label("plugin") == Some(PLUGIN)
        })
        .map(|s| (s.label("reason").unwrap_or("").to_owned(), s.value))
        .collect()
}

/// Scrape-timeout headers that all mean "no shorter limit" (too large,
/// not a number, not positive).
const TIMEOUT_HEADERS: [&str; 8] = ["1e300", "abc", "-1", "NaN", "inf", "0", "30", "1e19"];

#[test]
fn the_host_survives_the_fuzz_plugin_and_answers_as_predicted() {
    let seeds = env_u64("WASM_EXPORTER_FUZZ_SEEDS", 300);
    let first = env_u64("WASM_EXPORTER_FUZZ_FIRST_SEED", 0);
    let dir = TempDir::new("fuzz");
    dir.add(PLUGIN, &test_plugin(PLUGIN));
    dir.add("demo_queue", &example_plugin("demo_queue"));
    // A deadline far beyond what any plan but `Sleep` needs, so that
    // running out of fuel (a spin) or not (the largest outputs) never
    // hangs on the machine's speed: 1e9 fuel is ~0.1 s of guest work.
    let host = Host::start(dir, &["--plugin.timeout", "60s"]);
    let started = Instant::now();
    let mut previous: BTreeMap<String, f64> = BTreeMap::new();
    let mut tally: BTreeMap<String, u64> = BTreeMap::new();

    for seed in first..first + seeds {
        let plan = plan::for_seed(seed);
        let prediction = predict(&plan);
        let format = if seed % 2 == 0 {
            Format::Text
        } else {
            Format::OpenMetrics
        };
        let mut path = format!("/probe?target={seed}&collect[]={PLUGIN}");
        // A sleeping plugin gets a short deadline, as from a scraper with a
        // 0.8 s timeout (less the 0.5 s offset).
        let timeout = match plan {
            Plan::Sleep(_) => "0.8",
            _ => TIMEOUT_HEADERS[seed as usize % TIMEOUT_HEADERS.len()],
        };
        let mut headers = vec![("X-Prometheus-Scrape-Timeout-Seconds", timeout)];
        match (seed / 2) % 3 {
            0 if format == Format::OpenMetrics => {
                headers.push(("Accept", "application/openmetrics-text; version=1.0.0"))
            }
            0 => {}
            1 => path.push_str(if format == Format::Text {
                "&format=text"
            } else {
                "&format=openmetrics"
            }),
            _ => headers.push((
                "Accept",
                if format == Format::Text {
                    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
                } else {
                    "application/openmetrics-text;q=0.9,text/plain;q=0.5"
                },
            )),
        }
        let r = host.get_with(&path, &headers);
        let context = || format!("seed {seed} ({}): GET {path} {headers:?}", describe(&plan));
        assert_eq!(r.status, 200, "{}: {}", context(), r.body);
        let page = expfmt::parse(&r.body, format)
            .unwrap_or_else(|e| panic!("{}: malformed output: {e}\n{}", context(), r.body));
        let up = value_of(&page, "wasm_exporter_plugin_up", &[("plugin", PLUGIN)]);
        let now = failures(&page);
        let increased: Vec<&str> = now
            .iter()
            .filter(|(reason, n)| **n > previous.get(*reason).copied().unwrap_or(0.0))
            .map(|(reason, _)| reason.as_str())
            .collect();
        // The host's own: health series, and the probe's success and
        // duration.
        let served: Vec<expfmt::Family> = page
            .iter()
            .filter(|f| {
                !f.name.starts_with("wasm_exporter_")
                    && f.name != "probe_success"
                    && f.name != "probe_duration_seconds"
            })
            .cloned()
            .collect();
        assert_eq!(
            value_of(&page, "probe_success", &[]),
            up,
            "{}: probe_success follows up",
            context()
        );
        match (&prediction, up) {
            (Prediction::Up(families), Some(1.0)) => {
                assert!(
                    increased.is_empty(),
                    "{}: failures {increased:?}",
                    context()
                );
                compare(&expected(families, format), &served)
                    .unwrap_or_else(|e| panic!("{}: {e}\n{}", context(), r.body));
                *tally.entry("up".into()).or_default() += 1;
            }
            (Prediction::Down(reasons), Some(0.0)) => {
                let ok = increased.len() == 1 && reasons.contains(&increased[0]);
                assert!(
                    ok,
                    "{}: expected one failure of {reasons:?}, got {increased:?}",
                    context()
                );
                assert!(served.is_empty(), "{}: down but serving", context());
                *tally.entry(increased[0].to_owned()).or_default() += 1;
            }
            _ => panic!(
                "{}: predicted {}, got up={up:?}, failures {increased:?}\n{:.3000}",
                context(),
                match &prediction {
                    Prediction::Up(f) => format!("up with {} families", f.len()),
                    Prediction::Down(r) => format!("down with {r:?}"),
                },
                r.body
            ),
        }
        previous = now;

        if seed % 25 == 0 {
            let metrics = host.get_ok("/metrics?format=openmetrics");
            let page = expfmt::parse(&metrics, Format::OpenMetrics)
                .unwrap_or_else(|e| panic!("/metrics after seed {seed}: {e}\n{metrics}"));
            for plugin in ["demo_queue", PLUGIN] {
                assert_eq!(
                    value_of(&page, "wasm_exporter_plugin_up", &[("plugin", plugin)]),
                    Some(1.0),
                    "{plugin} after seed {seed}"
                );
            }
            assert!(
                page.iter().any(|f| f.name == "demo_queue_depth"),
                "demo_queue serves after seed {seed}"
            );
        }
    }

    assert_eq!(host.get_ok("/-/healthy"), "Healthy\n");
    assert!(
        std::path::Path::new(&format!("/proc/{}", host.pid())).exists(),
        "the host is still running"
    );
    let panics: Vec<String> = host
        .log()
        .into_iter()
        .filter(|l| l.starts_with("thread '"))
        .collect();
    assert!(panics.is_empty(), "the host panicked: {panics:?}");
    eprintln!(
        "{seeds} seeds from {first} in {:.1?}: {tally:?}",
        started.elapsed()
    );
}
