//! The HTTP server: `/metrics`, `/probe`, the landing page and the
//! `/-/healthy` and `/-/ready` endpoints.
//!
//! A scrape request is turned into a [`ScrapeRequest`] (plugin selection,
//! target, scrape timeout), run, and its exposition streamed back in the
//! negotiated format. At most `--web.max-requests` scrapes run at once;
//! past that the answer is 503 at once, so a slow plugin cannot make
//! scrapes pile up in memory. Connections are bounded in number and in
//! time ([`crate::connections`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt as _, StreamExt as _};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use wasm_exporter_exposition::block::Block;
use wasm_exporter_exposition::encode::Format;
use wasm_exporter_exposition::stream::Exposition;
use wasm_exporter_runtime::collect::CollectInput;

use crate::connections::{Closed, Connection, Connections, Timeouts, Watched};
use crate::registry::Registry;
use crate::reload::Reloader;
use crate::scrape::{self, ScrapeRequest, Selection};
use crate::status;
use crate::tenants::{ScrapeCost, Tenant};
use crate::web_config::{WebConfig, WebSettings};

/// The response body type.
pub type Body = BoxBody<Bytes, Infallible>;

/// How the server answers.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Path of the metrics endpoint (`--web.telemetry-path`).
    pub telemetry_path: String,
    /// Scrapes served at once (`--web.max-requests`); 0 means no limit.
    pub max_requests: usize,
    /// Taken off the scraper's timeout (`--scrape.timeout-offset`).
    pub timeout_offset: Duration,
    /// Connections open at once (`--web.max-connections`); 0 means no limit.
    pub max_connections: usize,
    /// Time limits of a connection's phases (`--web.read-header-timeout`,
    /// `--web.idle-timeout`, `--web.write-timeout`).
    pub timeouts: Timeouts,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            telemetry_path: "/metrics".into(),
            max_requests: 40,
            timeout_offset: Duration::from_millis(scrape::DEFAULT_SCRAPE_TIMEOUT_OFFSET_MS),
            max_connections: crate::connections::DEFAULT_MAX_CONNECTIONS,
            timeouts: Timeouts::default(),
        }
    }
}

/// What every request handler shares.
pub struct Server {
    registry: Arc<Registry>,
    reloader: Option<Arc<Reloader>>,
    config: ServerConfig,
    in_flight: Arc<Semaphore>,
    ready: AtomicBool,
    connections: Connections,
    web: Option<Arc<WebConfig>>,
}

/// Accept errors and refused connections are logged at most this often
/// (with a count of the ones in between): out of file descriptors, the
/// accept loop would otherwise log twenty lines a second.
const ACCEPT_LOG_INTERVAL: Duration = Duration::from_secs(5);

impl Server {
    /// A server over `registry`.
    pub fn new(
        registry: Arc<Registry>,
        reloader: Option<Arc<Reloader>>,
        config: ServerConfig,
        web: Option<Arc<WebConfig>>,
    ) -> Arc<Self> {
        let permits = if config.max_requests == 0 {
            Semaphore::MAX_PERMITS
        } else {
            config.max_requests
        };
        Arc::new(Server {
            registry,
            reloader,
            in_flight: Arc::new(Semaphore::new(permits)),
            ready: AtomicBool::new(false),
            connections: Connections::new(config.max_connections),
            config,
            web,
        })
    }

