//! `INFO ALL` into series, named, typed and labelled as redis_exporter
//! 1.45 (Debian's `prometheus-redis-exporter`) exposes them, so its
//! dashboards and alerts work unchanged.
//!
//! Pure text in, series out: nothing here talks to the server, so the
//! parsing is tested on the build machine.

use std::collections::{BTreeSet, HashMap};

use wasm_exporter_sdk::Descriptor;

use crate::families::{FamilySet, Kind, Meta};

/// INFO fields exposed one to one: field, metric name (after `redis_`),
/// type. redis_exporter's two maps, less the Tile38 fields (which come
/// from Tile38's SERVER command, not from INFO).
#[rustfmt::skip]
const FIELDS: &[(&str, &str, Kind)] = {
    use Kind::{Counter as C, Gauge as G};
    &[
        // Server
        ("uptime_in_seconds", "uptime_in_seconds", G),
        ("process_id", "process_id", G),
        ("io_threads_active", "io_threads_active", G),
        // Clients
        ("connected_clients", "connected_clients", G),
        ("blocked_clients", "blocked_clients", G),
        ("tracking_clients", "tracking_clients", G),
        ("clients_in_timeout_table", "clients_in_timeout_table", G),
        ("client_longest_output_list", "client_longest_output_list", G),
        ("client_biggest_input_buf", "client_biggest_input_buf", G),
        ("client_recent_max_output_buffer", "client_recent_max_output_buffer_bytes", G),
        ("client_recent_max_input_buffer", "client_recent_max_input_buffer_bytes", G),
        // Memory
        ("allocator_active", "allocator_active_bytes", G),
        ("allocator_allocated", "allocator_allocated_bytes", G),
        ("allocator_resident", "allocator_resident_bytes", G),
        ("allocator_frag_ratio", "allocator_frag_ratio", G),
        ("allocator_frag_bytes", "allocator_frag_bytes", G),
        ("allocator_rss_ratio", "allocator_rss_ratio", G),
        ("allocator_rss_bytes", "allocator_rss_bytes", G),
        ("used_memory", "memory_used_bytes", G),
        ("used_memory_rss", "memory_used_rss_bytes", G),
        ("used_memory_peak", "memory_used_peak_bytes", G),
        ("used_memory_lua", "memory_used_lua_bytes", G),
        ("used_memory_overhead", "memory_used_overhead_bytes", G),
        ("used_memory_startup", "memory_used_startup_bytes", G),
        ("used_memory_dataset", "memory_used_dataset_bytes", G),
        ("used_memory_scripts", "memory_used_scripts_bytes", G),
        ("number_of_cached_scripts", "number_of_cached_scripts", G),
        ("maxmemory", "memory_max_bytes", G),
        ("maxmemory_reservation", "memory_max_reservation_bytes", G),
        ("maxmemory_desired_reservation", "memory_max_reservation_desired_bytes", G),
        ("maxfragmentationmemory_reservation", "memory_max_fragmentation_reservation_bytes", G),
        ("maxfragmentationmemory_desired_reservation", "memory_max_fragmentation_reservation_desired_bytes", G),
        ("mem_fragmentation_ratio", "mem_fragmentation_ratio", G),
        ("mem_fragmentation_bytes", "mem_fragmentation_bytes", G),
        ("mem_clients_slaves", "mem_clients_slaves", G),
        ("mem_clients_normal", "mem_clients_normal", G),
        ("expired_stale_perc", "expired_stale_percentage", G),
        ("mem_not_counted_for_evict", "mem_not_counted_for_eviction_bytes", G),
        ("lazyfree_pending_objects", "lazyfree_pending_objects", G),
        ("active_defrag_running", "active_defrag_running", G),
        ("migrate_cached_sockets", "migrate_cached_sockets_total", G),
        ("active_defrag_hits", "defrag_hits", G),
        ("active_defrag_misses", "defrag_misses", G),
        ("active_defrag_key_hits", "defrag_key_hits", G),
        ("active_defrag_key_misses", "defrag_key_misses", G),
        ("expired_time_cap_reached_count", "expired_time_cap_reached_total", G),
        // Persistence
        ("loading", "loading_dump_file", G),
        ("rdb_changes_since_last_save", "rdb_changes_since_last_save", G),
        ("rdb_bgsave_in_progress", "rdb_bgsave_in_progress", G),
        ("rdb_last_save_time", "rdb_last_save_timestamp_seconds", G),
        ("rdb_last_bgsave_status", "rdb_last_bgsave_status", G),
        ("rdb_last_bgsave_time_sec", "rdb_last_bgsave_duration_sec", G),
        ("rdb_current_bgsave_time_sec", "rdb_current_bgsave_duration_sec", G),
        ("rdb_last_cow_size", "rdb_last_cow_size_bytes", G),
        ("aof_enabled", "aof_enabled", G),
        ("aof_rewrite_in_progress", "aof_rewrite_in_progress", G),
        ("aof_rewrite_scheduled", "aof_rewrite_scheduled", G),
        ("aof_last_rewrite_time_sec", "aof_last_rewrite_duration_sec", G),
        ("aof_current_rewrite_time_sec", "aof_current_rewrite_duration_sec", G),
        ("aof_last_cow_size", "aof_last_cow_size_bytes", G),
        ("aof_current_size", "aof_current_size_bytes", G),
        ("aof_base_size", "aof_base_size_bytes", G),
        ("aof_pending_rewrite", "aof_pending_rewrite", G),
        ("aof_buffer_length", "aof_buffer_length", G),
        ("aof_rewrite_buffer_length", "aof_rewrite_buffer_length", G),
        ("aof_pending_bio_fsync", "aof_pending_bio_fsync", G),
        ("aof_delayed_fsync", "aof_delayed_fsync", G),
        ("aof_last_bgrewrite_status", "aof_last_bgrewrite_status", G),
        ("aof_last_write_status", "aof_last_write_status", G),
        ("module_fork_in_progress", "module_fork_in_progress", G),
        ("module_fork_last_cow_size", "module_fork_last_cow_size", G),
        // Stats
        ("pubsub_channels", "pubsub_channels", G),
        ("pubsub_patterns", "pubsub_patterns", G),
        ("latest_fork_usec", "latest_fork_seconds", G),
        ("tracking_total_keys", "tracking_total_keys", G),
        ("tracking_total_items", "tracking_total_items", G),
        ("tracking_total_prefixes", "tracking_total_prefixes", G),
        ("total_connections_received", "connections_received_total", C),
        ("total_commands_processed", "commands_processed_total", C),
        ("rejected_connections", "rejected_connections_total", C),
        ("total_net_input_bytes", "net_input_bytes_total", C),
        ("total_net_output_bytes", "net_output_bytes_total", C),
        ("expired_keys", "expired_keys_total", C),
        ("cached_keys", "cached_keys_total", C),
        ("evicted_keys", "evicted_keys_total", C),
        ("keyspace_hits", "keyspace_hits_total", C),
        ("keyspace_misses", "keyspace_misses_total", C),
        ("unexpected_error_replies", "unexpected_error_replies", C),
        ("total_error_replies", "total_error_replies", C),
        ("total_reads_processed", "total_reads_processed", C),
        ("total_writes_processed", "total_writes_processed", C),
        ("io_threaded_reads_processed", "io_threaded_reads_processed", C),
        ("io_threaded_writes_processed", "io_threaded_writes_processed", C),
        ("dump_payload_sanitizations", "dump_payload_sanitizations", C),
        ("storage_provider_read_hits", "storage_provider_read_hits", C),
        ("storage_provider_read_misses", "storage_provider_read_misses", C),
        // Replication
        ("connected_slaves", "connected_slaves", G),
        ("repl_backlog_size", "replication_backlog_bytes", G),
        ("repl_backlog_active", "repl_backlog_is_active", G),
        ("repl_backlog_first_byte_offset", "repl_backlog_first_byte_offset", G),
        ("repl_backlog_histlen", "repl_backlog_history_bytes", G),
        ("master_repl_offset", "master_repl_offset", G),
        ("second_repl_offset", "second_repl_offset", G),
        ("slave_expires_tracked_keys", "slave_expires_tracked_keys", G),
        ("slave_priority", "slave_priority", G),
        ("sync_full", "replica_resyncs_full", G),
        ("sync_partial_ok", "replica_partial_resync_accepted", G),
        ("sync_partial_err", "replica_partial_resync_denied", G),
        // CPU
        ("used_cpu_sys", "cpu_sys_seconds_total", C),
        ("used_cpu_user", "cpu_user_seconds_total", C),
        ("used_cpu_sys_children", "cpu_sys_children_seconds_total", C),
        ("used_cpu_user_children", "cpu_user_children_seconds_total", C),
        ("used_cpu_sys_main_thread", "cpu_sys_main_thread_seconds_total", C),
        ("used_cpu_user_main_thread", "cpu_user_main_thread_seconds_total", C),
        // Cluster
        ("cluster_stats_messages_sent", "cluster_messages_sent_total", G),
        ("cluster_stats_messages_received", "cluster_messages_received_total", G),
        // KeyDB
        ("server_threads", "server_threads_total", G),
        ("long_lock_waits", "long_lock_waits_total", G),
        ("current_client_thread", "current_client_thread", G),
    ]
};

