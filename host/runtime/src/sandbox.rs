//! The per-scrape store of one plugin.
//!
//! A [`Sandbox`] is created for every `collect` and dropped right after it,
//! so nothing a plugin does survives into the next scrape. It owns the WASI
//! context (which grants nothing but clocks and random numbers unless the
//! capability modules open what the plugin's grants say), what this call
//! may reach ([`Reach`]), the memory meter the store's limiter consults,
//! the captured stdout/stderr, the host work not yet charged to the
//! plugin's fuel, and the `host` import's view of the plugin (its name,
//! configuration, grants, log budget and refusals).
//!
//! This module must never hand a plugin anything the operator did not grant.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::WasiHttpCtx;

use crate::bindings::model::Level;
use crate::grants::{Capability, Denials, Grants, Host};
use crate::limits::{
    HOST_CALL_FUEL, HOST_CALL_FUEL_PER_BYTE, MAX_TABLE_ELEMENTS, STDIO_CAPTURE_BYTES,
};
use crate::log::LogBudget;

/// What the host knows of a plugin; shared by all its scrapes.
#[derive(Debug)]
pub struct PluginContext {
    /// The plugin's name, attached to everything it logs.
    pub name: String,
    /// The tenant it serves, if any, attached to everything it logs.
    pub tenant: Option<String>,
    /// The operator's key/value configuration for the plugin, sorted by key.
    pub config: Vec<(String, String)>,
    /// What it may reach.
    pub grants: Arc<Grants>,
    /// The plugin's log rate limit, shared across scrapes.
    pub log: LogBudget,
    /// What it was refused, counted across scrapes.
    pub denials: Denials,
}

impl PluginContext {
    /// A context with the given configuration (sorted here) and no grants.
    pub fn new(name: impl Into<String>, config: Vec<(String, String)>) -> Self {
        PluginContext::with_grants(name, config, Grants::default())
    }

    /// A context with the given configuration (sorted here) and grants.
    pub fn with_grants(
        name: impl Into<String>,
        mut config: Vec<(String, String)>,
        grants: Grants,
    ) -> Self {
        config.sort();
        PluginContext {
            name: name.into(),
            tenant: None,
            config,
            grants: Arc::new(grants),
            log: LogBudget::default(),
            denials: Denials::default(),
        }
    }

    /// The same context for a plugin of `tenant`.
    pub fn for_tenant(mut self, tenant: Option<&str>) -> Self {
        self.tenant = tenant.map(str::to_owned);
        self
    }

    /// Logs one record on behalf of the plugin, within its budget.
    pub fn log(&self, level: Level, message: &str) {
        if self.log.take() {
            crate::log::plugin_record(&self.name, self.tenant.as_deref(), level, message);
        }
    }
}

/// Accounts for the linear memory of one instance and refuses growth past
/// the plugin's cap. (The cap itself is reserved from the host's memory
/// budget before the instance is created, so growth within it never
/// waits.)
#[derive(Debug, Default)]
pub struct MemoryMeter {
    cap_bytes: usize,
    total_bytes: usize,
    /// The most memory the instance held at once.
    pub peak_bytes: usize,
    /// Why a growth was refused, if one was (the plugin then fails with
    /// reason `memory`, whatever the trap that follows looks like).
    pub refused: Option<String>,
}

impl MemoryMeter {
    /// A meter refusing growth past `cap_bytes` in total.
    pub fn new(cap_bytes: u64) -> Self {
        MemoryMeter {
            cap_bytes: usize::try_from(cap_bytes).unwrap_or(usize::MAX),
            ..MemoryMeter::default()
        }
    }
}

impl ResourceLimiter for MemoryMeter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let next = self
            .total_bytes
            .saturating_sub(current)
            .saturating_add(desired);
        if next > self.cap_bytes {
            let why = format!(
                "memory limit exceeded: growing to {next} bytes, limit {} bytes",
                self.cap_bytes
            );
            self.refused = Some(why.clone());
            wasmtime::bail!(why);
        }
        self.total_bytes = next;
        self.peak_bytes = self.peak_bytes.max(next);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Host work done for a plugin and not yet charged to its fuel, in fuel
/// units. Host code that has no access to the store (the WASI streams)
/// adds to it; the store takes it out of the plugin's fuel at its next
/// epoch tick, and when the call ends.
#[derive(Debug, Clone, Default)]
pub struct HostWork(Arc<AtomicU64>);

impl HostWork {
    /// Records one host call that moved `bytes`.
    pub fn call(&self, bytes: usize) {
        let cost =
            HOST_CALL_FUEL.saturating_add(HOST_CALL_FUEL_PER_BYTE.saturating_mul(bytes as u64));
        self.0.fetch_add(cost, Ordering::Relaxed);
    }

