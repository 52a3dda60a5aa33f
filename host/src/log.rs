//! The host's structured log (logfmt or JSON) and the log budget of each
//! plugin.
//!
//! Everything a plugin says (through the `log` import or stdout/stderr)
//! arrives here attributed with `plugin=<name>`, and only while the plugin's
//! [`LogBudget`] allows it.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::limits::{LOG_BURST, LOG_RECORDS_PER_SECOND};
use crate::model::Level;

/// The format of the host's log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `ts=... level=info msg="..." key=value`, as Prometheus components log.
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// Installs the global log subscriber. `level` is `debug`, `info`, `warn`
/// or `error` (or any `tracing` filter directive).
pub fn init(level: &str, format: LogFormat) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .map_err(|e| anyhow::anyhow!("invalid --log.level {level:?}: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Logfmt => builder.event_format(Logfmt).try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}

/// One plugin's log rate limit: a token bucket of [`LOG_BURST`] records
/// refilled at [`LOG_RECORDS_PER_SECOND`], shared by all its scrapes.
#[derive(Debug)]
pub struct LogBudget {
    bucket: Mutex<(f64, Instant)>,
    dropped: AtomicU64,
}

impl Default for LogBudget {
    fn default() -> Self {
        LogBudget {
            bucket: Mutex::new((f64::from(LOG_BURST), Instant::now())),
            dropped: AtomicU64::new(0),
        }
    }
}

impl LogBudget {
    /// Takes one record's worth of budget; false (and counted as dropped)
    /// when the plugin has used it up.
    pub fn take(&self) -> bool {
        let mut guard = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = &mut *guard;
        let now = Instant::now();
        let refill = now.duration_since(*last).as_secs_f64() * f64::from(LOG_RECORDS_PER_SECOND);
        *tokens = (*tokens + refill).min(f64::from(LOG_BURST));
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Logs a record a plugin sent through the `log` import.
pub fn plugin_record(plugin: &str, level: Level, message: &str) {
    match level {
        Level::Trace => tracing::trace!(plugin, "{message}"),
        Level::Debug => tracing::debug!(plugin, "{message}"),
        Level::Info => tracing::info!(plugin, "{message}"),
        Level::Warn => tracing::warn!(plugin, "{message}"),
        Level::Error => tracing::error!(plugin, "{message}"),
    }
}

/// Logs one line a plugin wrote to stdout or stderr.
pub fn plugin_output(plugin: &str, stream: &str, line: &str) {
    tracing::info!(plugin, stream, "{line}");
}

/// logfmt lines: `ts=<RFC 3339> level=<level> msg=<message> key=value ...`.
struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "ts=")?;
        SystemTime.format_time(&mut writer)?;
        let level = event.metadata().level().as_str().to_ascii_lowercase();
        write!(writer, " level={level}")?;
        let mut visitor = LogfmtFields::default();
        event.record(&mut visitor);
        if let Some(msg) = &visitor.message {
            write!(writer, " msg=")?;
            write_value(&mut writer, msg)?;
        }
        for (key, value) in &visitor.fields {
            write!(writer, " {key}=")?;
            write_value(&mut writer, value)?;
        }
        writeln!(writer)
    }
}

#[derive(Default)]
struct LogfmtFields {
    message: Option<String>,
    fields: Vec<(&'static str, String)>,
}

impl Visit for LogfmtFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.fields.push((field.name(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = Some(format!("{value:?}"));
        } else {
            self.fields.push((field.name(), format!("{value:?}")));
        }
    }
}

fn write_value(w: &mut Writer<'_>, value: &str) -> fmt::Result {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c > ' ' && c != '"' && c != '=' && c != '\\' && !c.is_control());
    if plain {
        return w.write_str(value);
    }
    w.write_char('"')?;
    for c in value.chars() {
        match c {
            '"' => w.write_str("\\\"")?,
            '\\' => w.write_str("\\\\")?,
            '\n' => w.write_str("\\n")?,
            '\r' => w.write_str("\\r")?,
            '\t' => w.write_str("\\t")?,
            c if c.is_control() => write!(w, "\\u{{{:x}}}", c as u32)?,
            c => w.write_char(c)?,
        }
    }
    w.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_allows_a_burst_then_drops() {
        let budget = LogBudget::default();
        let allowed = (0..LOG_BURST * 2).filter(|_| budget.take()).count();
        assert!(allowed >= LOG_BURST as usize && allowed < LOG_BURST as usize + 3);
        assert!(budget.dropped() >= u64::from(LOG_BURST) - 3);
    }
}
