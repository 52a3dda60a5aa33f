//! One scrape's request, as a collector sees it.

use std::time::Duration;

/// The time assumed when the host states none (a request built in a test).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// At most this much is kept back from the host's deadline by
/// [`Request::io_budget`].
const MAX_IO_MARGIN: Duration = Duration::from_millis(250);

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

    /// The time a collector may spend waiting on the system it observes:
    /// [`Request::timeout`] less a tenth of it (250 ms at most), kept back
    /// to build and return the result, so that a slow system fails with
    /// its own message rather than the host's timeout. 5 s when the
    /// request states no timeout.
    pub fn io_budget(&self) -> Duration {
        let timeout = if self.timeout.is_zero() {
            DEFAULT_TIMEOUT
        } else {
            self.timeout
        };
        timeout - MAX_IO_MARGIN.min(timeout / 10)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Request;

    fn budget(timeout: Duration) -> Duration {
        Request {
            timeout,
            ..Request::default()
        }
        .io_budget()
    }

    #[test]
    fn the_io_budget_leaves_a_margin_before_the_deadline() {
        assert_eq!(budget(Duration::from_secs(5)), Duration::from_millis(4750));
        assert_eq!(budget(Duration::from_secs(1)), Duration::from_millis(900));
        assert_eq!(budget(Duration::ZERO), Duration::from_millis(4750));
    }
}