    /// Takes what is owed, leaving nothing.
    pub fn take(&self) -> u64 {
        self.0.swap(0, Ordering::Relaxed)
    }
}

/// What one call of one plugin may reach: its grants, and for a probe the
/// target it was asked about. Each refusal is counted in the plugin's
/// [`Denials`] and logged once per call and capability.
pub struct Reach {
    /// The plugin.
    pub plugin: Arc<PluginContext>,
    /// The target of this probe, when the plugin may reach it.
    pub probe_host: Option<Host>,
    /// When this call ends; no I/O done for it outlives this.
    pub deadline: Instant,
    /// The plugin's memory cap: what the host reads for it (a response
    /// body) is cut off past it, since the plugin could not hold more.
    pub memory_bytes: u64,
    /// Host work not yet charged to the plugin's fuel.
    pub work: HostWork,
    logged: Mutex<[bool; Capability::ALL.len()]>,
}

impl Reach {
    /// What a call of `plugin` ending at `deadline` may reach, with
    /// `probe_host` the target of a probe.
    pub fn new(
        plugin: Arc<PluginContext>,
        probe_host: Option<Host>,
        deadline: Instant,
        memory_bytes: u64,
        work: HostWork,
    ) -> Self {
        Reach {
            plugin,
            probe_host,
            deadline,
            memory_bytes,
            work,
            logged: Mutex::new([false; Capability::ALL.len()]),
        }
    }

    /// The plugin's grants.
    pub fn grants(&self) -> &Grants {
        &self.plugin.grants
    }

    /// Counts a refusal of `capability` (`what` was asked for) and logs the
    /// first of this call.
    pub fn deny(&self, capability: Capability, what: &str) {
        self.plugin.denials.count(capability);
        let first = {
            let mut logged = self.logged.lock().unwrap_or_else(|e| e.into_inner());
            !std::mem::replace(&mut logged[capability.index()], true)
        };
        if first {
            tracing::warn!(
                plugin = %self.plugin.name,
                capability = capability.as_str(),
                denied = what,
                "not granted"
            );
        }
    }
}

/// The `wasi:http` policy of one call: which requests go out (the
/// capability module `http` implements it).
pub struct HttpHooks(pub Arc<Reach>);

/// The state of one plugin's store for one scrape.
pub struct Sandbox {
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    /// The `wasi:http` state (used only when HTTP is granted).
    pub http: WasiHttpCtx,
    /// The `wasi:http` policy of this call.
    pub http_hooks: HttpHooks,
    /// What this call may reach.
    pub reach: Arc<Reach>,
    /// The memory meter the store's limiter points at.
    pub memory: MemoryMeter,
    /// Host work not yet charged to the plugin's fuel.
    pub host_work: HostWork,
    /// The plugin this store runs.
    pub plugin: Arc<PluginContext>,
    /// What the plugin wrote to stdout.
    pub stdout: CapturedOutput,
    /// What the plugin wrote to stderr.
    pub stderr: CapturedOutput,
}

impl Sandbox {
    /// A sandbox that grants nothing, whose memory is metered by `memory`.
    pub fn new(plugin: Arc<PluginContext>, memory: MemoryMeter) -> Self {
        let reach = Reach::new(plugin, None, Instant::now(), 0, HostWork::default());
        Sandbox::with_reach(Arc::new(reach), memory, |_| {})
    }

    /// A sandbox for a call that may reach what `reach` says: `open` adds
    /// to a WASI context that grants nothing (the capability modules open
    /// what the grants allow).
    pub fn with_reach(
        reach: Arc<Reach>,
        memory: MemoryMeter,
        open: impl FnOnce(&mut WasiCtxBuilder),
    ) -> Self {
        let host_work = reach.work.clone();
        let stdout = CapturedOutput::new(STDIO_CAPTURE_BYTES, host_work.clone());
        let stderr = CapturedOutput::new(STDIO_CAPTURE_BYTES, host_work.clone());
        let mut builder = WasiCtx::builder();
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            // The builder allows TCP/UDP (with every address denied) by
            // default; switch the interfaces off outright.
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        open(&mut builder);
        Sandbox {
            wasi: builder.build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            http_hooks: HttpHooks(reach.clone()),
            plugin: reach.plugin.clone(),
            reach,
            memory,
            host_work,
            stdout,
            stderr,
        }
    }

