//! One scrape's request, as a collector sees it.

use std::time::Duration;

/// What the host asks for on one scrape.
///
/// Unit tests of a collector can build one with `Request::default()` and
/// set the fields they need.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Request {
    /// The target to probe, for multi-target collectors
    /// (`/probe?target=...`); `None` on a plain `/metrics` scrape.
    pub target: Option<String>,
    /// The other query parameters of a `/probe` request, in order.
    pub params: Vec<(String, String)>,
    /// Time left before the host abandons the call, measured when the call
    /// started. A collector that waits on I/O should give up before then.
    pub timeout: Duration,
}

impl Request {
    /// The first value of a query parameter, if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}