/// The labels of `redis_instance_info`, each an INFO field of the same name.
const INSTANCE_LABELS: &[&str] = &[
    "role",
    "redis_version",
    "redis_build_id",
    "redis_mode",
    "os",
    "maxmemory_policy",
    "tcp_port",
    "run_id",
    "process_id",
];

const MASTER: &[&str] = &["master_host", "master_port"];
const SLAVE: &[&str] = &["slave_ip", "slave_port", "slave_state"];
const CMD: &[&str] = &["cmd"];
const DB: &[&str] = &["db"];

const fn gauge(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Meta {
    Meta {
        name,
        help,
        kind: Kind::Gauge,
        labels,
    }
}

const fn counter(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Meta {
    Meta {
        name,
        help,
        kind: Kind::Counter,
        labels,
    }
}

const START_TIME: Meta = gauge(
    "start_time_seconds",
    "Start time of the Redis instance since unix epoch in seconds.",
    &[],
);
const INSTANCE_INFO: Meta = gauge(
    "instance_info",
    "Information about the Redis instance",
    INSTANCE_LABELS,
);
const SLAVE_INFO: Meta = gauge(
    "slave_info",
    "Information about the Redis slave",
    &["master_host", "master_port", "read_only"],
);
const MASTER_LINK_UP: Meta = gauge(
    "master_link_up",
    "Master link status on Redis slave",
    MASTER,
);
const MASTER_LAST_IO: Meta = gauge(
    "master_last_io_seconds_ago",
    "Master last io seconds ago",
    MASTER,
);
const MASTER_SYNC: Meta = gauge("master_sync_in_progress", "Master sync in progress", MASTER);
const SLAVE_REPL_OFFSET: Meta = gauge("slave_repl_offset", "Slave replication offset", MASTER);
const SLAVE_OFFSET: Meta = gauge(
    "connected_slave_offset_bytes",
    "Offset of connected slave",
    SLAVE,
);
const SLAVE_LAG: Meta = gauge(
    "connected_slave_lag_seconds",
    "Lag of connected slave",
    SLAVE,
);
const COMMANDS: Meta = counter("commands_total", "Total number of calls per command", CMD);
const COMMANDS_DURATION: Meta = counter(
    "commands_duration_seconds_total",
    "Total amount of time in seconds spent per command",
    CMD,
);
const COMMANDS_REJECTED: Meta = counter(
    "commands_rejected_calls_total",
    "Total number of calls rejected before execution per command",
    CMD,
);
const COMMANDS_FAILED: Meta = counter(
    "commands_failed_calls_total",
    "Total number of calls failed within execution per command",
    CMD,
);
const ERRORS: Meta = counter(
    "errors_total",
    "Total number of errors per error type",
    &["err"],
);
const DB_KEYS: Meta = gauge("db_keys", "Total number of keys by DB", DB);
const DB_KEYS_EXPIRING: Meta = gauge(
    "db_keys_expiring",
    "Total number of expiring keys by DB",
    DB,
);
const DB_KEYS_CACHED: Meta = gauge("db_keys_cached", "Total number of cached keys by DB", DB);
const DB_AVG_TTL: Meta = gauge("db_avg_ttl_seconds", "Avg TTL in seconds", DB);

/// The families read from INFO that are not one field each.
const DERIVED: &[&Meta] = &[
    &START_TIME,
    &INSTANCE_INFO,
    &SLAVE_INFO,
    &MASTER_LINK_UP,
    &MASTER_LAST_IO,
    &MASTER_SYNC,
    &SLAVE_REPL_OFFSET,
    &SLAVE_OFFSET,
    &SLAVE_LAG,
    &COMMANDS,
    &COMMANDS_DURATION,
    &COMMANDS_REJECTED,
    &COMMANDS_FAILED,
    &ERRORS,
    &DB_KEYS,
    &DB_KEYS_EXPIRING,
    &DB_KEYS_CACHED,
    &DB_AVG_TTL,
];

/// Databases a standalone server has when `CONFIG GET databases` is not
/// allowed (Redis' default).
const DEFAULT_DATABASES: u32 = 16;

/// The help of a family named after an INFO field.
fn field_help(field: &str) -> String {
    format!("INFO field {field}.")
}

/// The families INFO may give, with the full names (`prefix` in front).
/// Fields outside redis_exporter's maps that it keeps by prefix
/// (`cluster_*`) are not listed: they depend on the server.
pub fn descriptors(prefix: &str) -> Vec<Descriptor> {
    let fields = FIELDS.iter().map(|&(field, name, kind)| {
        let meta = Meta {
            name,
            help: "",
            kind,
            labels: &[],
        };
        let mut descriptor = meta.descriptor(prefix);
        descriptor.help = field_help(field);
        descriptor
    });
    fields
        .chain(DERIVED.iter().map(|meta| meta.descriptor(prefix)))
        .collect()
}

/// Adds the series of one `INFO ALL` reply. `databases` is the server's
/// `databases` setting if it could be read: every database below it gets
/// `redis_db_keys` and `redis_db_keys_expiring`, 0 when empty, so a
/// database that empties does not vanish. `now` (Unix seconds) dates
/// `redis_start_time_seconds`. Returns the `role` field.
pub fn extract(info: &str, databases: Option<u32>, now: u64, out: &mut FamilySet) -> String {
    let fields: HashMap<&str, (&str, Kind)> = FIELDS
        .iter()
        .map(|&(field, name, kind)| (field, (name, kind)))
        .collect();
    let mut values: HashMap<&str, &str> = HashMap::new();
    let mut section = "";
    let mut master_host = "";
    let mut master_port = "";
    let mut seen_dbs = BTreeSet::new();

    for line in info.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("# ") {
            section = name;
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        values.insert(key, value);
        if master_field(key, "_host") {
            master_host = value;
        }
        if master_field(key, "_port") {
            master_port = value;
        }
        let handled = match section {
            "Replication" => replication(key, value, master_host, master_port, out),
            "Server" => {
                if key == "uptime_in_seconds"
                    && let Ok(uptime) = value.parse::<f64>()
                {
                    out.put(&START_TIME, &[], now as f64 - uptime);
                }
                false
            }
            "Commandstats" => {
                command_stats(key, value, out);
                true
            }
            // Percentiles named 50, 99 and 99.9: quantiles must lie in
            // [0, 1], so the host would refuse the scrape (see README).
            "Latencystats" => true,
            "Errorstats" => {
                if let (Some(kind), Some(count)) =
                    (key.strip_prefix("errorstat_"), field_number(value, "count"))
                {
                    out.put(&ERRORS, &[kind], count);
                }
                true
            }
            "Keyspace" => {
                let parsed = keyspace(key, value, out);
                if parsed {
                    seen_dbs.insert(key.to_owned());
                }
                parsed
            }
            _ => false,
        };
        if handled {
            continue;
        }

        let mapped = fields.get(key).copied();
        let name = match mapped {
            Some((name, _)) => name.to_owned(),
            None if key.starts_with("db")
                || key.starts_with("cmdstat_")
                || key.starts_with("cluster_") =>
            {
                sanitize(key)
            }
            None => continue,
        };
        let Some(mut number) = info_number(value) else {
            continue;
        };
        if key == "latest_fork_usec" {
            number /= 1e6;
        }
        let kind = mapped.map_or(Kind::Gauge, |(_, kind)| kind);
        out.add(&name, kind, &field_help(key), &[], number);
    }

    let cluster = values.get("cluster_enabled") == Some(&"1");
    let databases = if cluster {
        1
    } else {
        databases.unwrap_or(DEFAULT_DATABASES)
    };
    for db in 0..databases {
        let db = format!("db{db}");
        if !seen_dbs.contains(&db) {
            out.put(&DB_KEYS, &[&db], 0.0);
            out.put(&DB_KEYS_EXPIRING, &[&db], 0.0);
        }
    }

    let get = |name: &str| values.get(name).copied().unwrap_or_default();
    let instance: Vec<&str> = INSTANCE_LABELS.iter().map(|name| get(name)).collect();
    out.put(&INSTANCE_INFO, &instance, 1.0);
    let role = get("role");
    if role == "slave" {
        let master = [
            get("master_host"),
            get("master_port"),
            get("slave_read_only"),
        ];
        out.put(&SLAVE_INFO, &master, 1.0);
    }
    role.to_owned()
}

/// `master_host`, `master_1_host` (KeyDB's multi-master), ... for
/// `suffix` `_host`.
fn master_field(key: &str, suffix: &str) -> bool {
    key.strip_prefix("master").is_some_and(|rest| {
        let rest = match rest.strip_prefix('_') {
            Some(after) if after.starts_with(|c: char| c.is_ascii_digit()) => {
                let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                &after[digits..]
            }
            _ => rest,
        };
        rest.starts_with(suffix)
    })
}

/// The Replication fields with labels; false for the others, which are
/// mapped one to one.
fn replication(key: &str, value: &str, host: &str, port: &str, out: &mut FamilySet) -> bool {
    let master = [host, port];
    if master_field(key, "_link_status") {
        let up = if value == "up" { 1.0 } else { 0.0 };
        out.put(&MASTER_LINK_UP, &master, up);
        return true;
    }
    let direct = if master_field(key, "_last_io_seconds_ago") {
        Some(&MASTER_LAST_IO)
    } else if master_field(key, "_sync_in_progress") {
        Some(&MASTER_SYNC)
    } else if key.starts_with("slave_repl_offset") {
        Some(&SLAVE_REPL_OFFSET)
    } else {
        None
    };
    if let Some(meta) = direct {
        if let Ok(number) = value.parse::<i64>() {
            out.put(meta, &master, number as f64);
        }
        return true;
    }
    // `slave0:ip=10.0.0.2,port=6379,state=online,offset=1751,lag=0`
    let numbered = key
        .strip_prefix("slave")
        .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()));
    if !numbered {
        return false;
    }
    let Some(pairs) = pairs(value) else {
        return false;
    };
    let get = |name: &str| pairs.get(name).copied().unwrap_or_default();
    let Ok(offset) = get("offset").parse::<f64>() else {
        return false;
    };
    let lag = match pairs.get("lag") {
        // Before Redis 3.0 there was no lag.
        None => None,
        Some(lag) => match lag.parse::<f64>() {
            Ok(lag) => Some(lag),
            Err(_) => return false,
        },
    };
    let slave = [get("ip"), get("port"), get("state")];
    out.put(&SLAVE_OFFSET, &slave, offset);
    if let Some(lag) = lag {
        out.put(&SLAVE_LAG, &slave, lag);
    }
    true
}