    /// Marks the server ready (`/-/ready` answers 200).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Accepts connections on `listener` until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        let mut accept_log = RateLimitedLog::default();
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors: close the oldest idle
                    // connection, so the next scraper gets in.
                    if matches!(e.raw_os_error(), Some(23 | 24)) {
                        self.connections.shed();
                    }
                    accept_log.warn(&format!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(connection) = self.connections.admit() else {
                accept_log.warn(&format!(
                    "connection from {peer} refused: all {} connections are busy",
                    self.config.max_connections
                ));
                continue;
            };
            let server = self.clone();
            tokio::spawn(async move {
                server
                    .clone()
                    .connection(stream, peer, connection.clone())
                    .await;
                server.connections.remove(&connection);
            });
        }
    }

    /// Serves one connection until the client closes it or the server
    /// does (a phase timed out, or a newer connection needed its place).
    /// With TLS, the handshake counts as reading a request's head: a client
    /// slow to finish it is closed after `--web.read-header-timeout`.
    async fn connection(
        self: Arc<Self>,
        stream: tokio::net::TcpStream,
        peer: SocketAddr,
        connection: Arc<Connection>,
    ) {
        // The web configuration as it is now: a renewed certificate or a
        // changed user list applies from the next connection on.
        let web = self.web.as_ref().map(|web| web.current());
        let on_request = connection.clone();
        let server = self.clone();
        let request_web = web.clone();
        let service = service_fn(move |req| {
            let server = server.clone();
            let web = request_web.clone();
            let busy = on_request.begin();
            async move {
                let response = server.handle(req, web.as_deref()).await;
                // The connection stays busy until the body is sent.
                Ok::<_, Infallible>(
                    response.map(|body| BodyExt::boxed(BusyBody { body, _busy: busy })),
                )
            }
        });
        let io = Watched::new(stream, connection.clone());
        let http = hyper::server::conn::http1::Builder::new();
        let tls = web.as_ref().and_then(|web| web.tls.clone());
        let serving = async move {
            match tls {
                None => http.serve_connection(TokioIo::new(io), service).await,
                Some(config) => match tokio_rustls::TlsAcceptor::from(config).accept(io).await {
                    Ok(stream) => http.serve_connection(TokioIo::new(stream), service).await,
                    Err(e) => {
                        tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
                        Ok(())
                    }
                },
            }
        };
        tokio::select! {
            served = serving => {
                if let Err(e) = served
                    && !e.is_incomplete_message()
                {
                    tracing::debug!(peer = %peer, error = %e, "connection error");
                }
            }
            closed = connection.watchdog(self.config.timeouts) => {
                tracing::debug!(peer = %peer, reason = ?closed, "connection closed by the server");
                if closed == Closed::TimedOut(crate::connections::Phase::Busy) {
                    tracing::warn!(peer = %peer, "response not taken within --web.write-timeout; connection closed");
                }
            }
        }
    }

    /// Answers one request: checks its credentials if the web
    /// configuration has users, and adds the configured headers.
    pub async fn handle(
        &self,
        req: Request<Incoming>,
        web: Option<&WebSettings>,
    ) -> Response<Body> {
        // A tenant's endpoints take that tenant's credentials instead.
        let tenant_path = req.uri().path().starts_with(TENANTS_PREFIX);
        let mut response = match web.and_then(|web| web.basic_auth.as_ref()) {
            Some(auth)
                if !tenant_path && !auth.check(req.headers().get(header::AUTHORIZATION)).await =>
            {
                unauthorized()
            }
            _ => self.route(req).await,
        };
        for (name, value) in web.map_or(&[][..], |web| &web.headers) {
            response.headers_mut().insert(name.clone(), value.clone());
        }
        response
    }

    async fn route(&self, req: Request<Incoming>) -> Response<Body> {
        let path = req.uri().path();
        if path == "/-/reload" {
            return self.reload(req.method()).await;
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        }
        if let Some(rest) = path.strip_prefix(TENANTS_PREFIX) {
            let (name, endpoint) = rest.split_once('/').unwrap_or((rest, ""));
            if !matches!(endpoint, "metrics" | "probe" | "") && !endpoint.starts_with("plugins/") {
                return text(StatusCode::NOT_FOUND, "not found\n");
            }
            let tenant = match &self.reloader {
                Some(reloader) => reloader.tenants().authorize(name, req.headers()).await,
                None => None,
            };
            let Some(tenant) = tenant else {
                return tenant_unauthorized();
            };
            match endpoint {
                "metrics" => self.metrics(&req, false, Some(&tenant)).await,
                "probe" => self.metrics(&req, true, Some(&tenant)).await,
                page => {
                    let gzip = accepts_gzip(req.headers().get(header::ACCEPT_ENCODING));
                    self.tenant_page(&tenant, page, true, gzip)
                }
            }
        } else if path == self.config.telemetry_path {
            self.metrics(&req, false, None).await
        } else if path == "/probe" {
            self.metrics(&req, true, None).await
        } else if path == "/" || path.starts_with("/status/") {
            self.status_page(
                path,
                accepts_gzip(req.headers().get(header::ACCEPT_ENCODING)),
            )
        } else if path == "/-/healthy" {
            text(StatusCode::OK, "Healthy\n")
        } else if path == "/-/ready" {
            if self.ready.load(Ordering::Relaxed) {
                text(StatusCode::OK, "Ready\n")
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, "Not ready\n")
            }
        } else {
            text(StatusCode::NOT_FOUND, "not found\n")
        }
    }

    /// `POST /-/reload`, as Prometheus answers it: 200, or 500 with the
    /// configuration error (the running configuration stays).
    async fn reload(&self, method: &Method) -> Response<Body> {
        if method != Method::POST && method != Method::PUT {
            return text(
                StatusCode::METHOD_NOT_ALLOWED,
                "only POST or PUT requests allowed\n",
            );
        }
        let Some(reloader) = &self.reloader else {
            return text(StatusCode::NOT_FOUND, "reloading is not enabled\n");
        };
        match reloader.reload().await {
            Ok(report) => {
                crate::reload::log_report(&report);
                text(StatusCode::OK, "")
            }
            Err(e) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("failed to reload config: {e}\n"),
            ),
        }
    }

    /// A scrape of the default registry, or of `tenant`'s.
    async fn metrics(
        &self,
        req: &Request<Incoming>,
        probe: bool,
        tenant: Option<&Tenant>,
    ) -> Response<Body> {
        let query = parse_query(req.uri().query().unwrap_or(""));
        let mut only = Vec::new();
        let mut except = Vec::new();
        let mut target = None;
        let mut params = Vec::new();
        let mut forced_format = None;
        for (k, v) in query {
            match k.as_str() {
                "collect[]" => only.push(v),
                "exclude[]" => except.push(v),
                "format" => match v.as_str() {
                    "text" | "prometheus" => forced_format = Some(Format::Text),
                    "openmetrics" => forced_format = Some(Format::OpenMetrics),
                    other => {
                        return text(
                            StatusCode::BAD_REQUEST,
                            &format!("unknown format {other:?}: use text or openmetrics\n"),
                        );
                    }
                },
                "target" if probe => target = Some(v),
                // `plugin=NAME` probes that plugin alone.
                "plugin" if probe => only.push(v),
                _ if probe => params.push((k, v)),
                _ => {}
            }
        }
        if probe && target.as_deref().is_none_or(str::is_empty) {
            return text(StatusCode::BAD_REQUEST, "target parameter is missing\n");
        }
        let selection = match (only.is_empty(), except.is_empty()) {
            (true, true) => Selection::All,
            (false, true) => Selection::Only(only),
            (true, false) => Selection::Except(except),
            (false, false) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    "collect[] and exclude[] cannot be used together\n",
                );
            }
        };
        let snapshot = match tenant {
            Some(tenant) => tenant.registry.snapshot(),
            None => self.registry.snapshot(),
        };
        let unknown = selection.unknown(&snapshot);
        if !unknown.is_empty() {
            return text(
                StatusCode::BAD_REQUEST,
                &format!("unknown plugin(s): {}\n", unknown.join(", ")),
            );
        }
        // A probe plugin with a `targets` rule is never asked about another
        // target: it must not become an open proxy.
        if let Some(target) = &target {
            let refused: Vec<&str> = snapshot
                .values()
                .filter(|p| selection.includes(&p.name))
                .filter(|p| p.targets.as_ref().is_some_and(|rule| !rule.allows(target)))
                .map(|p| p.name.as_str())
                .collect();
            if !refused.is_empty() {
                return text(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "target {target:?} is not allowed for plugin(s) {}\n",
                        refused.join(", ")
                    ),
                );
            }
        }
        // A tenant past its own bound waits its turn; the others do not.
        let tenant_permit = match tenant {
            None => None,
            Some(tenant) => match tenant.in_flight.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    tenant.stats.record_limit();
                    let mut response = text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &format!(
                            "too many concurrent scrapes of this tenant (limit {}); try again later\n",
                            tenant.max_in_flight
                        ),
                    );
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                    return response;
                }
            },
        };
        // Then the host's bound: a tenant past its own never holds a place
        // in it, even for a moment.
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!(
                    "too many concurrent scrapes (limit {}); try again later\n",
                    self.config.max_requests
                ),
            );
        };
        let scrape_timeout = req
            .headers()
            .get("x-prometheus-scrape-timeout-seconds")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            // Past `Duration::MAX` (`1e300`) is no limit, not a panic.
            .and_then(|s| Duration::try_from_secs_f64(s).ok());
        let (format, content_type) = match forced_format {
            Some(f) => (f, f.content_type()),
            None => Format::negotiate(
                req.headers()
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok()),
            ),
        };
        let gzip = accepts_gzip(req.headers().get(header::ACCEPT_ENCODING));
        let request = Arc::new(ScrapeRequest {
            input: CollectInput {
                target,
                params,
                share: tenant.map(|t| t.share.clone()),
            },
            scrape_timeout,
            timeout_offset: self.config.timeout_offset,
            selection,
            // A tenant sees its plugins' series and their health, nothing
            // of the host's.
            host_series: !probe && tenant.is_none(),
            probe,
            metric_prefix: tenant.and_then(|t| t.metric_prefix().map(str::to_owned)),
            series_budget: tenant.map(|t| t.budget().series),
        });
        let host_series = request.host_series;
        // In this task: a panic is caught here as a separate task's would
        // be, without the hop to another thread.
        let started = std::time::Instant::now();
        let scraped = AssertUnwindSafe(scrape::scrape(snapshot, request))
            .catch_unwind()
            .await;
        let mut result = match scraped {
            Ok(result) => result,
            Err(_) => {
                tracing::error!("scrape failed: it panicked");
                return text(StatusCode::INTERNAL_SERVER_ERROR, "scrape failed\n");
            }
        };
        if host_series && let Some(reloader) = &self.reloader {
            result.families.extend(Block::all(&reloader.families()));
            result
                .families
                .extend(Block::all(&reloader.tenants().families()));
            result.families.sort_by(|a, b| a.name.cmp(&b.name));
        }
        if let Some(tenant) = tenant {
            let outcomes = &result.outcomes;
            let cost = ScrapeCost {
                fuel: outcomes.iter().map(|o| o.fuel_consumed).sum(),
                memory_bytes: outcomes.iter().map(|o| o.memory_peak_bytes).sum(),
                series: outcomes
                    .iter()
                    .filter(|o| o.result.is_ok())
                    .map(|o| o.series)
                    .sum(),
                series_budget_spent: result.series_budget_spent,
            };
            tenant.stats.record_scrape(started.elapsed(), cost);
        }
        let chunks = Exposition::new(result.families, format, gzip);
        // The permit and the families' share of the memory budget live as
        // long as the body is streamed.
        let memory = result.memory;
        let stream = futures::stream::iter(chunks).map(move |chunk| {
            let _held = (&permit, &tenant_permit, &memory);
            Ok::<_, Infallible>(Frame::data(chunk))
        });
        let mut response = Response::new(BodyExt::boxed(StreamBody::new(stream)));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Accept-Encoding"),
        );
        if gzip {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }

    /// The operator's status pages: `/`, `/status/config`,
    /// `/status/plugins/NAME` and `/status/tenants/NAME[/plugins/NAME]`.
    fn status_page(&self, path: &str, gzip: bool) -> Response<Body> {
        let links = status::Links::operator(&self.config.telemetry_path);
        let tenants = self.reloader.as_ref().map(|r| r.tenants().all());
        if path == "/" {
            let host = status::Host {
                telemetry_path: &self.config.telemetry_path,
                reload: self.reloader.as_ref().map(|r| r.last_reload()),
                tenants: tenants.unwrap_or_default(),
            };
            return html(status::index(&self.registry.snapshot(), &host), gzip);
        }
        let rest = path.trim_start_matches("/status/");
        if rest == "config" {
            let shown = self.reloader.as_ref().map(|r| r.shown_config());
            let text = shown.as_ref().map_or("", |s| s.whole.as_str());
            return html(status::config(text), gzip);
        }
        if let Some(name) = rest.strip_prefix("plugins/") {
            return match self.registry.get(name) {
                Some(plugin) => html(status::plugin(&plugin, &links), gzip),
                None => text(StatusCode::NOT_FOUND, "no such plugin\n"),
            };
        }
        if let Some(rest) = rest.strip_prefix("tenants/") {
            let (name, page) = rest.split_once('/').unwrap_or((rest, ""));
            let tenant = tenants.and_then(|all| all.into_iter().find(|t| t.name == name));
            return match tenant {
                Some(tenant) => self.tenant_page(&tenant, page, false, gzip),
                None => text(StatusCode::NOT_FOUND, "no such tenant\n"),
            };
        }
        text(StatusCode::NOT_FOUND, "not found\n")
    }

    /// A tenant's page (`page` empty) or one of its plugins' pages
    /// (`plugins/NAME`), for the tenant itself (`own`) or the operator.
    fn tenant_page(&self, tenant: &Tenant, page: &str, own: bool, gzip: bool) -> Response<Body> {
        let links = status::Links::tenant(&tenant.name, own);
        if let Some(name) = page.strip_prefix("plugins/") {
            return match tenant.registry.get(name) {
                Some(plugin) => html(status::plugin(&plugin, &links), gzip),
                None => text(StatusCode::NOT_FOUND, "no such plugin\n"),
            };
        }
        if !page.is_empty() {
            return text(StatusCode::NOT_FOUND, "not found\n");
        }
        let shown = self.reloader.as_ref().map(|r| r.shown_config());
        let config = shown
            .as_ref()
            .and_then(|s| s.tenants.get(&tenant.name))
            .map(String::as_str);
        html(status::tenant(tenant, &links, config), gzip)
    }
}

