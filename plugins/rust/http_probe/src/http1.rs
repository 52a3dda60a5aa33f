//! HTTP/1.x on one connection: the request as the blackbox exporter sends
//! it, and the response read back (status line, headers, then the body
//! counted and discarded). Every read is bounded: the head by
//! [`MAX_HEAD_BYTES`], a chunk-size line by [`MAX_LINE_BYTES`], the body by
//! the probe's `body_size_limit`; the stream below enforces the deadline.

use std::io::{self, Read};
use std::time::Instant;

/// The largest response head (status line and headers) read. The headers
/// are kept in memory, so a server cannot make the plugin hold more.
pub const MAX_HEAD_BYTES: usize = 256 * 1024;

/// The largest chunk-size line of a chunked body.
const MAX_LINE_BYTES: usize = 4096;

/// Bytes read from the connection at a time.
const READ_BUFFER_BYTES: usize = 16 * 1024;

/// The `User-Agent` the blackbox exporter 0.23 sends, unless a header
/// setting replaces it.
pub const USER_AGENT: &str = "Blackbox Exporter/0.23.0";

/// A response's status line and headers.
#[derive(Clone, Debug, PartialEq)]
pub struct Head {
    /// The protocol, as `HTTP/1.1`.
    pub protocol: String,
    /// The version as a number (`1.1`), as the blackbox exporter reports it.
    pub version: f64,
    /// The status code.
    pub status: u16,
    /// The headers in order, names as sent.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The last value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the body is chunked (the last transfer coding is `chunked`).
    fn chunked(&self) -> bool {
        self.headers_named("transfer-encoding")
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .last()
            .is_some_and(|c| c.eq_ignore_ascii_case("chunked"))
    }

    /// The `Content-Length`, if one (or several equal ones) was sent;
    /// an error when it is malformed or the copies disagree.
    fn declared_length(&self) -> Result<Option<u64>, String> {
        let mut length = None;
        for value in self.headers_named("content-length") {
            let value = value.trim();
            let n: u64 = value
                .parse()
                .ok()
                .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| format!("bad Content-Length {value:?}"))?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting Content-Length headers".into());
            }
            length = Some(n);
        }
        Ok(length)
    }

    /// How the body of the response to `method` is delimited.
    pub fn framing(&self, method: &str) -> Result<Framing, String> {
        if method.eq_ignore_ascii_case("HEAD")
            || self.status / 100 == 1
            || self.status == 204
            || self.status == 304
        {
            return Ok(Framing::Empty);
        }
        if self.chunked() {
            return Ok(Framing::Chunked);
        }
        Ok(match self.declared_length()? {
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        })
    }

    /// The response's content length as Go's `http.Response.ContentLength`
    /// has it (and so `probe_http_content_length`): the declared length,
    /// 0 for a response that has no body, -1 when unknown (chunked, or
    /// delimited by the end of the connection).
    pub fn content_length(&self, method: &str) -> i64 {
        let declared = self.declared_length().ok().flatten();
        let declared = declared.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        if method.eq_ignore_ascii_case("HEAD") {
            return declared;
        }
        if self.status / 100 == 1 || self.status == 204 || self.status == 304 {
            return 0;
        }
        if self.chunked() { -1 } else { declared }
    }
}

/// How a response body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// The request line and headers of one request.
pub fn request(
    method: &str,
    path_and_query: &str,
    host: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> Vec<u8> {
    let mut out = format!("{method} {path_and_query} HTTP/1.1\r\nHost: {host}\r\n");
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
    {
        out.push_str(&format!("User-Agent: {USER_AGENT}\r\n"));
    }
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    // As Go's client: a length for a body, and an explicit 0 for the
    // methods that normally carry one.
    match body {
        Some(body) => out.push_str(&format!("Content-Length: {}\r\n", body.len())),
        None if ["POST", "PUT", "PATCH"]
            .iter()
            .any(|m| m.eq_ignore_ascii_case(method)) =>
        {
            out.push_str("Content-Length: 0\r\n")
        }
        None => {}
    }
    out.push_str("Connection: close\r\n\r\n");
    if let Some(body) = body {
        out.push_str(body);
    }
    out.into_bytes()
}

/// What reading a body found: the bytes read (after de-chunking), and why
/// it stopped early, if it did.
#[derive(Debug, PartialEq, Eq)]
pub struct Body {
    /// Body bytes read.
    pub bytes: u64,
    /// Why the body is incomplete, if it is.
    pub error: Option<String>,
}

/// A buffered reader of one response, noting when its first byte came.
pub struct ResponseReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    first_byte_at: Option<Instant>,
}