/// `cmdstat_get:calls=21,usec=175,usec_per_call=8.33,rejected_calls=0,failed_calls=0`
/// (the last two since Redis 6.2).
fn command_stats(key: &str, value: &str, out: &mut FamilySet) {
    let Some(command) = key.strip_prefix("cmdstat_") else {
        return;
    };
    let (Some(calls), Some(usec)) = (field_number(value, "calls"), field_number(value, "usec"))
    else {
        return;
    };
    out.put(&COMMANDS, &[command], calls);
    out.put(&COMMANDS_DURATION, &[command], usec / 1e6);
    if let (Some(rejected), Some(failed)) = (
        field_number(value, "rejected_calls"),
        field_number(value, "failed_calls"),
    ) {
        out.put(&COMMANDS_REJECTED, &[command], rejected);
        out.put(&COMMANDS_FAILED, &[command], failed);
    }
}

/// `db0:keys=2,expires=1,avg_ttl=999234` (plus `cached_keys` on KeyDB).
fn keyspace(key: &str, value: &str, out: &mut FamilySet) -> bool {
    if !key.starts_with("db") {
        return false;
    }
    let Some(pairs) = pairs(value) else {
        return false;
    };
    let number = |name: &str| pairs.get(name).and_then(|v| v.parse::<f64>().ok());
    let (Some(keys), Some(expires)) = (number("keys"), number("expires")) else {
        return false;
    };
    out.put(&DB_KEYS, &[key], keys);
    out.put(&DB_KEYS_EXPIRING, &[key], expires);
    if let Some(cached) = number("cached_keys") {
        out.put(&DB_KEYS_CACHED, &[key], cached);
    }
    if let Some(avg_ttl) = number("avg_ttl") {
        out.put(&DB_AVG_TTL, &[key], avg_ttl / 1000.0);
    }
    true
}