    /// The resource table, for the capability modules.
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// The `wasi:http` state, resource table and policy, borrowed together.
    pub fn http_parts(&mut self) -> (&mut WasiHttpCtx, &mut ResourceTable, &mut HttpHooks) {
        (&mut self.http, &mut self.table, &mut self.http_hooks)
    }

    /// Sends what the plugin wrote to stdout/stderr to the host's log, one
    /// record per line, within the plugin's log budget. Returns the last
    /// line written to stderr (a panic message, typically).
    pub fn flush_output(&self) -> Option<String> {
        let mut last_stderr = None;
        for (stream, output) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let (text, dropped) = output.take();
            let text = String::from_utf8_lossy(&text);
            if stream == "stderr" {
                last_stderr = stderr_summary(&text);
            }
            for line in text.lines() {
                if !line.is_empty() && self.plugin.log.take() {
                    crate::log::plugin_output(
                        &self.plugin.name,
                        self.plugin.tenant.as_deref(),
                        stream,
                        line,
                    );
                }
            }
            if dropped > 0 && self.plugin.log.take() {
                crate::log::plugin_output(
                    &self.plugin.name,
                    self.plugin.tenant.as_deref(),
                    stream,
                    &format!("({dropped} more bytes discarded)"),
                );
            }
        }
        last_stderr
    }
}

/// The most telling stderr line: a Rust panic's location and message when
/// there is one, else the last line.
fn stderr_summary(text: &str) -> Option<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(i) = lines.iter().rposition(|l| l.contains("panicked at")) {
        let message = lines.get(i + 1).filter(|l| !l.starts_with("note:"));
        return Some(match message {
            Some(m) => format!("{} {m}", lines[i]),
            None => lines[i].to_owned(),
        });
    }
    lines.last().map(|l| (*l).to_owned())
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A stdout/stderr that keeps the first `capacity` bytes and silently
/// discards the rest, so a plugin printing in a loop neither fills memory
/// nor fails on a full pipe (it runs into its fuel or deadline instead).
#[derive(Clone, Debug)]
pub struct CapturedOutput {
    inner: Arc<Mutex<Captured>>,
    work: HostWork,
}

#[derive(Debug, Default)]
struct Captured {
    bytes: Vec<u8>,
    capacity: usize,
    dropped: u64,
}

impl CapturedOutput {
    /// A capture keeping at most `capacity` bytes, charging each write to
    /// `work`.
    pub fn new(capacity: usize, work: HostWork) -> Self {
        CapturedOutput {
            inner: Arc::new(Mutex::new(Captured {
                capacity,
                ..Captured::default()
            })),
            work,
        }
    }

    fn append(&self, data: &[u8]) {
        self.work.call(data.len());
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let room = c.capacity.saturating_sub(c.bytes.len());
        let kept = room.min(data.len());
        c.bytes.extend_from_slice(&data[..kept]);
        c.dropped += (data.len() - kept) as u64;
    }

    /// Takes the kept bytes and the count of discarded ones.
    pub fn take(&self) -> (Vec<u8>, u64) {
        let mut c = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let dropped = std::mem::take(&mut c.dropped);
        (std::mem::take(&mut c.bytes), dropped)
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 << 10)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_the_first_bytes_and_counts_the_rest() {
        let work = HostWork::default();
        let out = CapturedOutput::new(4, work.clone());
        out.append(b"ab");
        out.append(b"cdef");
        assert_eq!(out.take(), (b"abcd".to_vec(), 2));
        assert_eq!(out.take(), (Vec::new(), 0));
        assert_eq!(
            work.take(),
            2 * HOST_CALL_FUEL + 6 * HOST_CALL_FUEL_PER_BYTE,
            "every write is charged, kept or not"
        );
        assert_eq!(work.take(), 0);
    }

    #[test]
    fn stderr_summary_prefers_the_panic_message() {
        let panic = "thread '<unnamed>' panicked at src/lib.rs:9:5:\nboom\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            stderr_summary(panic).as_deref(),
            Some("thread '<unnamed>' panicked at src/lib.rs:9:5: boom")
        );
        assert_eq!(stderr_summary("a\nb\n").as_deref(), Some("b"));
        assert_eq!(stderr_summary(""), None);
    }

    #[test]
    fn meter_refuses_growth_past_the_cap_and_tracks_peak() {
        let mut m = MemoryMeter::new(100);
        assert!(m.memory_growing(0, 60, None).unwrap());
        assert!(m.memory_growing(60, 90, None).unwrap());
        assert!(m.memory_growing(90, 120, None).is_err());
        assert!(
            m.refused
                .as_deref()
                .unwrap()
                .contains("memory limit exceeded")
        );
        assert_eq!(m.peak_bytes, 90);
    }
}
