//! An HTTP client over `wasi:http` (through the `waki` crate): GET and
//! POST with a timeout and a cap on the response body. The URL must be
//! granted (`grants.http`); a refused request fails with an error that says
//! so. The host also ends every request at the plugin's deadline.

use std::time::Duration;

/// The most of a response body read unless told otherwise.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 16 << 20;

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names lowercase, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request being built.
pub struct Request {
    method: waki::Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    timeout: Option<Duration>,
    max_body: u64,
}

/// A GET request of `url`.
pub fn get(url: &str) -> Request {
    Request::new(waki::Method::Get, url)
}

/// A POST request to `url`.
pub fn post(url: &str) -> Request {
    Request::new(waki::Method::Post, url)
}

impl Request {
    fn new(method: waki::Method, url: &str) -> Self {
        Request {
            method,
            url: url.to_owned(),
            headers: Vec::new(),
            body: None,
            timeout: None,
            max_body: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Gives up connecting after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Reads at most `bytes` of the response body; a longer one is an
    /// error.
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.max_body = bytes;
        self
    }

    /// Sends the request and reads the response.
    pub fn send(self) -> Result<Response, String> {
        let url = self.url.clone();
        let fail = |e: &dyn std::fmt::Display| format!("{} {url}: {e}", method_name(&self.method));
        let client = waki::Client::new();
        let mut builder = client.request(self.method.clone(), &self.url);
        for (name, value) in &self.headers {
            let name =
                waki::header::HeaderName::from_bytes(name.as_bytes()).map_err(|e| fail(&e))?;
            builder = builder.header(name, value.clone());
        }
        if let Some(body) = &self.body {
            builder = builder.body(body.clone());
        }
        if let Some(timeout) = self.timeout {
            builder = builder.connect_timeout(timeout);
        }
        let response = builder.send().map_err(|e| fail(&e))?;
        let status = response.status_code();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk(64 << 10).map_err(|e| fail(&e))? {
            if (body.len() + chunk.len()) as u64 > self.max_body {
                return Err(fail(&format!(
                    "the body is longer than {} bytes",
                    self.max_body
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

fn method_name(method: &waki::Method) -> &'static str {
    match method {
        waki::Method::Get => "GET",
        waki::Method::Post => "POST",
        _ => "request",
    }
}
