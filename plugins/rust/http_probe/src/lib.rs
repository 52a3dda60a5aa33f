//! An HTTP probe in the manner of the blackbox exporter's `http` prober,
//! for `/probe?plugin=http_probe&target=URL[&module=M]`: it requests the
//! target over HTTP/1.1 (TLS for `https`), follows redirects, and reports
//! the same series under the same names as `blackbox_exporter` 0.23.
//!
//! It speaks HTTP itself over `std::net::TcpStream` rather than through
//! `wasi:http`, which hides the connect and TLS timings and the server's
//! certificates. The operator grants it `probe_target`, which lets it look
//! up and connect to the target's host (on any port) and nothing else; a
//! redirect to another host therefore fails, unless that host is granted
//! too (`grants.tcp`).
//!
//! A probe that cannot reach its target is data (`probe_success 0`), not a
//! plugin failure; a bad target or configuration is an error.

use std::time::{Duration, Instant};

use wasm_exporter_sdk::{Collector, Descriptor, Family, MetricType, Request, export_collector};

mod date;
mod http1;
mod probe;
mod settings;
mod tls;
mod url;
mod x509;

use probe::Outcome;
use settings::Settings;

/// Part of the time left kept for building the result after the probe's
/// deadline: a tenth, within these bounds.
const MIN_MARGIN: Duration = Duration::from_millis(20);
const MAX_MARGIN: Duration = Duration::from_millis(500);

/// Name, help (the blackbox exporter's own words) and label of each family.
const SUCCESS: (&str, &str) = (
    "probe_success",
    "Displays whether or not the probe was a success",
);
const DNS_LOOKUP: (&str, &str) = (
    "probe_dns_lookup_time_seconds",
    "Returns the time taken for probe dns lookup in seconds",
);
const IP_PROTOCOL: (&str, &str) = (
    "probe_ip_protocol",
    "Specifies whether probe ip protocol is IP4 or IP6",
);
const IP_ADDR_HASH: (&str, &str) = (
    "probe_ip_addr_hash",
    "Specifies the hash of IP address. It's useful to detect if the IP address changes.",
);
const DURATION: (&str, &str) = (
    "probe_http_duration_seconds",
    "Duration of http request by phase, summed over all redirects",
);
const CONTENT_LENGTH: (&str, &str) = (
    "probe_http_content_length",
    "Length of http content response",
);
const BODY_LENGTH: (&str, &str) = (
    "probe_http_uncompressed_body_length",
    "Length of uncompressed response body",
);
const REDIRECTS: (&str, &str) = ("probe_http_redirects", "The number of redirects");
const SSL: (&str, &str) = (
    "probe_http_ssl",
    "Indicates if SSL was used for the final redirect",
);
const STATUS_CODE: (&str, &str) = ("probe_http_status_code", "Response HTTP status code");
const VERSION: (&str, &str) = (
    "probe_http_version",
    "Returns the version of HTTP of the probe response",
);
const FAILED_DUE_TO_REGEX: (&str, &str) = (
    "probe_failed_due_to_regex",
    "Indicates if probe failed due to regex",
);
const LAST_MODIFIED: (&str, &str) = (
    "probe_http_last_modified_timestamp_seconds",
    "Returns the Last-Modified HTTP response header in unixtime",
);
const CERT_EXPIRY: (&str, &str) = (
    "probe_ssl_earliest_cert_expiry",
    "Returns last SSL chain expiry in unixtime",
);
const TLS_VERSION: (&str, &str) = (
    "probe_tls_version_info",
    "Returns the TLS version used or NaN when unknown",
);

const PHASES: [&str; 5] = ["resolve", "connect", "tls", "processing", "transfer"];

struct HttpProbe;

impl Collector for HttpProbe {
    fn describe() -> Vec<Descriptor> {
        let gauge = |(name, help): (&str, &str)| Descriptor::new(MetricType::Gauge, name, help);
        vec![
            gauge(SUCCESS),
            gauge(DNS_LOOKUP),
            gauge(IP_PROTOCOL),
            gauge(IP_ADDR_HASH),
            gauge(DURATION).with_label_names(&["phase"]),
            gauge(CONTENT_LENGTH),
            gauge(BODY_LENGTH),
            gauge(REDIRECTS),
            gauge(SSL),
            gauge(STATUS_CODE),
            gauge(VERSION),
            gauge(FAILED_DUE_TO_REGEX),
            gauge(LAST_MODIFIED),
            gauge(CERT_EXPIRY),
            gauge(TLS_VERSION).with_label_names(&["version"]),
        ]
    }

