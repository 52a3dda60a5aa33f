//! The HTTP server's connections: bounded in number, and closed when a
//! client is slow to send a request, stays idle too long, or is slow to
//! take a response.
//!
//! Each connection is in one of three phases, each with its own time
//! limit: idle (kept alive, no byte of a next request yet), reading a
//! request's head (its first byte arrived, its handler has not started),
//! and busy (a handler runs or its response is being sent). A watchdog per
//! connection closes it when its phase outlasts its limit. At the
//! connection cap a new connection closes the oldest idle (or head-reading)
//! one; when every connection is busy it is refused. So neither a
//! slow-header client nor a pile of idle keep-alive connections can lock a
//! scraper out, and a client that stops reading cannot hold a scrape slot
//! (and the memory of its response) forever.

use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// Time a client has to send a whole request head once its first byte
/// arrived, unless told otherwise. Stops a slow-header client from holding
/// a connection; Prometheus sends its head in one packet.
pub const DEFAULT_READ_HEADER_TIMEOUT_MS: u64 = 10_000;

/// Time an idle keep-alive connection is kept, unless told otherwise.
/// Longer than a usual scrape interval, so Prometheus reuses its
/// connection; shorter than an abandoned connection should live.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 120_000;

/// Time from a request's head to the last byte of its response, unless told
/// otherwise. Stops a client that stops reading from holding a scrape slot
/// and the memory of its response. Must exceed the longest scrape.
pub const DEFAULT_WRITE_TIMEOUT_MS: u64 = 120_000;

/// Connections open at once, unless told otherwise. Past it the oldest
/// idle connection is closed for a new one.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// The time limits of each phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// See [`DEFAULT_READ_HEADER_TIMEOUT_MS`].
    pub read_header: Duration,
    /// See [`DEFAULT_IDLE_TIMEOUT_MS`].
    pub idle: Duration,
    /// See [`DEFAULT_WRITE_TIMEOUT_MS`].
    pub write: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            read_header: Duration::from_millis(DEFAULT_READ_HEADER_TIMEOUT_MS),
            idle: Duration::from_millis(DEFAULT_IDLE_TIMEOUT_MS),
            write: Duration::from_millis(DEFAULT_WRITE_TIMEOUT_MS),
        }
    }
}

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Kept alive, waiting for the first byte of a request.
    Idle,
    /// Reading a request head.
    Head,
    /// Handling a request or sending its response.
    Busy,
}

/// Why a connection was closed by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Its phase outlasted its limit.
    TimedOut(Phase),
    /// A newer connection needed its place.
    Evicted,
}

/// One connection's state, shared by its task, its I/O and its handlers.
#[derive(Debug)]
pub struct Connection {
    id: u64,
    state: Mutex<(Phase, Instant)>,
    busy: AtomicUsize,
    close: Notify,
    changed: Notify,
}

impl Connection {
    fn new(id: u64) -> Self {
        Connection {
            id,
            state: Mutex::new((Phase::Idle, Instant::now())),
            busy: AtomicUsize::new(0),
            close: Notify::new(),
            changed: Notify::new(),
        }
    }

    /// Its phase, and since when.
    pub fn phase(&self) -> (Phase, Instant) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, phase: Phase) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = (phase, Instant::now());
        self.changed.notify_one();
    }

    /// Bytes arrived: an idle connection starts reading a head.
    fn received(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.0 == Phase::Idle {
            *state = (Phase::Head, Instant::now());
            self.changed.notify_one();
        }
    }

    /// A request's handler starts; the returned guard ends the request
    /// when dropped (with the last byte of its response).
    pub fn begin(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::AcqRel);
        self.set(Phase::Busy);
        Busy(self.clone())
    }

    /// Resolves when the connection must close, and why.
    pub async fn watchdog(&self, timeouts: Timeouts) -> Closed {
        loop {
            let (phase, since) = self.phase();
            let limit = match phase {
                Phase::Idle => timeouts.idle,
                Phase::Head => timeouts.read_header,
                Phase::Busy => timeouts.write,
            };
            tokio::select! {
                _ = tokio::time::sleep_until((since + limit).into()) => {
                    // The phase may have moved on meanwhile: then wait anew.
                    if self.phase() == (phase, since) {
                        return Closed::TimedOut(phase);
                    }
                }
                _ = self.close.notified() => return Closed::Evicted,
                // A new phase has its own limit: look again.
                _ = self.changed.notified() => {}
            }
        }
    }
}