impl<R: Read> ResponseReader<R> {
    /// Reads from `inner`.
    pub fn new(inner: R) -> Self {
        ResponseReader {
            inner,
            buf: vec![0; READ_BUFFER_BYTES],
            start: 0,
            end: 0,
            first_byte_at: None,
        }
    }

    /// When the first byte of the response arrived, if it has.
    pub fn first_byte_at(&self) -> Option<Instant> {
        self.first_byte_at
    }

    /// The reader underneath.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Reads more into the buffer if it is empty; 0 at the end of the
    /// stream.
    fn fill(&mut self) -> io::Result<usize> {
        if self.start < self.end {
            return Ok(self.end - self.start);
        }
        let n = loop {
            match self.inner.read(&mut self.buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if n > 0 && self.first_byte_at.is_none() {
            self.first_byte_at = Some(Instant::now());
        }
        self.start = 0;
        self.end = n;
        Ok(n)
    }

    /// One line without its `\r\n` (or `\n`); `None` at a clean end of
    /// the stream; an error past `max` bytes.
    fn line(&mut self, max: usize) -> Result<Option<String>, String> {
        let mut line = Vec::new();
        loop {
            let available = self.fill().map_err(|e| e.to_string())?;
            if available == 0 {
                return if line.is_empty() {
                    Ok(None)
                } else {
                    Err("the connection closed in the middle of a line".into())
                };
            }
            let chunk = &self.buf[self.start..self.end];
            let (taken, done) = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            line.extend_from_slice(&chunk[..taken]);
            self.start += taken;
            if line.len() > max {
                return Err(format!("a line longer than {max} bytes"));
            }
            if done {
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
        }
    }

    /// Reads a status line and headers, skipping interim (1xx) responses
    /// as Go's client does.
    pub fn read_head(&mut self) -> Result<Head, String> {
        loop {
            let head = self.read_one_head()?;
            if head.status / 100 != 1 || head.status == 101 {
                return Ok(head);
            }
        }
    }

    fn read_one_head(&mut self) -> Result<Head, String> {
        let mut budget = MAX_HEAD_BYTES;
        let status_line = self
            .line(budget)?
            .ok_or("the server closed the connection without a response")?;
        budget = budget.saturating_sub(status_line.len() + 2);
        let (protocol, version, status) = parse_status_line(&status_line)?;
        let mut headers: Vec<(String, String)> = Vec::new();
        loop {
            let line = self
                .line(budget)?
                .ok_or("the connection closed in the response headers")?;
            budget = budget
                .checked_sub(line.len() + 2)
                .ok_or_else(|| format!("response headers longer than {MAX_HEAD_BYTES} bytes"))?;
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                // An obsolete folded continuation of the previous header.
                let (_, value) = headers
                    .last_mut()
                    .ok_or("a continuation line before any header")?;
                value.push(' ');
                value.push_str(line.trim());
                continue;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("malformed header line {line:?}"))?;
            if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
                return Err(format!("malformed header name {name:?}"));
            }
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        Ok(Head {
            protocol,
            version,
            status,
            headers,
        })
    }

    /// Reads and discards a body, counting at most `limit` bytes.
    pub fn read_body(&mut self, framing: Framing, limit: u64) -> Body {
        let mut body = Body {
            bytes: 0,
            error: None,
        };
        if let Err(e) = self.body_into(framing, limit, &mut body.bytes) {
            body.error = Some(e);
        }
        body
    }

    fn body_into(&mut self, framing: Framing, limit: u64, bytes: &mut u64) -> Result<(), String> {
        match framing {
            Framing::Empty => Ok(()),
            Framing::Length(n) => self.discard(Some(n), limit, bytes),
            Framing::UntilClose => self.discard(None, limit, bytes),
            Framing::Chunked => {
                loop {
                    let line = self
                        .line(MAX_LINE_BYTES)?
                        .ok_or("the connection closed before the last chunk")?;
                    let size = line.split(';').next().unwrap_or("").trim();
                    let size = u64::from_str_radix(size, 16)
                        .ok()
                        .filter(|_| !size.is_empty() && !size.starts_with(['+', '-']))
                        .ok_or_else(|| format!("bad chunk size {line:?}"))?;
                    if size == 0 {
                        break;
                    }
                    self.discard(Some(size), limit, bytes)?;
                    match self.line(2)? {
                        Some(l) if l.is_empty() => {}
                        _ => return Err("a chunk is not followed by CRLF".into()),
                    }
                }
                // Trailers, up to the empty line.
                let mut budget = MAX_HEAD_BYTES;
                loop {
                    match self.line(budget)? {
                        Some(l) if l.is_empty() => return Ok(()),
                        Some(l) => {
                            budget = budget.checked_sub(l.len() + 2).ok_or("trailers too long")?;
                        }
                        None => return Err("the connection closed in the trailers".into()),
                    }
                }
            }
        }
    }

    /// Discards `want` bytes (or up to the end of the stream), adding them
    /// to `bytes`, which may not pass `limit`.
    fn discard(&mut self, want: Option<u64>, limit: u64, bytes: &mut u64) -> Result<(), String> {
        let mut left = want;
        while left != Some(0) {
            let available = self.fill().map_err(|e| e.to_string())?;
            if available == 0 {
                return match left {
                    None => Ok(()),
                    Some(n) => Err(format!("the body ended {n} bytes short")),
                };
            }
            let take = left.map_or(available as u64, |n| n.min(available as u64));
            if *bytes + take > limit {
                *bytes = limit;
                return Err(format!(
                    "the body is longer than body_size_limit ({limit} bytes)"
                ));
            }
            *bytes += take;
            self.start += take as usize;
            left = left.map(|n| n - take);
        }
        Ok(())
    }
}

/// `HTTP/1.1 200 OK` → (`HTTP/1.1`, 1.1, 200).
fn parse_status_line(line: &str) -> Result<(String, f64, u16), String> {
    let bad = || format!("malformed status line {line:?}");
    let (protocol, rest) = line.split_once(' ').ok_or_else(bad)?;
    let version = protocol.strip_prefix("HTTP/").ok_or_else(bad)?;
    let (major, minor) = version.split_once('.').ok_or_else(bad)?;
    let digit = |s: &str| {
        (s.len() == 1 && s.as_bytes()[0].is_ascii_digit())
            .then(|| f64::from(s.as_bytes()[0] - b'0'))
    };
    let version = digit(major).ok_or_else(bad)? + digit(minor).ok_or_else(bad)? / 10.0;
    let code = rest.split(' ').next().unwrap_or("");
    let status: u16 = code
        .parse()
        .ok()
        .filter(|s| code.len() == 3 && (100..=999).contains(s))
        .ok_or_else(bad)?;
    Ok((protocol.to_owned(), version, status))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out its input a few bytes at a time, as a socket may.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// Reads `raw` as a response to `method`, fed in pieces of several
    /// sizes, which must all give the same result.
    fn read(raw: &str, method: &str, limit: u64) -> (Result<Head, String>, Option<Body>) {
        let results: Vec<_> = [1, 3, 4096]
            .into_iter()
            .map(|step| {
                let mut reader = ResponseReader::new(Trickle(raw.as_bytes(), step));
                let head = reader.read_head();
                let body = head.as_ref().ok().map(|h| match h.framing(method) {
                    Ok(f) => reader.read_body(f, limit),
                    Err(e) => Body {
                        bytes: 0,
                        error: Some(e),
                    },
                });
                (head, body)
            })
            .collect();
        for other in &results[1..] {
            assert_eq!(*other, results[0], "{raw:?}");
        }
        results.into_iter().next().unwrap()
    }

    #[test]
    fn a_response_with_a_length() {
        let (head, body) = read(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhelloEXTRA",
            "GET",
            100,
        );
        let head = head.unwrap();
        assert_eq!((head.status, head.version), (200, 1.1));
        assert_eq!(head.protocol, "HTTP/1.1");
        assert_eq!(head.header("x-a"), Some("b"));
        assert_eq!(head.content_length("GET"), 5);
        assert_eq!(
            body.unwrap(),
            Body {
                bytes: 5,
                error: None
            }
        );
    }

    #[test]
    fn chunked_and_close_delimited_bodies() {
        let raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
                   5;ext=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n";
        let (head, body) = read(raw, "GET", 100);
        assert_eq!(head.unwrap().content_length("GET"), -1);
        assert_eq!(
            body.unwrap(),
            Body {
                bytes: 21,
                error: None
            }
        );

        let (head, body) = read("HTTP/1.0 200 OK\r\n\r\nuntil close", "GET", 100);
        let head = head.unwrap();
        assert_eq!((head.version, head.content_length("GET")), (1.0, -1));
        assert_eq!(
            body.unwrap(),
            Body {
                bytes: 11,
                error: None
            }
        );
    }

    #[test]
    fn bodyless_responses_and_interim_ones() {
        let (head, body) = read(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n",
            "GET",
            100,
        );
        let head = head.unwrap();
        assert_eq!((head.status, head.content_length("GET")), (204, 0));
        assert_eq!(body.unwrap().bytes, 0);
        let (head, body) = read("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", "HEAD", 100);
        assert_eq!(head.unwrap().content_length("HEAD"), 7);
        assert_eq!(
            body.unwrap(),
            Body {
                bytes: 0,
                error: None
            }
        );
    }

    #[test]
    fn short_long_and_malformed_bodies_are_errors() {
        let (_, body) = read(
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            "GET",
            100,
        );
        assert_eq!(body.unwrap().bytes, 5);
        let (_, body) = read(
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
            "GET",
            4,
        );
        let body = body.unwrap();
        assert_eq!(body.bytes, 4);
        assert!(body.error.unwrap().contains("body_size_limit"));
        for raw in [
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        ] {
            let (_, body) = read(raw, "GET", 100);
            assert!(body.unwrap().error.is_some(), "{raw:?}");
        }
    }

    #[test]
    fn malformed_heads_are_errors() {
        for raw in [
            "",
            "HTTP/1.1 200 OK\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/11 200 OK\r\n\r\n",
            "SSH-2.0-OpenSSH\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            "HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n",
            "HTTP/1.1 200 OK\r\n folded first\r\n\r\n",
        ] {
            assert!(read(raw, "GET", 100).0.is_err(), "{raw:?}");
        }
        let huge = format!(
            "HTTP/1.1 200 OK\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        assert!(
            read(&huge, "GET", 100)
                .0
                .unwrap_err()
                .contains("longer than")
        );
    }

    #[test]
    fn requests_are_written_like_the_blackbox_exporter() {
        let r = request("GET", "/x?y=1", "127.0.0.1:8080", &[], None);
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "GET /x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Blackbox Exporter/0.23.0\r\n\
             Connection: close\r\n\r\n"
        );
        let headers = vec![("user-agent".to_owned(), "probe".to_owned())];
        let r = String::from_utf8(request("POST", "/", "h", &headers, Some("{}"))).unwrap();
        assert!(
            r.contains("user-agent: probe\r\n") && !r.contains("Blackbox"),
            "{r}"
        );
        assert!(
            r.ends_with("Content-Length: 2\r\nConnection: close\r\n\r\n{}"),
            "{r}"
        );
        let r = String::from_utf8(request("PUT", "/", "h", &[], None)).unwrap();
        assert!(r.contains("Content-Length: 0\r\n"), "{r}");
    }
}