    fn collect(request: &Request) -> Result<Vec<Family>, String> {
        let started = Instant::now();
        // A plain /metrics scrape has no target: nothing to probe.
        let Some(target) = request.target.as_deref() else {
            return Ok(Vec::new());
        };
        let settings =
            Settings::from_config(&wasm_exporter_sdk::config(), request.param("module"))?;
        let margin = (request.timeout / 10).clamp(MIN_MARGIN, MAX_MARGIN);
        let deadline = started + request.timeout.saturating_sub(margin);
        let outcome = probe::probe(target, &settings, deadline)?;
        if let Some(reason) = &outcome.failure {
            wasm_exporter_sdk::info!("probe of {target} failed: {reason}");
        }
        Ok(families(&outcome))
    }
}

/// The exposition of `outcome`, with the families the blackbox exporter
/// registers for the same outcome.
fn families(o: &Outcome) -> Vec<Family> {
    let single =
        |(name, help): (&str, &str), value: f64| Family::gauge(name, help).with(&[], value);
    let mut durations = Family::gauge(DURATION.0, DURATION.1);
    let values = [
        o.phases.resolve,
        o.phases.connect,
        o.phases.tls,
        o.phases.processing,
        o.phases.transfer,
    ];
    for (phase, value) in PHASES.iter().zip(values) {
        // The blackbox exporter stops before creating the other phases
        // when the name does not resolve.
        if o.resolved || *phase == "resolve" {
            durations = durations.with(&[("phase", phase)], value);
        }
    }
    let mut out = vec![
        single(SUCCESS, f64::from(u8::from(o.success))),
        single(DNS_LOOKUP, o.dns_lookup_seconds),
        single(IP_PROTOCOL, f64::from(o.ip_protocol)),
        single(IP_ADDR_HASH, f64::from(o.ip_addr_hash)),
        durations,
        single(CONTENT_LENGTH, o.content_length as f64),
        single(BODY_LENGTH, o.body_bytes as f64),
        single(REDIRECTS, f64::from(o.redirects)),
        single(SSL, f64::from(u8::from(o.tls.is_some()))),
        single(STATUS_CODE, f64::from(o.status_code)),
        single(VERSION, o.http_version),
        single(FAILED_DUE_TO_REGEX, 0.0),
    ];
    if let Some(t) = o.last_modified {
        out.push(single(LAST_MODIFIED, t as f64));
    }
    if let Some(tls) = &o.tls {
        if let Some(expiry) = tls.earliest_expiry {
            out.push(single(CERT_EXPIRY, expiry as f64));
        }
        out.push(
            Family::gauge(TLS_VERSION.0, TLS_VERSION.1).with(&[("version", tls.version)], 1.0),
        );
    }
    out
}

export_collector!(HttpProbe);

#[cfg(test)]
mod tests {
    use super::*;

    fn names(families: &[Family]) -> Vec<&str> {
        families.iter().map(Family::name).collect()
    }

    #[test]
    fn an_unresolved_target_has_only_the_resolve_phase() {
        let families = families(&Outcome::default());
        let duration = families.iter().find(|f| f.name() == DURATION.0).unwrap();
        assert_eq!(duration.series().len(), 1);
        assert!(!names(&families).contains(&CERT_EXPIRY.0));
    }

    #[test]
    fn tls_series_appear_with_a_tls_response() {
        let outcome = Outcome {
            success: true,
            resolved: true,
            status_code: 200,
            last_modified: Some(1),
            tls: Some(probe::TlsInfo {
                version: "TLS 1.3",
                earliest_expiry: Some(2_000_000_000),
            }),
            ..Outcome::default()
        };
        let families = families(&outcome);
        let duration = families.iter().find(|f| f.name() == DURATION.0).unwrap();
        assert_eq!(duration.series().len(), 5);
        for name in [CERT_EXPIRY.0, TLS_VERSION.0, LAST_MODIFIED.0, SSL.0] {
            assert!(names(&families).contains(&name), "{name}");
        }
        let described: Vec<String> = HttpProbe::describe()
            .iter()
            .map(|d| format!("{d:?}"))
            .collect();
        for name in names(&families) {
            assert!(
                described.iter().any(|d| d.contains(name)),
                "{name} is not described"
            );
        }
    }
}