/// A status page, under the page's Content-Security-Policy; gzipped when
/// the client takes it (a page of hundreds of plugins' charts shrinks to
/// about a third).
fn html(body: String, gzip: bool) -> Response<Body> {
    let compressed = gzip.then(|| {
        use std::io::Write as _;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder
            .write_all(body.as_bytes())
            .and_then(|()| encoder.finish())
    });
    let (bytes, gzipped) = match compressed {
        Some(Ok(bytes)) => (Bytes::from(bytes), true),
        _ => (Bytes::from(body), false),
    };
    let mut response = Response::new(Full::new(bytes).boxed());
    let headers = response.headers_mut();
    if gzipped {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(status::content_security_policy()),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A response body that keeps its connection marked busy until it has
/// been sent (or dropped).
struct BusyBody {
    body: Body,
    _busy: crate::connections::Busy,
}

impl http_body::Body for BusyBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A warning logged at most once per [`ACCEPT_LOG_INTERVAL`], with how
/// many were held back.
#[derive(Default)]
struct RateLimitedLog {
    last: Option<std::time::Instant>,
    held_back: u64,
}

impl RateLimitedLog {
    fn warn(&mut self, message: &str) {
        let now = std::time::Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < ACCEPT_LOG_INTERVAL)
        {
            self.held_back += 1;
            return;
        }
        tracing::warn!(suppressed = self.held_back, "{message}");
        self.last = Some(now);
        self.held_back = 0;
    }
}

/// Binds `address` (`host:port`, or `:port` for every interface).
pub async fn bind(address: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let addr = if let Some(port) = address.strip_prefix(':') {
        format!("[::]:{port}")
    } else {
        address.to_owned()
    };
    let listener = match TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(_) if address.starts_with(':') => TcpListener::bind(format!("0.0.0.0{address}"))
            .await
            .map_err(|e| anyhow::anyhow!("--web.listen-address {address}: cannot listen: {e}"))?,
        Err(e) => anyhow::bail!("--web.listen-address {address}: cannot listen: {e}"),
    };
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// The path under which each tenant's endpoints are.
const TENANTS_PREFIX: &str = "/tenants/";

/// 401 for a tenant's endpoint: the same for an unknown tenant, wrong
/// credentials and none at all.
fn tenant_unauthorized() -> Response<Body> {
    unauthorized_with("Bearer, Basic")
}

/// 401, as exporter-toolkit answers it: the same for an unknown user, a
/// wrong password and no credentials at all.
fn unauthorized() -> Response<Body> {
    unauthorized_with("Basic")
}

/// 401 with the `challenge` a client should answer.
fn unauthorized_with(challenge: &'static str) -> Response<Body> {
    let mut response = text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn accepts_gzip(value: Option<&HeaderValue>) -> bool {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    value.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let q = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        (name.eq_ignore_ascii_case("gzip") || name == "*") && q > 0.0
    })
}

/// Decodes an `application/x-www-form-urlencoded` query string.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_decoded() {
        assert_eq!(
            parse_query("collect%5B%5D=a&target=http%3A%2F%2Fx%3A1&q=a+b&bad=%zz&end=%4"),
            vec![
                ("collect[]".into(), "a".into()),
                ("target".into(), "http://x:1".into()),
                ("q".into(), "a b".into()),
                ("bad".into(), "%zz".into()),
                ("end".into(), "%4".into()),
            ]
        );
    }

    #[test]
    fn gzip_is_accepted_unless_refused() {
        let h = |s: &'static str| HeaderValue::from_static(s);
        assert!(accepts_gzip(Some(&h("gzip"))));
        assert!(accepts_gzip(Some(&h("deflate, gzip;q=0.5"))));
        assert!(!accepts_gzip(Some(&h("gzip;q=0"))));
        assert!(!accepts_gzip(Some(&h("identity"))));
        assert!(!accepts_gzip(None));
    }
}
