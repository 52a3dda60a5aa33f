//! Any JSON API to metrics, configured the way json_exporter is: each
//! metric names a path into the document, its labels (fixed, or paths) and,
//! for a list of objects, the values of each object. See README.md.
//!
//! The document comes from the `url` setting, or from the target of a
//! `/probe?plugin=...&target=URL` request (json_exporter's multi-target
//! use); either way the URL must be granted (`grants.http`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use wasm_exporter_sdk::json::{self, Value};
use wasm_exporter_sdk::{
    Collector, Family, Level, Request, config_get, export_collector, http, log,
};

/// The most of a response read unless `max_body_bytes` says otherwise.
const DEFAULT_MAX_BODY_BYTES: u64 = 4 << 20;
/// Kept back from the host's deadline so a slow API is reported by this
/// plugin, with the URL, rather than cut off by the host.
const DEADLINE_MARGIN: Duration = Duration::from_millis(200);

/// One metric of the `metrics` setting.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricSpec {
    name: String,
    #[serde(default)]
    help: Option<String>,
    path: String,
    /// `value` (default): the path selects the value(s); `object`: it
    /// selects objects, whose `values` become series.
    #[serde(default, rename = "type")]
    kind: Kind,
    /// `untyped` (default, as json_exporter), `gauge` or `counter`.
    #[serde(default)]
    valuetype: ValueType,
    /// Label name to a fixed value, or to a path (`{.id}` or `$.id`),
    /// relative to each object for `type: object`, to the document
    /// otherwise.
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// For `type: object`: metric name suffix to a path in each object or
    /// a fixed number; each becomes `<name>_<suffix>`.
    #[serde(default)]
    values: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Kind {
    #[default]
    Value,
    Object,
}

#[derive(Debug, Default, Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum ValueType {
    #[default]
    Untyped,
    Gauge,
    Counter,
}

/// A path as written: `{.a.b}` (json_exporter), `$.a.b`, or `.a.b`, else
/// `None` (a fixed value).
fn as_path(text: &str) -> Option<&str> {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        return Some(inner.trim());
    }
    (t.starts_with('$') || t.starts_with('.')).then_some(t)
}

fn setting(key: &str) -> Option<String> {
    config_get(key).filter(|v| !v.trim().is_empty())
}

/// The families of `specs` over `doc`, by name, in the order first named.
fn extract(doc: &Value, specs: &[MetricSpec]) -> Result<Vec<Family>, String> {
    let mut families: Vec<Family> = Vec::new();
    let mut skipped = 0usize;
    for spec in specs {
        let path = as_path(&spec.path).unwrap_or(spec.path.as_str());
        let selected = json::select(doc, path).map_err(|e| format!("metric {}: {e}", spec.name))?;
        let mut add = |name: String, labels: Vec<(String, String)>, value: Option<f64>| {
            let Some(value) = value else {
                skipped += 1;
                return Ok(());
            };
            let help = spec.help.clone().unwrap_or_else(|| name.clone());
            let index = match families.iter().position(|f| f.name() == name) {
                Some(i) => i,
                None => {
                    families.push(match spec.valuetype {
                        ValueType::Untyped => Family::unknown(&name, help),
                        ValueType::Gauge => Family::gauge(&name, help),
                        ValueType::Counter => Family::counter(&name, help),
                    });
                    families.len() - 1
                }
            };
            let pairs: Vec<(&str, &str)> = labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let family = std::mem::replace(&mut families[index], Family::gauge("x", ""));
            families[index] = family.with(&pairs, value);
            Ok::<(), String>(())
        };
        match spec.kind {
            Kind::Value => {
                if selected.len() > 1 {
                    return Err(format!(
                        "metric {}: path {path:?} selects {} values; use type: object for a list",
                        spec.name,
                        selected.len()
                    ));
                }
                let labels = labels(&spec.labels, doc, &spec.name)?;
                for value in selected {
                    add(spec.name.clone(), labels.clone(), json::number(value))?;
                }
            }
            Kind::Object => {
                if spec.values.is_empty() {
                    return Err(format!(
                        "metric {}: type object needs values (suffix: path)",
                        spec.name
                    ));
                }
                for object in selected {
                    let labels = labels(&spec.labels, object, &spec.name)?;
                    for (suffix, value) in &spec.values {
                        let number = match value {
                            Value::String(text) => match as_path(text) {
                                Some(p) => json::select(object, p)
                                    .map_err(|e| format!("metric {}: {e}", spec.name))?
                                    .first()
                                    .and_then(|v| json::number(v)),
                                None => text.trim().parse().ok(),
                            },
                            other => json::number(other),
                        };
                        add(format!("{}_{suffix}", spec.name), labels.clone(), number)?;
                    }
                }
            }
        }
    }
    if skipped > 0 {
        log(
            Level::Debug,
            &format!("{skipped} selected values were not numbers and were skipped"),
        );
    }
    Ok(families)
}

/// The labels of one series: fixed values as written, paths looked up in
/// `scope` (a missing or non-scalar value is an error naming the metric).
fn labels(
    spec: &BTreeMap<String, String>,
    scope: &Value,
    metric: &str,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::with_capacity(spec.len());
    for (name, text) in spec {
        let value = match as_path(text) {
            None => text.clone(),
            Some(path) => json::select(scope, path)
                .map_err(|e| format!("metric {metric}, label {name}: {e}"))?
                .first()
                .and_then(|v| json::label(v))
                .ok_or_else(|| {
                    format!("metric {metric}, label {name}: {path:?} selects no scalar value")
                })?,
        };
        out.push((name.clone(), value));
    }
    Ok(out)
}

struct HttpJson;

impl Collector for HttpJson {
    fn collect(request: &Request) -> Result<Vec<Family>, String> {
        let url = match (&request.target, setting("url")) {
            (Some(target), _) => target.clone(),
            (None, Some(url)) => url,
            (None, None) => {
                return Err("no url: set config.url, or probe with ?target=URL".into());
            }
        };
        let specs: Vec<MetricSpec> = match config_get("metrics") {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| format!("config.metrics is not a list of metrics: {e}"))?,
            None => return Err("config.metrics lists no metrics".into()),
        };
        let max_body = match setting("max_body_bytes") {
            Some(n) => n
                .parse()
                .map_err(|_| format!("config.max_body_bytes {n:?} is not a number"))?,
            None => DEFAULT_MAX_BODY_BYTES,
        };
        let mut get = http::get(&url)
            .header("Accept", "application/json")
            .timeout(request.timeout.saturating_sub(DEADLINE_MARGIN))
            .max_body(max_body);
        if let Some(headers) = config_get("headers") {
            let headers: BTreeMap<String, String> = serde_json::from_str(&headers)
                .map_err(|e| format!("config.headers is not a map of names to values: {e}"))?;
            for (name, value) in &headers {
                get = get.header(name, value);
            }
        }
        if let Some(token) = setting("bearer_token") {
            get = get.header("Authorization", &format!("Bearer {token}"));
        }
        let response = get.send()?;
        if response.status != 200 {
            return Err(format!("GET {url}: status {}", response.status));
        }
        let doc = json::parse(&response.body).map_err(|e| format!("GET {url}: {e}"))?;
        extract(&doc, &specs)
    }
}

export_collector!(HttpJson);
