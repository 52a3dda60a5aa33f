//! nginx, as nginx-prometheus-exporter shows it: each scrape GETs the
//! `stub_status` page and exposes its seven numbers with that exporter's
//! names and types (its counters have no `_total`, and keep none here), so
//! its dashboards and alerts keep working.
//!
//! A page that cannot be fetched or read fails the scrape (`Err`): the
//! host then reports the plugin down
//! (`wasm_exporter_plugin_up{plugin="nginx"} 0`) with the reason, and
//! serves everything else. `nginx_up` is therefore 1 whenever it is
//! present (see README.md).
//!
//! Config key: `url` (default `http://127.0.0.1:8080/stub_status`). On
//! `/probe`, the target is the URL, or `host:port` for
//! `http://host:port/stub_status`.

use wasm_exporter_sdk::{
    Collector, Descriptor, Family, MetricType, Request, config_get, export_collector, http,
};

/// Where the status page is unless `url` says otherwise.
const DEFAULT_URL: &str = "http://127.0.0.1:8080/stub_status";

/// The status page is about 100 bytes; anything much longer is not it.
const MAX_BODY_BYTES: u64 = 64 << 10;

/// Name, help and type of each family, in the exporter's words.
const ACCEPTED: (&str, &str, MetricType) = (
    "nginx_connections_accepted",
    "Accepted client connections",
    MetricType::Counter,
);
const ACTIVE: (&str, &str, MetricType) = (
    "nginx_connections_active",
    "Active client connections",
    MetricType::Gauge,
);
const HANDLED: (&str, &str, MetricType) = (
    "nginx_connections_handled",
    "Handled client connections",
    MetricType::Counter,
);
const READING: (&str, &str, MetricType) = (
    "nginx_connections_reading",
    "Connections where NGINX is reading the request header",
    MetricType::Gauge,
);
const WAITING: (&str, &str, MetricType) = (
    "nginx_connections_waiting",
    "Idle client connections",
    MetricType::Gauge,
);
const WRITING: (&str, &str, MetricType) = (
    "nginx_connections_writing",
    "Connections where NGINX is writing the response back to the client",
    MetricType::Gauge,
);
const REQUESTS: (&str, &str, MetricType) = (
    "nginx_http_requests_total",
    "Total http requests",
    MetricType::Counter,
);
const UP: (&str, &str, MetricType) = (
    "nginx_up",
    "1 when the status page was read; a failure fails the plugin instead (wasm_exporter_plugin_up).",
    MetricType::Gauge,
);

const FAMILIES: [(&str, &str, MetricType); 8] = [
    ACCEPTED, ACTIVE, HANDLED, READING, WAITING, WRITING, REQUESTS, UP,
];

/// The numbers of one `stub_status` page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StubStatus {
    active: u64,
    accepted: u64,
    handled: u64,
    requests: u64,
    reading: u64,
    writing: u64,
    waiting: u64,
}

struct Nginx;

impl Collector for Nginx {
    fn describe() -> Vec<Descriptor> {
        FAMILIES
            .iter()
            .map(|&(name, help, kind)| Descriptor::new(kind, name, help))
            .collect()
    }

    fn collect(request: &Request) -> Result<Vec<Family>, String> {
        let url = match &request.target {
            Some(target) => url(target).map_err(|e| format!("probe target {target:?}: {e}"))?,
            None => match config_get("url") {
                Some(value) => url(&value).map_err(|e| format!("config url: {e}"))?,
                None => DEFAULT_URL.to_owned(),
            },
        };
        let response = http::get(&url)
            .timeout(request.io_budget())
            .max_body(MAX_BODY_BYTES)
            .send()?;
        if response.status != 200 {
            return Err(format!(
                "GET {url}: status {}, expected 200 (is stub_status enabled at this location?)",
                response.status
            ));
        }
        let status = parse(&response.text()).map_err(|e| format!("GET {url}: {e}"))?;
        let values = [
            (ACCEPTED, status.accepted),
            (ACTIVE, status.active),
            (HANDLED, status.handled),
            (READING, status.reading),
            (WAITING, status.waiting),
            (WRITING, status.writing),
            (REQUESTS, status.requests),
            (UP, 1),
        ];
        Ok(values
            .into_iter()
            .map(|((name, help, kind), value)| {
                Family::new(kind, name, help).with(&[], value as f64)
            })
            .collect())
    }
}

export_collector!(Nginx);