/// Marks a connection busy while alive.
#[derive(Debug)]
pub struct Busy(Arc<Connection>);

impl Drop for Busy {
    fn drop(&mut self) {
        if self.0.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.set(Phase::Idle);
        }
    }
}

/// Every open connection.
#[derive(Debug)]
pub struct Connections {
    max: usize,
    open: Mutex<BTreeMap<u64, Arc<Connection>>>,
    next_id: AtomicU64,
}

impl Connections {
    /// A registry admitting `max` connections at once (0: no limit).
    pub fn new(max: usize) -> Self {
        Connections {
            max: if max == 0 { usize::MAX } else { max },
            open: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(0),
        }
    }

    /// Connections open now.
    pub fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Admits a new connection, closing the oldest idle one when at the
    /// cap; `None` if every open connection is busy.
    pub fn admit(&self) -> Option<Arc<Connection>> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= self.max && !evict_oldest_idle(&open) {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection::new(id));
        open.insert(id, connection.clone());
        Some(connection)
    }

    /// Closes the oldest idle connection, if any: to free a file
    /// descriptor when the process has none left. True if one was closed.
    pub fn shed(&self) -> bool {
        evict_oldest_idle(&self.open.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Forgets a closed connection.
    pub fn remove(&self, connection: &Connection) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&connection.id);
    }
}

/// Tells the idle (or head-reading) connection idle the longest to close.
/// A connection already told counts again until it is gone, so repeated
/// calls pick the same one; that is fine, it is on its way out.
fn evict_oldest_idle(open: &BTreeMap<u64, Arc<Connection>>) -> bool {
    let oldest = open
        .values()
        .filter(|c| c.phase().0 != Phase::Busy)
        .min_by_key(|c| c.phase().1);
    match oldest {
        Some(c) => {
            c.close.notify_one();
            true
        }
        None => false,
    }
}

/// A connection's socket, telling its [`Connection`] when bytes arrive.
#[derive(Debug)]
pub struct Watched<S> {
    inner: S,
    connection: Arc<Connection>,
}

impl<S> Watched<S> {
    /// `inner`, watched for `connection`.
    pub fn new(inner: S, connection: Arc<Connection>) -> Self {
        Watched { inner, connection }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.connection.received();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let connections = Connections::new(2);
        let a = connections.admit().unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let b = connections.admit().unwrap();
        let busy = b.begin();
        // a is idle, b busy: a third evicts a.
        let c = connections.admit().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let why = rt.block_on(a.watchdog(Timeouts::default()));
        assert_eq!(why, Closed::Evicted);
        connections.remove(&a);
        // b and c busy: a fourth is refused.
        let _c_busy = c.begin();
        assert!(connections.admit().is_none());
        drop(busy);
        assert_eq!(
            b.phase().0,
            Phase::Idle,
            "idle again once its response is done"
        );
        assert!(connections.admit().is_some(), "b makes room now");
    }

    #[test]
    fn each_phase_times_out_on_its_own_limit() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let timeouts = Timeouts {
            read_header: Duration::from_secs(1),
            idle: Duration::from_secs(10),
            write: Duration::from_secs(100),
        };
        rt.block_on(async {
            let c = Arc::new(Connection::new(0));
            assert_eq!(c.watchdog(timeouts).await, Closed::TimedOut(Phase::Idle));
            c.received();
            assert_eq!(c.watchdog(timeouts).await, Closed::TimedOut(Phase::Head));
            let _busy = c.begin();
            assert_eq!(c.watchdog(timeouts).await, Closed::TimedOut(Phase::Busy));
        });
    }
}
