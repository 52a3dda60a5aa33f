//! One probe: resolve the target, connect, shake hands for `https`, send
//! the request, read the response, follow redirects, and time each phase
//! the way the blackbox exporter's `http` prober does (its
//! `roundTripTrace`, one per request, summed over redirects).
//!
//! A target that cannot be reached is an [`Outcome`] with `success` false,
//! as with the blackbox exporter; only a bad target or TLS configuration
//! is an error.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::date::parse_http_date;
use crate::http1::{self, Body, Head, ResponseReader};
use crate::settings::{IpProtocol, MAX_REDIRECTS, Settings};
use crate::url::{Url, has_scheme};
use crate::{tls, x509};

/// What a probe found; every field is a series of the exposition.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Whether the probe succeeded.
    pub success: bool,
    /// Why it did not, for the log.
    pub failure: Option<String>,
    /// Whether the target's name resolved (the blackbox exporter exposes
    /// only the `resolve` phase when it did not).
    pub resolved: bool,
    /// Seconds the first name lookup took.
    pub dns_lookup_seconds: f64,
    /// 4 or 6: the family of the address probed; 0 if none.
    pub ip_protocol: u8,
    /// FNV-1a (32 bits) of the address probed, as the blackbox exporter
    /// hashes it; 0 if none.
    pub ip_addr_hash: u32,
    /// Seconds per phase, summed over the requests made.
    pub phases: Phases,
    /// The final response's status code; 0 without a response.
    pub status_code: u16,
    /// Its content length as Go reports it (-1: unknown).
    pub content_length: i64,
    /// Body bytes read.
    pub body_bytes: u64,
    /// Redirects met.
    pub redirects: u32,
    /// Its HTTP version (1.1); 0 without a response.
    pub http_version: f64,
    /// Its `Last-Modified` header, as Unix seconds.
    pub last_modified: Option<i64>,
    /// TLS details when the final response came over TLS.
    pub tls: Option<TlsInfo>,
}

/// Seconds spent in each phase of the blackbox exporter's model.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Phases {
    /// Name lookups.
    pub resolve: f64,
    /// TCP connects.
    pub connect: f64,
    /// TLS handshakes.
    pub tls: f64,
    /// From the connection being ready to the first response byte.
    pub processing: f64,
    /// Reading the final response after its first byte.
    pub transfer: f64,
}

/// The TLS connection of the final response.
#[derive(Clone, Debug, PartialEq)]
pub struct TlsInfo {
    /// `TLS 1.2`, `TLS 1.3`.
    pub version: &'static str,
    /// The earliest `notAfter` of the certificates the server presented,
    /// as Unix seconds (`None` if none could be read).
    pub earliest_expiry: Option<i64>,
}

/// The instants of one request, as Go's `httptrace` reports them.
#[derive(Default)]
struct Trace {
    tls: bool,
    start: Option<Instant>,
    dns_done: Option<Instant>,
    connect_done: Option<Instant>,
    tls_start: Option<Instant>,
    tls_done: Option<Instant>,
    got_conn: Option<Instant>,
    response_start: Option<Instant>,
    end: Option<Instant>,
}

fn seconds(from: Option<Instant>, to: Option<Instant>) -> f64 {
    match (from, to) {
        (Some(from), Some(to)) => to.saturating_duration_since(from).as_secs_f64(),
        _ => 0.0,
    }
}

impl Phases {
    /// Adds the phases of the requests made, as the blackbox exporter
    /// does: the first lookup is counted by the caller; a request adds
    /// only the phases it reached, and only the last one has a transfer.
    fn add(&mut self, traces: &[Trace]) {
        for (i, t) in traces.iter().enumerate() {
            if i != 0 {
                self.resolve += seconds(t.start, t.dns_done);
            }
            if t.got_conn.is_none() {
                continue;
            }
            if t.tls {
                self.connect += seconds(t.dns_done, t.connect_done);
                self.tls += seconds(t.tls_start, t.tls_done);
            } else {
                self.connect += seconds(t.dns_done, t.got_conn);
            }
            if t.response_start.is_none() {
                continue;
            }
            self.processing += seconds(t.got_conn, t.response_start);
            self.transfer += seconds(t.response_start, t.end);
        }
    }
}