/// The status page's URL from a URL, or from `host:port` alone.
fn url(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("empty".into());
    }
    match value.split_once("://") {
        Some(("http" | "https", rest)) if !rest.is_empty() => Ok(value.to_owned()),
        Some(_) => Err(format!("{value:?} is not an http:// or https:// URL")),
        None if value.contains('/') => Err(format!("{value:?} is neither a URL nor host:port")),
        None => Ok(format!("http://{value}/stub_status")),
    }
}

/// Reads the page nginx writes:
///
/// ```text
/// Active connections: 2
/// server accepts handled requests
///  3 3 4
/// Reading: 0 Writing: 1 Waiting: 1
/// ```
///
/// Spaces and line breaks may vary; words and numbers may not.
fn parse(page: &str) -> Result<StubStatus, String> {
    let mut page = Words {
        words: page.split_whitespace(),
        page,
    };
    page.expect(&["Active", "connections:"])?;
    let active = page.number()?;
    page.expect(&["server", "accepts", "handled", "requests"])?;
    let (accepted, handled, requests) = (page.number()?, page.number()?, page.number()?);
    page.expect(&["Reading:"])?;
    let reading = page.number()?;
    page.expect(&["Writing:"])?;
    let writing = page.number()?;
    page.expect(&["Waiting:"])?;
    let waiting = page.number()?;
    Ok(StubStatus {
        active,
        accepted,
        handled,
        requests,
        reading,
        writing,
        waiting,
    })
}

/// The words of a status page, read in order.
struct Words<'a> {
    words: std::str::SplitWhitespace<'a>,
    page: &'a str,
}

impl Words<'_> {
    fn expect(&mut self, wanted: &[&str]) -> Result<(), String> {
        for &word in wanted {
            match self.words.next() {
                Some(found) if found == word => {}
                found => return Err(self.unexpected(&format!("{word:?}"), found)),
            }
        }
        Ok(())
    }

    fn number(&mut self) -> Result<u64, String> {
        let found = self.words.next();
        found
            .and_then(|w| w.parse().ok())
            .ok_or_else(|| self.unexpected("a number", found))
    }

    fn unexpected(&self, wanted: &str, found: Option<&str>) -> String {
        format!(
            "not a stub_status page: {wanted} expected, found {}; the page starts {:?}",
            found.map_or_else(|| "its end".to_owned(), |w| format!("{w:?}")),
            self.page.chars().take(60).collect::<String>()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_page_parses() {
        let page = "Active connections: 2 \nserver accepts handled requests\n 3 3 4 \n\
                    Reading: 0 Writing: 1 Waiting: 1 \n";
        assert_eq!(
            parse(page),
            Ok(StubStatus {
                active: 2,
                accepted: 3,
                handled: 3,
                requests: 4,
                reading: 0,
                writing: 1,
                waiting: 1,
            })
        );
        // Other spacing and line ends read the same.
        let crlf = page.replace('\n', "\r\n").replace(' ', "  ");
        assert_eq!(parse(&crlf), parse(page));
    }

    #[test]
    fn other_pages_fail_with_what_was_found() {
        for (page, wanted) in [
            ("", "its end"),
            (
                "<html><body>Welcome to nginx!</body></html>",
                "\"Active\" expected",
            ),
            ("Active connections: x", "a number expected, found \"x\""),
            ("Active connections: -1", "a number expected"),
            (
                "Active connections: 1\nserver accepts handled requests\n 1 2",
                "its end",
            ),
            (
                "Active connections: 1 server accepts handled requests 1 1 1 Reading: 0 Writing: 1",
                "\"Waiting:\" expected",
            ),
            (
                "Active connections: 99999999999999999999999 ",
                "a number expected",
            ),
        ] {
            let err = parse(page).unwrap_err();
            assert!(err.contains(wanted), "{page:?}: {err}");
        }
    }

    #[test]
    fn urls_and_probe_targets() {
        assert_eq!(
            url("http://10.0.0.1:8080/basic_status").unwrap(),
            "http://10.0.0.1:8080/basic_status"
        );
        assert_eq!(url("https://web/status").unwrap(), "https://web/status");
        assert_eq!(
            url("10.0.0.1:8080").unwrap(),
            "http://10.0.0.1:8080/stub_status"
        );
        for bad in ["", "ftp://x/", "http://", "web/status"] {
            assert!(url(bad).is_err(), "{bad:?}");
        }
    }
}
