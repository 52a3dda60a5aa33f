//! Redis, as redis_exporter shows it: one connection per scrape sends
//! `INFO ALL` and a few cheap commands (`CONFIG GET` of four settings,
//! `LATENCY LATEST`, `SLOWLOG LEN`, `SLOWLOG GET 1`) in one pipeline, and
//! the replies become series with redis_exporter's names, types and
//! labels, so its dashboards and alerts keep working.
//!
//! A server that cannot be reached, refuses the password or answers
//! nonsense fails the scrape (`Err`): the host then reports the plugin
//! down (`wasm_exporter_plugin_up{plugin="redis"} 0`) with the reason, and
//! serves everything else. `redis_up` is therefore 1 whenever it is
//! present (see README.md).
//!
//! Config keys: `address` (`host:port`, default `127.0.0.1:6379`), `user`
//! and `password` (sent with `AUTH` when set). On `/probe`, the target is
//! the address.

mod connection;
mod families;
mod info;
mod resp;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasm_exporter_sdk::{
    Collector, Descriptor, Family, Request, config_get, debug, export_collector,
};

use connection::Connection;
use families::{FamilySet, Kind, Meta};
use resp::{Replies, Reply, command};

/// Where Redis listens unless `address` says otherwise.
const DEFAULT_ADDRESS: &str = "127.0.0.1:6379";

/// Redis' port, when an address names none.
const DEFAULT_PORT: u16 = 6379;

/// Bytes read from the server in one scrape, all replies together. `INFO
/// ALL` of a busy server is tens of kilobytes (one line per command ever
/// called); the cap keeps a wrong server from filling the plugin's memory.
const MAX_REPLY_BYTES: u64 = 4 << 20;

/// The settings read with `CONFIG GET`, in the order sent. `databases`
/// tells which databases to report as empty; the others become
/// `redis_config_<name>` as with redis_exporter.
const CONFIG_KEYS: [&str; 4] = ["databases", "maxclients", "maxmemory", "io-threads"];

const UP: Meta = Meta {
    name: "up",
    help: "1 when INFO was read from Redis; a failure fails the plugin instead (wasm_exporter_plugin_up).",
    kind: Kind::Gauge,
    labels: &[],
};
const CONFIG_MAXCLIENTS: Meta = config_meta("config_maxclients");
const CONFIG_MAXMEMORY: Meta = config_meta("config_maxmemory");
const CONFIG_IO_THREADS: Meta = config_meta("config_io_threads");
const SLOWLOG_LENGTH: Meta = Meta {
    name: "slowlog_length",
    help: "Total slowlog",
    kind: Kind::Gauge,
    labels: &[],
};
const SLOWLOG_LAST_ID: Meta = Meta {
    name: "slowlog_last_id",
    help: "Last id of slowlog",
    kind: Kind::Gauge,
    labels: &[],
};
const LAST_SLOW_EXECUTION: Meta = Meta {
    name: "last_slow_execution_duration_seconds",
    help: "The amount of time needed for last slow execution, in seconds",
    kind: Kind::Gauge,
    labels: &[],
};
const LATENCY_SPIKE_LAST: Meta = Meta {
    name: "latency_spike_last",
    help: "When the latency spike last occurred",
    kind: Kind::Gauge,
    labels: &["event_name"],
};
const LATENCY_SPIKE_DURATION: Meta = Meta {
    name: "latency_spike_duration_seconds",
    help: "Length of the last latency spike in seconds",
    kind: Kind::Gauge,
    labels: &["event_name"],
};

const fn config_meta(name: &'static str) -> Meta {
    Meta {
        name,
        help: "The Redis setting of the same name (CONFIG GET).",
        kind: Kind::Gauge,
        labels: &[],
    }
}

/// The families not read from INFO.
const OWN: [&Meta; 9] = [
    &UP,
    &CONFIG_MAXCLIENTS,
    &CONFIG_MAXMEMORY,
    &CONFIG_IO_THREADS,
    &SLOWLOG_LENGTH,
    &SLOWLOG_LAST_ID,
    &LAST_SLOW_EXECUTION,
    &LATENCY_SPIKE_LAST,
    &LATENCY_SPIKE_DURATION,
];

const PREFIX: &str = "redis_";

struct Redis;

impl Collector for Redis {
    fn describe() -> Vec<Descriptor> {
        let mut all: Vec<Descriptor> = OWN.iter().map(|meta| meta.descriptor(PREFIX)).collect();
        all.extend(info::descriptors(PREFIX));
        all
    }