/// FNV-1a (32 bits) of the address bytes: 4 for IPv4 (also when mapped
/// into IPv6), 16 for IPv6, as the blackbox exporter's `ipHash`.
pub fn ip_hash(ip: IpAddr) -> u32 {
    let bytes = match ip.to_canonical() {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    bytes.iter().fold(0x811c_9dc5_u32, |hash, b| {
        (hash ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// Picks the address to probe among `addrs`, preferring a family and
/// falling back to the other if allowed (the blackbox exporter's
/// `chooseProtocol`).
pub fn choose_address(addrs: &[IpAddr], settings: &Settings) -> Option<IpAddr> {
    let is_v4 = |ip: &IpAddr| ip.to_canonical().is_ipv4();
    let preferred = addrs
        .iter()
        .find(|ip| is_v4(ip) == (settings.preferred_ip_protocol == IpProtocol::V4));
    match preferred {
        Some(ip) => Some(*ip),
        None if settings.ip_protocol_fallback => addrs.first().copied(),
        None => None,
    }
}

/// Looks `host` up (an address is returned as is) and picks one address.
fn resolve(host: &str, settings: &Settings) -> Result<IpAddr, String> {
    let addrs: Vec<IpAddr> = (host, 0)
        .to_socket_addrs()
        .map_err(|e| format!("resolving {host}: {e}"))?
        .map(|a| a.ip())
        .collect();
    choose_address(&addrs, settings).ok_or_else(|| {
        format!(
            "{host} has no {} address and ip_protocol_fallback is false",
            match settings.preferred_ip_protocol {
                IpProtocol::V4 => "IPv4",
                IpProtocol::V6 => "IPv6",
            }
        )
    })
}

/// Time left before `deadline`; an error once it has passed.
fn left(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the probe's deadline passed",
        ))
    } else {
        Ok(left)
    }
}

/// A TCP stream whose every read and write ends at the probe's deadline.
struct Deadlined {
    stream: TcpStream,
    deadline: Instant,
}

impl Read for Deadlined {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(left(self.deadline)?))?;
        self.stream.read(buf).map_err(|e| self.explain(e))
    }
}