/// `a=1,b=2` as a map; `None` if a part has no `=`.
fn pairs(value: &str) -> Option<HashMap<&str, &str>> {
    value.split(',').map(|part| part.split_once('=')).collect()
}

/// The number after `name=` in `a=1,name=2,...`.
fn field_number(value: &str, name: &str) -> Option<f64> {
    value
        .split(',')
        .filter_map(|part| part.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
}

/// An INFO value as a number: `ok`/`true` are 1, `err`/`fail`/`false` are
/// 0, as redis_exporter reads them. Text that is no number is skipped.
fn info_number(value: &str) -> Option<f64> {
    match value {
        "ok" | "true" => Some(1.0),
        "err" | "fail" | "false" => Some(0.0),
        _ => value.parse().ok(),
    }
}

/// A field name as a metric name: anything but `[a-zA-Z0-9_]` becomes `_`.
fn sanitize(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_exporter_sdk::{Family, MetricType, Value};

    /// Parts of a real `INFO ALL` of Redis 7.0, and of a replica's
    /// Replication section.
    const INFO: &str = "# Server\r\nredis_version:7.0.15\r\nredis_build_id:e08dbad3e06f3fb\r\n\
        redis_mode:standalone\r\nos:Linux 6.1 x86_64\r\nprocess_id:10870\r\n\
        run_id:71b4e585\r\ntcp_port:16379\r\nuptime_in_seconds:2\r\n\r\n\
        # Clients\r\nconnected_clients:1\r\ncluster_connections:0\r\nmaxclients:10000\r\n\r\n\
        # Memory\r\nused_memory:1139264\r\nused_memory_human:1.09M\r\nmaxmemory:0\r\n\
        maxmemory_policy:noeviction\r\nmem_fragmentation_ratio:13.01\r\n\r\n\
        # Persistence\r\nrdb_last_bgsave_status:ok\r\naof_last_write_status:err\r\n\r\n\
        # Stats\r\ntotal_commands_processed:12\r\nkeyspace_hits:1\r\nkeyspace_misses:1\r\n\
        latest_fork_usec:1500\r\n\r\n\
        # Replication\r\nrole:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6379\r\n\
        master_link_status:up\r\nmaster_last_io_seconds_ago:-1\r\n\
        master_sync_in_progress:0\r\nslave_repl_offset:42\r\nslave_read_only:1\r\n\
        connected_slaves:1\r\nslave0:ip=10.0.0.2,port=6380,state=online,offset=40,lag=1\r\n\r\n\
        # CPU\r\nused_cpu_sys:0.020942\r\n\r\n\
        # Commandstats\r\n\
        cmdstat_config|get:calls=1,usec=242,usec_per_call=242.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_get:calls=2,usec=7,usec_per_call=3.50\r\n\r\n\
        # Errorstats\r\nerrorstat_NOAUTH:count=3\r\n\r\n\
        # Latencystats\r\nlatency_percentiles_usec_get:p50=3.007,p99=4.015,p99.9=4.015\r\n\r\n\
        # Cluster\r\ncluster_enabled:0\r\n\r\n\
        # Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=999234\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n";

    fn parse(info: &str, databases: Option<u32>) -> (Vec<Family>, String) {
        let mut out = FamilySet::new("redis_");
        let role = extract(info, databases, 1_000_000, &mut out);
        (out.into_families(), role)
    }

    fn value(families: &[Family], name: &str, labels: &[(&str, &str)]) -> Option<Value> {
        let family = families.iter().find(|f| f.name() == name)?;
        family
            .series()
            .iter()
            .find(|s| {
                s.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.iter().any(|(a, b)| a == k && b == v))
            })
            .map(|s| s.value.clone())
    }

    #[test]
    fn fields_are_named_and_typed_as_redis_exporter_does() {
        let (f, role) = parse(INFO, Some(4));
        assert_eq!(role, "slave");
        let g = |n, l: &[(&str, &str)]| value(&f, n, l);
        assert_eq!(g("redis_uptime_in_seconds", &[]), Some(Value::Gauge(2.0)));
        assert_eq!(
            g("redis_start_time_seconds", &[]),
            Some(Value::Gauge(999_998.0))
        );
        assert_eq!(
            g("redis_memory_used_bytes", &[]),
            Some(Value::Gauge(1_139_264.0))
        );
        assert_eq!(g("redis_memory_max_bytes", &[]), Some(Value::Gauge(0.0)));
        assert_eq!(
            g("redis_mem_fragmentation_ratio", &[]),
            Some(Value::Gauge(13.01))
        );
        assert_eq!(
            g("redis_rdb_last_bgsave_status", &[]),
            Some(Value::Gauge(1.0))
        );
        assert_eq!(
            g("redis_aof_last_write_status", &[]),
            Some(Value::Gauge(0.0))
        );
        assert_eq!(
            g("redis_commands_processed_total", &[]),
            Some(Value::Counter(12.0))
        );
        assert_eq!(
            g("redis_keyspace_hits_total", &[]),
            Some(Value::Counter(1.0))
        );
        assert_eq!(
            g("redis_latest_fork_seconds", &[]),
            Some(Value::Gauge(0.0015))
        );
        assert_eq!(
            g("redis_cpu_sys_seconds_total", &[]),
            Some(Value::Counter(0.020942))
        );
        // Fields outside the maps are kept only with these prefixes.
        assert_eq!(g("redis_cluster_connections", &[]), Some(Value::Gauge(0.0)));
        assert_eq!(g("redis_cluster_enabled", &[]), Some(Value::Gauge(0.0)));
        assert!(f.iter().all(|f| !f.name().contains("maxclients")));
        assert!(f.iter().all(|f| !f.name().contains("human")));
        assert!(f.iter().all(|f| !f.name().contains("latency_percentiles")));
    }

    #[test]
    fn keyspace_pads_every_database_below_the_setting() {
        let (f, _) = parse(INFO, Some(4));
        let keys = |db| value(&f, "redis_db_keys", &[("db", db)]);
        let expiring = |db| value(&f, "redis_db_keys_expiring", &[("db", db)]);
        assert_eq!(keys("db0"), Some(Value::Gauge(2.0)));
        assert_eq!(expiring("db0"), Some(Value::Gauge(1.0)));
        assert_eq!(keys("db3"), Some(Value::Gauge(1.0)));
        assert_eq!(keys("db1"), Some(Value::Gauge(0.0)));
        assert_eq!(expiring("db2"), Some(Value::Gauge(0.0)));
        assert_eq!(keys("db4"), None);
        assert_eq!(
            value(&f, "redis_db_avg_ttl_seconds", &[("db", "db0")]),
            Some(Value::Gauge(999.234))
        );
        let (f, _) = parse(INFO, None);
        let db_keys = f.iter().find(|f| f.name() == "redis_db_keys").unwrap();
        assert_eq!(db_keys.series().len(), 16, "Redis' default of 16");
        let clustered = INFO.replace("cluster_enabled:0", "cluster_enabled:1");
        let (f, _) = parse(&clustered, Some(16));
        let db_keys = f.iter().find(|f| f.name() == "redis_db_keys").unwrap();
        assert_eq!(
            db_keys.series().len(),
            2,
            "a cluster has db0 only (plus db3 listed)"
        );
    }

    #[test]
    fn replication_commands_and_errors_carry_labels() {
        let (f, _) = parse(INFO, Some(1));
        let master = [("master_host", "10.0.0.1"), ("master_port", "6379")];
        assert_eq!(
            value(&f, "redis_master_link_up", &master),
            Some(Value::Gauge(1.0))
        );
        assert_eq!(
            value(&f, "redis_master_last_io_seconds_ago", &master),
            Some(Value::Gauge(-1.0))
        );
        assert_eq!(
            value(&f, "redis_slave_repl_offset", &master),
            Some(Value::Gauge(42.0))
        );
        let slave = [
            ("slave_ip", "10.0.0.2"),
            ("slave_port", "6380"),
            ("slave_state", "online"),
        ];
        assert_eq!(
            value(&f, "redis_connected_slave_offset_bytes", &slave),
            Some(Value::Gauge(40.0))
        );
        assert_eq!(
            value(&f, "redis_connected_slave_lag_seconds", &slave),
            Some(Value::Gauge(1.0))
        );
        assert_eq!(
            value(
                &f,
                "redis_slave_info",
                &[
                    ("master_host", "10.0.0.1"),
                    ("master_port", "6379"),
                    ("read_only", "1")
                ]
            ),
            Some(Value::Gauge(1.0))
        );
        let info = value(
            &f,
            "redis_instance_info",
            &[
                ("role", "slave"),
                ("redis_version", "7.0.15"),
                ("redis_build_id", "e08dbad3e06f3fb"),
                ("redis_mode", "standalone"),
                ("os", "Linux 6.1 x86_64"),
                ("maxmemory_policy", "noeviction"),
                ("tcp_port", "16379"),
                ("run_id", "71b4e585"),
                ("process_id", "10870"),
            ],
        );
        assert_eq!(info, Some(Value::Gauge(1.0)));

        let get = [("cmd", "get")];
        assert_eq!(
            value(&f, "redis_commands_total", &get),
            Some(Value::Counter(2.0))
        );
        assert_eq!(
            value(&f, "redis_commands_duration_seconds_total", &get),
            Some(Value::Counter(7e-6))
        );
        // Before Redis 6.2 there were no rejected and failed counts.
        assert_eq!(value(&f, "redis_commands_failed_calls_total", &get), None);
        assert_eq!(
            value(
                &f,
                "redis_commands_failed_calls_total",
                &[("cmd", "config|get")]
            ),
            Some(Value::Counter(0.0))
        );
        assert_eq!(
            value(&f, "redis_errors_total", &[("err", "NOAUTH")]),
            Some(Value::Counter(3.0))
        );
        let types: Vec<_> = f
            .iter()
            .filter(|f| f.name().starts_with("redis_commands"))
            .map(Family::metric_type)
            .collect();
        assert!(types.iter().all(|t| *t == MetricType::Counter), "{types:?}");
    }

    #[test]
    fn garbage_is_skipped_not_fatal() {
        for text in [
            "",
            "# Keyspace\r\ndb0:keys=x,expires=1\r\ndb1:nonsense\r\n",
            "used_memory:lots\r\nslave0:ip=1\r\nslave1:offset=x\r\ncmdstat_get:calls=\r\n",
            ":\r\n::\r\n# \r\n#\r\n\u{0}\u{fffd}:1\r\n",
        ] {
            let (f, _) = parse(text, Some(2));
            assert!(
                value(&f, "redis_memory_used_bytes", &[]).is_none(),
                "{text:?}"
            );
            assert!(f.iter().any(|f| f.name() == "redis_instance_info"));
        }
        // A field repeated by the server does not repeat a series.
        let (f, _) = parse("used_memory:1\r\nused_memory:2\r\n", Some(0));
        let used = f
            .iter()
            .find(|f| f.name() == "redis_memory_used_bytes")
            .unwrap();
        assert_eq!(used.series().len(), 1);
    }

    #[test]
    fn master_fields_follow_keydb_numbering() {
        assert!(master_field("master_host", "_host"));
        assert!(master_field("master_12_host", "_host"));
        assert!(master_field("master_link_status", "_link_status"));
        assert!(!master_field("master_replid", "_host"));
        assert!(!master_field("mastery_host", "_host"));
    }
}