    fn collect(request: &Request) -> Result<Vec<Family>, String> {
        let settings = Settings::read(request)?;
        let answers = settings.query(request.io_budget())?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| format!("the clock is before 1970: {e}"))?
            .as_secs();

        let mut out = FamilySet::new(PREFIX);
        out.put(&UP, &[], 1.0);
        let databases = answers.config.get("databases").and_then(|v| v.parse().ok());
        for (meta, setting) in [
            (&CONFIG_MAXCLIENTS, "maxclients"),
            (&CONFIG_MAXMEMORY, "maxmemory"),
            (&CONFIG_IO_THREADS, "io-threads"),
        ] {
            if let Some(value) = answers.config.get(setting).and_then(|v| v.parse().ok()) {
                out.put(meta, &[], value);
            }
        }
        info::extract(&answers.info, databases, now, &mut out);
        for (event, last, latest_ms) in &answers.latency {
            out.put(&LATENCY_SPIKE_LAST, &[event], *last);
            out.put(&LATENCY_SPIKE_DURATION, &[event], latest_ms / 1e3);
        }
        if let Some(length) = answers.slowlog_length {
            out.put(&SLOWLOG_LENGTH, &[], length);
        }
        if let Some((id, micros)) = answers.slowlog_last {
            out.put(&SLOWLOG_LAST_ID, &[], id);
            out.put(&LAST_SLOW_EXECUTION, &[], micros / 1e6);
        }
        Ok(out.into_families())
    }
}

export_collector!(Redis);

/// Where and how to connect.
struct Settings {
    address: String,
    user: Option<String>,
    password: Option<String>,
}

impl Settings {
    fn read(request: &Request) -> Result<Self, String> {
        let address = match &request.target {
            Some(target) => address(target).map_err(|e| format!("probe target {target:?}: {e}"))?,
            None => match config_get("address") {
                Some(value) => address(&value).map_err(|e| format!("config address: {e}"))?,
                None => DEFAULT_ADDRESS.to_owned(),
            },
        };
        let user = config_get("user").filter(|u| !u.is_empty());
        let password = config_get("password").filter(|p| !p.is_empty());
        if user.is_some() && password.is_none() {
            return Err("config user is set without a password".into());
        }
        Ok(Settings {
            address,
            user,
            password,
        })
    }

    /// Sends every command at once and reads the replies in order.
    fn query(&self, budget: Duration) -> Result<Answers, String> {
        let address = &self.address;
        let mut client = Connection::open(address, budget, MAX_REPLY_BYTES)
            .map_err(|e| format!("cannot connect to {e}"))?;
        let fail = |e: String| format!("{address}: {e}");

        let mut batch = Vec::new();
        if let Some(password) = &self.password {
            let mut auth = vec!["AUTH"];
            auth.extend(self.user.as_deref());
            auth.push(password);
            batch.extend(command(&auth));
        }
        for key in CONFIG_KEYS {
            batch.extend(command(&["CONFIG", "GET", key]));
        }
        batch.extend(command(&["INFO", "ALL"]));
        batch.extend(command(&["LATENCY", "LATEST"]));
        batch.extend(command(&["SLOWLOG", "LEN"]));
        batch.extend(command(&["SLOWLOG", "GET", "1"]));
        client.send(&batch).map_err(fail)?;

        let mut replies = Replies::new(&mut client, MAX_REPLY_BYTES);
        let mut next = |what: &str| replies.next().map_err(|e| fail(format!("{what}: {e}")));

        if self.password.is_some()
            && let Reply::Error(e) = next("AUTH")?
        {
            return Err(fail(format!("AUTH refused: {e}")));
        }
        let mut config = HashMap::new();
        for key in CONFIG_KEYS {
            match next("CONFIG GET")? {
                Reply::Array(Some(pair)) => {
                    if let [Some(name), Some(value)] = [0, 1].map(|i| pair.get(i)?.text()) {
                        config.insert(name, value);
                    }
                }
                // Renamed or forbidden by an ACL: redis_exporter carries on
                // without, and so does this.
                Reply::Error(e) => debug!("CONFIG GET {key}: {e}"),
                other => debug!("CONFIG GET {key}: {} where a pair was due", other.kind()),
            }
        }
        // Every server since 2.6 (2012) knows INFO ALL.
        let info = match next("INFO ALL")? {
            Reply::Bulk(Some(text)) => String::from_utf8_lossy(&text).into_owned(),
            Reply::Error(e) => return Err(fail(format!("INFO ALL: {e}"))),
            other => {
                let kind = other.kind();
                return Err(fail(format!("INFO ALL: {kind} where text was due")));
            }
        };
        let latency = latency_events(next("LATENCY LATEST")?);
        let slowlog_length = next("SLOWLOG LEN")?.integer().map(|n| n as f64);
        let slowlog_last = slowlog_last(next("SLOWLOG GET")?);
        Ok(Answers {
            config,
            info,
            latency,
            slowlog_length,
            slowlog_last,
        })
    }
}

