//! Outgoing HTTP (`wasi:http/outgoing-handler`) to granted URL prefixes.
//!
//! Each request is compared with the grants on its scheme, host, port and
//! path separately (a request with user information, or with a `.` or `..`
//! segment in its path, raw or percent-encoded, is refused outright, so
//! `/allowed/../secret` cannot pass as `/allowed`). A refused request fails
//! in the guest with `HTTP-request-denied`. An allowed one is sent by the
//! host with every timeout ending at the call's deadline, and its response
//! body is cut off past the plugin's memory cap (the guest could not hold
//! more), each chunk charged to the plugin's fuel. `wasi:http` connects
//! from the host: it never consults the socket grants, and a TCP grant is
//! not needed (nor does one open HTTP).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use wasmtime::component::Linker;
use wasmtime_wasi_http::{Error, RequestOptions, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::grants::{Capability, Host, has_dot_segment};
use crate::sandbox::{HttpHooks, Reach, Sandbox};

/// The body type `wasi:http` passes around.
type WasiBody = wasmtime_wasi_http::WasiBody;

impl WasiHttpView for Sandbox {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        let (ctx, table, hooks) = self.http_parts();
        WasiHttpCtxView { ctx, table, hooks }
    }
}

/// Adds `wasi:http/outgoing-handler` and `wasi:http/types`.
pub fn add_to_linker(linker: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
}

/// Why `uri` is refused under `reach`'s grants, if it is.
fn refusal(reach: &Reach, uri: &http::Uri) -> Option<String> {
    let shown = uri.to_string();
    let Some(scheme) = uri.scheme_str() else {
        return Some(shown);
    };
    let Some(authority) = uri.authority() else {
        return Some(shown);
    };
    if authority.as_str().contains('@') || has_dot_segment(uri.path()) {
        return Some(shown);
    }
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    let Ok(host) = Host::parse(authority.host()) else {
        return Some(shown);
    };
    let port = authority.port_u16().unwrap_or(default_port);
    let granted = reach
        .grants()
        .http
        .iter()
        .any(|g| g.allows(scheme, &host, port, uri.path()));
    (!granted).then_some(shown)
}

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), Error>> + Send>,
                    ),
                    Error,
                >,
            > + Send,
    > {
        drop(fut);
        let reach = self.0.clone();
        if let Some(what) = refusal(&reach, request.uri()) {
            reach.deny(Capability::Http, &what);
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        reach.work.call(0);
        // Whatever the guest asked for, nothing waits past the deadline.
        let left = reach.deadline.saturating_duration_since(Instant::now());
        let options = RequestOptions {
            connect_timeout: Some(left),
            first_byte_timeout: Some(left),
            between_bytes_timeout: Some(left),
        };
        let cap = reach.memory_bytes;
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            let response = response.map(|body| {
                Capped {
                    body,
                    left: cap,
                    reach,
                }
                .boxed_unsync()
            });
            Ok((
                response,
                Box::new(io) as Box<dyn Future<Output = Result<(), Error>> + Send>,
            ))
        })
    }
}

/// A response body cut off past `left` bytes, each chunk charged to the
/// plugin's fuel.
struct Capped<B> {
    body: B,
    left: u64,
    reach: std::sync::Arc<Reach>,
}

impl<B> Body for Capped<B>
where
    B: Body<Data = Bytes, Error = Error> + Unpin,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let n = data.len() as u64;
            self.reach.work.call(data.len());
            if n > self.left {
                return Poll::Ready(Some(Err(Error::HttpResponseBodySize(None))));
            }
            self.left -= n;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