impl Write for Deadlined {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(left(self.deadline)?))?;
        self.stream.write(buf).map_err(|e| self.explain(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

impl Deadlined {
    /// A socket timeout shows as `WouldBlock` on some systems: say what
    /// it means.
    fn explain(&self, error: io::Error) -> io::Error {
        if Instant::now() >= self.deadline {
            io::Error::new(io::ErrorKind::TimedOut, "the probe's deadline passed")
        } else {
            error
        }
    }
}

/// A connection, plain or TLS.
enum Stream {
    Plain(Deadlined),
    Tls(Box<StreamOwned<ClientConnection, Deadlined>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            // Many servers close without a TLS close_notify; as for Go, the
            // end of the stream is then the end of a close-delimited body
            // (a length-delimited one still notices it is short).
            Stream::Tls(s) => match s.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

impl Stream {
    /// The TLS details, for a TLS connection.
    fn tls_info(&self) -> Option<TlsInfo> {
        let Stream::Tls(s) = self else {
            return None;
        };
        let earliest_expiry = s
            .conn
            .peer_certificates()
            .unwrap_or_default()
            .iter()
            .filter_map(|cert| match x509::not_after(cert) {
                Ok(t) => Some(t),
                Err(e) => {
                    wasm_exporter_sdk::warn!("cannot read a server certificate's notAfter: {e}");
                    None
                }
            })
            .min();
        Some(TlsInfo {
            version: tls::version_label(s.conn.protocol_version()),
            earliest_expiry,
        })
    }
}

/// Connects to `addr` before `deadline`.
fn connect(addr: SocketAddr, deadline: Instant) -> Result<Deadlined, String> {
    let wait = left(deadline).map_err(|e| format!("connecting to {addr}: {e}"))?;
    let stream = TcpStream::connect_timeout(&addr, wait).map_err(|e| {
        if Instant::now() >= deadline {
            format!("connecting to {addr}: the probe's deadline passed")
        } else {
            format!("connecting to {addr}: {e}")
        }
    })?;
    Ok(Deadlined { stream, deadline })
}

/// The final response of a probe.
struct Final {
    head: Head,
    method: String,
    body: Body,
    tls: Option<TlsInfo>,
}

/// Probes `target` with `settings`, giving up at `deadline`.
pub fn probe(target: &str, settings: &Settings, deadline: Instant) -> Result<Outcome, String> {
    let target_url = Url::parse_target(target).map_err(|e| format!("target: {e}"))?;
    let mut out = Outcome::default();

    let lookup_started = Instant::now();
    let resolved = resolve(&target_url.host, settings);
    out.dns_lookup_seconds = lookup_started.elapsed().as_secs_f64();
    out.phases.resolve = out.dns_lookup_seconds;
    let ip = match resolved {
        Ok(ip) => ip,
        Err(e) => {
            out.failure = Some(e);
            return Ok(out);
        }
    };
    out.resolved = true;
    out.ip_protocol = if ip.to_canonical().is_ipv4() { 4 } else { 6 };
    out.ip_addr_hash = ip_hash(ip);

    // As the blackbox exporter: the request goes to the address looked up,
    // with the target's authority in the Host header (unless a header
    // setting names another) and as the TLS server name.
    let first_url = target_url.with_ip(ip);
    let host_setting = settings
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone());
    let initial_host = host_setting
        .clone()
        .unwrap_or_else(|| target_url.authority());
    let first_tls_name = match (&settings.server_name, &host_setting) {
        (Some(name), _) => name.clone(),
        (None, Some(host)) => {
            Url::parse(&format!("http://{host}/")).map_or(host.clone(), |u| u.host)
        }
        (None, None) => target_url.host.clone(),
    };
    let mut headers: Vec<(String, String)> = settings
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("host"))
        .cloned()
        .collect();

    let mut tls_config: Option<Arc<ClientConfig>> = None;
    let mut url = first_url.clone();
    let mut host_header = initial_host.clone();
    let mut method = settings.method.clone();
    let mut body = settings.body.clone();
    let mut traces: Vec<Trace> = Vec::new();
    let mut last: Option<Final> = None;
    let mut errored = false;
    loop {
        let mut trace = Trace {
            tls: url.https,
            ..Trace::default()
        };
        let ip = match url.ip() {
            Some(ip) => {
                let now = Instant::now();
                (trace.start, trace.dns_done) = (Some(now), Some(now));
                ip
            }
            None => {
                trace.start = Some(Instant::now());
                let ip = resolve(&url.host, settings);
                trace.dns_done = Some(Instant::now());
                match ip {
                    Ok(ip) => ip,
                    Err(e) => {
                        out.failure = Some(e);
                        traces.push(trace);
                        break;
                    }
                }
            }
        };
        let socket = match connect(SocketAddr::new(ip, url.port_or_default()), deadline) {
            Ok(s) => s,
            Err(e) => {
                out.failure = Some(e);
                traces.push(trace);
                break;
            }
        };
        trace.connect_done = Some(Instant::now());
        let mut stream = if url.https {
            let config = match &tls_config {
                Some(c) => c.clone(),
                None => tls_config.insert(tls::client_config(settings)?).clone(),
            };
            // Like Go, a redirect to another host verifies that host's name.
            let name = if url.authority() == first_url.authority() {
                first_tls_name.clone()
            } else {
                url.host.clone()
            };
            trace.tls_start = Some(Instant::now());
            let shaken = handshake(socket, config, &name);
            trace.tls_done = Some(Instant::now());
            match shaken {
                Ok(s) => s,
                Err(e) => {
                    out.failure = Some(format!("TLS handshake with {url}: {e}"));
                    traces.push(trace);
                    break;
                }
            }
        } else {
            Stream::Plain(socket)
        };
        trace.got_conn = Some(Instant::now());

        let request = http1::request(
            &method,
            &url.path_and_query,
            &host_header,
            &headers,
            body.as_deref(),
        );
        if let Err(e) = stream.write_all(&request).and_then(|()| stream.flush()) {
            out.failure = Some(format!("sending the request to {url}: {e}"));
            traces.push(trace);
            break;
        }
        let mut reader = ResponseReader::new(stream);
        let head = reader.read_head();
        trace.response_start = reader.first_byte_at();
        let head = match head {
            Ok(h) => h,
            Err(e) => {
                out.failure = Some(format!("reading the response of {url}: {e}"));
                traces.push(trace);
                break;
            }
        };

        if let Some(location) = redirect_location(&head) {
            out.redirects += 1;
            if !settings.follow_redirects || out.redirects > MAX_REDIRECTS {
                // Go returns this response unread, with an error.
                trace.end = Some(Instant::now());
                errored = true;
                last = Some(Final {
                    tls: reader.get_ref().tls_info(),
                    head,
                    method,
                    body: Body {
                        bytes: 0,
                        error: None,
                    },
                });
                traces.push(trace);
                break;
            }
            let next = match url.join(location) {
                Ok(next) => next,
                Err(e) => {
                    out.failure = Some(format!("redirect from {url} to {location:?}: {e}"));
                    traces.push(trace);
                    break;
                }
            };
            if matches!(head.status, 301..=303) {
                if method != "GET" && method != "HEAD" {
                    method = "GET".into();
                }
                body = None;
            }
            // Go keeps a Host header that differs from the URL's only
            // through relative redirects.
            host_header = if !has_scheme(location) && initial_host != first_url.authority() {
                initial_host.clone()
            } else {
                next.authority()
            };
            if next.host != url.host {
                headers.retain(|(n, _)| {
                    !["authorization", "www-authenticate", "cookie", "cookie2"]
                        .contains(&n.to_ascii_lowercase().as_str())
                });
            }
            traces.push(trace);
            url = next;
            continue;
        }

        let body = match head.framing(&method) {
            Ok(framing) => reader.read_body(framing, settings.body_size_limit),
            Err(e) => Body {
                bytes: 0,
                error: Some(e),
            },
        };
        trace.end = Some(Instant::now());
        last = Some(Final {
            tls: reader.get_ref().tls_info(),
            head,
            method,
            body,
        });
        traces.push(trace);
        break;
    }
    out.phases.add(&traces);

    let Some(last) = last else {
        return Ok(out);
    };
    let Final {
        head,
        method,
        body,
        tls,
    } = last;
    out.status_code = head.status;
    out.content_length = head.content_length(&method);
    out.body_bytes = body.bytes;
    out.http_version = head.version;
    out.last_modified = head.header("last-modified").and_then(parse_http_date);
    let mut failures = Vec::new();
    if !settings.status_is_valid(head.status) {
        failures.push(format!("status code {} is not valid", head.status));
    }
    if let Some(e) = body.error.filter(|_| !errored) {
        failures.push(format!("reading the body: {e}"));
    }
    if !settings.valid_http_versions.is_empty()
        && !settings.valid_http_versions.contains(&head.protocol)
    {
        failures.push(format!("{} is not a valid HTTP version", head.protocol));
    }
    match (&tls, settings.fail_if_ssl, settings.fail_if_not_ssl) {
        (Some(_), true, _) => failures.push("the final response came over TLS".into()),
        (None, _, true) => failures.push("the final response did not come over TLS".into()),
        _ => {}
    }
    out.tls = tls;
    out.success = failures.is_empty();
    if !out.success {
        out.failure = Some(failures.join("; "));
    }
    Ok(out)
}

/// The `Location` of a redirect Go's client follows (301, 302, 303, 307,
/// 308 with a Location).
fn redirect_location(head: &Head) -> Option<&str> {
    if !matches!(head.status, 301..=303 | 307 | 308) {
        return None;
    }
    head.header("location").filter(|l| !l.is_empty())
}

/// A TLS handshake on `socket`, verifying `name`.
fn handshake(socket: Deadlined, config: Arc<ClientConfig>, name: &str) -> Result<Stream, String> {
    let name = tls::server_name(name)?;
    let mut conn = ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let mut socket = socket;
    while conn.is_handshaking() {
        conn.complete_io(&mut socket).map_err(|e| e.to_string())?;
    }
    Ok(Stream::Tls(Box::new(StreamOwned::new(conn, socket))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_hashes_match_the_blackbox_exporters() {
        // probe_ip_addr_hash of a probe of 127.0.0.1 by blackbox_exporter 0.23.
        assert_eq!(ip_hash("127.0.0.1".parse().unwrap()), 3_668_918_509);
        assert_eq!(ip_hash("::ffff:127.0.0.1".parse().unwrap()), 3_668_918_509);
        assert_ne!(
            ip_hash("::1".parse().unwrap()),
            ip_hash("127.0.0.1".parse().unwrap())
        );
    }

    #[test]
    fn addresses_are_chosen_by_preference_then_fallback() {
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        let mut s = Settings::default();
        assert_eq!(choose_address(&[v4, v6], &s), Some(v6));
        assert_eq!(choose_address(&[v4], &s), Some(v4));
        s.preferred_ip_protocol = IpProtocol::V4;
        assert_eq!(choose_address(&[v6, v4], &s), Some(v4));
        s.ip_protocol_fallback = false;
        assert_eq!(choose_address(&[v6], &s), None);
        assert_eq!(choose_address(&[], &s), None);
    }

    #[test]
    fn phases_add_up_like_the_blackbox_exporters() {
        let t0 = Instant::now();
        let at = |ms: u64| Some(t0 + Duration::from_millis(ms));
        let redirect = Trace {
            tls: true,
            start: at(0),
            dns_done: at(0),
            connect_done: at(10),
            tls_start: at(10),
            tls_done: at(30),
            got_conn: at(30),
            response_start: at(60),
            end: None,
        };
        let last = Trace {
            tls: false,
            start: at(100),
            dns_done: at(105),
            connect_done: at(110),
            got_conn: at(110),
            response_start: at(150),
            end: at(170),
            ..Trace::default()
        };
        let refused = Trace {
            tls: false,
            start: at(200),
            dns_done: at(200),
            ..Trace::default()
        };
        let mut p = Phases::default();
        p.add(&[redirect, last, refused]);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(p.resolve, 0.005), "{p:?}");
        assert!(close(p.connect, 0.010 + 0.005), "{p:?}");
        assert!(close(p.tls, 0.020), "{p:?}");
        assert!(close(p.processing, 0.030 + 0.040), "{p:?}");
        assert!(close(p.transfer, 0.020), "{p:?}");
    }
}