/// What one scrape read from the server.
struct Answers {
    /// `CONFIG GET` results that were allowed.
    config: HashMap<String, String>,
    /// The text of `INFO ALL` (or `INFO`).
    info: String,
    /// `LATENCY LATEST`: event, Unix time of its last spike, its latency in
    /// milliseconds.
    latency: Vec<(String, f64, f64)>,
    /// `SLOWLOG LEN`.
    slowlog_length: Option<f64>,
    /// The id and duration (microseconds) of the newest slow log entry, 0
    /// and 0 when the log is empty.
    slowlog_last: Option<(f64, f64)>,
}

/// `[[event, last, latest, max], ...]`; an error reply (an old server, a
/// forbidden command) gives none.
fn latency_events(reply: Reply) -> Vec<(String, f64, f64)> {
    let Some(events) = reply.elements() else {
        return Vec::new();
    };
    events
        .iter()
        .filter_map(|event| match event.elements()? {
            [name, last, latest, ..] => Some((
                name.text()?,
                last.integer()? as f64,
                latest.integer()? as f64,
            )),
            _ => None,
        })
        .collect()
}

/// `[[id, time, duration, ...]]`, as redis_exporter reads it.
fn slowlog_last(reply: Reply) -> Option<(f64, f64)> {
    let entries = reply.elements()?;
    let Some(entry) = entries.first().and_then(Reply::elements) else {
        return Some((0.0, 0.0));
    };
    let id = entry.first().and_then(Reply::integer).unwrap_or(0);
    let micros = entry.get(2).and_then(Reply::integer).unwrap_or(0);
    Some((id as f64, micros as f64))
}

/// `host:port` from `host:port`, `host` or `redis://host:port`.
fn address(value: &str) -> Result<String, String> {
    let value = value.trim();
    let rest = match value.split_once("://") {
        Some(("redis", rest)) => rest,
        Some((scheme, _)) => {
            return Err(format!(
                "{value:?}: only redis:// is supported, not {scheme}:// (TLS and Unix sockets are not)"
            ));
        }
        None => value,
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains(['/', '@', '?', ' ']) {
        return Err(format!(
            "{value:?} is not host:port (set user and password as their own keys)"
        ));
    }
    let has_port = match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.ends_with(':') => {
            port.parse::<u16>()
                .map_err(|_| format!("{value:?}: {port:?} is not a port"))?;
            true
        }
        _ => false,
    };
    Ok(if has_port {
        rest.to_owned()
    } else {
        format!("{rest}:{DEFAULT_PORT}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_take_the_forms_redis_exporter_takes() {
        assert_eq!(address("127.0.0.1:6380").unwrap(), "127.0.0.1:6380");
        assert_eq!(address("redis://db.local:7000").unwrap(), "db.local:7000");
        assert_eq!(address("redis://db.local/").unwrap(), "db.local:6379");
        assert_eq!(address("db.local").unwrap(), "db.local:6379");
        assert_eq!(address("[::1]:6380").unwrap(), "[::1]:6380");
        for bad in [
            "",
            "rediss://db:6379",
            "unix:///run/redis.sock",
            "redis://user:secret@db:6379",
            "db:notaport",
            "db:99999",
        ] {
            assert!(address(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn latency_and_slowlog_replies_read_as_redis_exporter_reads_them() {
        let bulk = |s: &str| Reply::Bulk(Some(s.as_bytes().to_vec()));
        let latency = Reply::Array(Some(vec![Reply::Array(Some(vec![
            bulk("command"),
            Reply::Integer(1_700_000_000),
            Reply::Integer(250),
            Reply::Integer(300),
        ]))]));
        assert_eq!(
            latency_events(latency),
            [("command".to_owned(), 1_700_000_000.0, 250.0)]
        );
        assert!(latency_events(Reply::Error("ERR unknown command".into())).is_empty());
        let entry = Reply::Array(Some(vec![Reply::Array(Some(vec![
            Reply::Integer(7),
            Reply::Integer(1_700_000_000),
            Reply::Integer(12_000),
        ]))]));
        assert_eq!(slowlog_last(entry), Some((7.0, 12_000.0)));
        assert_eq!(slowlog_last(Reply::Array(Some(vec![]))), Some((0.0, 0.0)));
        assert_eq!(slowlog_last(Reply::Error("NOPERM".into())), None);
    }
}
