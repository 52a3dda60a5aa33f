//! Reading and comparing expositions of the real plugins and of the
//! exporters they replace; the systems themselves are started by
//! `tests/support/daemons.rs`.

use std::collections::BTreeMap;
use std::net::TcpStream;

pub use crate::common::daemons::*;

/// One family of a text-format exposition: its type and its samples,
/// keyed by sample name and label set (labels sorted).
#[derive(Debug, Default, Clone)]
pub struct Family {
    pub type_: String,
    pub help: String,
    pub samples: BTreeMap<(String, Vec<(String, String)>), f64>,
}

/// A text-format (0.0.4) exposition, by family name.
#[derive(Debug, Default, Clone)]
pub struct Families(pub BTreeMap<String, Family>);

impl Families {
    /// Parses the text format as Prometheus's exporters write it (no
    /// timestamps, no escaped quotes in the label values compared).
    pub fn parse(text: &str) -> Families {
        let mut families: BTreeMap<String, Family> = BTreeMap::new();
        let mut current = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, type_) = rest.split_once(' ').unwrap();
                families.entry(name.to_owned()).or_default().type_ = type_.to_owned();
                current = name.to_owned();
            } else if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
                families.entry(name.to_owned()).or_default().help = help.to_owned();
                current = name.to_owned();
            } else if !line.starts_with('#') && !line.is_empty() {
                let (name, labels, value) = parse_sample(line);
                // A histogram's or summary's samples belong to the family
                // named in the TYPE line before them.
                let family = if name == current
                    || name
                        .strip_prefix(current.as_str())
                        .is_some_and(|suffix| ["_bucket", "_sum", "_count"].contains(&suffix))
                {
                    current.clone()
                } else {
                    name.clone()
                };
                families
                    .entry(family)
                    .or_default()
                    .samples
                    .insert((name, labels), value);
            }
        }
        Families(families)
    }

    /// Scrapes `url` and parses it.
    pub fn scrape(url: &str) -> Families {
        let response = crate::common::get(url, &[]);
        assert_eq!(response.status, 200, "GET {url}: {}", response.body);
        Families::parse(&response.body)
    }

    /// The value of the sample `name` with exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        labels.sort();
        self.0
            .values()
            .find_map(|f| f.samples.get(&(name.to_owned(), labels.clone())))
            .copied()
    }

    /// The families whose name starts with `prefix`.
    pub fn with_prefix(&self, prefix: &str) -> Families {
        Families(
            self.0
                .iter()
                .filter(|(name, _)| name.starts_with(prefix))
                .map(|(n, f)| (n.clone(), f.clone()))
                .collect(),
        )
    }
}

/// `name{labels} value` → name, sorted labels, value.
fn parse_sample(line: &str) -> (String, Vec<(String, String)>, f64) {
    let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
    let value = match value {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}")),
    };
    let Some((name, rest)) = series.split_once('{') else {
        return (series.to_owned(), Vec::new(), value);
    };
    let body = rest.strip_suffix('}').expect("labels end with }");
    let mut labels = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").expect("label=\"value\"");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => break,
                },
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.push((key.trim_start_matches(',').to_owned(), value));
        rest = after[end..].trim_start_matches(',');
    }
    labels.sort();
    (name.to_owned(), labels, value)
}

/// One difference between a plugin's families and an exporter's.
pub type Mismatch = String;

/// Compares every family both expositions have: the same type, and for
/// every sample both have (same name and labels), values equal within
/// `tolerance(name)` (relative, for values that move between the two
/// scrapes). Also fails when a family `ours` has is missing from `theirs`
/// altogether, unless listed in `only_ours`. Returns the families compared.
pub fn compare(
    ours: &Families,
    theirs: &Families,
    only_ours: &[&str],
    tolerance: impl Fn(&str) -> f64,
) -> Result<Vec<String>, Vec<Mismatch>> {
    let mut mismatches = Vec::new();
    let mut compared = Vec::new();
    for (name, family) in &ours.0 {
        let Some(other) = theirs.0.get(name) else {
            if !only_ours.contains(&name.as_str()) {
                mismatches.push(format!("{name}: not exposed by the exporter"));
            }
            continue;
        };
        if family.type_ != other.type_ {
            mismatches.push(format!("{name}: type {} vs {}", family.type_, other.type_));
        }
        let mut shared = 0;
        for (key, value) in &family.samples {
            let Some(their) = other.samples.get(key) else {
                continue;
            };
            shared += 1;
            let tol = tolerance(&key.0);
            let close = if value.is_nan() || their.is_nan() {
                value.is_nan() && their.is_nan()
            } else {
                (value - their).abs() <= tol * value.abs().max(their.abs()) || value == their
            };
            if !close {
                mismatches.push(format!(
                    "{}{:?}: {value} vs the exporter's {their}",
                    key.0, key.1
                ));
            }
        }
        if shared == 0 {
            mismatches.push(format!(
                "{name}: no series in common; ours {:?}, theirs {:?}",
                family.samples.keys().collect::<Vec<_>>(),
                other.samples.keys().collect::<Vec<_>>()
            ));
        }
        compared.push(name.clone());
    }
    if mismatches.is_empty() {
        Ok(compared)
    } else {
        Err(mismatches)
    }
}

#[test]
fn samples_and_families_parse() {
    let f = Families::parse(
        "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\",b=\"q\\\"\"} 3\n\
         # TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1.5\nh_count 2\nloose 1\n",
    );
    assert_eq!(f.0["a_total"].type_, "counter");
    assert_eq!(f.value("a_total", &[("x", "1"), ("b", "q\"")]), Some(3.0));
    assert_eq!(f.0["h"].samples.len(), 3);
    assert_eq!(f.value("loose", &[]), Some(1.0));
}

/// The helpers start what they say: Redis answers INFO, nginx serves its
/// stub_status, and both are gone once dropped.
#[test]
fn redis_and_nginx_start_on_loopback_and_stop() {
    let redis = redis();
    assert_eq!(redis_info(&redis)["tcp_port"], redis.port.to_string());
    let nginx = nginx();
    let status = crate::common::get(&nginx.url("/stub_status"), &[]);
    assert!(
        status.body.starts_with("Active connections:"),
        "{}",
        status.body
    );
    let (redis_port, nginx_port) = (redis.port, nginx.port);
    drop((redis, nginx));
    assert!(TcpStream::connect(("127.0.0.1", redis_port)).is_err());
    assert!(TcpStream::connect(("127.0.0.1", nginx_port)).is_err());
}
